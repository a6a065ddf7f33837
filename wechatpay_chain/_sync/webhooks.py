"""Notification endpoints for sync code: `respond(headers, body)` for Django and Flask views, and a WSGI app.

The async `WebhookEndpoint` does the work (verify, decrypt, claim the id, answer as WeChat Pay
expects) in the portal's loop; the business handler is handed back to the thread that called
`respond`, so it runs where the web framework's database connections and thread-locals are.
"""

from __future__ import annotations

import contextvars
import http
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .._config import NOTIFICATION_BODY_LIMIT
from .._errors import ConfigurationError
from .._notifications.parser import KeyHolder, Notification, NotificationParser
from .._notifications.seen_ids import SeenIds
from .._notifications.webhooks import WebhookEndpoint as AsyncWebhookEndpoint
from .._notifications.webhooks import _fail as fail_body  # one answer format for every adapter
from .._types import HeadersInput
from .portal import Caller, portal

OnEvent = Callable[[Notification], object]
"""The business handler: `def on_event(notification) -> None`, run in the thread that called `respond`."""

StartResponse = Callable[..., Any]

_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("wechatpay_chain_caller")


class WebhookEndpoint:
    """A notification endpoint for sync code: `status, body = endpoint.respond(headers, raw_body)`.

    Pass a client (sync or async) or a `NotificationParser` to share one replay store between
    endpoints. `on_event` runs in the calling thread: return to acknowledge, raise to have WeChat
    Pay deliver the notification again. A non-empty answer body is JSON.
    """

    def __init__(
        self, client: KeyHolder | NotificationParser, on_event: OnEvent, *, seen_ids: SeenIds | bool = True
    ) -> None:
        if not callable(on_event):
            raise ConfigurationError("on_event must be a function taking the Notification")
        if inspect.iscoroutinefunction(on_event):
            raise ConfigurationError(
                "on_event is async: the sync endpoint runs it in the calling thread; use the async "
                "WebhookEndpoint (wechatpay_chain.WebhookEndpoint) in async code, or pass a plain function"
            )
        self.on_event = on_event
        self._endpoint = AsyncWebhookEndpoint(client, self._hand_back, seen_ids=seen_ids)

    @property
    def parser(self) -> NotificationParser:
        """The parser (and replay store) this endpoint uses."""
        return self._endpoint.parser

    async def _hand_back(self, notification: Notification) -> None:
        await _caller.get().run(self.on_event, notification)

    def respond(self, headers: HeadersInput, body: bytes) -> tuple[int, bytes]:
        """Verify, decrypt and hand one notification to `on_event`; returns the HTTP status and body to answer."""

        async def respond(caller: Caller) -> tuple[int, bytes]:
            _caller.set(caller)
            return await self._endpoint.respond(headers, body)

        return portal().call_with(respond)


class WsgiWebhook:
    """A WSGI app answering notifications (POST only, bodies up to `NOTIFICATION_BODY_LIMIT` bytes)."""

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        self.endpoint = endpoint

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, 405, fail_body("notifications are POSTed"), [("Allow", "POST")])
        length = _content_length(environ)
        if length is None:
            return _answer(start_response, 411, fail_body("a notification carries a Content-Length"))
        if length > NOTIFICATION_BODY_LIMIT:
            return _answer(start_response, 413, fail_body(f"a notification is at most {NOTIFICATION_BODY_LIMIT} bytes"))
        body = environ["wsgi.input"].read(length) if length else b""
        status, payload = self.endpoint.respond(list(_headers(environ)), body)
        return _answer(start_response, status, payload)


def wsgi_app(
    client: KeyHolder | NotificationParser, on_event: OnEvent, *, seen_ids: SeenIds | bool = True
) -> WsgiWebhook:
    """A WSGI app for notifications: mount it at your notify URL (gunicorn, uWSGI, werkzeug's DispatcherMiddleware)."""
    return WsgiWebhook(WebhookEndpoint(client, on_event, seen_ids=seen_ids))


def _content_length(environ: Mapping[str, Any]) -> int | None:
    value = environ.get("CONTENT_LENGTH") or ""
    return int(value) if value.isascii() and value.isdigit() else None


def _headers(environ: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-"), value
    if environ.get("CONTENT_TYPE"):
        yield "Content-Type", environ["CONTENT_TYPE"]


def _answer(
    start_response: StartResponse, status: int, body: bytes, headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    all_headers = [("Content-Length", str(len(body)))]
    if body:
        all_headers.append(("Content-Type", "application/json"))
    start_response(f"{status} {http.HTTPStatus(status).phrase}", all_headers + (headers or []))
    return [body]
