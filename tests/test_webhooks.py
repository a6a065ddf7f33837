"""The framework adapters: aiohttp.web and ASGI (Starlette), alone and fed by the emulator's deliveries."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import importlib.util
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from test_notifications import CONTRACT, signed

from wechatpay_chain import (
    Client,
    ConfigurationError,
    GenericEvent,
    InsuranceContractEvent,
    InsurancePolicyGrantedEvent,
    Notification,
    NotificationParser,
    PowerBankInsuranceEvent,
    WebhookEndpoint,
    asgi_app,
    handler_for,
)
from wechatpay_chain.testing import Credentials, Emulator

PATH = "/wxpay/notify"
# Notifications here are signed by either key (see test_notifications): the merchant has both.
pytestmark = pytest.mark.wechatpay_emulator(key_mode="transition")


@asynccontextmanager
async def receiver(handler: Callable[[web.Request], Any]) -> AsyncIterator[str]:
    """An aiohttp app on 127.0.0.1 with `handler` at PATH; yields its URL."""
    app = web.Application()
    app.router.add_post(PATH, handler)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url(PATH))


async def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as reply:
        return reply.status, await reply.read()


class Inbox:
    """A business handler that records what it saw and fails the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.seen: list[Notification] = []
        self.calls = 0
        self.failures = failures

    async def __call__(self, notification: Notification) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"business failure #{self.calls}")
        self.seen.append(notification)


# -- aiohttp ------------------------------------------------------------------------------


async def test_aiohttp_handler_acknowledges_once_and_answers_duplicates(
    client: Client, credentials: Credentials
) -> None:
    inbox = Inbox()
    headers, body = signed(credentials)
    async with receiver(handler_for(client, inbox)) as url:
        assert await post(url, headers, body) == (204, b"")
        assert await post(url, headers, body) == (204, b"")  # WeChat Pay must stop retrying it
    assert [n.resource for n in inbox.seen] == [CONTRACT]
    assert inbox.calls == 1


