"""Peak memory with many calls in flight, each SDK in a fresh process (`python -m benchmarks.performance.memory`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from wechatpay_chain.testing import Credentials

from .config import ROOT, Settings
from .figures import Figures
from .incumbent import async_incumbent, incumbent_call
from .ours import chain_call, chain_client


def _status_kib(field: str) -> int | None:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def rss_now_kib() -> int:
    """Resident set size of this process now, KiB, and restart the peak count from here (Linux)."""
    now = _status_kib("VmRSS")
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak RSS
    return now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_peak_kib() -> int:
    """Peak resident set size since `rss_now_kib()` (or since start where it cannot be reset), KiB."""
    peak = _status_kib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def memory_child(sdk: str, keys_dir: Path, base_url: str, in_flight: int, deadline: float) -> None:
    """In a fresh process: print the peak RSS while `in_flight` calls are under way at once (or at `deadline`)."""
    creds = Credentials.load(keys_dir)
    if sdk == "wechatpay_chain":
        # The last of 10,000 calls queued on 100 connections waits long for its connection, beyond
        # the default 5 s connect bound (which covers the wait for a pooled connection too).
        client = chain_client(creds, base_url, timeout=aiohttp.ClientTimeout(total=600))
        call = chain_call(client)
        closer: Callable[[], Awaitable[object]] = client.close
    else:
        incumbent = await async_incumbent(creds, base_url, timeout=600).__aenter__()
        call = incumbent_call(incumbent)

        async def closer() -> object:
            return await incumbent.__aexit__(None, None, None)

    await call(0)
    baseline = rss_now_kib()
    start = time.perf_counter()

    def report(finished: bool) -> None:
        figures = {"baseline_mib": baseline / 1024, "peak_mib": rss_peak_kib() / 1024, "finished": float(finished)}
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
    await closer()


def measure_memory(figures: Figures, keys_dir: Path, base_url: str, settings: Settings) -> None:
    """Run the memory test of each async SDK in a fresh process, so earlier tests leave no trace."""
    for sdk in ("wechatpay_chain", "wechatpayv3 async"):
        child = [sdk, str(keys_dir), base_url, str(settings.in_flight), str(settings.deadline)]
        out = subprocess.run(
            [sys.executable, "-m", __spec__.name, *child],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        figures.memory[sdk] = json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sdk, keys_dir, base_url, in_flight, deadline = sys.argv[1:]
    asyncio.run(memory_child(sdk, Path(keys_dir), base_url, int(in_flight), float(deadline)))
