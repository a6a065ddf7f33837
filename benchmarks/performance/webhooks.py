"""Webhook adapters against a bare handler doing the same cryptography: deliveries per second at 64 in flight.

Each framework's endpoint runs in a process of its own (webhook_server.py); this process plays WeChat
Pay, POSTing signed notifications over keep-alive connections, 64 at a time. Every delivery carries
a notification never delivered before (the adapters keep a replay store), all made and signed
before the clock starts. Per round, each framework's two handlers get the same notifications, in a
shuffled order; the server's own CPU per delivery is read alongside.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import aiohttp

from wechatpay_chain.testing import Credentials

from .config import FRAMEWORKS, WEBHOOK_CONCURRENCY, Settings
from .figures import Figures
from .notifications import notifications
from .processes import Child, child_server

HANDLERS = ("bare", "adapter")


async def deliver(session: aiohttp.ClientSession, url: str, batch: list[tuple[dict[str, str], bytes]]) -> float:
    """POST every notification of `batch` to `url`, WEBHOOK_CONCURRENCY at a time; the seconds it took."""
    counter = itertools.count()

    async def worker() -> None:
        while (i := next(counter)) < len(batch):
            headers, body = batch[i]
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 204:
                    raise RuntimeError(f"{url} answered {answer.status} to a genuine notification")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(WEBHOOK_CONCURRENCY)))
    return time.perf_counter() - started


def _servers(stack: ExitStack, keys_dir: Path) -> Iterator[tuple[str, Child]]:
    for framework in FRAMEWORKS:
        yield (
            framework,
            stack.enter_context(child_server("benchmarks.performance.webhook_server", framework, str(keys_dir))),
        )


async def measure_webhooks(figures: Figures, creds: Credentials, keys_dir: Path, settings: Settings) -> None:
    """Deliveries per second and server CPU per delivery of each framework's adapter and bare handler."""
    n = settings.deliveries
    fresh = itertools.count(step=n)
    shuffle = random.Random(15).shuffle
    connector = aiohttp.TCPConnector(limit=WEBHOOK_CONCURRENCY)
    with ExitStack() as stack:
        servers = dict(_servers(stack, keys_dir))
        async with aiohttp.ClientSession(connector=connector) as session:
            for rnd in range(settings.webhook_rounds + 1):  # round 0 warms up
                batch = notifications(creds, n, next(fresh))
                cells = [(framework, handler) for framework in FRAMEWORKS for handler in HANDLERS]
                shuffle(cells)
                for framework, handler in cells:
                    child = servers[framework]
                    before = await child.cpu(session)
                    wall = await deliver(session, child.url + handler, batch)
                    if rnd:
                        figures.webhook_cpu[framework].add(handler, (await child.cpu(session) - before) / n * 1e6)
                        figures.webhook_rate[framework].add(handler, n / wall)
