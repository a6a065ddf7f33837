"""Beyond one core: one client process against two, each with its own client.

An asyncio process signs on one core at most (cryptography holds the GIL while it signs); Python web
apps use more by running several worker processes. Both arrangements get the same total number of
calls in flight (the two processes half each) against the server that signs every answer; per round
they run in a shuffled order. Calls per second count every process's calls over the wall time of the
slowest; CPU per call counts every client process.

(A signing pool of worker processes inside one client was measured here too, won nowhere on the
2-core machine, and was removed: see docs/performance.md.)
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from .config import CONCURRENCY, METHODS, ONE, ROOT, TWO, Settings
from .figures import Figures, cell


class Worker:
    """One client process (worker.py), driven through its standard input and output."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    async def start(cls, keys_dir: Path, base_url: str) -> Worker:
        """Start a client process and wait until it is ready."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.performance.worker",
            str(keys_dir),
            base_url,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        worker = cls(proc)
        if await worker._line() != "ready":
            raise RuntimeError("a client worker did not start")
        return worker

    async def _line(self) -> str:
        assert self._proc.stdout is not None
        return (await self._proc.stdout.readline()).decode().strip()

    async def run(self, method: str, calls: int, concurrency: int) -> float:
        """Make `calls` calls, `concurrency` at a time; the client CPU seconds they took."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(
            json.dumps({"method": method, "calls": calls, "concurrency": concurrency}).encode() + b"\n"
        )
        await self._proc.stdin.drain()
        answer: dict[str, Any] = json.loads(await self._line())
        return float(answer["cpu"])

    async def close(self) -> None:
        """Close its standard input: it closes its client and exits."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        await self._proc.wait()


async def _timed(*runs: tuple[Worker, str, int, int]) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of workers running at once."""
    started = time.perf_counter()
    cpus = await asyncio.gather(*(worker.run(method, calls, c) for worker, method, calls, c in runs))
    return time.perf_counter() - started, sum(cpus)


async def measure_cores(figures: Figures, keys_dir: Path, base_url: str, settings: Settings) -> None:
    """Calls per second and client CPU per call of one process and of two."""
    plain, other = await asyncio.gather(Worker.start(keys_dir, base_url), Worker.start(keys_dir, base_url))
    n = settings.core_calls

    async def arrangement(name: str, method: str, c: int, calls: int) -> tuple[float, float]:
        if name == ONE:
            return await _timed((plain, method, calls, c))
        return await _timed((plain, method, calls // 2, c // 2), (other, method, calls - calls // 2, c - c // 2))

    shuffle = random.Random(15).shuffle
    try:
        for rnd in range(settings.core_rounds + 1):  # round 0 warms up (connections, caches)
            for method in METHODS:
                for c in CONCURRENCY:
                    # At one call in flight a second process would stay idle: nothing to compare.
                    names = [ONE] if c == 1 else [ONE, TWO]
                    shuffle(names)
                    for name in names:
                        calls = n if rnd else min(max(2 * c, 32), n)
                        wall, cpu = await arrangement(name, method, c, calls)
                        if rnd:
                            figures.core_rate[cell(method, c)].add(name, calls / wall)
                            figures.core_cpu[cell(method, c)].add(name, cpu / calls * 1e6)
    finally:
        await asyncio.gather(plain.close(), other.close())
