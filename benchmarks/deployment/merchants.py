"""Many merchants in one process: time to construct N clients, time to each one's first call, memory per client.

Three ways to make the clients: N from one key file; N from N key files; N from N key files with
`defer_key_loading=True`. The emulator runs in a process of its own (`merchant_server`), knowing
every merchant, so the figures are the clients' alone. First calls are made one after another
(each one's own latency); memory is the resident set's growth per client (and the Python heap's,
by tracemalloc), idle and after one call, with a session per client or one session shared.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from wechatpay_chain import Client
from wechatpay_chain._keys.loading import _CHECKED
from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._credentials import new_rsa_key, private_pem

MCHID_BASE = 1_600_000_000


@dataclass
class Scenario:
    """The figures of one way of making the clients."""

    name: str
    clients: int
    construct_seconds: float
    first_calls: list[float]  # seconds, one per client, made one after another

    def row(self) -> tuple[str, object]:
        """One line of the table."""
        calls = sorted(self.first_calls)
        p95 = calls[int(len(calls) * 0.95) - 1] if calls else 0.0
        return (
            self.name,
            f"construct all {self.construct_seconds:7.2f} s"
            f" ({self.construct_seconds / self.clients * 1e3:6.2f} ms each)"
            f" | first call p50 {statistics.median(calls) * 1e3:6.1f} ms, p95 {p95 * 1e3:6.1f} ms,"
            f" all {sum(calls):6.2f} s",
        )


@dataclass
class Memory:
    """Growth per client, in bytes."""

    name: str
    rss_idle: float
    heap_idle: float
    rss_after_call: float

    def row(self) -> tuple[str, object]:
        """One line of the table."""
        return (
            self.name,
            f"idle: {self.rss_idle / 1024:6.1f} KiB resident, {self.heap_idle / 1024:6.1f} KiB Python heap"
            f" | after one call: {self.rss_after_call / 1024:6.1f} KiB resident",
        )


def _key_pem(_: int) -> bytes:
    return private_pem(new_rsa_key())


def write_keys(directory: Path, count: int) -> list[Path]:
    """`count` distinct RSA-2048 key files (generated on every core: this is the slow part of the setup)."""
    directory.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor() as pool:
        pems = list(pool.map(_key_pem, range(count)))
    paths = []
    for index, pem in enumerate(pems):
        path = directory / f"merchant_{index}.pem"
        path.write_bytes(pem)
        paths.append(path)
    return paths


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class MerchantServer:
    """The emulator in a process of its own, authenticating every merchant of the run."""

    def __init__(self, directory: Path, credentials: Credentials, keys: list[Path]) -> None:
        credentials.save(directory / "platform")
        # Merchant i signs with keys[i]; merchants from len(keys) on all sign with keys[0].
        files = [*keys, *[keys[0]] * len(keys)]
        self.merchants = [
            {"mchid": str(MCHID_BASE + i), "serial": f"{i:040X}", "key_file": str(k)} for i, k in enumerate(files)
        ]
        (directory / "merchants.json").write_text(json.dumps(self.merchants))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.deployment.merchant_server", str(directory)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert self._process.stdout is not None
        self.base_url = json.loads(self._process.stdout.readline())["base_url"]

    def close(self) -> None:
        """Stop the server process."""
        self._process.terminate()
        self._process.wait(10)


def _settings(server: MerchantServer, credentials: Credentials, index: int, **extra: Any) -> dict[str, Any]:
    merchant = server.merchants[index]
    return {
        "mchid": merchant["mchid"],
        "serial": merchant["serial"],
        "private_key": f"file://{merchant['key_file']}",
        "certs": {credentials.public_key_id: credentials.public_key.public_key()},
        "base_url": server.base_url,
        **extra,
    }


async def _first_calls(clients: list[Client]) -> list[float]:
    times = []
    for client in clients:
        started = time.perf_counter()
        await client["v3/ping"].get()
        times.append(time.perf_counter() - started)
    return times


async def _scenario(name: str, make: Callable[[], list[Client]]) -> Scenario:
    _CHECKED.clear()  # each scenario starts with no key checked yet, as a fresh process does
    started = time.perf_counter()
    clients = make()
    constructed = time.perf_counter() - started
    calls = await _first_calls(clients)
    for client in clients:
        await client.close()
    return Scenario(name, len(clients), constructed, calls)


async def _memory(
    name: str, make: Callable[[], list[Client]], call: Callable[[list[Client]], Awaitable[object]]
) -> Memory:
    gc.collect()
    rss, heap = _rss(), tracemalloc.get_traced_memory()[0]
    clients = make()
    gc.collect()
    rss_idle, heap_idle = _rss() - rss, tracemalloc.get_traced_memory()[0] - heap
    await call(clients)
    gc.collect()
    rss_called = _rss() - rss
    for client in clients:
        await client.close()
    count = len(clients)
    return Memory(name, rss_idle / count, heap_idle / count, rss_called / count)


async def measure(count: int, directory: Path) -> tuple[list[Scenario], list[Memory]]:
    """Every scenario and the memory figures for `count` clients."""
    credentials = Credentials.generate()
    keys = write_keys(directory / "keys", count)
    server = MerchantServer(directory, credentials, keys)
    try:
        distinct, one_key = range(count), range(count, 2 * count)

        def clients(merchants: range, **extra: Any) -> Callable[[], list[Client]]:
            return lambda: [Client(**_settings(server, credentials, i, **extra)) for i in merchants]

        scenarios = [
            await _scenario(f"{count} clients, one key file", clients(one_key)),
            await _scenario(f"{count} clients, {count} key files", clients(distinct)),
            await _scenario(f"{count} clients, {count} key files, deferred", clients(distinct, defer_key_loading=True)),
        ]
        tracemalloc.start()
        try:
            async with aiohttp.ClientSession() as shared:
                memory = [
                    await _memory("a session per client", clients(one_key), _first_calls),
                    await _memory("one session shared", clients(one_key, session=shared), _first_calls),
                ]
        finally:
            tracemalloc.stop()
    finally:
        server.close()
    return scenarios, memory
