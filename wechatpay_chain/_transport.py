"""The last handler of the stack: sends a request with aiohttp and reads the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
from yarl import URL

from ._errors import TransportError
from ._models import Request, Response

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


class Transport:
    """Sends requests through an aiohttp session, turning failures into `TransportError`."""

    def __init__(self, session: Callable[[], aiohttp.ClientSession], timeout: aiohttp.ClientTimeout) -> None:
        self._session = session
        self.timeout = timeout

    async def __call__(self, request: Request) -> Response:
        timeout = request.timeout or self.timeout
        try:
            answer = await self._session().request(
                request.method,
                URL(request.url, encoded=True),  # the exact bytes that were signed
                data=request.body or None,
                headers=request.headers,
                timeout=timeout,
                allow_redirects=False,
            )
            if request.stream and 200 <= answer.status < 300:
                return Response(answer.status, answer.headers, b"", request, content=answer)
            async with answer:
                body = await answer.read()
        except asyncio.TimeoutError:
            raise TransportError(
                f"{request.method} {request.template}: no answer within {timeout.total} s",
                method=request.method,
                url=request.url,
            ) from None
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"{request.method} {request.template}: {type(exc).__name__}: {exc}",
                method=request.method,
                url=request.url,
            ) from exc
        return Response(answer.status, answer.headers, body, request)
