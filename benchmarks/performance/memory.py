"""Memory per call in flight: many calls started at once, each SDK in a fresh process.

`python -m benchmarks.performance.memory SDK METHOD KEYS_DIR BASE_URL IN_FLIGHT DEADLINE` makes one call
(to load and warm everything), reads its resident set size, starts IN_FLIGHT calls at once with
`asyncio.gather` (on 100 connections, aiohttp's default and httpx's) and prints, as JSON, the
baseline and the peak RSS until they all finished (or DEADLINE passed), and how many failed. A
call's share is (peak - baseline) / IN_FLIGHT. The floor and wechatpay_chain run in a shuffled
order, paired by round.

Every SDK gets the same bounds: PATIENCE seconds in all and for connecting. The event loop signs
every call before any of them gets far (the first connections are opened, then the loop signs the
thousands of calls behind them), so a connect bound of a few seconds (wechatpay_chain's default
5 s, httpx's 10 s) fails the first calls of such a burst; aiohttp's own default has no connect bound.
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
from typing import Any

import aiohttp

from wechatpay_chain import Timeout
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
        patience = Timeout(total=PATIENCE, connect=PATIENCE)
        return chain_calls(await stack.enter_async_context(chain_client(creds, base_url, timeout=patience)))
    from .incumbent import async_calls, async_incumbent  # only its own process loads the incumbent

    sdk_client = async_incumbent(creds, base_url, timeout=(PATIENCE, PATIENCE))  # (connect, read)
    return async_calls(await stack.enter_async_context(sdk_client))


async def memory_child(sdk: str, method: str, keys_dir: Path, base_url: str, in_flight: int, deadline: float) -> None:
    """In a fresh process: print the baseline and peak RSS while `in_flight` calls are under way at once."""
    creds = Credentials.load(keys_dir)
    async with contextlib.AsyncExitStack() as stack:
        call = (await _setup(sdk, creds, base_url, stack))[method]
        await call(0)
        baseline = rss_now_kib()
        start = time.perf_counter()

        def report(finished: bool, failed: list[BaseException] = []) -> None:  # noqa: B006 (never mutated)
            figures = {"baseline_kib": baseline, "peak_kib": _status_kib("VmHWM"), "finished": finished}
            errors = {"failed": len(failed), "error": repr(failed[0])[:300] if failed else ""}
            print(json.dumps({**figures, **errors, "seconds": time.perf_counter() - start}), flush=True)

        def give_up() -> None:
            # From a thread: an SDK whose event loop is stuck in one long step never sees an asyncio timeout.
            report(False)
            os._exit(0)

        watchdog = threading.Timer(deadline, give_up)
        watchdog.start()
        outcomes = await asyncio.gather(*(call(i) for i in range(in_flight)), return_exceptions=True)
        watchdog.cancel()
        report(True, [o for o in outcomes if isinstance(o, BaseException)])


def run_child(sdk: str, method: str, keys_dir: Path, base_url: str, settings: Settings) -> dict[str, Any]:
    """One memory test in a fresh process; its JSON line (or why there is none)."""
    args = [sdk, method, str(keys_dir), base_url, str(settings.in_flight), str(settings.deadline)]
    out = subprocess.run([sys.executable, "-m", __spec__.name, *args], cwd=ROOT, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        return {"finished": False, "failed": 0, "error": out.stderr.strip()[-300:], "seconds": 0.0}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def trouble(result: dict[str, Any], settings: Settings) -> str:
    """What went wrong in a memory test ("" when nothing did)."""
    if result.get("error") and not result.get("failed"):
        return f"crashed: {result['error']}"
    if not result["finished"]:
        return f"not done within {settings.deadline:.0f} s"
    if result["failed"]:
        return f"{result['failed']:,} calls failed, the first with {result['error']}"
    return ""


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
