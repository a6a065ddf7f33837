"""Calls per second and CPU per call of every SDK at every concurrency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

from wechatpay_chain._stack.signing_pool import ProcessPoolSigner, _usable_cpus
from wechatpay_chain.testing import Credentials

from .config import CONCURRENCY, POOL, SDKS, Settings
from .cpu import children_cpu
from .figures import Figures
from .floor import Floor
from .incumbent import async_incumbent, incumbent_call, incumbent_sync_call, sync_incumbent
from .ours import chain_call, chain_client
from .sampling import Sample, drive, drive_threads
from .server import Server


async def measure_calls(figures: Figures, creds: Credentials, srv: Server, settings: Settings) -> None:
    """Every SDK at every concurrency, interleaved so that drifts of the machine hit all alike."""
    base_url = srv.base_url
    sync_sdk = sync_incumbent(creds, base_url)
    async with (
        aiohttp.ClientSession() as session,
        chain_client(creds, base_url) as client,
        chain_client(creds, base_url, signer=ProcessPoolSigner(creds.merchant_key, workers=_usable_cpus())) as pooled,
        async_incumbent(creds, base_url) as async_sdk,
    ):
        floor = Floor(creds, base_url, session)
        ours, ours_pooled, theirs = chain_call(client), chain_call(pooled), incumbent_call(async_sdk)
        theirs_sync = incumbent_sync_call(sync_sdk)

        async def threads(calls: int, concurrency: int) -> Sample:
            return drive_threads(theirs_sync, calls, concurrency)

        runners: dict[str, Callable[[int, int], Awaitable[Sample]]] = {
            "floor": lambda calls, concurrency: drive(floor, calls, concurrency),
            "wechatpay_chain": lambda calls, concurrency: drive(ours, calls, concurrency),
            POOL: lambda calls, concurrency: drive(ours_pooled, calls, concurrency),
            "wechatpayv3 threads": threads,
            "wechatpayv3 async": lambda calls, concurrency: drive(theirs, calls, concurrency),
        }
        for sdk in SDKS:
            figures.samples[sdk] = {c: [] for c in CONCURRENCY}
        for r in range(settings.repeats):
            for c in CONCURRENCY:
                await floor.prepare(settings.calls)
                for sdk, run_sdk in runners.items():
                    await run_sdk(max(c, 20), c)  # warm up: connections open, caches filled, workers started
                    before, children_before = srv.cpu(), children_cpu(srv.pid)
                    sample = await run_sdk(settings.calls, c)
                    sample.server_cpu = srv.cpu() - before
                    sample.children_cpu = children_cpu(srv.pid) - children_before
                    figures.samples[sdk][c].append(sample)
                latest = {s: figures.samples[s][c][-1] for s in SDKS}
                rates = ", ".join(f"{s} {x.calls / x.wall:,.0f}/s" for s, x in latest.items())
                print(f"  run {r + 1}/{settings.repeats}, concurrency {c:>2}: {rates}", flush=True)
