"""A notification body is read up to a bound: 413 past it, from the aiohttp and the ASGI adapter alike."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from test_notifications import signed

from wechatpay_chain import Client, ConfigurationError, asgi_app, handler_for
from wechatpay_chain._config import NOTIFICATION_BODY_LIMIT
from wechatpay_chain.testing import Credentials

CHUNK = 1 << 16
HUGE = 300 << 20  # 300 MiB, never allocated: the chunks are made as the app asks for them

# Notifications here are signed with the platform certificate, which a transition-mode emulator has.
pytestmark = pytest.mark.wechatpay_emulator(key_mode="transition")


class Feed:
    """An ASGI request whose body is `size` bytes, handed out one chunk per receive()."""

    def __init__(self, size: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.size = size
        self.read = 0
        self.scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        chunk = b"x" * min(CHUNK, self.size - self.read)
        self.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.read < self.size}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)


@pytest.mark.parametrize("announced", [False, True], ids=["streamed", "announced in Content-Length"])
async def test_the_asgi_adapter_refuses_a_300_mib_body_with_413_without_reading_it_whole(
    client: Client, announced: bool
) -> None:
    seen: list[object] = []
    headers = [(b"content-length", str(HUGE).encode())] if announced else []
    feed = Feed(HUGE, headers)
    await asgi_app(client, seen.append)(feed.scope, feed.receive, feed.send)
    assert feed.sent[0]["status"] == 413
    assert b"FAIL" in feed.sent[1]["body"]
    assert feed.read <= NOTIFICATION_BODY_LIMIT + CHUNK  # stopped at the bound, not at 300 MiB
    if announced:
        assert feed.read == 0
    assert seen == []


async def test_the_asgi_bound_is_configurable_and_a_notification_under_it_passes(
    client: Client, credentials: Credentials
) -> None:
    seen: list[object] = []
    headers, body = signed(credentials)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    for limit, status in ((len(body), 204), (len(body) - 1, 413)):
        feed = Feed(0, raw)

        async def receive(body: bytes = body) -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await asgi_app(client, seen.append, seen_ids=False, max_body=limit)(feed.scope, receive, feed.send)
        assert feed.sent[0]["status"] == status
    assert len(seen) == 1
    with pytest.raises(ConfigurationError, match="max_body"):
        asgi_app(client, seen.append, max_body=0)


async def test_the_aiohttp_adapter_answers_413_past_client_max_size(client: Client) -> None:
    app = web.Application()  # client_max_size: 1 MiB, the same bound as the ASGI adapter's
    app.router.add_post("/notify", handler_for(client, print))
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        body = b"x" * (NOTIFICATION_BODY_LIMIT + 1)
        async with session.post(server.make_url("/notify"), data=body) as reply:
            assert reply.status == 413
