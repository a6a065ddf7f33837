"""Notification endpoints for web frameworks: aiohttp.web, any ASGI app (Starlette, FastAPI), or by hand.

Every adapter answers the way WeChat Pay expects: 204 once the handler succeeded (or for a
notification already processed, so WeChat Pay stops retrying it), and 4xx/5xx with
`{"code":"FAIL","message":…}` when a check fails or the handler raises, so WeChat Pay retries.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import orjson

from .._config import LOGGER_NAME, NOTIFICATION_BODY_LIMIT
from .._errors import ConfigurationError, DuplicateNotificationError, NotificationError
from .._types import HeadersInput
from .parser import KeyHolder, Notification, NotificationParser, raw_body
from .seen_ids import SeenIds

if TYPE_CHECKING:
    from aiohttp import web

logger = logging.getLogger(LOGGER_NAME)

# The business handler: `async def on_event(notification) -> None` (a plain function works too).
OnEvent = Callable[[Notification], object]


class Notified(Protocol):
    """What an endpoint reads of any notification (APIv3's or APIv2's): its id and event type."""

    @property
    def id(self) -> str:
        """The id the replay guard remembers."""
        ...

    @property
    def event_type(self) -> str:
        """What happened, e.g. TRANSACTION.SUCCESS."""
        ...


N = TypeVar("N", bound=Notified)


class Parses(Protocol[N]):
    """A notification parser: verify and read one, and process each id once."""

    async def parse(self, headers: HeadersInput, body: bytes) -> N:
        """The verified notification; NotificationError naming the failed check."""
        ...

    def processing(self, notification: N) -> AbstractAsyncContextManager[N]:
        """Run the block once per notification id."""
        ...


Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ACKNOWLEDGED = 204


def _fail(message: str) -> bytes:
    return orjson.dumps({"code": "FAIL", "message": message})


class Endpoint(Generic[N]):
    """A framework-neutral notification endpoint: `status, body = await endpoint.respond(headers, raw_body)`.

    It verifies with its parser, runs `on_event` once per notification id, and answers in its
    protocol's words (`acknowledge`, `refuse`), so that WeChat Pay retries what failed.
    """

    content_type = "application/json"  # of the answers that have a body

    def __init__(self, parser: Parses[N], on_event: Callable[[N], object]) -> None:
        if not callable(on_event):
            raise ConfigurationError("on_event must be a function taking the Notification (async or not)")
        self.parser = parser
        self.on_event = on_event

    def acknowledge(self) -> tuple[int, bytes]:
        """The answer to a notification processed (now or before): 204, no body."""
        return ACKNOWLEDGED, b""

    def refuse(self, status: int, message: str) -> tuple[int, bytes]:
        """The answer to a notification that failed: its status and `{"code":"FAIL","message":…}`."""
        return status, _fail(message)

    async def respond(self, headers: HeadersInput, body: bytes) -> tuple[int, bytes]:
        """Verify, decrypt and hand one notification to `on_event`; returns the HTTP status and body to answer."""
        raw = raw_body(body)  # a decoded body is the caller's bug: raise, don't answer 500 forever
        notification: N | None = None
        try:
            notification = await self.parser.parse(headers, raw)
            async with self.parser.processing(notification):
                await self._call(notification)
        except DuplicateNotificationError as exc:
            logger.info(
                "notification %s (%s) already processed; acknowledged again", exc.notification_id, exc.event_type
            )
            return self.acknowledge()
        except NotificationError as exc:
            logger.warning("notification %s rejected (%s): %s", exc.notification_id or "-", exc.check, exc)
            return self.refuse(exc.status, str(exc))
        except Exception:
            # The handler (or a store) failed: answer 500 so WeChat Pay delivers it again later.
            ident = f"{notification.id} ({notification.event_type})" if notification else "-"
            logger.exception("notification %s could not be processed; answered 500 so WeChat Pay retries", ident)
            return self.refuse(500, "the notification could not be processed; it will be retried")
        logger.debug("notification %s (%s) processed", notification.id, notification.event_type)
        return self.acknowledge()

    async def _call(self, notification: N) -> None:
        result = self.on_event(notification)
        if inspect.isawaitable(result):
            await result


class WebhookEndpoint(Endpoint[Notification]):
    """The APIv3 notification endpoint: `status, body = await endpoint.respond(headers, raw_body)`.

    Pass a `Client` (the endpoint makes its own parser with `seen_ids`) or a `NotificationParser`
    to share one replay store between endpoints. A non-empty answer body is JSON.
    """

    parser: NotificationParser

    def __init__(
        self, client: KeyHolder | NotificationParser, on_event: OnEvent, *, seen_ids: SeenIds | bool = True
    ) -> None:
        parser = client if isinstance(client, NotificationParser) else NotificationParser(client, seen_ids=seen_ids)
        super().__init__(parser, on_event)


def handler_for(
    client: KeyHolder | NotificationParser, on_event: OnEvent, *, seen_ids: SeenIds | bool = True
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp.web handler: `app.router.add_post("/notify", handler_for(client, on_event))`."""
    return aiohttp_handler(WebhookEndpoint(client, on_event, seen_ids=seen_ids))


