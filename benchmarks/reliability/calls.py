"""What the suite calls: two endpoints whose answers tie to their calls, and how an outcome is written."""

from __future__ import annotations

from wechatpay_chain import SignatureError, TransportError
from wechatpay_chain.testing import Answer, Emulator

PING = "v3/reliability/ping/{n}"
ECHO = "v3/reliability/echo"


def stub_endpoints(emu: Emulator) -> None:
    """A GET that answers its placeholder and a POST that echoes its JSON: answers tie to their calls."""
    emu.stub("GET", PING, lambda incoming: Answer(200, {"n": incoming.segments[-1], "说明": "测试"}))
    emu.stub("POST", ECHO, lambda incoming: Answer(200, incoming.json()))


def outcome(exc: BaseException | None) -> str:
    """A call's outcome as FaultCase.expect writes it."""
    if exc is None:
        return "ok"
    if isinstance(exc, SignatureError):
        return f"SignatureError:{exc.check}"
    status = getattr(exc, "status", None)
    return (
        f"{type(exc).__name__}:{status}"
        if status is not None and not isinstance(exc, TransportError)
        else type(exc).__name__
    )
