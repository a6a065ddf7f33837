"""Memory per call in flight: many calls started at once, each SDK in a fresh process.

`python -m benchmarks.performance.memory SDK METHOD KEYS_DIR BASE_URL IN_FLIGHT DEADLINE` makes one call
(to load and warm everything), reads its resident set size, starts IN_FLIGHT calls at once with
`asyncio.gather` (on 100 connections, aiohttp's default and httpx's) and prints, as JSON, the
baseline and the peak RSS until they all finished (or DEADLINE passed). A call's share is
(peak - baseline) / IN_FLIGHT. The floor and wechatpay_chain run in alternating order, paired by round.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from wechatpay_chain._config import user_agent
from wechatpay_chain.testing import Credentials

from .config import ASYNC, FLOOR, METHODS, OURS, ROOT, Settings
from .figures import Figures
from .floor import Floor
from .ours import chain_calls, chain_client

PATIENCE = 600  # seconds every SDK's timeout allows: the last of 10,000 queued calls waits long


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def rss_now_kib() -> int:
    """Resident set size now, KiB, and the peak count restarted from here (Linux)."""
    now = _status_kib("VmRSS")
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak RSS
    return now


async def _setup(
    sdk: str, creds: Credentials, base_url: str, stack: contextlib.AsyncExitStack
) -> dict[str, Callable[[int], Awaitable[object]]]:
    if sdk == FLOOR:
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PATIENCE)))
        keys = {creds.public_key_id: creds.public_key.public_key()}
        floor = Floor(creds.mchid, creds.serial, creds.merchant_key, keys, base_url, session, user_agent())
        return {"GET": floor.get, "POST": floor.post}
    if sdk == OURS:
        return chain_calls(await stack.enter_async_context(chain_client(creds, base_url, timeout=PATIENCE)))
    from .incumbent import async_calls, async_incumbent  # only its own process loads the incumbent

    return async_calls(await stack.enter_async_context(async_incumbent(creds, base_url, timeout=PATIENCE)))


async def memory_child(sdk: str, method: str, keys_dir: Path, base_url: str, in_flight: int, deadline: float) -> None:
    """In a fresh process: print the baseline and peak RSS while `in_flight` calls are under way at once."""
    creds = Credentials.load(keys_dir)
    async with contextlib.AsyncExitStack() as stack:
        call = (await _setup(sdk, creds, base_url, stack))[method]
        await call(0)
        baseline = rss_now_kib()
        start = time.perf_counter()

        def report(finished: bool) -> None:
            figures = {"baseline_kib": baseline, "peak_kib": _status_kib("VmHWM"), "finished": finished}
            print(json.dumps({**figures, "seconds": time.perf_counter() - start}), flush=True)

        def give_up() -> None:
            # From a thread: an SDK whose event loop is stuck in one long step never sees an asyncio timeout.
            report(False)
            os._exit(0)

        watchdog = threading.Timer(deadline, give_up)
        watchdog.start()
        await asyncio.gather(*(call(i) for i in range(in_flight)))
        watchdog.cancel()
        report(True)


def run_child(sdk: str, method: str, keys_dir: Path, base_url: str, settings: Settings) -> dict[str, float]:
    """One memory test in a fresh process; its JSON line."""
    args = [sdk, method, str(keys_dir), base_url, str(settings.in_flight), str(settings.deadline)]
    out = subprocess.run(
        [sys.executable, "-m", __spec__.name, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def per_call_kib(result: dict[str, float], in_flight: int) -> float:
    """A call's share of the peak: (peak - baseline) / calls in flight, KiB."""
    return (result["peak_kib"] - result["baseline_kib"]) / in_flight


def measure_memory(figures: Figures, keys_dir: Path, base_url: str, settings: Settings) -> None:
    """KiB per call in flight of the floor and wechatpay_chain (paired rounds), and one run of the incumbent."""
    shuffle = random.Random(15).shuffle
    for _ in range(settings.memory_rounds):
        for method in METHODS:
            order = [FLOOR, OURS]
            shuffle(order)
            results = {sdk: run_child(sdk, method, keys_dir, base_url, settings) for sdk in order}
            late = [sdk for sdk, result in results.items() if not result["finished"]]
            if late:  # a round counts only whole, or the pairs would not match
                figures.notes.append(
                    f"memory, {method}: a round left out, {late} not done within {settings.deadline} s"
                )
                continue
            for sdk, result in results.items():
                figures.memory[method].add(sdk, per_call_kib(result, settings.in_flight))
    for method in METHODS:
        figures.memory_incumbent[method] = run_child(ASYNC, method, keys_dir, base_url, settings)


if __name__ == "__main__":
    sdk, method, keys_dir, base_url, in_flight, deadline = sys.argv[1:]
    asyncio.run(memory_child(sdk, method, Path(keys_dir), base_url, int(in_flight), float(deadline)))
