"""Faults: each fault the emulator can inject, and the typed error or retried success it must give."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wechatpay_chain import RetryPolicy, WechatpayError
from wechatpay_chain.testing import Credentials, Emulator

from .calls import ECHO, PING, outcome, stub_endpoints


@dataclass(frozen=True)
class FaultCase:
    """One fault, the call made under it and the outcome the call must have."""

    name: str
    kind: str | None  # an emulator fault, or None for a refused connection
    params: Mapping[str, Any]
    method: str
    expect: str  # "ok", or the error class name (with ":check" for SignatureError, ":status" for ApiError)
    retry: bool = False
    times: int | None = None
    idempotent: bool | None = None
    attempts: int = 1  # attempts the call is expected to make


FAULT_CASES = (
    FaultCase("delay past the timeout", "delay", {"seconds": 2.0}, "GET", "TransportError"),
    FaultCase("delay once, GET retried", "delay", {"seconds": 2.0}, "GET", "ok", True, 1, attempts=2),
    FaultCase("500", "status", {"status": 500}, "GET", "ApiError:500"),
    FaultCase("500 once, GET retried", "status", {"status": 500}, "GET", "ok", True, 1, attempts=2),
    FaultCase("503 once, POST not retried", "status", {"status": 503}, "POST", "ApiError:503", True, 1),
    FaultCase("503 once, POST idempotent", "status", {"status": 503}, "POST", "ok", True, 1, True, attempts=2),
    FaultCase("429", "status", {"status": 429, "code": "FREQUENCY_LIMITED"}, "GET", "ApiError:429"),
    FaultCase("429 once, GET retried", "status", {"status": 429}, "GET", "ok", True, 1, attempts=2),
    FaultCase("dropped connection", "drop", {}, "GET", "TransportError"),
    FaultCase("dropped once, GET retried", "drop", {}, "GET", "ok", True, 1, attempts=2),
    FaultCase("dropped once, POST not retried", "drop", {}, "POST", "TransportError", True, 1),
    FaultCase("bad signature", "bad_signature", {}, "GET", "SignatureError:signature"),
    FaultCase("bad signature, not retried", "bad_signature", {}, "GET", "SignatureError:signature", True),
    FaultCase("skewed timestamp", "skew", {"seconds": 600}, "GET", "SignatureError:timestamp"),
    FaultCase("truncated body", "truncate", {}, "GET", "TransportError"),
    FaultCase("truncated once, GET retried", "truncate", {}, "GET", "ok", True, 1, attempts=2),
    FaultCase("tampered body", "tamper_body", {}, "POST", "SignatureError:signature"),
    FaultCase("unknown serial", "unknown_serial", {}, "GET", "SignatureError:serial"),
    FaultCase(
        "missing Wechatpay-Nonce", "missing_header", {"name": "Wechatpay-Nonce"}, "GET", "SignatureError:headers"
    ),
    FaultCase("refused connection", None, {}, "POST", "TransportError"),
    FaultCase("refused primary, failover", None, {}, "POST", "ok", True, attempts=2),
)


@dataclass
class FaultResult:
    """What one fault case gave, within what time."""

    case: FaultCase
    got: str
    attempts: int
    seconds: float
    bound: float

    @property
    def ok(self) -> bool:
        """The outcome and the attempts are the expected ones, within the time bound."""
        return self.got == self.case.expect and self.attempts == self.case.attempts and self.seconds <= self.bound


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens: connections are refused before anything is sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


async def run_fault(emu: Emulator, case: FaultCase, timeout: float = 1.0) -> FaultResult:
    """One call under one fault; the outcome must come within the timeout plus one second."""
    policy = RetryPolicy(attempts=3, backoff=0.05, backoff_cap=0.2, primary_url=emu.base_url, backup_url=None)
    base = emu.base_url
    if case.kind is None:
        base = closed_port_url()
        policy = RetryPolicy(attempts=3, backoff=0.05, primary_url=base, backup_url=emu.base_url)
    elif case.kind:
        emu.fault(case.kind, PING if case.method == "GET" else ECHO, times=case.times, **case.params)
    client = emu.client(base_url=base, retry=policy if case.retry else None, timeout=timeout)
    node = client.chain(PING) if case.method == "GET" else client.chain(ECHO)
    call: Callable[[], Awaitable[Any]] = (
        (lambda: node.get(n="1", idempotent=case.idempotent))
        if case.method == "GET"
        else (lambda: node.post(json={"a": 1}, idempotent=case.idempotent))
    )
    started = time.perf_counter()
    error: BaseException | None = None
    attempts = 1
    try:
        response = await call()
        attempts = response.request.attempt
    except WechatpayError as exc:
        error, attempts = exc, exc.attempts
    seconds = time.perf_counter() - started
    emu.clear_faults()
    await client.close()
    return FaultResult(case, outcome(error), attempts, seconds, timeout + 1.0)


async def faults_one(credentials: Credentials | None, case: FaultCase, timeout: float = 1.0) -> FaultResult:
    """One fault case against a fresh emulator."""
    async with Emulator(credentials=credentials) as emu:
        stub_endpoints(emu)
        return await run_fault(emu, case, timeout)


async def faults(credentials: Credentials | None = None, timeout: float = 1.0) -> list[FaultResult]:
    """Every fault case, each against a fresh emulator."""
    return [await faults_one(credentials, case, timeout) for case in FAULT_CASES]
