"""The last handler of the stack: sends a request with aiohttp and reads the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
from yarl import URL

from ._errors import TransportError
from ._models import Request, Response

# Connecting gets 5 s; waiting for a free pooled connection is bounded only by the total, so a busy
# pool slows calls down instead of failing them.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=5)


class Transport:
    """Sends requests through an aiohttp session, turning failures into `TransportError`."""

    def __init__(self, session: Callable[[], aiohttp.ClientSession], timeout: aiohttp.ClientTimeout) -> None:
        self._session = session
        self.timeout = timeout
        self._queue = _Queue()

    async def __call__(self, request: Request) -> Response:
        timeout = request.timeout or self.timeout
        session = self._session()
        gate = self._queue.gate(session)
        budget = timeout if gate is None else await _enter(gate, request, timeout)
        try:
            return await self._exchange(session, request, timeout, budget)
        finally:
            if gate is not None:
                gate.release()

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        request: Request,
        timeout: aiohttp.ClientTimeout,
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
                return Response(answer.status, answer.headers, b"", request, content=answer)
            async with answer:
                body = await answer.read()
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            raise _failure(request, timeout, exc) from exc
        return Response(answer.status, answer.headers, body, request)


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
            limit = session.connector.limit if session.connector is not None else 0
            self._session, self._gate = session, asyncio.Semaphore(limit) if limit else None
        return self._gate


async def _enter(gate: asyncio.Semaphore, request: Request, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """Wait for a turn within the total timeout; returns the timeout left for the exchange itself."""
    if not gate.locked():
        await gate.acquire()
        return timeout
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.wait_for(gate.acquire(), timeout.total)
    except asyncio.TimeoutError:
        raise TransportError(
            f"{request.method} {request.template}: no free connection within {timeout.total} s",
            method=request.method,
            url=request.url,
            sent=False,
        ) from None
    if not timeout.total:
        return timeout
    return aiohttp.ClientTimeout(
        total=max(timeout.total - (loop.time() - started), 0.001),
        connect=timeout.connect,
        sock_read=timeout.sock_read,
        sock_connect=timeout.sock_connect,
        ceil_threshold=timeout.ceil_threshold,
    )


def _failure(request: Request, timeout: aiohttp.ClientTimeout, exc: Exception) -> TransportError:
    """The TransportError for a failed exchange, telling whether the request can have gone out."""
    call = f"{request.method} {request.template}"
    # A connector error or a connect timeout happens before a byte of the request is written,
    # so repeating the call is safe whatever its method; anything later may have reached the server.
    sent = not isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        message = f"{call}: no connection within {timeout.sock_connect or timeout.connect} s"
    elif isinstance(exc, asyncio.TimeoutError):
        message = f"{call}: no answer within {timeout.total} s"
    else:
        message = f"{call}: {type(exc).__name__}: {exc}"
    return TransportError(message, method=request.method, url=request.url, sent=sent)
