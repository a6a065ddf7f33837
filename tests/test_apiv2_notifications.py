"""APIv2 notifications: payment results verified, refund results decrypted, answered as WeChat Pay expects, once each.

The emulator delivers them (over HTTP, retrying on its schedule) to the aiohttp adapter and to the
ASGI adapter (served here by aiohttp through a small ASGI bridge); Starlette's TestClient runs the
ASGI adapter on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from wechatpay_chain import (
    Client,
    ConfigurationError,
    NotificationError,
    V2Notification,
    V2NotificationParser,
    V2WebhookEndpoint,
    parse_v2_notification,
    v2_asgi_app,
    v2_handler_for,
)
from wechatpay_chain._v2.xml import loads
from wechatpay_chain.testing import Credentials, Emulator, v2_payment_notification, v2_refund_notification

APPID = "wxd678efh567hg6787"
PATH = "/wxpay/v2/notify"
PAYMENT = {
    "appid": APPID,
    "mch_id": "1900000109",
    "result_code": "SUCCESS",
    "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    "trade_type": "JSAPI",
    "bank_type": "CMC",
    "total_fee": "100",
    "cash_fee": "100",
    "transaction_id": "1004400740201409030005092168",
    "out_trade_no": "1409811653",
    "time_end": "20140903131540",
}
REFUND = {
    "transaction_id": "4200000000000000000000000001",
    "out_trade_no": "T1",
    "refund_id": "50000000000000000000000000001",
    "out_refund_no": "R1",
    "total_fee": "300",
    "refund_fee": "100",
    "refund_status": "SUCCESS",
    "success_time": "2024-06-01 12:00:00",
}


class Inbox:
    """A business handler recording what it saw; it fails its first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.seen: list[V2Notification] = []
        self.calls = 0
        self.failures = failures

    async def __call__(self, notification: V2Notification) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"business failure #{self.calls}")
        self.seen.append(notification)


def client_of(credentials: Credentials) -> Client:
    return Client(credentials.mchid, credentials.serial, credentials.merchant_key, apiv2_key=credentials.apiv2_key)


# -- the parser ---------------------------------------------------------------------------


@pytest.mark.parametrize("sign_type", ["MD5", "HMAC-SHA256"])
async def test_a_payment_result_is_verified(credentials: Credentials, sign_type: str) -> None:
    body = v2_payment_notification(PAYMENT, credentials.apiv2_key, sign_type)
    note = await parse_v2_notification(client_of(credentials), {}, body)
    assert (note.id, note.event_type, note.kind) == (PAYMENT["transaction_id"], "TRANSACTION.SUCCESS", "payment")
    assert note.resource["out_trade_no"] == "1409811653" and note.body == body


async def test_a_refund_result_is_decrypted(credentials: Credentials) -> None:
    body = v2_refund_notification(REFUND, credentials.apiv2_key, appid=APPID, mch_id=credentials.mchid)
    assert b"out_refund_no" not in body  # sealed in req_info
    note = await parse_v2_notification(client_of(credentials), {}, body)
    assert (note.id, note.event_type, note.kind) == (REFUND["refund_id"], "REFUND.SUCCESS", "refund")
    assert note.resource == REFUND and "req_info" in note.fields
    closed = v2_refund_notification({**REFUND, "refund_status": "REFUNDCLOSE"}, credentials.apiv2_key)
    assert (await parse_v2_notification(client_of(credentials), {}, closed)).event_type == "REFUND.CLOSED"


@pytest.mark.parametrize(
    ("body", "status", "check"),
    [
        (b"<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>", 400, "return_code"),
        (b"<!DOCTYPE xml [<!ENTITY a 'b'>]><xml><return_code>&a;</return_code></xml>", 400, "doctype"),
        (b'{"id": "not xml"}', 400, "syntax"),
        (b"<xml><return_code>SUCCESS</return_code><transaction_id>1</transaction_id></xml>", 401, "sign"),
    ],
    ids=["fail", "doctype", "json", "unsigned"],
)
async def test_bad_notifications_are_refused_naming_the_check(
    credentials: Credentials, body: bytes, status: int, check: str
) -> None:
    with pytest.raises(NotificationError) as caught:
        await parse_v2_notification(client_of(credentials), {}, body)
    assert (caught.value.status, caught.value.check) == (status, check)


async def test_a_tampered_payment_or_a_wrong_key_is_refused(credentials: Credentials) -> None:
    body = v2_payment_notification(PAYMENT, credentials.apiv2_key)
    with pytest.raises(NotificationError) as caught:
        await parse_v2_notification(client_of(credentials), {}, body.replace(b">100<", b">1<", 1))
    assert (caught.value.status, caught.value.check) == (401, "signature")
    refund = v2_refund_notification(REFUND, "0" * 32)
    with pytest.raises(NotificationError) as caught:
        await parse_v2_notification(client_of(credentials), {}, refund)
    # a refund result that does not decrypt: the key here is wrong, so WeChat Pay is asked to retry
    assert (caught.value.status, caught.value.check) == (500, "decrypt")


async def test_the_parser_needs_the_apiv2_key_and_raw_bytes(credentials: Credentials) -> None:
    keyless = Client(
        credentials.mchid, credentials.serial, credentials.merchant_key, {"x": credentials.public_key.public_key()}
    )
    with pytest.raises(ConfigurationError, match="apiv2_key"):
        V2NotificationParser(keyless)
    with pytest.raises(ConfigurationError, match="raw request body"):
        await V2NotificationParser(client_of(credentials)).parse({}, "<xml/>")  # type: ignore[arg-type]


