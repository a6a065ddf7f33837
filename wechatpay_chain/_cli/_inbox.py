"""A merchant's notification endpoint on 127.0.0.1 (the SDK's aiohttp handler): keeps what it verified."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .._client import Client
from .._notifications.webhooks import handler_for

PATH = "/wechatpay/notify"
Adapter = Callable[[Client, Callable[[Any], Awaitable[None]]], Callable[[web.Request], Awaitable[web.Response]]]
"""An aiohttp adapter: `handler_for` (APIv3 notifications) or `v2_handler_for` (APIv2's)."""


class Inbox:
    """Receives notifications at `url`, verified and decrypted with the client's keys."""

    def __init__(self, client: Client, adapter: Adapter = handler_for) -> None:
        self.client = client
        self.adapter = adapter
        self.received: list[Any] = []  # Notification, or V2Notification
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Inbox:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post(PATH, self.adapter(self.client, self._keep))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}{PATH}"
        return self

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Inbox:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _keep(self, notification: Any) -> None:
        async with self._arrived:
            self.received.append(notification)
            self._arrived.notify_all()

    async def wait(self, event_type: str, count: int = 1, *, timeout: float = 5.0) -> list[Any]:
        """The first `count` notifications of `event_type`; TimeoutError naming what did arrive."""

        def enough() -> bool:
            return sum(1 for n in self.received if n.event_type == event_type) >= count

        try:
            async with self._arrived:
                await asyncio.wait_for(self._arrived.wait_for(enough), timeout)
        except asyncio.TimeoutError:
            seen = Counter(n.event_type for n in self.received)
            raise TimeoutError(
                f"{count} x {event_type} not received within {timeout:g} s (received {dict(seen) or 'nothing'})"
            ) from None
        return [n for n in self.received if n.event_type == event_type][:count]
