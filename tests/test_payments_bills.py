"""The trade bill lists the day's emulated payments and refunds, in WeChat Pay's columns, SHA-1 checked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from shop import SUB_MCHID, jsapi_order, partner_order, refund

from wechatpay_chain import Client
from wechatpay_chain.testing import Emulator
from wechatpay_chain.testing._time import beijing

NOWHERE = "https://merchant.test/notify"
# The documented columns of a trade bill (bill_type ALL), and of its totals.
COLUMNS = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单总金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
]
TOTALS = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
]


def today(emulator: Emulator) -> dt.date:
    return beijing(emulator.now()).date()


async def bill(client: Client, day: dt.date, path: Path, **options: Any) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The bill's rows and totals, by column name (the back-quotes WeChat Pay puts before values removed)."""
    result = await client.download_bill(day, path, **options)
    assert result.verified  # the SHA-1 the bill answer announced is the file's
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == COLUMNS and lines[-2].split(",") == TOTALS
    rows = [dict(zip(COLUMNS, (v.lstrip("`") for v in line.split(",")), strict=True)) for line in lines[1:-2]]
    totals = dict(zip(TOTALS, (v.lstrip("`") for v in lines[-1].split(",")), strict=True))
    return rows, totals


async def shop_day(emulator: Emulator, client: Client) -> dict[str, dict[str, Any]]:
    """A day of trade: two paid orders (one refunded in part, twice), a partner order, two never paid."""
    orders = client["v3/pay/transactions"]
    for number, total in (("T700001", 12_345), ("T700002", 500), ("T700003", 800), ("T700004", 900)):
        await orders.jsapi.post(json=jsapi_order(client.mchid, number, NOWHERE, total, attach=f"cart {number}"))
    paid = {n: emulator.payments.pay(n) for n in ("T700001", "T700002")}
    emulator.payments.fail("T700003")  # failed and unpaid orders are not trades
    await client["v3/pay/partner/transactions/jsapi"].post(json=partner_order(client.mchid, "P700001", NOWHERE, 2_000))
    paid["P700001"] = emulator.payments.partner.pay("P700001")
    refunds = client["v3/refund/domestic/refunds"]
    await refunds.post(json=refund("R700001", 12_345, 2_345, out_trade_no="T700001"))
    emulator.payments.settle_refund("R700001")
    await refunds.post(json=refund("R700002", 12_345, 1_000, out_trade_no="T700001"))  # still PROCESSING
    return paid


async def test_the_days_bill_lists_its_payments_and_refunds(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    paid = await shop_day(emulator, client)
    rows, totals = await bill(client, today(emulator), tmp_path / "bill.csv")
    listed = [(r["商户订单号"], r["交易状态"], r["商户退款单号"], r["退款状态"]) for r in rows]
    assert listed == [
        ("T700001", "SUCCESS", "0", ""),
        ("T700002", "SUCCESS", "0", ""),
        ("P700001", "SUCCESS", "0", ""),
        ("T700001", "REFUND", "R700001", "SUCCESS"),
        ("T700001", "REFUND", "R700002", "PROCESSING"),
    ]
    first = rows[0]
    assert first["微信订单号"] == paid["T700001"]["transaction_id"]
    assert (first["商户号"], first["特约商户号"], first["公众账号ID"]) == (client.mchid, "0", paid["T700001"]["appid"])
    assert (first["交易类型"], first["付款银行"], first["货币种类"], first["商户数据包"]) == (
        "JSAPI",
        "OTHERS",
        "CNY",
        "cart T700001",
    )
    assert (first["应结订单总金额"], first["订单金额"], first["手续费"], first["费率"]) == (
        "123.45",
        "123.45",
        "0.74",
        "0.60%",
    )
    assert first["交易时间"] == beijing(emulator.now()).strftime("%Y-%m-%d ") + first["交易时间"][11:]
    assert rows[2]["特约商户号"] == SUB_MCHID
    refunded = rows[3]
    assert (refunded["退款金额"], refunded["申请退款金额"], refunded["手续费"], refunded["应结订单总金额"]) == (
        "23.45",
        "23.45",
        "-0.14",
        "0.00",
    )
    assert refunded["退款类型"] == "ORIGINAL" and refunded["微信订单号"] == paid["T700001"]["transaction_id"]
    assert totals == {
        "总交易单数": "5",
        "应结订单总金额": "148.45",  # 123.45 + 5.00 + 20.00
        "退款总金额": "33.45",
        "充值券退款总金额": "0.00",
        "手续费总金额": str(Decimal("0.74") + Decimal("0.03") + Decimal("0.12") - Decimal("0.14") - Decimal("0.06")),
        "订单总金额": "148.45",
        "申请退款总金额": "33.45",
    }


async def test_bill_types_and_sub_merchants_filter_the_rows(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    await shop_day(emulator, client)
    day = today(emulator)
    payments, _ = await bill(client, day, tmp_path / "success.csv", bill_type="SUCCESS")
    assert [r["交易状态"] for r in payments] == ["SUCCESS"] * 3
    refunds, totals = await bill(client, day, tmp_path / "refund.csv", bill_type="REFUND")
    assert [r["商户退款单号"] for r in refunds] == ["R700001", "R700002"] and totals["应结订单总金额"] == "0.00"
    partner, _ = await bill(client, day, tmp_path / "sub.csv", sub_mchid=SUB_MCHID)
    assert [r["商户订单号"] for r in partner] == ["P700001"]
    special, totals = await bill(client, day, tmp_path / "special.csv", bill_type="SUC_SPECIAL")
    assert (special, totals["总交易单数"]) == ([], "0")


async def test_each_trade_lists_on_its_own_day(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    await client["v3/pay/transactions/jsapi"].post(json=jsapi_order(client.mchid, "T700010", NOWHERE, 1_000))
    emulator.payments.pay("T700010")
    paid_on = today(emulator)
    emulator.advance(86_400)
    await client["v3/refund/domestic/refunds"].post(json=refund("R700010", 1_000, 1_000, out_trade_no="T700010"))
    first, _ = await bill(client, paid_on, tmp_path / "1.csv")
    second, _ = await bill(client, today(emulator), tmp_path / "2.csv")
    earlier, totals = await bill(client, paid_on - dt.timedelta(days=1), tmp_path / "0.csv")
    assert [r["交易状态"] for r in first] == ["SUCCESS"] and [r["交易状态"] for r in second] == ["REFUND"]
    assert (earlier, totals["总交易单数"], totals["应结订单总金额"]) == ([], "0", "0.00")


async def test_a_bill_size_adds_synthetic_rows_after_the_days_trades(
    emulator: Emulator, client: Client, tmp_path: Path
) -> None:
    await client["v3/pay/transactions/jsapi"].post(json=jsapi_order(client.mchid, "T700020", NOWHERE, 1_000))
    emulator.payments.pay("T700020")
    emulator.files.bill_size = 50_000
    rows, totals = await bill(client, today(emulator), tmp_path / "big.csv")
    assert (tmp_path / "big.csv").stat().st_size >= 50_000
    assert rows[0]["商户订单号"] == "T700020" and len(rows) > 100
    assert int(totals["总交易单数"]) == len(rows)
    assert Decimal(totals["订单总金额"]) == sum(Decimal(r["订单金额"]) for r in rows)
