"""The soak: many verified calls through one client at once; then what was left open."""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from wechatpay_chain import Client
from wechatpay_chain.testing import Credentials, Emulator

from .calls import ECHO, PING, stub_endpoints


@dataclass
class SoakFigures:
    """What the soak measured: errors, speed, latency, and what stayed open or leaked."""

    calls: int
    concurrency: int
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    in_use_after: int = -1
    pooled_after: int = -1
    leaked_fds: int = 0
    leaked_tasks: int = 0

    @property
    def error_count(self) -> int:
        """Calls that failed, whatever the error."""
        return sum(self.errors.values())

    def rows(self) -> list[tuple[str, object]]:
        """The figures as (label, value) rows of the report."""
        ordered = sorted(self.latencies) or [0.0]
        return [
            ("calls", self.calls),
            ("concurrency", self.concurrency),
            ("errors", self.error_count),
            ("calls per second", f"{self.calls / self.seconds:.0f}" if self.seconds else "-"),
            ("latency p50 / p99 / max (ms)", "{:.1f} / {:.1f} / {:.1f}".format(*_percentiles(ordered))),
            ("connections in use after the run", self.in_use_after),
            ("idle pooled connections after the run", self.pooled_after),
            ("file descriptors leaked after close", self.leaked_fds),
            ("asyncio tasks leaked after close", self.leaked_tasks),
        ]


def _percentiles(ordered: list[float]) -> tuple[float, float, float]:
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


def open_fds() -> int:
    """File descriptors this process holds (Linux)."""
    return len(os.listdir("/proc/self/fd"))


def other_tasks() -> int:
    """asyncio tasks running besides the current one."""
    return len(asyncio.all_tasks()) - 1


async def _settle(baseline_fds: int, baseline_tasks: int, rounds: int = 40) -> None:
    """Give closed sockets and finished tasks a few loop turns to go (at most rounds x 50 ms)."""
    for _ in range(rounds):
        if open_fds() <= baseline_fds and other_tasks() <= baseline_tasks:
            return
        await asyncio.sleep(0.05)


async def _soak_call(client: Client, n: int) -> None:
    if n % 2:
        r = await client.chain(PING).get(n=f"n{n}")
        if r.json() != {"n": f"n{n}", "说明": "测试"}:
            raise AssertionError(f"call {n} got another call's answer: {r.json()!r}")
    else:
        payload = {"n": n, "text": "测试 ✓", "items": list(range(n % 7))}
        r = await client.chain(ECHO).post(json=payload)
        if r.json() != payload:
            raise AssertionError(f"call {n} got another call's answer: {r.json()!r}")


async def soak(calls: int, concurrency: int, credentials: Credentials | None = None) -> SoakFigures:
    """`calls` verified calls through one client, `concurrency` at a time; then count what was left open."""
    figures = SoakFigures(calls, concurrency)
    baseline_fds, baseline_tasks = open_fds(), other_tasks()
    async with Emulator(credentials=credentials) as emu:
        stub_endpoints(emu)
        client = emu.client()
        counter = itertools.count()

        async def worker() -> None:
            while (n := next(counter)) < calls:
                started = time.perf_counter()
                try:
                    await _soak_call(client, n)
                except Exception as exc:  # counted, never hidden: any error fails the figure
                    figures.errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                figures.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        figures.seconds = time.perf_counter() - started
        figures.in_use_after, figures.pooled_after = _connector_counts(client)
        await client.close()
    await _settle(baseline_fds, baseline_tasks)
    figures.leaked_fds = max(0, open_fds() - baseline_fds)
    figures.leaked_tasks = max(0, other_tasks() - baseline_tasks)
    return figures


def _connector_counts(client: Client) -> tuple[int, int]:
    """(connections checked out, idle connections pooled) of the client's aiohttp connector."""
    connector = client._get_session().connector
    # aiohttp has no public count; these are the connector's own books.
    acquired: set[object] = getattr(connector, "_acquired", set())
    pooled: dict[object, list[object]] = getattr(connector, "_conns", {})
    return len(acquired), sum(len(v) for v in pooled.values())