async def test_the_endpoint_answers_success_once_and_fail_so_wechat_pay_retries(credentials: Credentials) -> None:
    inbox = Inbox(failures=1)
    endpoint = V2WebhookEndpoint(client_of(credentials), inbox)
    body = v2_payment_notification(PAYMENT, credentials.apiv2_key)
    status, answer = await endpoint.respond({}, body)
    assert status == 500 and loads(answer)["return_code"] == "FAIL"  # the handler failed: retried
    for _ in range(2):
        status, answer = await endpoint.respond({}, body)
        assert (status, loads(answer)) == (200, {"return_code": "SUCCESS", "return_msg": "OK"})
    assert inbox.calls == 2 and [n.id for n in inbox.seen] == [PAYMENT["transaction_id"]]  # processed once
    status, answer = await endpoint.respond({}, body[:-20] + b"x" + body[-19:])
    assert status >= 400 and loads(answer)["return_code"] == "FAIL"


# -- delivered by the emulator ------------------------------------------------------------


@pytest.fixture
async def emu(credentials: Credentials) -> AsyncIterator[Emulator]:
    """A TLS emulator whose retry schedule is compressed a thousandfold."""
    own = dataclasses.replace(credentials, platform=credentials.platform[:1])
    async with Emulator(credentials=own, notify_backoff=0.001, tls=True) as emulator:
        yield emulator


@asynccontextmanager
async def receiver(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post(PATH, handler)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url(PATH))


def asgi_bridge(asgi: Any) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Serve an ASGI app from an aiohttp route (so the emulator can deliver to it over HTTP)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "method": request.method,
            "path": request.path,
            "headers": [(k.lower().encode(), v.encode()) for k, v in request.headers.items()],
        }

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asgi(scope, receive, send)
        start, reply = sent
        headers = {k.decode(): v.decode() for k, v in start["headers"]}
        return web.Response(status=start["status"], body=reply["body"], headers=headers)

    return handle


async def order_and_pay(emu: Emulator, wxpay: Client, url: str, out_trade_no: str, sign_type: str = "MD5") -> str:
    order = {
        "appid": APPID,
        "mch_id": wxpay.mchid,
        "body": "goods",
        "out_trade_no": out_trade_no,
        "total_fee": 300,
        "spbill_create_ip": "127.0.0.1",
        "notify_url": url,
        "trade_type": "NATIVE",
        "sign_type": sign_type,
    }
    placed = (await wxpay.chain("v2").pay.unifiedorder.post(xml=order)).xml()
    assert placed["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    paid = emu.payments_v2.user_pay(out_trade_no)
    return str(paid["transaction_id"])


@pytest.mark.parametrize("adapter", ["aiohttp", "asgi"])
async def test_the_emulator_delivers_payment_and_refund_results_to_the_adapters(emu: Emulator, adapter: str) -> None:
    wxpay = emu.client()
    inbox = Inbox(failures=1)  # the first delivery fails: answered FAIL, delivered again
    handler = v2_handler_for(wxpay, inbox) if adapter == "aiohttp" else asgi_bridge(v2_asgi_app(wxpay, inbox))
    async with receiver(handler) as url:
        transaction_id = await order_and_pay(emu, wxpay, url, "T1", "HMAC-SHA256")
        delivered = await emu.wait_delivered("TRANSACTION.SUCCESS")
        assert delivered.attempt == 2 and emu.deliveries[0].error is not None
        refund = {
            "appid": APPID,
            "mch_id": wxpay.mchid,
            "transaction_id": transaction_id,
            "out_refund_no": "R1",
            "total_fee": 300,
            "refund_fee": 120,
            "notify_url": url,
        }
        await wxpay.chain("v2").secapi.pay.refund.post(xml=refund)  # over mutual TLS
        emu.payments_v2.settle_refund("R1")
        await emu.wait_delivered("REFUND.SUCCESS")
    payment, refunded = inbox.seen
    assert (payment.kind, payment.id, payment.resource["out_trade_no"]) == ("payment", transaction_id, "T1")
    assert len(payment.fields["sign"]) == 64  # signed like the order: HMAC-SHA256
    assert (refunded.kind, refunded.event_type) == ("refund", "REFUND.SUCCESS")
    assert (refunded.resource["out_refund_no"], refunded.resource["refund_fee"]) == ("R1", "120")


async def test_a_redelivered_notification_is_processed_once(emu: Emulator) -> None:
    wxpay = emu.client()
    inbox = Inbox()
    async with receiver(v2_handler_for(wxpay, inbox)) as url:
        await order_and_pay(emu, wxpay, url, "T2")
        delivery = await emu.wait_delivered("TRANSACTION.SUCCESS")
        async with aiohttp.ClientSession() as session, session.post(url, data=delivery.body) as again:
            assert again.status == 200 and loads(await again.read())["return_code"] == "SUCCESS"
    assert len(inbox.seen) == 1 and inbox.calls == 1


def test_starlette_serves_the_asgi_adapter(credentials: Credentials) -> None:
    testclient = pytest.importorskip("starlette.testclient")
    from starlette.applications import Starlette
    from starlette.routing import Route

    inbox = Inbox()
    app = Starlette(routes=[Route(PATH, v2_asgi_app(client_of(credentials), inbox), methods=["POST"])])
    body = v2_refund_notification(REFUND, credentials.apiv2_key, appid=APPID, mch_id=credentials.mchid)
    with testclient.TestClient(app) as http:
        first, again = http.post(PATH, content=body), http.post(PATH, content=body)
        wrong = http.post(PATH, content=v2_refund_notification(REFUND, "1" * 32))
        other = http.get(PATH)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.headers["content-type"].startswith("text/xml") and b"<return_code>SUCCESS" in first.content
    assert wrong.status_code == 500 and b"<return_code>FAIL</return_code>" in wrong.content
    assert other.status_code == 405
    assert [n.id for n in inbox.seen] == [REFUND["refund_id"]]
