"""The Redis client a store uses: the one given, or one made from a URL for each event loop that uses it.

redis-py's asyncio client is used (the `redis` extra): it runs in the event loop the SDK already
runs in, so a notification waits on Redis without a thread, and it accepts every deployment
redis-py does (TLS with `rediss://`, unix sockets, Sentinel and Cluster clients passed in).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from .._errors import ConfigurationError
from .._session import close_at_loop_end

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - the redis extra is missing
    raise ModuleNotFoundError(
        "the Redis stores need redis-py: pip install 'wechatpay-chain[redis]'", name="redis"
    ) from exc

SCHEMES = ("redis://", "rediss://", "unix://")
TIMEOUT = 2.0  # seconds to connect or to get an answer (a client made from a URL); an outage fails fast
FAILURES = (RedisError, OSError, asyncio.TimeoutError)
"""What a Redis call raises when Redis is unreachable, slow or refuses (each store answers them its way)."""


class Connection:
    """A redis-py asyncio client: the one given (yours to close), or one per event loop made from a URL."""

    def __init__(self, redis: str | aioredis.Redis, *, what: str) -> None:
        self._given: aioredis.Redis | None = None
        self._url = ""
        if isinstance(redis, str):
            if not redis.startswith(SCHEMES):
                raise ConfigurationError(f"{what}: a Redis URL starts with redis://, rediss:// or unix://")
            self._url = redis
        elif isinstance(redis, aioredis.Redis):
            self._given = redis
        else:
            raise ConfigurationError(
                f"{what} takes a Redis URL or a redis.asyncio.Redis client, got {type(redis).__name__}"
            )
        self._made: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None

    async def client(self) -> aioredis.Redis:
        """The client for the running event loop."""
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        if self._made is None or self._loop is not loop:
            # A client's connections belong to the loop that made them: a new loop gets its own,
            # closed when that loop shuts down.
            made = aioredis.Redis.from_url(
                self._url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT, retry_on_timeout=False
            )
            self._made, self._loop = made, loop
            self._guard = await close_at_loop_end(made.aclose)
        return self._made

    async def eval(self, script: str, keys: list[str], *args: Any) -> Any:
        """Run a Lua script atomically."""
        return await (await self.client()).eval(script, len(keys), *keys, *args)

    async def aclose(self) -> None:
        """Close the client made from a URL (never one given)."""
        made, self._made = self._made, None
        guard, self._guard = self._guard, None
        if made is not None and self._loop is asyncio.get_running_loop():
            await made.aclose()
            if guard is not None:
                await guard.aclose()

    def __repr__(self) -> str:
        if self._given is not None:
            return f"<Redis {self._given!r}>"
        return f"<Redis {_redacted(self._url)}>"


def _redacted(url: str) -> str:
    """A URL without its password (redis://user:secret@host -> redis://user:***@host)."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"
