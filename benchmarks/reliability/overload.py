"""Overload: far more calls in flight at once than the connection pool holds, each with the client's timeout.

Every call is started at once through one client (100 pooled connections) against the emulator.
Those that cannot be served within their bounds must fail, and each failure must say whether the
request went out: a call that failed before sending (`TransportError.sent` False) is safe to
repeat; one that failed after sending leaves the outcome of a POST unknown.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from dataclasses import dataclass, field

from wechatpay_chain import Client, Timeout, TransportError
from wechatpay_chain.testing import Credentials, Emulator

from .calls import ECHO, PING, stub_endpoints


@dataclass
class OverloadFigures:
    """How the calls of one overload run ended."""

    calls: int
    timeout: Timeout
    ok: int = 0
    failed_before_sending: int = 0
    failed_after_sending: int = 0
    other: Counter[str] = field(default_factory=Counter)  # any other error: must stay empty
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this process (client and emulator), during the run
    peak_rss_mib: float = 0.0

    def rows(self) -> list[tuple[str, object]]:
        """The figures as (label, value) rows of the report."""
        return [
            ("calls started at once", self.calls),
            ("timeout", _describe(self.timeout)),
            ("succeeded", self.ok),
            ("failed before sending (TransportError, sent=False)", self.failed_before_sending),
            ("failed after sending (TransportError, sent=True)", self.failed_after_sending),
            ("other errors", sum(self.other.values())),
            ("seconds until the last call ended", f"{self.seconds:.0f}"),
            ("CPU seconds of the process (client and emulator)", f"{self.cpu_seconds:.0f}"),
            ("peak RSS of the process (MiB)", f"{self.peak_rss_mib:.0f}"),
        ]


def _describe(timeout: Timeout) -> str:
    return ", ".join(f"{name}={getattr(timeout, name)}" for name in ("total", "connect", "pool", "read"))


async def _one(client: Client, n: int) -> None:
    if n % 2:
        await client.chain(PING).get(n=f"n{n}")
    else:
        await client.chain(ECHO).post(json={"n": n})


async def overload(
    calls: int, timeout: Timeout | None = None, credentials: Credentials | None = None
) -> OverloadFigures:
    """Start `calls` calls at once through one client and count how each ended."""
    timeout = timeout or Timeout()
    figures = OverloadFigures(calls, timeout)
    async with Emulator(credentials=credentials) as emu:
        stub_endpoints(emu)
        client = emu.client(timeout=timeout)
        started, cpu = time.perf_counter(), time.process_time()
        outcomes = await asyncio.gather(*(_one(client, n) for n in range(calls)), return_exceptions=True)
        figures.seconds = time.perf_counter() - started
        figures.cpu_seconds = time.process_time() - cpu
        await client.close()
    for result in outcomes:
        if result is None:
            figures.ok += 1
        elif isinstance(result, TransportError):
            if result.sent:
                figures.failed_after_sending += 1
            else:
                figures.failed_before_sending += 1
        else:
            figures.other[f"{type(result).__name__}: {result}"[:160]] += 1
    figures.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures
