"""Signed and verified calls: every SDK, GET and POST, at every concurrency, in paired interleaved rounds.

Each round measures every cell (method × concurrency) once for every SDK, back to back in a
shuffled order with the floor and wechatpay_chain side by side (their ratio is a target), so a
drift of the machine falls on all of them alike; a figure is the median over
the rounds of its per-round value, and a ratio the median of its per-round ratios.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import aiohttp

from wechatpay_chain._config import user_agent
from wechatpay_chain.testing import Credentials

from .config import ASYNC, CONCURRENCY, DEFAULT, FLOOR, INCUMBENTS, METHODS, OURS, SESSION, Settings
from .figures import Figures, cell
from .floor import Floor
from .incumbent import async_calls, async_incumbent, pooled_session, sync_calls, sync_incumbent
from .ours import chain_calls, chain_client
from .processes import Child
from .sampling import Sample, drive, drive_threads

Runner = Callable[[str, int, int], Awaitable[Sample]]  # (method, calls, concurrency) -> sample


def _async_runner(calls_of: dict[str, Callable[[int], Awaitable[object]]]) -> Runner:
    async def run(method: str, calls: int, concurrency: int) -> Sample:
        return await drive(calls_of[method], calls, concurrency)

    return run


def _thread_runner(calls_of: dict[str, Callable[[int], object]], pools: dict[int, ThreadPoolExecutor]) -> Runner:
    async def run(method: str, calls: int, concurrency: int) -> Sample:
        return await asyncio.to_thread(drive_threads, pools[concurrency], calls_of[method], calls, concurrency)

    return run


def _order(rng: random.Random) -> list[str]:
    """The SDKs in a random order, the floor and wechatpay_chain side by side (their ratio is the target)."""
    pair, others = [FLOOR, OURS], list(INCUMBENTS)
    rng.shuffle(pair)
    rng.shuffle(others)
    at = rng.randrange(len(others) + 1)
    return others[:at] + pair + others[at:]


async def measure_calls(figures: Figures, creds: Credentials, api: Child, settings: Settings) -> None:
    """Client CPU per call and calls per second of every SDK; the server's CPU per call alongside."""
    base_url = api.url
    keys = {creds.public_key_id: creds.public_key.public_key()}
    async with contextlib.AsyncExitStack() as stack:
        control = await stack.enter_async_context(aiohttp.ClientSession())  # reads the server's CPU
        floor_session = await stack.enter_async_context(aiohttp.ClientSession())
        client = await stack.enter_async_context(chain_client(creds, base_url))
        async_sdk = await stack.enter_async_context(async_incumbent(creds, base_url))
        floor = Floor(creds.mchid, creds.serial, creds.merchant_key, keys, base_url, floor_session, user_agent())

        def threads() -> dict[int, ThreadPoolExecutor]:
            # A sync client keeps its threads for the whole run (one pool per concurrency), as an app does.
            return {c: stack.enter_context(ThreadPoolExecutor(c)) for c in CONCURRENCY}

        runners: dict[str, Runner] = {
            FLOOR: _async_runner({"GET": floor.get, "POST": floor.post}),
            OURS: _async_runner(chain_calls(client)),
            SESSION: _thread_runner(sync_calls(sync_incumbent(creds, base_url, pooled_session())), threads()),
            DEFAULT: _thread_runner(sync_calls(sync_incumbent(creds, base_url)), threads()),
            ASYNC: _async_runner(async_calls(async_sdk)),
        }
        for method in METHODS:  # warm up: connections open, threads started, caches filled
            for c in CONCURRENCY:
                for run in runners.values():
                    await run(method, min(max(2 * c, 32), settings.calls), c)
        rng = random.Random(15)
        for r in range(settings.rounds):
            for method in METHODS:
                for c in CONCURRENCY:
                    key = cell(method, c)
                    for sdk in _order(rng):
                        before = await api.cpu(control)
                        sample = await runners[sdk](method, settings.calls, c)
                        figures.server[key].add(sdk, (await api.cpu(control) - before) / sample.calls * 1e6)
                        figures.cpu[key].add(sdk, sample.cpu_us)
                        figures.rate[key].add(sdk, sample.rate)
            latest = {key: rounds.values[OURS][-1] / rounds.values[FLOOR][-1] for key, rounds in figures.cpu.items()}
            ratios = ", ".join(f"{key}: {ratio:.3f}" for key, ratio in latest.items())
            print(f"  calls, round {r + 1}/{settings.rounds}: client CPU ÷ floor {ratios}", flush=True)
