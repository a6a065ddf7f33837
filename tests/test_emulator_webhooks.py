"""Notifications from the emulator: signed, encrypted, POSTed to loopback receivers, retried, recorded."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from test_emulator_seeds import pre_sign

from wechatpay_chain import Client
from wechatpay_chain.testing import Credentials, Emulator
from wechatpay_chain.testing._webhooks import GRANTED_SCHEDULE, SCHEDULE

ORDER_EVENT = "HIRE_POWER_BANK.RECEIVE_INSURANCE"
GRANTED_EVENT = "INSURANCE_POLICY_MANAGEMENT.GRANTED"


@dataclass
class Receiver:
    """A merchant's notify endpoint on 127.0.0.1 that answers from a script, then 200."""

    script: list[int] = field(default_factory=list)  # statuses for the first calls
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""
    stall: float = 0.0  # seconds to wait before answering the first call

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        if self.stall and len(self.got) == 1:
            await asyncio.sleep(self.stall)
        status = self.script.pop(0) if self.script else 200
        if status in (301, 302, 307, 308):
            return web.Response(status=status, headers={"Location": "http://example.com/"})
        return web.json_response({"code": "SUCCESS" if status < 300 else "FAIL", "message": ""}, status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    box = Receiver()
    app = web.Application()
    app.router.add_post("/notify", box.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    box.url = f"http://127.0.0.1:{runner.addresses[0][1]}/notify"
    yield box
    await runner.cleanup()


@pytest.fixture
async def fast(credentials: Credentials) -> AsyncIterator[Emulator]:
    """An emulator whose retry schedule runs a million times faster than WeChat Pay's."""
    credentials.platform[:] = credentials.platform[:1]
    async with Emulator(credentials=credentials, notify_backoff=1e-6) as emu:
        yield emu


async def ordered(emu: Emulator, number: str, notify_url: str, client: Client | None = None) -> dict[str, Any]:
    """Create a power-bank insurance order and have the insurer confirm it (one notification)."""
    await (client or emu.client()).v3.hirePowerBank.insuranceOrders.post(
        json={"out_order_no": number, "openid": "o_" + number, "notify_url": notify_url, "service_id": "svc"}
    )
    return emu.insurance.insurer_confirm(number)


def decrypt(emu: Emulator, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The envelope and its decrypted resource, with `cryptography` alone."""
    envelope = json.loads(body)
    resource = envelope["resource"]
    plain = AESGCM(emu.credentials.apiv3_key.encode()).decrypt(
        resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]), resource["associated_data"].encode()
    )
    return envelope, json.loads(plain)


async def test_a_notification_arrives_signed_and_encrypted(fast: Emulator, receiver: Receiver) -> None:
    order = await ordered(fast, "n1", receiver.url)
    delivery = await fast.wait_delivered(ORDER_EVENT, timeout=5)
    assert delivery.delivered
    assert delivery.attempt == 1
    assert delivery.final
    assert len(receiver.got) == 1
    headers, body = receiver.got[0]
    assert body == delivery.body
    assert headers["Content-Type"] == "application/json"
    await fast.client().verifier.check(headers, body)  # our SDK accepts it
    envelope, resource = decrypt(fast, body)
    assert envelope["event_type"] == ORDER_EVENT
    assert envelope["resource_type"] == "encrypt-resource"
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert envelope["resource"]["original_type"] == "hire_power_bank"
    assert envelope["id"] == delivery.notification_id
    assert resource == order == delivery.resource


async def test_advancing_the_business_clock_leaves_notification_signatures_valid(
    fast: Emulator, receiver: Receiver
) -> None:
    fast.advance(3 * 86_400)
    await ordered(fast, "n0", receiver.url)
    await fast.wait_delivered(ORDER_EVENT, timeout=5)
    headers, body = receiver.got[0]
    await fast.client().verifier.check(headers, body)  # a client on the real clock still accepts it
    received = dt.datetime.fromisoformat(decrypt(fast, body)[1]["order_receive_time"]).timestamp()
    assert received > time.time() + 2 * 86_400  # the resource lives in business time


async def test_a_failing_receiver_gets_retries_until_it_acknowledges(fast: Emulator, receiver: Receiver) -> None:
    receiver.script = [500, 503]
    await ordered(fast, "n2", receiver.url)
    delivery = await fast.wait_delivered(ORDER_EVENT, timeout=5)
    attempts = [(d.attempt, d.status, d.delivered, d.final) for d in fast.deliveries]
    assert attempts == [(1, 500, False, False), (2, 503, False, False), (3, 200, True, True)]
    assert delivery is fast.deliveries[-1]
    assert "HTTP 500" in (fast.deliveries[0].error or "")
    bodies = {body for _, body in receiver.got}
    assert len(receiver.got) == 3 and len(bodies) == 1  # the same notification, nothing lost
    client = fast.client()
    for headers, body in receiver.got:
        await client.verifier.check(headers, body)  # each attempt carries a valid signature


async def test_retries_follow_the_documented_schedule_and_then_stop(fast: Emulator, unused_tcp_port: int) -> None:
    dead = f"http://127.0.0.1:{unused_tcp_port}/notify"  # nobody listens: connection refused
    await ordered(fast, "n3", dead)
    await wait_until(lambda: any(d.final for d in fast.deliveries))
    assert [d.attempt for d in fast.deliveries] == list(range(1, len(SCHEDULE) + 2))
    assert all(d.status is None and d.error for d in fast.deliveries)
    assert [d.final for d in fast.deliveries].count(True) == 1
    assert not any(d.delivered for d in fast.deliveries)
    assert fast.webhooks.pending == 0


async def test_the_granted_notice_has_its_own_ten_attempt_schedule(fast: Emulator, unused_tcp_port: int) -> None:
    dead = f"http://127.0.0.1:{unused_tcp_port}/notify"
    client = fast.client()
    code = "g1"
    await client["v3/inspolicymgr/deduct/authorizations"].post(
        json={
            "out_insurance_no": "ins-g1",
            "appid": "wxd678efh567hg6787",
            "plan_id": "12535",
            "out_contract_code": code,
            "insurance_name": "百万医疗险",
        }
    )
    body = pre_sign(fast, code)
    body["contract_notify_url"] = dead
    await client["v3/papay/insurance-sign/contracts/pre-entrust-sign/app"].post(json=body)
    fast.insurance.user_sign(code)
    fast.insurance.user_grant("ins-g1")
    await wait_until(lambda: sum(d.final for d in fast.deliveries) == 2)
    granted = [d for d in fast.deliveries if d.event_type == GRANTED_EVENT]
    assert len(granted) == len(GRANTED_SCHEDULE) + 1 == 10
    assert granted[-1].final and not granted[-1].delivered
    assert granted[0].resource["auth_state"] == "AUTH_STATE_GRANTED"


async def test_a_slow_receiver_counts_as_a_failure(credentials: Credentials, receiver: Receiver) -> None:
    receiver.stall = 0.6
    async with Emulator(credentials=credentials, notify_backoff=1e-6, notify_timeout=0.1) as emu:
        await ordered(emu, "n4", receiver.url)
        await emu.wait_delivered(ORDER_EVENT, timeout=5)
        assert [d.attempt for d in emu.deliveries] == [1, 2]
        assert "no answer within 0.1 s" in (emu.deliveries[0].error or "")


async def test_a_redirect_is_not_followed(fast: Emulator, receiver: Receiver) -> None:
    receiver.script = [307]
    await ordered(fast, "n5", receiver.url)
    await fast.wait_delivered(ORDER_EVENT, timeout=5)
    assert fast.deliveries[0].status == 307
    assert not fast.deliveries[0].delivered
    assert len(receiver.got) == 2  # the retry came back here, not to the Location


async def test_only_loopback_receivers_are_reached(fast: Emulator) -> None:
    await ordered(fast, "n6", "https://api.test.com/notify")
    await wait_until(lambda: bool(fast.deliveries))
    (refused,) = fast.deliveries
    assert refused.final and refused.status is None
    assert "not a loopback address" in (refused.error or "")
    assert "allow_remote_notify=True" in (refused.error or "")


async def test_localhost_by_name_is_loopback(fast: Emulator, receiver: Receiver) -> None:
    await ordered(fast, "n7", receiver.url.replace("127.0.0.1", "localhost"))
    delivery = await fast.wait_delivered(ORDER_EVENT, timeout=5)
    assert delivery.url.startswith("http://localhost:")


async def test_wait_delivered_returns_each_delivery_once(fast: Emulator, receiver: Receiver) -> None:
    await ordered(fast, "n8", receiver.url)
    await ordered(fast, "n9", receiver.url)
    first = await fast.wait_delivered(ORDER_EVENT, timeout=5)
    second = await fast.wait_delivered(ORDER_EVENT, timeout=5)
    assert {first.resource["out_order_no"], second.resource["out_order_no"]} == {"n8", "n9"}
    with pytest.raises(TimeoutError, match=r"no HIRE_POWER_BANK\.RECEIVE_INSURANCE delivered within 0\.05 s"):
        await fast.wait_delivered(ORDER_EVENT, timeout=0.05)


async def test_wait_delivered_names_the_failed_attempts(credentials: Credentials, receiver: Receiver) -> None:
    receiver.script = [500] * 5
    async with Emulator(credentials=credentials, notify_backoff=1.0) as emu:
        await ordered(emu, "n10", receiver.url)
        with pytest.raises(TimeoutError, match=r"#1 http://127\.0\.0\.1:\d+/notify: the receiver answered HTTP 500"):
            await emu.wait_delivered(ORDER_EVENT, timeout=0.5)


async def test_closing_cancels_pending_retries(credentials: Credentials, receiver: Receiver) -> None:
    receiver.script = [500] * 20
    emu = await Emulator(credentials=credentials, notify_backoff=1.0).start()  # next retry in 15 s
    await ordered(emu, "n11", receiver.url)
    await wait_until(lambda: bool(emu.deliveries))
    assert emu.webhooks.pending == 1
    await asyncio.wait_for(emu.close(), timeout=5)
    assert emu.webhooks.pending == 0
    assert len(emu.deliveries) == 1


async def test_notifications_are_signed_with_the_key_the_merchant_last_named(
    credentials: Credentials, receiver: Receiver
) -> None:
    credentials.platform[:] = credentials.platform[:1]
    async with Emulator(credentials=credentials, notify_backoff=1e-6, key_mode="transition") as emu:
        certificate = credentials.platform[0]
        by_certificate = emu.client(certs={certificate.serial: certificate.certificate})
        by_public_key = emu.client(certs={credentials.public_key_id: credentials.public_key.public_key()})
        for number, client, expected in [
            ("n12", by_certificate, certificate.serial),
            ("n13", by_public_key, credentials.public_key_id),
        ]:
            await ordered(emu, number, receiver.url, client)
            await emu.wait_delivered(ORDER_EVENT, timeout=5)
            headers, body = receiver.got[-1]
            assert headers["Wechatpay-Serial"] == expected
            await client.verifier.check(headers, body)


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    """Poll `condition` (not a timed assertion: the bound only stops a hung test)."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)
