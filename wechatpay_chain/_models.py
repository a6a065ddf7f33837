"""Plain data that flows through the middleware stack: the request going out, the response back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import ClientTimeout
from aiohttp.payload import Payload
from multidict import CIMultiDict, CIMultiDictProxy


@dataclass(slots=True, eq=False)
class Request:
    """One HTTP request, ready to sign: the bytes here are the bytes that go on the wire."""

    method: str
    url: str  # absolute and already percent-encoded; sent as is
    target: str  # the path and query exactly as sent, the TARGET of the signature
    path: str  # the expanded path relative to the base URL, without query (for skip rules)
    template: str  # the URI template the call came from, for logs and errors
    headers: CIMultiDict[str]
    body: bytes = b""
    sign_body: bytes | None = None  # what the signature covers when not `body` (media uploads)
    timeout: ClientTimeout | None = None
    stream: bool = False  # leave the body unread for the caller to stream (downloads)
    payload: Payload | None = None  # sent instead of `body` when set: a streamed body (multipart uploads)
    extensions: dict[str, Any] = field(default_factory=dict)  # free room for middlewares

    @property
    def signed_body(self) -> bytes:
        """The BODY of the signature message."""
        return self.body if self.sign_body is None else self.sign_body

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target}>"


@dataclass(slots=True, eq=False)
class Response:
    """A response with its whole body read (or, for a streamed download, still to read)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    request: Request
    content: Any = None  # the unread aiohttp stream of a streamed download

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

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.request.method} {self.request.target}>"
