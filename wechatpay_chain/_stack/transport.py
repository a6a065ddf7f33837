"""The last handler of the stack: sends a request with aiohttp and reads the answer."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import lru_cache
from ssl import SSLContext

import aiohttp
from yarl import URL

from .._config import DEFAULT_LIMITS, Limits, Timeout
from .._errors import ConfigurationError, ResponseTooLargeError, TransportError, escape_text
from .._models import Request, Response
from .middleware import Handler


@lru_cache(maxsize=64)
def client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    """aiohttp's form of a Timeout (the pool wait is the transport's own, before this starts)."""
    return aiohttp.ClientTimeout(total=timeout.total, sock_connect=timeout.connect, sock_read=timeout.read)


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
    """Sends requests through an aiohttp session, turning failures into `TransportError`.

    Its `pool` method is the stack's "pool" middleware, placed outside the signer: calls beyond
    the connection pool wait there in a first-come, first-served queue, for at most `Timeout.pool`,
    and are signed only once they hold a turn (a call that waited is not signed long before it goes
    out, and calls that will wait cost no CPU meanwhile). The call's `total` starts with its turn,
    so a long wait never leaves a call too little time to finish once sent. `close()` ends every
    waiting call.
    """

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        timeout: Timeout,
        limits: Limits = DEFAULT_LIMITS,
        *,
        ssl: SSLContext | bool = True,
    ) -> None:
        if not isinstance(limits, Limits):
            raise ConfigurationError(f"limits must be a wechatpay_chain.Limits, got {type(limits).__name__}")
        self._session = session
        self.timeout = timeout
        self._usual = (timeout, client_timeout(timeout))  # the default and aiohttp's form of it, made once
        self.limits = limits
        self.ssl = ssl  # True: the system's CAs; a context: the CAs the client was told to trust
        self._queue = _Queue()
        self._closed = False

    def pool(self, request: Request, call_next: Handler) -> Awaitable[Response]:
        """Middleware: wait for a free connection's turn (within `Timeout.pool`), then go on; TransportError if not."""
        if self._closed:
            raise _not_sent(request, "the client is closed")
        gate = self._queue.gate(self._session())
        if gate is None:  # an unlimited pool: nothing to wait for, no coroutine of its own
            return call_next(request)
        return self._in_turn(gate, request, call_next)

    async def _in_turn(self, gate: _Gate, request: Request, call_next: Handler) -> Response:
        if not gate.take():  # no free turn at once: queue for one
            await gate.enter(request, (request.timeout or self.timeout).pool)
        try:
            return await call_next(request)
        finally:
            gate.release()

    def __call__(self, request: Request) -> Awaitable[Response]:
        if self._closed:  # closed while the call was on its way here
            raise _not_sent(request, "the client was closed before this call was sent")
        return self._exchange(self._session(), request, request.timeout or self.timeout)

    def close(self) -> None:
        """Refuse new calls and end every call still waiting for a connection (TransportError, sent=False)."""
        self._closed = True
        self._queue.close()

    async def _exchange(self, session: aiohttp.ClientSession, request: Request, timeout: Timeout) -> Response:
        usual, aiohttp_timeout = self._usual
        try:
            answer = await session.request(
                request.method,
                URL(request.url, encoded=True),  # the exact bytes that were signed
                data=request.payload if request.payload is not None else request.body or None,
                headers=request.headers,
                timeout=aiohttp_timeout if timeout is usual else client_timeout(timeout),
                allow_redirects=False,
                ssl=self.ssl if request.ssl is None else request.ssl,  # a request's own: the merchant certificate
            )
            if request.stream and 200 <= answer.status < 300:
                return Response(answer.status, answer.headers, b"", request, stream=_Stream(answer))
            async with answer:
                body = await _read(answer, request, self.limits)
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(request, timeout, exc) from exc
        except RuntimeError:
            if not session.closed:
                raise
            # aiohttp's "Session is closed": the session went before this call could use it.
            raise _not_sent(request, "the HTTP session was closed before this call was sent") from None
        return Response(answer.status, answer.headers, body, request)


