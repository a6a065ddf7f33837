"""The client: lifetimes, sessions, errors, and the middleware stack."""

from __future__ import annotations

import copy
import socket
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import pytest

from wechatpay_chain import (
    ApiError,
    Client,
    ConfigurationError,
    Handler,
    Request,
    Response,
    Signer,
    TransportError,
    Verifier,
    WechatpayError,
    parse_notification,
)
from wechatpay_chain.testing import Answer, Emulator


async def test_api_error_carries_the_fields(emulator: Emulator, client: Client) -> None:
    emulator.stub(
        "POST",
        "v3/orders",
        Answer(400, {"code": "PARAM_ERROR", "message": "缺少参数 out_order_no", "detail": {"field": "out_order_no"}}),
    )
    with pytest.raises(ApiError) as caught:
        await client["v3/orders"].post(json={})
    error = caught.value
    assert (error.status, error.code, error.message) == (400, "PARAM_ERROR", "缺少参数 out_order_no")
    assert error.detail == {"field": "out_order_no"}
    assert error.request_id and error.request_id == error.response.headers["Request-ID"]
    assert str(error) == f"HTTP 400 PARAM_ERROR: 缺少参数 out_order_no (Request-ID: {error.request_id})"
    assert isinstance(error, WechatpayError)


async def test_api_error_with_a_non_json_body(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/broken", Answer(502, b"<html>Bad Gateway</html>"))
    with pytest.raises(ApiError) as caught:
        await client["v3/broken"].get()
    assert caught.value.status == 502 and caught.value.code == ""
    assert "Bad Gateway" in str(caught.value)


async def test_unknown_path_is_not_found(client: Client) -> None:
    with pytest.raises(ApiError) as caught:
        await client["v3/no/such/thing"].get()
    assert caught.value.code == "NOT_FOUND"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_failure_is_a_transport_error(emulator: Emulator) -> None:
    client = emulator.client(base_url=f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(TransportError) as caught:
        await client["v3/pay/transactions/id/{id}"].get(id="1")
    assert "GET v3/pay/transactions/id/{id}" in str(caught.value)


async def test_timeout_is_a_transport_error(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/slow", {"ok": 1})
    emulator.fault("delay", "v3/slow", seconds=2)
    with pytest.raises(TransportError, match=r"no answer within 0\.2 s"):
        await client["v3/slow"].get(timeout=0.2)


async def test_owned_session_is_closed(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    async with emulator.client() as client:
        await client["v3/ping"].get()
        session = client._get_session()
    assert session.closed
    with pytest.raises(WechatpayError, match="closed"):
        await client["v3/ping"].get()


async def test_shared_session_serves_many_merchants_and_stays_open(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    async with aiohttp.ClientSession() as session:
        first = emulator.client(session=session)
        second = emulator.client(session=session)
        await first["v3/ping"].get()
        await second["v3/ping"].get()
        await first.close()
        await second.close()
        assert not session.closed
        third = emulator.client(session=session)
        assert (await third["v3/ping"].get()).status == 200


async def test_json_and_body_together_are_refused(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="json= or body="):
        await client["v3/x"].post(json={}, body=b"{}")


async def test_unserialisable_json_is_refused_before_io(emulator: Emulator, client: Client) -> None:
    with pytest.raises(ConfigurationError, match="cannot be serialised"):
        await client["v3/x"].post(json={"when": object()})
    assert not emulator.received


async def test_v2_calls_without_the_apiv2_key_are_refused_before_io(emulator: Emulator) -> None:
    client = emulator.client(apiv2_key=None)
    with pytest.raises(ConfigurationError, match="apiv2_key="):
        await client.chain("v2").pay.micropay.post(xml={"mch_id": client.mchid, "auth_code": "134567890123456789"})
    assert not emulator.received


def test_bad_configuration(emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        emulator.client(base_url="api.mch.weixin.qq.com")
    with pytest.raises(ConfigurationError, match="apiv3_key"):
        emulator.client(apiv3_key="short")
    with pytest.raises(ConfigurationError, match="mchid"):
        emulator.client(mchid="")
    with pytest.raises(ConfigurationError, match="timeout"):
        emulator.client(timeout=-1)


# -- the middleware stack --------------------------------------------------------------------


async def test_default_stack(client: Client) -> None:
    assert client.middleware.names()[:2] == ["signer", "verifier"] or {"signer", "verifier"} <= set(
        client.middleware.names()
    )


async def test_custom_middleware_sees_the_signed_request_and_the_verified_response(
    emulator: Emulator, client: Client
) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    seen: list[tuple[str, int]] = []

    async def metrics(request: Request, call_next: Handler) -> Response:
        response = await call_next(request)
        seen.append((request.headers["Authorization"][:26], response.status))
        return response

    client.middleware.insert_before("signer", "metrics", metrics)
    await client["v3/ping"].get()
    assert seen == [("WECHATPAY2-SHA256-RSA2048 ", 200)]
    client.middleware.remove("metrics")
    await client["v3/ping"].get()
    assert len(seen) == 1


async def test_replacing_the_signer_moves_every_signature(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    calls: list[bytes] = []
    local = client.signer

    class HsmSigner(Signer):
        async def sign(self, message: bytes) -> str:
            calls.append(message)  # e.g. an HSM or a signing service would be called here
            return await local.sign(message)

    client.middleware.replace("signer", HsmSigner(client.mchid, client.serial, None))
    assert isinstance(client.signer, HsmSigner)
    assert (await client["v3/ping"].get()).status == 200
    await client.jsapi_params("wx1", "prepay_1")
    await client.app_params("wx1", "prepay_1")
    assert [m.split(b"\n")[0] for m in calls] == [b"GET", b"wx1", b"wx1"]


@pytest.mark.wechatpay_emulator(key_mode="certificate")
async def test_replacing_the_verifier_moves_every_check(emulator: Emulator) -> None:
    client = emulator.client(certs=None)
    emulator.stub("GET", "v3/ping", {"ok": 1})
    checked: list[bytes] = []

    class Counting(Verifier):
        async def check(self, headers: Mapping[str, str], body: bytes, **options: Any) -> str:
            checked.append(body)
            return await super().check(headers, body, **options)

    assert client.refresher is not None
    client.middleware.replace("verifier", Counting(client.refresher.key_for, clock=time.time))
    await client["v3/ping"].get()  # downloads the certificates first: the list is checked by the new verifier too
    headers, body = emulator.credentials.notification("TRANSACTION.SUCCESS", {"out_trade_no": "T1"}, public_key=False)
    await parse_notification(client, headers, body)
    # The list, downloaded before the call (so that it names a key), then the answer: by the same verifier.
    assert len(checked) == 3 and b'"data"' in checked[0] and checked[1] == b'{"ok":1}' and checked[2] == body


def test_a_copy_of_a_client_is_a_client(offline_client: Client) -> None:
    twin = copy.copy(offline_client)
    assert twin.mchid == offline_client.mchid and str(twin.v3.pay) == "v3/pay"
    with pytest.raises(AttributeError):
        twin._nothing_here  # type: ignore[attr-defined]  # noqa: B018


async def test_aiohttps_silent_resend_is_off_on_a_session_passed_in(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    async with aiohttp.ClientSession() as session:
        session._retry_connection = True
        client = emulator.client(session=session)
        await client["v3/ping"].get()
        assert session._retry_connection is False


def test_stack_editing(client: Client) -> None:
    async def noop(request: Request, call_next: Handler) -> Response:
        return await call_next(request)

    stack = client.middleware
    base = stack.names()
    stack.append("last", noop)
    stack.prepend("first", noop)
    stack.insert_after("signer", "after-signer", noop)
    names = stack.names()
    assert names[0] == "first" and names[-1] == "last"
    assert names.index("after-signer") == names.index("signer") + 1
    with pytest.raises(ValueError, match="already"):
        stack.append("last", noop)
    with pytest.raises(KeyError, match="no middleware named 'nope'"):
        stack.remove("nope")
    for name in ("first", "last", "after-signer"):
        stack.remove(name)
    assert stack.names() == base
