"""Timing a batch of calls: from coroutines on one event loop, or from threads."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

Call = Callable[[int], Awaitable[object]]


@dataclass
class Sample:
    """One timed batch: wall time, client CPU time (own, child processes') and server CPU time for `calls` calls."""

    calls: int
    wall: float
    cpu: float
    server_cpu: float = 0.0
    children_cpu: float = 0.0


async def drive(call: Call, calls: int, concurrency: int) -> Sample:
    """Make `calls` calls, `concurrency` at a time; time them."""
    counter = itertools.count()

    async def worker() -> None:
        while (i := next(counter)) < calls:
            await call(i)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Sample(calls, time.perf_counter() - wall, time.process_time() - cpu)


def drive_threads(call: Callable[[int], object], calls: int, concurrency: int) -> Sample:
    """Make `calls` calls from `concurrency` threads; time them."""
    counter = itertools.count()

    def worker() -> None:
        while (i := next(counter)) < calls:
            call(i)

    with ThreadPoolExecutor(concurrency) as pool:
        wall, cpu = time.perf_counter(), time.process_time()
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
        return Sample(calls, time.perf_counter() - wall, time.process_time() - cpu)
