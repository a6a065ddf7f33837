"""The last handler of the stack: sends a request with aiohttp and reads the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from functools import lru_cache

import aiohttp
from yarl import URL

from .._config import DEFAULT_LIMITS, Limits, Timeout
from .._errors import ConfigurationError, ResponseTooLargeError, TransportError
from .._models import Request, Response


@lru_cache(maxsize=64)
def client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """aiohttp's form of a Timeout."""
    return _client_timeout(timeout, timeout.total)


def _client_timeout(timeout: Timeout, total: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total, sock_connect=timeout.connect, sock_read=timeout.read)


class _Stream:
    """The unread body of a streamed answer, as `Response.stream` offers it."""

    __slots__ = ("_answer",)

    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self._answer = answer

    @property
    def content_length(self) -> int | None:
        """The announced length in bytes, if any."""
        return self._answer.content_length

    def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        """The body in chunks of at most `size` bytes."""
        return self._answer.content.iter_chunked(size)

    def release(self) -> None:
        """Give the connection back (idempotent)."""
        self._answer.release()


class Transport:
    """Sends requests through an aiohttp session, turning failures into `TransportError`."""

    def __init__(
        self, session: Callable[[], aiohttp.ClientSession], timeout: Timeout, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        if not isinstance(limits, Limits):
            raise ConfigurationError(f"limits must be a wechatpay_chain.Limits, got {type(limits).__name__}")
        self._session = session
        self.timeout = timeout
        self.limits = limits
        self._queue = _Queue()

    async def __call__(self, request: Request) -> Response:
        timeout = request.timeout or self.timeout
        session = self._session()
        gate = self._queue.gate(session)
        budget = client_timeout(timeout) if gate is None else await _enter(gate, request, timeout)
        try:
            return await self._exchange(session, request, timeout, budget)
        finally:
            if gate is not None:
                gate.release()

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        request: Request,
        timeout: Timeout,
        budget: aiohttp.ClientTimeout,
    ) -> Response:
        try:
            answer = await session.request(
                request.method,
                URL(request.url, encoded=True),  # the exact bytes that were signed
                data=request.payload if request.payload is not None else request.body or None,
                headers=request.headers,
                timeout=budget,
                allow_redirects=False,
            )
            if request.stream and 200 <= answer.status < 300:
                return Response(answer.status, answer.headers, b"", request, stream=_Stream(answer))
            async with answer:
                body = await _read(answer, request, self.limits)
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(request, timeout, exc) from exc
        return Response(answer.status, answer.headers, body, request)


async def _read(answer: aiohttp.ClientResponse, request: Request, limits: Limits) -> bytes:
    """The whole body, up to the limit for its status: past it, ResponseTooLargeError without reading on.

    Counted after aiohttp undoes any Content-Encoding, chunk by chunk, so a decompression bomb
    stops at the limit instead of being inflated whole.
    """
    limit = limits.answer if 200 <= answer.status < 300 else limits.error
    announced = answer.content_length
    if announced is not None and announced > limit and "Content-Encoding" not in answer.headers:
        raise _too_large(request, answer.status, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in answer.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _too_large(request, answer.status, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(request: Request, status: int, limit: int) -> ResponseTooLargeError:
    which = "answer" if 200 <= status < 300 else "error"
    return ResponseTooLargeError(
        f"{request.method} {request.template}: the HTTP {status} answer's body is over {limit} bytes; "
        f"it was not read further (Limits({which}=…) sets the bound)",
        status=status,
        limit=limit,
        method=request.method,
        url=request.url,
    )


class _Queue:
    """A first-come, first-served gate as wide as the session's connection pool.

    aiohttp hands a freed connection to whichever request asks next, so callers that keep calling
    starve the ones already waiting (for 20 s at concurrency 200 in the soak); queueing here first
    keeps the order. Sessions shared between clients are gated per client.
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._gate: asyncio.Semaphore | None = None

    def gate(self, session: aiohttp.ClientSession) -> asyncio.Semaphore | None:
        """The gate for `session`, or None when its pool is unlimited."""
        if session is not self._session:
            _no_silent_resend(session)
            limit = session.connector.limit if session.connector is not None else 0
            self._session, self._gate = session, asyncio.Semaphore(limit) if limit else None
        return self._gate


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    # aiohttp silently re-sends a GET/PUT/DELETE once when a pooled connection turns out closed, with
    # the same signature and nonce; repeating is the RetryPolicy's call, each attempt signed afresh.
    # Done on every session the client sends through, its own or one passed in.
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


async def _enter(gate: asyncio.Semaphore, request: Request, timeout: Timeout) -> aiohttp.ClientTimeout:
    """Wait for a turn (within `pool`, else the total); returns the timeout left for the exchange itself."""
    if not gate.locked():
        await gate.acquire()
        return client_timeout(timeout)
    loop = asyncio.get_running_loop()
    started = loop.time()
    bound = timeout.pool or timeout.total
    try:
        await asyncio.wait_for(gate.acquire(), bound)
    except asyncio.TimeoutError:
        raise TransportError(
            f"{request.method} {request.template}: no free connection within {bound} s",
            method=request.method,
            url=request.url,
            sent=False,
        ) from None
    if not timeout.total or timeout.pool:
        return client_timeout(timeout)
    return _client_timeout(timeout, max(timeout.total - (loop.time() - started), 0.001))


def _failure(request: Request, timeout: Timeout, exc: Exception) -> TransportError:
    """The TransportError for a failed exchange, telling whether the request can have gone out."""
    call = f"{request.method} {request.template}"
    # A connector error or a connect timeout happens before a byte of the request is written,
    # so repeating the call is safe whatever its method; anything later may have reached the server.
    sent = not isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        message = f"{call}: no connection within {timeout.connect} s"
    elif isinstance(exc, asyncio.TimeoutError):
        message = f"{call}: no answer within {timeout.total} s"
    else:
        message = f"{call}: {type(exc).__name__}: {exc}"
    return TransportError(message, method=request.method, url=request.url, sent=sent)
