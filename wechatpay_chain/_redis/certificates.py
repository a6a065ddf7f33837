"""The platform certificate list in Redis: one download per refresh for all workers, and each sees a rotation.

Per merchant, `<prefix><mchid>:list` holds the newest `v3/certificates` answer any worker
received (its body, the headers its checks read, when it was received), and `<prefix><mchid>:lease`
is held by the one worker downloading. The refresher decides when to use them (`_keys/cache`);
every worker checks a stored list again before holding anything from it. Redis being away never
stops the certificates: the refresher then downloads on its own.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

import orjson

from .._config import LOGGER_NAME
from .._errors import ConfigurationError
from .._keys.cache import SharedList
from .connection import FAILURES, Connection

if TYPE_CHECKING:
    import redis.asyncio as aioredis

logger = logging.getLogger(LOGGER_NAME)

PREFIX = "wechatpay_chain:certificates:"
LEASE = 60.0  # longer than a download may take (the default timeout is 30 s)
TTL = 30 * 24 * 3600.0  # a list nobody refreshed for this long is dropped

# KEYS[1]: the list. Stored only if newer than the one there (two downloads can finish out of order).
_STORE = """
local held = redis.call('HGET', KEYS[1], 'received_at')
if held and tonumber(held) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'received_at', ARGV[1], 'headers', ARGV[2], 'body', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisCertificateCache:
    """The platform certificates in Redis, shared by workers: `Client(…, certificate_cache=RedisCertificateCache(url))`.

    `redis`: a URL or a `redis.asyncio.Redis` client. `lease`: how long one worker may hold the
    right to download before another takes over (a crashed worker's lease expires).
    """

    def __init__(
        self, redis: str | aioredis.Redis, *, prefix: str = PREFIX, lease: float = LEASE, ttl: float = TTL
    ) -> None:
        if not (isinstance(lease, (int, float)) and lease > 0 and isinstance(ttl, (int, float)) and ttl > 0):
            raise ConfigurationError("RedisCertificateCache: lease and ttl are seconds > 0")
        self.redis = Connection(redis, what="RedisCertificateCache")
        self.prefix = prefix
        self.lease = float(lease)
        self.ttl = float(ttl)

    async def latest(self, owner: str) -> SharedList | None:
        """The newest list any worker stored for this merchant, or None."""
        fields = await (await self.redis.client()).hgetall(self._key(owner, "list"))
        if not fields:
            return None
        try:
            body, headers = fields[b"body"], orjson.loads(fields[b"headers"])
            if not isinstance(body, bytes) or not isinstance(headers, dict):
                raise ValueError("not a stored answer")
            return SharedList(body, headers, float(fields[b"received_at"]))
        except (KeyError, ValueError, orjson.JSONDecodeError):
            logger.warning("mchid %s: the certificate list stored in Redis is malformed; ignored", owner)
            return None

    @asynccontextmanager
    async def downloading(self, owner: str) -> AsyncIterator[None]:
        """Hold the lease to download for this merchant, waiting while another worker holds it."""
        key = self._key(owner, "lease")
        token = secrets.token_hex(16)
        held = await self._acquire(key, token)
        try:
            yield
        finally:
            if held:
                with suppress(*FAILURES):  # unreachable: the lease expires on its own
                    await self.redis.eval(_RELEASE, [key], token)

    async def _acquire(self, key: str, token: str) -> bool:
        """True once held; False when Redis is away or the holder outlived its lease (download anyway)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lease
        pause = 0.05
        while True:
            try:
                if await (await self.redis.client()).set(key, token, nx=True, px=int(self.lease * 1000)):
                    return True
            except FAILURES as exc:
                logger.warning("the certificate download lease in Redis is unavailable (%s): downloading anyway", exc)
                return False
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def store(self, owner: str, shared: SharedList) -> None:
        """Store a list this worker downloaded and accepted (unless a newer one is there)."""
        await self.redis.eval(
            _STORE,
            [self._key(owner, "list")],
            repr(shared.received_at),
            orjson.dumps(dict(shared.headers)),
            shared.body,
            int(self.ttl * 1000),
        )

    def _key(self, owner: str, what: str) -> str:
        return f"{self.prefix}{owner}:{what}"

    async def aclose(self) -> None:
        """Close the Redis client made from a URL (a client passed in stays open)."""
        await self.redis.aclose()

    def __repr__(self) -> str:
        return f"<RedisCertificateCache {self.redis!r} prefix={self.prefix!r}>"
