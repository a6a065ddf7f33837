"""Timing a batch of calls, from coroutines on one event loop or from threads: wall time and this process's CPU."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

Call = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class Sample:
    """One timed batch: `calls` calls took `wall` seconds and `cpu` seconds of this process's CPU (all threads)."""

    calls: int
    wall: float
    cpu: float

    @property
    def cpu_us(self) -> float:
        """CPU µs per call."""
        return self.cpu / self.calls * 1e6

    @property
    def rate(self) -> float:
        """Calls per second."""
        return self.calls / self.wall


async def drive(call: Call, calls: int, concurrency: int) -> Sample:
    """Make `calls` calls, `concurrency` at a time, on this event loop."""
    counter = itertools.count()

    async def worker() -> None:
        while (i := next(counter)) < calls:
            await call(i)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Sample(calls, time.perf_counter() - wall, time.process_time() - cpu)


def drive_threads(pool: ThreadPoolExecutor, call: Callable[[int], object], calls: int, concurrency: int) -> Sample:
    """Make `calls` calls from `concurrency` threads of `pool` (kept between samples, as an app keeps its threads)."""
    counter = itertools.count()

    def worker() -> None:
        while (i := next(counter)) < calls:
            call(i)

    wall, cpu = time.perf_counter(), time.process_time()
    for future in [pool.submit(worker) for _ in range(concurrency)]:
        future.result()
    return Sample(calls, time.perf_counter() - wall, time.process_time() - cpu)