def tamper(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return headers, body.replace(b'"summary"', b'"Summary"')


def unknown_serial(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {**headers, "Wechatpay-Serial": "0123456789ABCDEF0123456789ABCDEF01234567"}, body


def sm2(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {**headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, body


def no_nonce(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {k: v for k, v in headers.items() if k != "Wechatpay-Nonce"}, body


@pytest.mark.parametrize(
    ("change", "status", "check"),
    [
        (tamper, 401, "signature"),
        (unknown_serial, 401, "serial"),
        (sm2, 401, "signature-type"),
        (no_nonce, 401, "headers"),
    ],
    ids=["tampered", "unknown-serial", "signature-type", "missing-header"],
)
async def test_aiohttp_rejections_answer_fail_and_are_logged(
    client: Client,
    credentials: Credentials,
    caplog: pytest.LogCaptureFixture,
    change: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]],
    status: int,
    check: str,
) -> None:
    inbox = Inbox()
    async with receiver(handler_for(client, inbox)) as url:
        with caplog.at_level(logging.INFO, logger="wechatpay_chain"):
            answer_status, answer = await post(url, *change(*signed(credentials)))
    assert answer_status == status
    assert orjson.loads(answer)["code"] == "FAIL"
    assert orjson.loads(answer)["message"]
    assert inbox.calls == 0
    assert f"({check})" in caplog.text
    assert credentials.apiv3_key not in caplog.text


async def test_aiohttp_expired_timestamp_is_rejected(client: Client, credentials: Credentials) -> None:
    inbox = Inbox()
    async with receiver(handler_for(client, inbox)) as url:
        status, answer = await post(url, *signed(credentials, now=time.time() - 600))
    assert status == 401
    assert "Wechatpay-Timestamp" in orjson.loads(answer)["message"]
    assert inbox.calls == 0


async def test_aiohttp_handler_failure_answers_500_and_the_retry_succeeds(
    client: Client, credentials: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(failures=1)
    headers, body = signed(credentials)
    async with receiver(handler_for(client, inbox)) as url:
        with caplog.at_level(logging.ERROR, logger="wechatpay_chain"):
            status, answer = await post(url, headers, body)
        assert status == 500
        assert orjson.loads(answer)["code"] == "FAIL"
        assert "business failure #1" not in answer.decode()  # the reason is logged, not sent
        assert "business failure #1" in caplog.text
        assert await post(url, headers, body) == (204, b"")
        assert await post(url, headers, body) == (204, b"")
    assert (inbox.calls, len(inbox.seen)) == (2, 1)


async def test_a_plain_function_handler_works(client: Client, credentials: Credentials) -> None:
    seen: list[str] = []
    async with receiver(handler_for(client, lambda n: seen.append(n.id))) as url:
        headers, body = signed(credentials)
        assert (await post(url, headers, body))[0] == 204
    assert seen == [orjson.loads(body)["id"]]


async def test_a_concurrent_redelivery_is_asked_to_retry_later(client: Client, credentials: Credentials) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow(notification: Notification) -> None:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()

    headers, body = signed(credentials)
    async with receiver(handler_for(client, slow)) as url:
        first = asyncio.create_task(post(url, headers, body))
        await started.wait()
        status, answer = await post(url, headers, body)
        release.set()
        assert (await first)[0] == 204
    assert status == 503
    assert orjson.loads(answer)["code"] == "FAIL"
    assert calls == 1


async def test_handler_for_needs_a_callable_and_an_apiv3_key(emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="on_event"):
        handler_for(emulator.client(), "not a function")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="apiv3_key"):
        handler_for(emulator.client(apiv3_key=None), Inbox())


async def test_endpoints_can_share_one_parser(client: Client, credentials: Credentials) -> None:
    parser = NotificationParser(client)
    inbox = Inbox()
    first, second = WebhookEndpoint(parser, inbox), WebhookEndpoint(parser, inbox)
    headers, body = signed(credentials)
    assert await first.respond(headers, body) == (204, b"")
    assert await second.respond(headers, body) == (204, b"")
    assert inbox.calls == 1


async def test_respond_refuses_a_decoded_body_instead_of_answering(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    with pytest.raises(ConfigurationError, match="raw request body"):
        await WebhookEndpoint(client, Inbox()).respond(headers, body.decode())  # type: ignore[arg-type]


# -- ASGI (Starlette) ---------------------------------------------------------------------


def starlette_app(client: Client, inbox: Inbox) -> Any:
    starlette = pytest.importorskip("starlette")
    assert starlette
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    endpoint = WebhookEndpoint(client, inbox)

    async def by_hand(request: Request) -> Response:  # the FastAPI-style route of the README
        status, body = await endpoint.respond(request.headers, await request.body())
        return Response(body, status_code=status, media_type="application/json" if body else None)

    return Starlette(
        routes=[
            Route("/asgi", asgi_app(client, inbox), methods=["POST"]),
            Route("/by-hand", by_hand, methods=["POST"]),
        ]
    )


@pytest.mark.parametrize("path", ["/asgi", "/by-hand"])
def test_starlette_app_through_the_asgi_helper(credentials: Credentials, path: str) -> None:
    testclient = pytest.importorskip("starlette.testclient")
    client = standalone_client(credentials)
    inbox = Inbox()
    with testclient.TestClient(starlette_app(client, inbox)) as http:
        headers, body = signed(credentials)
        ok = http.post(path, content=body, headers=headers)
        again = http.post(path, content=body, headers=headers)
        bad = http.post(path, content=body + b" ", headers=headers)
    assert (ok.status_code, ok.content) == (204, b"")
    assert again.status_code == 204
    assert bad.status_code == 401
    assert bad.headers["content-type"] == "application/json"
    assert bad.json()["code"] == "FAIL"
    assert [n.resource for n in inbox.seen] == [CONTRACT]
    assert isinstance(inbox.seen[0].event, InsuranceContractEvent)


def test_the_asgi_app_answers_405_to_other_methods_and_serves_lifespan(credentials: Credentials) -> None:
    testclient = pytest.importorskip("starlette.testclient")
    app = asgi_app(standalone_client(credentials), Inbox())
    with testclient.TestClient(app) as http:  # entering runs the lifespan protocol
        answer = http.get("/")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json()["code"] == "FAIL"


def standalone_client(credentials: Credentials) -> Client:
    """A client for code that runs in another event loop (Starlette's TestClient): no emulator needed."""
    certs: dict[str, Any] = {credentials.public_key_id: credentials.public_key.public_key()}
    certs.update({p.serial: p.certificate for p in credentials.platform})
    return Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        certs,
        apiv3_key=credentials.apiv3_key,
    )


# -- end to end: the emulator delivers ----------------------------------------------------


@pytest.fixture
async def emu(credentials: Credentials) -> AsyncIterator[Emulator]:
    """An emulator whose retry schedule is compressed a thousandfold (15 s -> 15 ms)."""
    own = dataclasses.replace(credentials, platform=credentials.platform[:1])  # rotations stay in this test
    async with Emulator(credentials=own, notify_backoff=0.001) as emulator:
        yield emulator


def beijing_today(emu: Emulator) -> dt.date:
    return dt.datetime.fromtimestamp(emu.now(), dt.timezone(dt.timedelta(hours=8))).date()


async def sign_contract(emu: Emulator, wxpay: Client, url: str, code: str) -> dict[str, Any]:
    """Pre-sign a renewable sign-and-pay contract and play the user signing it (INSURANCE_ENTRUST.SIGN)."""
    await pre_sign(emu, wxpay, url, code)
    return emu.insurance.user_sign(code)


async def pre_sign(emu: Emulator, wxpay: Client, url: str, code: str) -> None:
    """Open a signing session for a renewable sign-and-pay contract notifying `url`."""
    today = beijing_today(emu)
    period = {
        "policy_period_id": 1,
        "estimated_deduct_date": today.isoformat(),
        "estimated_deduct_amount": {"total": 100, "currency": "CNY"},
    }
    pre_entrust_sign = wxpay.v3.papay["insurance-sign"].contracts["pre-entrust-sign"]
    await pre_entrust_sign.app.post(
        json={
            "appid": "wxd678efh567hg6787",
            "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "plan_id": 12535,
            "out_contract_code": code,
            "insured_display_name": "张三",
            "contract_notify_url": url,
            "policy_start_date": today.isoformat(),
            "policy_end_date": (today + dt.timedelta(days=365)).isoformat(),
            "policy_periods": [period],
            "amount": {"total": 100, "currency": "CNY"},
            "out_trade_no": f"T{code}",
            "description": "insurance premium",
            "can_auto_insure": True,
        }
    )


async def test_the_emulator_delivers_each_insurance_notification_to_the_aiohttp_adapter(emu: Emulator) -> None:
    wxpay = emu.client()
    inbox = Inbox()
    async with receiver(handler_for(wxpay, inbox)) as url:
        contract = await sign_contract(emu, wxpay, url, "C1")
        await emu.wait_delivered("INSURANCE_ENTRUST.SIGN")

        await wxpay.v3.inspolicymgr.deduct.authorizations.post(
            json={
                "out_insurance_no": "INS1",
                "appid": "wxd678efh567hg6787",
                "plan_id": "12535",
                "out_contract_code": "C1",
                "insurance_name": "百万医疗险",
            }
        )
        emu.insurance.user_grant("INS1")
        await emu.wait_delivered("INSURANCE_POLICY_MANAGEMENT.GRANTED")

        renewal = beijing_today(emu) + dt.timedelta(days=30)
        await wxpay.chain("v3/papay/insurance-sign/contracts/plan-id/{plan_id}/contract-id/{contract_id}/renew").post(
            plan_id=12535,
            contract_id=contract["contract_id"],
            json={
                "appid": "wxd678efh567hg6787",
                "policy_periods": [
                    {
                        "policy_period_id": 2,
                        "estimated_deduct_date": renewal.isoformat(),
                        "estimated_deduct_amount": {"total": 100, "currency": "CNY"},
                    }
                ],
            },
        )
        await emu.wait_delivered("INSURANCE_ENTRUST.RENEW")

        await wxpay.chain(
            "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/out-contract-code/{out_contract_code}/terminate"
        ).post(plan_id=12535, out_contract_code="C1", json={"contract_termination_remark": "用户退保"})
        await emu.wait_delivered("INSURANCE_ENTRUST.TERMINATE")

        emu.insurance.set_user_qualified("oPB1", True)
        await wxpay.v3["hire-power-bank"]["insurance-orders"].post(
            json={"out_order_no": "PB1", "openid": "oPB1", "notify_url": url, "service_id": "500001"}
        )
        emu.insurance.insurer_confirm("PB1")
        await emu.wait_delivered("HIRE_POWER_BANK.RECEIVE_INSURANCE")

    delivered = {d.notification_id: d for d in emu.deliveries if d.delivered}
    assert [n.event_type for n in inbox.seen] == [
        "INSURANCE_ENTRUST.SIGN",
        "INSURANCE_POLICY_MANAGEMENT.GRANTED",
        "INSURANCE_ENTRUST.RENEW",
        "INSURANCE_ENTRUST.TERMINATE",
        "HIRE_POWER_BANK.RECEIVE_INSURANCE",
    ]
    for notification in inbox.seen:
        assert notification.resource == dict(delivered[notification.id].resource)
        assert not isinstance(notification.event, GenericEvent), notification.event_type
    sign, granted, renew, terminate, order = (n.event for n in inbox.seen)
    assert isinstance(sign, InsuranceContractEvent) and sign.contract_state == "SIGNED"
    assert isinstance(renew, InsuranceContractEvent) and renew.contract_id == contract["contract_id"]
    assert isinstance(terminate, InsuranceContractEvent) and terminate.contract_state == "TERMINATED"
    assert terminate.contract_terminate_info is not None
    assert terminate.contract_terminate_info.contract_termination_mode == "MCH_API_TERMINATE"
    assert isinstance(granted, InsurancePolicyGrantedEvent) and granted.auth_state == "AUTH_STATE_GRANTED"
    assert isinstance(order, PowerBankInsuranceEvent) and order.out_order_no == "PB1"


async def test_a_failing_handler_makes_the_emulator_redeliver_until_it_succeeds(emu: Emulator) -> None:
    wxpay = emu.client()
    inbox = Inbox(failures=3)
    async with receiver(handler_for(wxpay, inbox)) as url:
        await sign_contract(emu, wxpay, url, "C2")
        delivery = await emu.wait_delivered("INSURANCE_ENTRUST.SIGN", timeout=10)
    attempts = [d for d in emu.deliveries if d.notification_id == delivery.notification_id]
    assert [d.status for d in attempts] == [500, 500, 500, 204]
    assert [n.id for n in inbox.seen] == [delivery.notification_id]  # processed once, nothing lost
    assert inbox.calls == 4


async def test_a_wrong_apiv3_key_is_retried_not_swallowed(emu: Emulator) -> None:
    wxpay = emu.client()
    misconfigured = emu.client(apiv3_key="k" * 32)
    inbox = Inbox()
    async with receiver(handler_for(misconfigured, inbox)) as url:
        await sign_contract(emu, wxpay, url, "C3")
        for _ in range(100):
            if len(emu.deliveries) >= 2:
                break
            await asyncio.sleep(0.02)
    assert [d.status for d in emu.deliveries[:2]] == [500, 500]
    assert inbox.calls == 0


async def test_the_aiohttp_example_runs_against_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "notifications_aiohttp.py"
    spec = importlib.util.spec_from_file_location("notifications_aiohttp_example", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert await example.main() == 0
    assert "4 of 4 notifications" in capsys.readouterr().out


async def test_a_notification_from_a_rotated_certificate_is_verified_after_a_refresh(emu: Emulator) -> None:
    emu.key_mode = "certificate"  # a merchant with platform certificates, no public key
    first = emu.credentials.platform[0]
    wxpay = emu.client(certs={first.serial: first.certificate})  # certificate mode, no public key
    inbox = Inbox()
    async with receiver(handler_for(wxpay, inbox)) as url:
        await pre_sign(emu, wxpay, url, "C4")
        new_serial = emu.rotate_certificate()  # no API answer carries it before the notification does
        assert new_serial not in wxpay.certificates
        emu.insurance.user_sign("C4")
        await emu.wait_delivered("INSURANCE_ENTRUST.SIGN")
    assert [n.serial for n in inbox.seen] == [new_serial]
    assert new_serial in wxpay.certificates
