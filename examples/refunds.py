"""Refunds (v3/refund/domestic/refunds): refund part of a paid order, WeChat Pay settles it, the bill lists both.

Pay an order (the emulator plays the user), refund 30.00 of its 100.00, let WeChat Pay settle the
refund (the emulator plays it), receive REFUND.SUCCESS, query the refund, see a refund beyond what
is left refused, and read the day's trade bill with the payment and the refund.

Runs against a local emulator by default. To call the real API set WECHATPAY_MCHID,
WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID and
WECHATPAY_PUBLIC_KEY (file path), and replace the placeholders below (see _connect.py).

    python examples/refunds.py
"""

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from _connect import Connection, run, show

from wechatpay_chain import ApiError

if TYPE_CHECKING:  # the documented body, to annotate one built before the call (type checkers only)
    from wechatpay_chain.endpoints import V3RefundDomesticRefundsPostBody as RefundBody

APPID = "wxd678efh567hg6787"  # placeholder: your appid
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # placeholder: the payer's openid under APPID
OUT_TRADE_NO = "1217752501201407033233368020"  # placeholder: a paid order of yours
OUT_REFUND_NO = "1217752501201407033233368021"  # yours, unique


async def example(wx: Connection) -> None:
    if wx.emulator is not None:  # a paid order to refund: placed, and paid by the user the emulator plays
        await wx.client.v3.pay.transactions.jsapi.post(
            json={
                "appid": APPID,
                "mchid": wx.client.mchid,
                "description": "Image形象店-深圳腾大-QQ公仔",
                "out_trade_no": OUT_TRADE_NO,
                "notify_url": wx.notify_url,
                "amount": {"total": 10_000, "currency": "CNY"},
                "payer": {"openid": OPENID},
            }
        )
        wx.emulator.payments.pay(OUT_TRADE_NO)
        await wx.notification("TRANSACTION.SUCCESS", "out_trade_no", "amount")
    refunds = wx.client.v3.refund.domestic.refunds
    refund: RefundBody = {
        "out_trade_no": OUT_TRADE_NO,
        "out_refund_no": OUT_REFUND_NO,
        "reason": "商品已售完",
        "notify_url": wx.notify_url,
        "amount": {"refund": 3_000, "total": 10_000, "currency": "CNY"},
    }
    show("refund", await refunds.post(json=refund), "refund_id", "status", "amount")
    if wx.emulator is None:
        print("WeChat Pay settles the refund; REFUND.SUCCESS then comes to your notify URL.")
        return
    wx.emulator.payments.settle_refund(OUT_REFUND_NO)  # WeChat Pay's move, played by the emulator
    await wx.notification("REFUND.SUCCESS", "out_refund_no", "refund_status", "user_received_account")
    show("query", await refunds._out_refund_no_.get(out_refund_no=OUT_REFUND_NO), "status", "success_time")
    beyond: RefundBody = {
        **refund,
        "out_refund_no": OUT_REFUND_NO + "9",
        "amount": {**refund["amount"], "refund": 7_001},
    }
    try:
        await refunds.post(json=beyond)
    except ApiError as exc:
        print(f"a refund beyond the 70.00 left: refused, {exc.status} {exc.code}")
    with tempfile.TemporaryDirectory() as folder:
        bill = Path(folder) / "trade.csv"
        downloaded = await wx.client.download_bill(wx.today(), bill)
        rows = bill.read_text(encoding="utf-8").splitlines()[1:-2]
        states = [row.split(",")[9].lstrip("`") for row in rows]
        print(f"today's trade bill: {len(rows)} rows {states}, SHA-1 verified: {downloaded.verified}")


if __name__ == "__main__":
    sys.exit(run(example))
