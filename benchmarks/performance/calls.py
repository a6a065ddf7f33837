"""Signed and verified calls: every SDK, GET and POST, at every concurrency, in paired interleaved rounds.

Each round measures every cell (method × concurrency) once for every SDK, back to back in a
shuffled order, so a drift of the machine falls on all of them alike; a figure is the median over
the rounds of its per-round value, and a ratio the median of its per-round ratios.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import aiohttp

from wechatpay_chain._config import user_agent
from wechatpay_chain.testing import Credentials

from .config import ASYNC, CONCURRENCY, DEFAULT, FLOOR, METHODS, OURS, SDKS, SESSION, Settings
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


def _thread_runner(calls_of: dict[str, Callable[[int], object]]) -> Runner:
    async def run(method: str, calls: int, concurrency: int) -> Sample:
        return await asyncio.to_thread(drive_threads, calls_of[method], calls, concurrency)

    return run


async def measure_calls(figures: Figures, creds: Credentials, api: Child, settings: Settings) -> None:
    """Client CPU per call and calls per second of every SDK; the server's CPU per call alongside."""
    base_url = api.url
    keys = {creds.public_key_id: creds.public_key.public_key()}
    session_sdk = sync_incumbent(creds, base_url, pooled_session())
    async with (
        aiohttp.ClientSession() as floor_session,
        aiohttp.ClientSession() as control,
        chain_client(creds, base_url) as client,
        async_incumbent(creds, base_url) as async_sdk,
    ):
        floor = Floor(creds.mchid, creds.serial, creds.merchant_key, keys, base_url, floor_session, user_agent())
        runners: dict[str, Runner] = {
            FLOOR: _async_runner({"GET": floor.get, "POST": floor.post}),
            OURS: _async_runner(chain_calls(client)),
            SESSION: _thread_runner(sync_calls(session_sdk)),
            DEFAULT: _thread_runner(sync_calls(sync_incumbent(creds, base_url))),
            ASYNC: _async_runner(async_calls(async_sdk)),
        }
        for method in METHODS:  # warm up: connections open, caches filled
            for c in CONCURRENCY:
                for run in runners.values():
                    await run(method, min(max(2 * c, 32), settings.calls), c)
        shuffle = random.Random(15).shuffle
        for r in range(settings.rounds):
            for method in METHODS:
                for c in CONCURRENCY:
                    key = cell(method, c)
                    order = list(SDKS)
                    shuffle(order)
                    for sdk in order:
                        before = await api.cpu(control)
                        sample = await runners[sdk](method, settings.calls, c)
                        figures.server[key].add(sdk, (await api.cpu(control) - before) / sample.calls * 1e6)
                        figures.cpu[key].add(sdk, sample.cpu_us)
                        figures.rate[key].add(sdk, sample.rate)
            latest = {key: rounds.values[OURS][-1] / rounds.values[FLOOR][-1] for key, rounds in figures.cpu.items()}
            ratios = ", ".join(f"{key}: {ratio:.3f}" for key, ratio in latest.items())
            print(f"  calls, round {r + 1}/{settings.rounds}: client CPU ÷ floor {ratios}", flush=True)
