"""Plain data that flows through the middleware stack: the request going out, the response back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from ._config import BaseURL, Timeout

if TYPE_CHECKING:
    from ssl import SSLContext

    from aiohttp.payload import Payload

    from ._v2.xml import XmlDict


@dataclass(slots=True, eq=False)
class Request:
    """One HTTP request, ready to sign: the bytes here are the bytes that go on the wire.

    The request target is `base.prefix + path [+ "?" + query]` and the URL is `base.origin` +
    target; both are derived, so a middleware that moves the request (failover) changes `base` only.
    """

    method: str
    base: BaseURL  # where it goes: origin and path prefix
    path: str  # the expanded, percent-encoded path below the base URL, without query
    query: str  # the percent-encoded query string without "?", "" for none
    template: str  # the URI template the call came from, for logs and errors
    headers: CIMultiDict[str]
    body: bytes = b""  # what the signature covers; sent as is unless `payload` is set
    payload: Payload | None = None  # a streamed body sent instead of `body` (an upload; `body` is its meta)
    timeout: Timeout | None = None  # None: the client's
    stream: bool = False  # leave the answer's body unread, for the caller to stream (downloads)
    idempotent: bool | None = None  # may it be repeated after it reached the server? None: only a GET
    attempt: int = 1  # which attempt this is (a RetryPolicy sends copies numbered 2, 3, …)
    extensions: dict[str, Any] = field(default_factory=dict)  # free room for your own middlewares
    ssl: SSLContext | None = field(default=None, repr=False)  # its own TLS context: the merchant certificate

    @property
    def api(self) -> str:
        """The call's API: "v2" for a `v2/…` template (XML, signed in its body), else "v3"."""
        return "v2" if self.template.startswith("v2/") else "v3"

    @property
    def target(self) -> str:
        """The path and query exactly as sent: the TARGET of the signature."""
        query = self.query
        return self.base.prefix + self.path + ("?" + query if query else "")

    @property
    def url(self) -> str:
        """The absolute URL, already percent-encoded; sent as is."""
        return self.base.origin + self.target

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target}>"


class BodyStream(Protocol):
    """The unread body of a streamed answer (a download): read it in chunks, then release it."""

    @property
    def content_length(self) -> int | None:
        """The announced length in bytes, if any."""
        ...

    def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        """The body in chunks of at most `size` bytes."""
        ...

    def release(self) -> None:
        """Give the connection back (idempotent)."""
        ...


@dataclass(slots=True, eq=False)
class Response:
    """A response with its whole body read (or, for a streamed download, its `stream` still to read)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    request: Request
    stream: BodyStream | None = field(default=None, repr=False)

    @property
    def request_id(self) -> str | None:
        """The `Request-ID` header WeChat Pay support asks for."""
        return self.headers.get("Request-ID")

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body, as a 204 has)."""
        return orjson.loads(self.body) if self.body else None

    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", "replace")

    def xml(self) -> XmlDict:
        """An APIv2 answer's fields (`XmlDict`: `.json(name)` reads a field that holds JSON); XmlError if not XML."""
        from ._v2.xml import loads  # the XML reader loads with the first APIv2 answer

        return loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.request.method} {self.request.target}>"
