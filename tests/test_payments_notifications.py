"""Payment and refund notifications: delivered by the emulator, verified by the aiohttp and ASGI adapters, typed.

Also the three key modes, each with a client set up as a merchant of that mode is, and
`emu.notify` for any notification a test wants to send.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from shop import APPID, Inbox, asgi_route, jsapi_order, refund, shop

from wechatpay_chain import (
    Client,
    GenericEvent,
    RefundEvent,
    TransactionEvent,
    asgi_app,
    event_for,
    handler_for,
)
from wechatpay_chain.testing import Emulator
from wechatpay_chain.testing._key_modes import KeyMode

ADAPTERS: dict[str, Callable[[Client], Callable[[Inbox], Any]]] = {
    "aiohttp": lambda client: lambda inbox: handler_for(client, inbox.keep),
    "asgi": lambda client: lambda inbox: asgi_route(asgi_app(client, inbox.keep)),
}


@pytest.mark.wechatpay_emulator(notify_backoff=0.001)  # WeChat Pay's retry schedule, a thousand times faster
@pytest.mark.parametrize("adapter", list(ADAPTERS))
async def test_a_payment_and_its_refund_reach_the_shop_typed_through_each_adapter(
    emulator: Emulator, client: Client, adapter: str
) -> None:
    async with shop(client, route=ADAPTERS[adapter](client)) as inbox:
        inbox.failures = 1  # the first delivery fails: WeChat Pay delivers it again 15 s (here 15 ms) later
        placed = await client["v3/pay/transactions/jsapi"].post(json=jsapi_order(client.mchid, "T300001", inbox.url))
        emulator.payments.pay_with(await client.jsapi_params(APPID, placed.json()["prepay_id"]))
        paid = await inbox.next("TRANSACTION.SUCCESS")
        body = refund("R300001", 100, 40, inbox.url, out_trade_no="T300001")
        await client["v3/refund/domestic/refunds"].post(json=body)
        emulator.payments.settle_refund("R300001")
        refunded = await inbox.next("REFUND.SUCCESS")
    attempts = [(d.event_type, d.attempt, d.status) for d in emulator.deliveries]
    assert attempts == [
        ("TRANSACTION.SUCCESS", 1, 500),
        ("TRANSACTION.SUCCESS", 2, 204),
        ("REFUND.SUCCESS", 1, 204),
    ]
    payment = paid.event
    assert isinstance(payment, TransactionEvent)
    assert (payment.appid, payment.mchid, payment.out_trade_no, payment.trade_state) == (
        APPID,
        client.mchid,
        "T300001",
        "SUCCESS",
    )
    assert payment.amount.total == payment.amount.payer_total == 100
    assert payment.payer is not None and payment.payer.openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert payment.success_time.utcoffset() == dt.timedelta(hours=8)
    event = refunded.event
    assert isinstance(event, RefundEvent)
    assert (event.transaction_id, event.amount.refund, event.refund_status) == (payment.transaction_id, 40, "SUCCESS")
    assert event.success_time is not None and event.success_time >= payment.success_time


@pytest.mark.parametrize("mode", ["public-key", "certificate", "transition"])
async def test_each_key_mode_with_a_client_set_up_for_it(credentials: Any, mode: KeyMode) -> None:
    async with Emulator(credentials=credentials, key_mode=mode) as emu:
        creds = emu.credentials
        setups: dict[str, dict[str, Any] | None] = {
            "public-key": {creds.public_key_id: creds.public_key.public_key()},
            "certificate": {creds.platform_serial: creds.platform[-1].certificate},
            "transition": None,  # emu.certs(): both kinds of key
        }
        client = emu.client(**({} if setups[mode] is None else {"certs": setups[mode]}))
        async with shop(client) as inbox:
            placed = await client["v3/pay/transactions/jsapi"].post(
                json=jsapi_order(client.mchid, "T300010", inbox.url)
            )
            emu.payments.pay_with(await client.jsapi_params(APPID, placed.json()["prepay_id"]))
            note = await inbox.next("TRANSACTION.SUCCESS")
        signer = creds.platform_serial if mode == "certificate" else creds.public_key_id
        assert placed.headers["Wechatpay-Serial"] == note.serial == signer
        certificates = await client["v3/certificates"].get() if mode != "public-key" else None
        assert certificates is None or [c["serial_no"] for c in certificates.json()["data"]] == [creds.platform_serial]


# -- typed events ---------------------------------------------------------------------------------

PARTNER_PAYMENT = {
    "sp_appid": "wx8888888888888888",
    "sp_mchid": "1230000109",
    "sub_appid": "wxd678efh567hg6999",
    "sub_mchid": "1900000109",
    "out_trade_no": "1217752501201407033233368018",
    "transaction_id": "1217752501201407033233368018",
    "trade_type": "JSAPI",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "CMC",
    "attach": "自定义数据",
    "success_time": "2018-06-08T10:34:56+08:00",
    "payer": {"sp_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "sub_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
    "scene_info": {"device_id": "013467007045764"},
    "promotion_detail": [],
}


def test_a_partner_payment_resource_is_typed_and_keeps_every_field() -> None:
    event = event_for("TRANSACTION.SUCCESS", PARTNER_PAYMENT)
    assert isinstance(event, TransactionEvent)
    assert (event.sp_mchid, event.sub_mchid, event.appid, event.mchid) == ("1230000109", "1900000109", None, None)
    assert event.payer is not None and event.payer.sp_openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert event.success_time == dt.datetime(2018, 6, 8, 10, 34, 56, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert event.resource == PARTNER_PAYMENT  # nothing is lost
    assert event.extra == {"scene_info": {"device_id": "013467007045764"}, "promotion_detail": []}


def test_amounts_are_ints_and_times_accept_z() -> None:
    resource = {
        "mchid": "1900000109",
        "out_trade_no": "T1",
        "transaction_id": "4200",
        "out_refund_no": "R1",
        "refund_id": "50",
        "refund_status": "SUCCESS",
        "success_time": "2024-06-01T02:00:00Z",
        "amount": {"total": "100", "refund": 40, "payer_total": 100, "payer_refund": "40"},
    }
    event = event_for("REFUND.SUCCESS", resource)
    assert isinstance(event, RefundEvent)
    assert (event.amount.total, event.amount.payer_refund) == (100, 40)
    assert event.success_time == dt.datetime(2024, 6, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.mark.parametrize(
    ("event_type", "resource"),
    [
        ("TRANSACTION.SUCCESS", {**PARTNER_PAYMENT, "success_time": "2018-06-08 10:34:56"}),  # no offset
        ("TRANSACTION.SUCCESS", {**PARTNER_PAYMENT, "amount": {"total": True}}),
        ("TRANSACTION.SUCCESS", {k: v for k, v in PARTNER_PAYMENT.items() if k != "transaction_id"}),
        ("REFUND.CLOSED", {"out_refund_no": "R1"}),
    ],
    ids=["naive-time", "boolean-amount", "missing-id", "bare-refund"],
)
def test_an_ill_shaped_resource_arrives_generic_with_a_warning(
    event_type: str, resource: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="wechatpay_chain"):
        event = event_for(event_type, resource)
    assert event == GenericEvent(event_type, resource)
    assert "delivered as GenericEvent" in caplog.text


# -- emu.notify: any notification, by hand --------------------------------------------------------


async def test_emu_notify_sends_any_notification_signed_and_encrypted(emulator: Emulator, client: Client) -> None:
    async with shop(client) as inbox:
        notification_id = emulator.notify(inbox.url, "TRANSACTION.SUCCESS", PARTNER_PAYMENT)
        paid = await inbox.next("TRANSACTION.SUCCESS")
        emulator.notify(inbox.url, "PROFITSHARING.SUCCESS", {"order_id": "3008450740201411110007820472"})
        other = await inbox.next("PROFITSHARING.SUCCESS")
        emulator.notify(inbox.url, "REFUND.CLOSED", {"x": 1}, summary="关了", original_type="mine")
        custom = await inbox.next("REFUND.CLOSED")
    assert (paid.id, paid.summary, paid.original_type, paid.resource) == (
        notification_id,
        "支付成功",
        "transaction",
        PARTNER_PAYMENT,
    )
    assert isinstance(paid.event, TransactionEvent)
    assert (other.original_type, other.summary, type(other.event)) == ("profitsharing", "", GenericEvent)
    assert (custom.summary, custom.original_type) == ("关了", "mine")
    assert [d.attempt for d in emulator.deliveries] == [1, 1, 1]


async def test_the_notify_control_does_the_same_over_http(emulator: Emulator, client: Client) -> None:
    async with shop(client) as inbox, aiohttp.ClientSession() as http:
        payload = {"url": inbox.url, "event_type": "TRANSACTION.SUCCESS", "resource": PARTNER_PAYMENT}
        async with http.post(emulator.base_url + "_emulator/notify", json=payload) as answer:
            sent = await answer.json()
        note = await inbox.next("TRANSACTION.SUCCESS")
        async with http.post(emulator.base_url + "_emulator/notify", json={**payload, "resource": "x"}) as bad:
            assert (bad.status, (await bad.json())["code"]) == (400, "PARAM_ERROR")
    assert sent == {"notification_id": note.id}
