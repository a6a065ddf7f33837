"""The emulator's APIv2 payments: orders, micropay, refunds over mutual TLS, refund queries and bills.

Calls go through `client.chain("v2")`, dynamic for type checkers: they send partial bodies and
fields built apart, which the typed chain (`client.v2…`) would refuse.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import ssl
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from wechatpay_chain import ApiError, Client
from wechatpay_chain.testing import Emulator

APPID = "wxd678efh567hg6787"
pytestmark = pytest.mark.wechatpay_emulator(tls=True)


def order(client: Client, out_trade_no: str, **extra: Any) -> dict[str, Any]:
    return {
        "appid": APPID,
        "mch_id": client.mchid,
        "body": "商品",
        "out_trade_no": out_trade_no,
        "total_fee": 888,
        "spbill_create_ip": "127.0.0.1",
        **extra,
    }


def bill_day(days_ago: int = 1) -> str:
    return (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date() - dt.timedelta(days=days_ago)).strftime("%Y%m%d")


async def code_of(call: Any) -> str:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value.code


async def test_an_order_moves_from_notpay_to_paid_to_refund(emulator: Emulator, client: Client) -> None:
    native = order(client, "T1", notify_url="http://127.0.0.1:9/none", trade_type="NATIVE")
    placed = (await client.chain("v2").pay.unifiedorder.post(xml=native)).xml()
    again = (await client.chain("v2").pay.unifiedorder.post(xml=native)).xml()
    assert placed["prepay_id"] == again["prepay_id"]  # the same order placed again
    changed = {**native, "total_fee": 1}
    assert await code_of(client.chain("v2").pay.unifiedorder.post(xml=changed)) == "INVALID_REQUEST"
    query = {"appid": APPID, "mch_id": client.mchid, "out_trade_no": "T1"}
    assert (await client.chain("v2").pay.orderquery.post(xml=query)).xml()["trade_state"] == "NOTPAY"
    async with aiohttp.ClientSession() as session:  # the user pays: an HTTP control, as another language would
        url = emulator.base_url + "_emulator/apiv2/user-pay"
        async with session.post(url, json={"out_trade_no": "T1"}, ssl=False) as paid:
            assert (await paid.json())["trade_state"] == "SUCCESS"
    paid_order = (await client.chain("v2").pay.orderquery.post(xml=query)).xml()
    assert paid_order["trade_state"] == "SUCCESS" and paid_order["transaction_id"].startswith("42")
    assert await code_of(client.chain("v2").pay.closeorder.post(xml=query)) == "ORDERPAID"
    assert await code_of(client.chain("v2").pay.unifiedorder.post(xml=native)) == "ORDERPAID"
    refund = {**query, "out_refund_no": "R1", "total_fee": 888, "refund_fee": 800}
    made = (await client.chain("v2").secapi.pay.refund.post(xml=refund)).xml()
    assert (await client.chain("v2").secapi.pay.refund.post(xml=refund)).xml()["refund_id"] == made["refund_id"]
    too_much = {**refund, "out_refund_no": "R2", "refund_fee": 100}
    assert await code_of(client.chain("v2").secapi.pay.refund.post(xml=too_much)) == "ERROR"
    assert (await client.chain("v2").pay.orderquery.post(xml=query)).xml()["trade_state"] == "REFUND"
    by_trade = {"appid": APPID, "mch_id": client.mchid, "out_trade_no": "T1"}
    listed = (await client.chain("v2").pay.refundquery.post(xml=by_trade)).xml()
    assert (listed["refund_count"], listed["refund_status_0"], listed["refund_fee_0"]) == ("1", "PROCESSING", "800")
    emulator.payments_v2.settle_refund("R1")
    listed = (await client.chain("v2").pay.refundquery.post(xml={**by_trade, "out_refund_no": "R1"})).xml()
    assert listed["refund_status_0"] == "SUCCESS" and listed["refund_success_time_0"]


async def test_an_unpaid_order_closes_once(emulator: Emulator, client: Client) -> None:
    jsapi = order(client, "T3", notify_url="http://127.0.0.1:9/none", trade_type="JSAPI")
    assert await code_of(client.chain("v2").pay.unifiedorder.post(xml=jsapi)) == "PARAM_ERROR"  # JSAPI needs the openid
    await client.chain("v2").pay.unifiedorder.post(xml={**jsapi, "openid": "o1"})
    query = {"appid": APPID, "mch_id": client.mchid, "out_trade_no": "T3"}
    assert (await client.chain("v2").pay.closeorder.post(xml=query)).xml()["result_code"] == "SUCCESS"
    assert await code_of(client.chain("v2").pay.closeorder.post(xml=query)) == "ORDERCLOSED"
    assert (await client.chain("v2").pay.orderquery.post(xml=query)).xml()["trade_state"] == "CLOSED"
    refund = {**query, "out_refund_no": "R3", "total_fee": 888, "refund_fee": 1}
    assert await code_of(client.chain("v2").secapi.pay.refund.post(xml=refund)) == "ERROR"  # nothing was paid
    with pytest.raises(ValueError, match="CLOSED"):
        emulator.payments_v2.user_pay("T3")


async def test_micropay_charges_at_once_or_waits_for_the_password(emulator: Emulator, client: Client) -> None:
    code = "134567890123456789"
    paid = (await client.chain("v2").pay.micropay.post(xml=order(client, "M1", auth_code=code))).xml()
    assert paid["result_code"] == "SUCCESS" and paid["trade_type"] == "MICROPAY"
    big = order(client, "M2", auth_code=code, total_fee=emulator.payments_v2.password_above + 1)
    assert await code_of(client.chain("v2").pay.micropay.post(xml=big)) == "USERPAYING"
    query = {"appid": APPID, "mch_id": client.mchid, "out_trade_no": "M2"}
    assert (await client.chain("v2").pay.orderquery.post(xml=query)).xml()["trade_state"] == "USERPAYING"
    emulator.payments_v2.user_pay("M2")
    assert (await client.chain("v2").pay.orderquery.post(xml=query)).xml()["trade_state"] == "SUCCESS"
    assert (
        await code_of(client.chain("v2").pay.micropay.post(xml=order(client, "M3", auth_code="2888")))
        == "AUTH_CODE_INVALID"
    )
    assert (
        await code_of(client.chain("v2").pay.micropay.post(xml=order(client, "M4", auth_code=code, body=None)))
        == "LACK_PARAMS"
    )
    assert (
        await code_of(client.chain("v2").pay.orderquery.post(xml={**query, "out_trade_no": "none"})) == "ORDERNOTEXIST"
    )


@pytest.mark.parametrize("tar_type", [None, "GZIP"])
async def test_bills_stream_as_text_or_gzip(client: Client, tmp_path: Path, tar_type: str | None) -> None:
    fields = {"appid": APPID, "mch_id": client.mchid, "bill_date": bill_day(), "bill_type": "ALL", "tar_type": tar_type}
    target = tmp_path / "bill.csv"
    done = await client.download("v2/pay/downloadbill", target, xml=fields)
    content = target.read_bytes()
    assert content.startswith("交易时间,公众账号ID,商户号".encode()) and "总交易单数".encode() in content
    assert done.size == len(content) and not done.verified  # APIv2 bills announce no digest
    if tar_type:
        assert done.received < done.size  # it came compressed
        async with client.open_download("v2/pay/downloadbill", xml=fields, decompress=False) as raw:
            assert gzip.decompress(await raw.read()) == content


async def test_a_bill_refusal_comes_as_xml_and_raises(client: Client) -> None:
    today = {"appid": APPID, "mch_id": client.mchid, "bill_date": bill_day(0)}
    with pytest.raises(ApiError) as caught:
        async with client.open_download("v2/pay/downloadbill", xml=today):
            pass
    assert (caught.value.code, caught.value.message) == ("20002", "No Bill Exist")


async def test_the_fund_flow_bill_needs_the_certificate(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    fields = {"appid": APPID, "mch_id": client.mchid, "bill_date": bill_day(3), "account_type": "Basic"}
    done = await client.download("v2/pay/downloadfundflow", tmp_path / "fund.csv", xml=fields)
    assert (tmp_path / "fund.csv").read_text(encoding="utf-8").startswith("记账时间") and done.size > 1000
    with pytest.raises(Exception, match="mutual TLS"):
        await emulator.client(merchant_cert=None).download("v2/pay/downloadfundflow", tmp_path / "x.csv", xml=fields)


async def test_an_upload_signs_its_form_and_the_file_must_match_its_hash(emulator: Emulator, client: Client) -> None:
    emulator.stub("POST", "v2/secapi/mch/uploadmedia", {"result_code": "SUCCESS", "media_id": "m1"})
    image = b"\xff\xd8 image"
    answer = await client.upload("v2/secapi/mch/uploadmedia", image, filename="id.jpg", meta={"mch_id": client.mchid})
    assert answer.xml()["media_id"] == "m1"
    form = parts(emulator.received[-1].headers["Content-Type"], emulator.received[-1].body)
    assert form["media_hash"] == hashlib.md5(image).hexdigest() and form["sign_type"] == "HMAC-SHA256"
    assert list(form)[-1] == "media" and len(form["sign"]) == 64
    # a form whose hash is not the file's is refused by the emulator, though its sign is right
    fields = {"mch_id": client.mchid, "media_hash": hashlib.md5(b"other").hexdigest(), "sign_type": "MD5"}
    fields["sign"] = client.apiv2_signer.sign(fields)
    data = aiohttp.FormData({**fields})
    data.add_field("media", image, filename="id.jpg")
    trust = ssl.create_default_context(cadata=emulator.credentials.ca_pem.decode())
    trust.load_cert_chain(*client_chain(emulator))
    url = emulator.base_url + "secapi/mch/uploadmedia"
    async with aiohttp.ClientSession() as session, session.post(url, data=data, ssl=trust) as refused:
        assert b"media_hash" in await refused.read()


def parts(content_type: str, body: bytes) -> dict[str, str]:
    from wechatpay_chain.testing._multipart import form_parts

    return {name: part.content.decode("latin-1") for name, part in form_parts(content_type, body).items()}


def client_chain(emulator: Emulator) -> tuple[str, str]:
    """The merchant certificate and key as files, for a raw aiohttp client."""
    directory = Path(tempfile.mkdtemp())
    files = emulator.credentials.save(directory)
    return files["merchant_cert_file"], files["private_key_file"]