def _read(answer: aiohttp.ClientResponse, request: Request, limits: Limits) -> Awaitable[bytes]:
    """The whole body, up to the limit for its status: past it, ResponseTooLargeError without reading on."""
    limit = limits.answer if 200 <= answer.status < 300 else limits.error
    announced = answer.content_length
    if announced is None or "Content-Encoding" in answer.headers or "Transfer-Encoding" in answer.headers:
        return _read_chunks(answer, request, limit)
    if announced > limit:
        raise _too_large(request, answer.status, limit)
    # Neither compressed nor chunked: the body is exactly the announced bytes (aiohttp's parser
    # reads no more), so it is read whole, as aiohttp reads it, without counting chunks.
    return answer.read()


async def _read_chunks(answer: aiohttp.ClientResponse, request: Request, limit: int) -> bytes:
    """A body of unknown or compressed size, counted as it comes.

    Counted after aiohttp undoes any Content-Encoding, chunk by chunk, so a decompression bomb
    stops at the limit instead of being inflated whole.
    """
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


def _not_sent(request: Request, why: str) -> TransportError:
    return TransportError(
        f"{request.method} {request.template}: {why}", method=request.method, url=request.url, sent=False
    )


class _Gate:
    """A first-come, first-served gate as wide as a connection pool; closing it fails every waiter.

    aiohttp hands a freed connection to whichever request asks next, so callers that keep calling
    starve the ones already waiting (for 20 s at concurrency 200 in the soak); queueing here first
    keeps the order, bounds the wait, and lets `close()` answer every waiting call.
    """

    def __init__(self, width: int) -> None:
        self._free = width
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._closed = False

    def take(self) -> bool:
        """Take a free turn at once if there is one and nobody waits for it (the common case)."""
        if self._free and not self._waiting and not self._closed:
            self._free -= 1
            return True
        return False

    async def enter(self, request: Request, bound: float | None) -> None:
        """Take a connection's turn, waiting at most `bound` seconds (None: as long as it takes)."""
        if self._closed:
            raise _not_sent(request, "the client is closed")
        if self._free and not self._waiting:
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append(turn)
        expiry = None if bound is None else loop.call_later(bound, _expire, turn, request, bound)
        try:
            await turn  # handed by release(), failed by the expiry or by close(): whichever comes first
        except _Closed:
            raise _not_sent(request, "the client was closed while this call waited for a connection") from None
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.release()  # the caller gave up just as its turn came: pass it on
            raise
        finally:
            if expiry is not None:
                expiry.cancel()

    def release(self) -> None:
        """Hand the connection's turn to the first caller still waiting, or free it."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    def close(self) -> None:
        """Fail every waiting caller: the client is closed."""
        self._closed = True
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_exception(_Closed())


class _Closed(Exception):
    """Set on a waiting turn by close(); `enter` turns it into the call's TransportError."""


def _expire(turn: asyncio.Future[None], request: Request, bound: float) -> None:
    if not turn.done():
        turn.set_exception(_not_sent(request, f"no free connection within {bound} s (Timeout.pool)"))


class _Queue:
    """The gate of the session in use (a session shared between clients is gated per client)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._gate: _Gate | None = None
        self._closed = False

    def gate(self, session: aiohttp.ClientSession) -> _Gate | None:
        """The gate for `session`, or None when its pool is unlimited."""
        if session is not self._session:
            _no_silent_resend(session)
            limit = session.connector.limit if session.connector is not None else 0
            self._session, self._gate = session, _Gate(limit) if limit else None
        return self._gate

    def close(self) -> None:
        """Close the gate: its waiting callers fail."""
        if self._gate is not None:
            self._gate.close()


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    # aiohttp silently re-sends a GET/PUT/DELETE once when a pooled connection turns out closed, with
    # the same signature and nonce; repeating is the RetryPolicy's call, each attempt signed afresh.
    # Done on every session the client sends through, its own or one passed in.
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


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
        message = f"{call}: {type(exc).__name__}: {escape_text(str(exc))}"  # aiohttp may quote the server
    return TransportError(message, method=request.method, url=request.url, sent=sent)
