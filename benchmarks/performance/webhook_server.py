"""A merchant's notification endpoint in a process of its own: the package's adapter and a bare handler side by side.

`python -m benchmarks.performance.webhook_server aiohttp|ASGI KEYS_DIR` serves, on one port:

- `POST /adapter`: `handler_for(client, on_event)` in an aiohttp.web app, or `asgi_app(client,
  on_event)` under uvicorn, with their defaults (replay protection included);
- `POST /bare`: a handler written for that framework alone, doing the same cryptography (the
  notification floor: verify, parse, decrypt) and answering 204;
- `GET /cpu`: the process's CPU seconds so far.

`on_event` does nothing, so what is compared is what each handler costs around it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from aiohttp import web

from wechatpay_chain import Notification, asgi_app, handler_for
from wechatpay_chain.testing import Credentials

from .floor import NotificationFloor
from .ours import chain_client
from .processes import CPU_PATH, cpu_text, listening_socket, until_stdin_closes

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def on_event(notification: Notification) -> None:
    """The merchant's business: nothing here."""


def _floor(creds: Credentials) -> NotificationFloor:
    return NotificationFloor({creds.public_key_id: creds.public_key.public_key()}, creds.apiv3_key)


def aiohttp_app(creds: Credentials) -> web.Application:
    """The aiohttp.web endpoints."""
    floor = _floor(creds)

    async def bare(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            floor.open_mapping(request.headers, body)
        except Exception:
            return web.Response(status=401)
        return web.Response(status=204)

    async def cpu(request: web.Request) -> web.Response:
        return web.Response(text=cpu_text())

    app = web.Application()
    app.router.add_post("/adapter", handler_for(chain_client(creds), on_event))
    app.router.add_post("/bare", bare)
    app.router.add_get(CPU_PATH, cpu)
    return app


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _reply(send: Send, status: int, body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


def asgi(creds: Credentials) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI endpoints, routed by path."""
    floor = _floor(creds)
    adapter = asgi_app(chain_client(creds), on_event)

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        body = await _body(receive)
        h = dict(scope["headers"])
        try:
            kind = h.get(b"wechatpay-signature-type")
            floor.open(
                h[b"wechatpay-timestamp"].decode("latin-1"),
                h[b"wechatpay-nonce"].decode("latin-1"),
                h[b"wechatpay-signature"].decode("latin-1"),
                h[b"wechatpay-serial"].decode("latin-1"),
                None if kind is None else kind.decode("latin-1"),
                body,
            )
        except Exception:
            await _reply(send, 401)
            return
        await _reply(send, 204)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == "/adapter":
            await adapter(scope, receive, send)
        elif path == "/bare":
            await bare(scope, receive, send)
        else:
            await _reply(send, 200, cpu_text().encode())

    return app


async def serve(framework: str, keys_dir: Path) -> None:
    """Serve until standard input closes."""
    creds = Credentials.load(keys_dir)
    sock = listening_socket()
    if framework == "aiohttp":
        runner = web.AppRunner(aiohttp_app(creds), access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await until_stdin_closes()
        await runner.cleanup()
        return
    import uvicorn

    config = uvicorn.Config(asgi(creds), lifespan="off", log_level="warning", access_log=False, loop="asyncio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await until_stdin_closes()
    server.should_exit = True
    await task


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], Path(sys.argv[2])))
