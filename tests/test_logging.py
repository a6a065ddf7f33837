"""One log record per call on `wechatpay_chain`: its fields, its level, bodies only at DEBUG."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from wechatpay_chain import ApiError, CallLogger, RetryPolicy, SignatureError, TransportError
from wechatpay_chain.testing import Answer, Credentials, Emulator

PING = "v3/logging/users/{openid}"
ECHO = "v3/logging/echo"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
LOGGER = "wechatpay_chain"


@pytest.fixture
async def emu(credentials: Credentials) -> Any:
    async with Emulator(credentials=credentials) as emulator:
        emulator.stub("GET", PING, lambda incoming: Answer(200, {"openid": incoming.segments[-1]}))
        emulator.stub("POST", ECHO, lambda incoming: Answer(200, incoming.json()))
        yield emulator


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


async def test_one_info_record_per_call_with_its_fields(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = emu.client()
    answer = await client.chain(PING).get(openid=OPENID)
    [record] = records(caplog)
    assert record.levelno == logging.INFO
    fields = {k: getattr(record, k) for k in ("method", "template", "status", "request_id", "attempt", "error")}
    assert fields == {
        "method": "GET",
        "template": PING,
        "status": 200,
        "request_id": answer.request_id,
        "attempt": 1,
        "error": None,
    }
    assert 0 < record.duration < 5  # type: ignore[attr-defined]
    assert record.host == f"127.0.0.1:{emu.port}"  # type: ignore[attr-defined]
    message = record.getMessage()
    assert f"GET {PING} -> 200" in message and str(answer.request_id) in message
    assert OPENID not in message  # the template is logged, not the filled-in path
    assert not hasattr(record, "response_body")


async def test_an_error_answer_is_one_info_record_with_its_status(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    emu.fault("status", ECHO, times=1, status=404, code="RESOURCE_NOT_EXISTS")
    with pytest.raises(ApiError):
        await emu.client().chain(ECHO).post(json={})
    [record] = records(caplog)
    assert (record.levelno, record.status, record.error) == (logging.INFO, 404, None)  # type: ignore[attr-defined]
    assert record.request_id  # type: ignore[attr-defined]


async def test_a_call_that_raised_is_one_warning_naming_the_error(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    emu.fault("bad_signature", PING, times=1)
    with pytest.raises(SignatureError):
        await emu.client().chain(PING).get(openid="o1")
    emu.fault("drop", ECHO, times=1)
    with pytest.raises(TransportError):
        await emu.client().chain(ECHO).post(json={})
    signature, transport = records(caplog)
    assert (signature.levelno, signature.error, signature.status) == (logging.WARNING, "SignatureError", 200)  # type: ignore[attr-defined]
    assert signature.request_id  # type: ignore[attr-defined]
    assert (transport.levelno, transport.error, transport.status) == (logging.WARNING, "TransportError", None)  # type: ignore[attr-defined]
    assert "TransportError: POST v3/logging/echo" in transport.getMessage()


async def test_retries_make_one_record_with_the_last_attempt(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    emu.fault("status", PING, times=2, status=503)
    policy = RetryPolicy(backoff=0.01, primary_url=emu.base_url, backup_url=None)
    await emu.client(retry=policy).chain(PING).get(openid="o1")
    [record] = records(caplog)
    assert (record.status, record.attempt) == (200, 3)  # type: ignore[attr-defined]
    emu.fault("status", PING, status=503)
    with pytest.raises(ApiError):
        await emu.client(retry=policy).chain(PING).get(openid="o1")
    assert records(caplog)[-1].attempt == 3  # type: ignore[attr-defined]


async def test_bodies_only_at_debug_in_the_same_single_record(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = emu.client()
    await client.chain(ECHO).post(json={"marker": "body-text-42"})
    assert "body-text-42" not in caplog.text
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    await client.chain(ECHO).post(json={"marker": "body-text-42"})
    [record] = records(caplog)
    assert record.levelno == logging.INFO
    assert record.request_body == record.response_body == '{"marker":"body-text-42"}'  # type: ignore[attr-defined]
    assert "body-text-42" in record.getMessage()
    assert "Authorization" not in caplog.text and "WECHATPAY2-SHA256-RSA2048" not in caplog.text


async def test_large_and_binary_bodies_are_summarised(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    emu.stub("GET", "v3/logging/file", Answer(200, b"\x00\x01" * 3000, {"Content-Type": "application/pdf"}))
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    client = emu.client()
    client.middleware.replace("logging", CallLogger(body_limit=16))
    await client.chain(ECHO).post(json={"text": "x" * 100})
    await client.chain("v3/logging/file").get()
    echo, file = records(caplog)
    assert echo.request_body.startswith('{"text":"xxxxxx') and echo.request_body.endswith("… (111 bytes)")  # type: ignore[attr-defined]
    assert file.response_body == "<6000 bytes application/pdf>"  # type: ignore[attr-defined]


async def test_nothing_is_logged_or_timed_when_the_logger_is_off(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=LOGGER)
    emu.fault("drop", ECHO, times=1)
    with pytest.raises(TransportError):
        await emu.client().chain(ECHO).post(json={})
    await emu.client().chain(PING).get(openid="o1")
    assert records(caplog) == []


def test_the_library_adds_a_null_handler_so_it_is_silent_by_default() -> None:
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger(LOGGER).handlers)


async def test_a_custom_logger_can_replace_the_default(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="payments.wechat")
    client = emu.client()
    client.middleware.replace("logging", CallLogger(logging.getLogger("payments.wechat")))
    await client.chain(PING).get(openid="o1")
    assert [r.name for r in caplog.records] == ["payments.wechat"]
    assert repr(client.middleware["logging"]) == "<CallLogger 'payments.wechat'>"
