"""A small shop for the payment tests: its notification endpoint (the SDK's aiohttp handler) and its order bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from wechatpay_chain import Client, Notification, handler_for

APPID = "wxd678efh567hg6787"
SP_APPID = "wx8888888888888888"
SUB_APPID = "wxd678efh567hg6999"
SUB_MCHID = "1900000111"


class Inbox:
    """What the shop's notification endpoint verified and handed to its business code."""

    def __init__(self) -> None:
        self.received: list[Notification] = []
        self._arrived = asyncio.Condition()
        self.url = ""
        self.failures = 0  # the business code fails this many more times (so WeChat Pay retries)

    async def keep(self, notification: Notification) -> None:
        """The business handler: keep the notification (or fail, while `failures` says so)."""
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the shop's database is down")
        async with self._arrived:
            self.received.append(notification)
            self._arrived.notify_all()

    async def next(self, event_type: str, *, after: int = 0, timeout: float = 5.0) -> Notification:
        """The first notification of `event_type` received after the first `after` of that type."""

        def found() -> list[Notification]:
            return [n for n in self.received if n.event_type == event_type]

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(found()) > after), timeout)
        return found()[after]


@asynccontextmanager
async def shop(client: Client, *, route: Callable[[Inbox], Any] | None = None) -> AsyncIterator[Inbox]:
    """Serve the shop's notify_url on 127.0.0.1 with `handler_for(client, …)`; yields its inbox."""
    inbox = Inbox()
    app = web.Application()
    app.router.add_post("/notify", handler_for(client, inbox.keep) if route is None else route(inbox))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    inbox.url = f"http://127.0.0.1:{runner.addresses[0][1]}/notify"
    try:
        yield inbox
    finally:
        await runner.cleanup()


def jsapi_order(mchid: str, out_trade_no: str, notify_url: str, total: int = 100, **more: Any) -> dict[str, Any]:
    """A direct JSAPI order body."""
    return {
        "appid": APPID,
        "mchid": mchid,
        "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": out_trade_no,
        "notify_url": notify_url,
        "amount": {"total": total, "currency": "CNY"},
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        **more,
    }


def partner_order(sp_mchid: str, out_trade_no: str, notify_url: str, total: int = 100, **more: Any) -> dict[str, Any]:
    """A partner JSAPI order body for SUB_MCHID, paid by an sp_openid."""
    return {
        "sp_appid": SP_APPID,
        "sp_mchid": sp_mchid,
        "sub_mchid": SUB_MCHID,
        "description": "partner goods",
        "out_trade_no": out_trade_no,
        "notify_url": notify_url,
        "amount": {"total": total},
        "payer": {"sp_openid": "oUpF8uMuAJO_M2pxb1Q9zNjSP000"},
        **more,
    }


def refund(out_refund_no: str, total: int, amount: int, notify_url: str | None = None, **more: Any) -> dict[str, Any]:
    """A refund body (give out_trade_no or transaction_id in `more`)."""
    body: dict[str, Any] = {
        "out_refund_no": out_refund_no,
        "amount": {"refund": amount, "total": total, "currency": "CNY"},
        **more,
    }
    if notify_url is not None:
        body["notify_url"] = notify_url
    return body


def asgi_route(app: Callable[..., Any]) -> Callable[[web.Request], Any]:
    """An aiohttp handler that serves one request with the ASGI `app`, as an ASGI server would."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path.encode(),
            "query_string": request.query_string.encode(),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()],
        }
        sent = [{"type": "http.request", "body": body, "more_body": False}]
        answer: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            return sent.pop(0) if sent else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [(k.decode(), v.decode()) for k, v in message.get("headers", [])]
            else:
                answer["body"] = answer.get("body", b"") + message.get("body", b"")

        await app(scope, receive, send)
        return web.Response(status=answer["status"], body=answer.get("body", b""), headers=answer["headers"])

    return handle