def aiohttp_handler(endpoint: Endpoint[Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp.web handler answering with `endpoint` (APIv3's or APIv2's)."""
    from aiohttp import web  # the server side of aiohttp, loaded only by those who serve notifications

    async def handle(request: web.Request) -> web.Response:
        status, body = await endpoint.respond(request.headers, await request.read())
        if not body:
            return web.Response(status=status)
        return web.Response(status=status, body=body, content_type=endpoint.content_type)

    return handle


class AsgiWebhook:
    """An ASGI app answering notifications: `Route("/notify", asgi_app(client, on_event), methods=["POST"])`.

    A body longer than `max_body` bytes is answered 413 without being read whole, as aiohttp.web
    does past its `client_max_size` (1 MiB by default, far above any notification).
    """

    def __init__(self, endpoint: Endpoint[Any], *, max_body: int = NOTIFICATION_BODY_LIMIT) -> None:
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
            raise ConfigurationError(f"max_body must be a number of bytes >= 1, got {max_body!r}")
        self.endpoint = endpoint
        self.max_body = max_body

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "http":
            await self._http(scope, receive, send)
        else:
            raise ConfigurationError(f"the notification endpoint serves HTTP only, not {kind!r}")

    async def _http(self, scope: Message, receive: Receive, send: Send) -> None:
        content_type = self.endpoint.content_type.encode()
        if scope["method"] != "POST":
            status, refusal = self.endpoint.refuse(405, "notifications are POSTed")
            await _answer(send, status, refusal, content_type, [(b"allow", b"POST")])
            return
        headers = scope.get("headers") or []
        try:
            body = await _read_body(receive, headers, self.max_body)
        except _TooLarge:
            logger.warning("notification refused: its body is over %d bytes", self.max_body)
            status, refusal = self.endpoint.refuse(413, f"the body is over {self.max_body} bytes")
            await _answer(send, status, refusal, content_type)
            return
        if body is None:
            return  # the client went away; nobody is left to answer
        status, payload = await self.endpoint.respond(headers, body)
        await _answer(send, status, payload, content_type)


def asgi_app(
    client: KeyHolder | NotificationParser,
    on_event: OnEvent,
    *,
    seen_ids: SeenIds | bool = True,
    max_body: int = NOTIFICATION_BODY_LIMIT,
) -> AsgiWebhook:
    """An ASGI app for Starlette/FastAPI routes or mounts (or any ASGI server) that runs `on_event`."""
    return AsgiWebhook(WebhookEndpoint(client, on_event, seen_ids=seen_ids), max_body=max_body)


class _TooLarge(Exception):
    """The request body is longer than the endpoint reads."""


async def _read_body(receive: Receive, headers: list[tuple[bytes, bytes]], limit: int) -> bytes | None:
    for name, value in headers:
        if name.lower() != b"content-length":
            continue
        digits = value.strip()
        if digits.isdigit() and (len(digits) > 18 or int(digits) > limit):
            raise _TooLarge  # announced: refuse before reading a byte
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    all_headers = ([(b"content-type", content_type)] if body else []) + (headers or [])
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    # Served on its own by an ASGI server, the endpoint has nothing to start or stop.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
