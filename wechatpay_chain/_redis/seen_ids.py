"""The notification replay guard in Redis: every worker shares it, so each notification is handled once.

One key per notification id, `<prefix><id>`, holds either a claim (`claim:<token>`, expiring after
`lease` seconds and renewed while the handler runs) or `done` (kept `ttl` seconds). A delivery
claims the id atomically before its handler runs:

- the id is `done`: the delivery is acknowledged (204) without running the handler;
- another delivery holds a claim: answered 503, WeChat Pay delivers it again later;
- Redis cannot be reached: answered 503, the handler does not run;
- the handler fails: the claim is released (or, Redis being away, expires), answered 500;
- the handler succeeds: the id is recorded `done`. If Redis is away at that moment, recording is
  retried for `record_wait` seconds, then the id is kept in this process and written as soon as
  Redis answers again, and the delivery is still acknowledged: it was handled.

A worker that dies mid-handler leaves a claim that expires after `lease` seconds, after which a
later delivery handles the notification: none is lost. What could handle one twice is a handler
outliving its lease with Redis away for all that time, which the renewal and `lease` bound.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

from .._config import LOGGER_NAME
from .._errors import ConfigurationError, DuplicateNotificationError, NotificationError
from .connection import FAILURES, Connection

if TYPE_CHECKING:
    import redis.asyncio as aioredis

logger = logging.getLogger(LOGGER_NAME)

DONE = b"done"
CLAIM = "claim:"
PREFIX = "wechatpay_chain:notification:"
TTL = 7 * 24 * 3600.0  # WeChat Pay stops delivering a notification about a day after the first try
LEASE = 60.0
RECORD_WAIT = 5.0
_FLUSH_EVERY = 1.0  # seconds between tries at writing ids recorded while Redis was away

# KEYS[1]: the id's key. Each script is one atomic step on it.
# A claim already holding this delivery's token is its own: a command resent after a lost connection.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RECORD = """
local held = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[1])
return held
"""


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"RedisSeenIds({name}={value!r}): a number of seconds > 0")
    return float(value)


class RedisSeenIds:
    """Notification ids in Redis, shared by every worker: pass it as `seen_ids=` to handle each notification once.

    `redis`: a URL (`"redis://localhost:6379/0"`, `"rediss://…"`) or a `redis.asyncio.Redis` client.
    `ttl`: how long a processed id is remembered; `lease`: how long a claim outlives a worker that
    died while handling it; `record_wait`: how long a handled id waits for Redis before it is kept
    in this process until Redis is back. Use Redis with persistence (AOF) so that a restart keeps
    the ids. See the module's documentation for what each outcome answers.
    """

    def __init__(
        self,
        redis: str | aioredis.Redis,
        *,
        prefix: str = PREFIX,
        ttl: float = TTL,
        lease: float = LEASE,
        record_wait: float = RECORD_WAIT,
    ) -> None:
        self.redis = Connection(redis, what="RedisSeenIds")
        self.prefix = prefix
        self.ttl = _seconds("ttl", ttl)
        self.lease = _seconds("lease", lease)
        self.record_wait = _seconds("record_wait", record_wait)
        self._unrecorded: dict[str, None] = {}  # handled here, not yet recorded in Redis
        # Claims that may hold in Redis though this worker gave up on them: a claim whose answer was
        # lost with the connection, a release that failed. Released as soon as Redis answers, so a
        # redelivery does not wait out their lease.
        self._uncertain: dict[str, str] = {}  # token -> key
        self._flushing: asyncio.Task[None] | None = None

    # -- SeenIds ----------------------------------------------------------------------------

    async def seen(self, notification_id: str) -> bool:
        """Whether this id was processed (by any worker)."""
        if notification_id in self._unrecorded:
            return True
        return await (await self.redis.client()).get(self._key(notification_id)) == DONE

    async def add(self, notification_id: str) -> None:
        """Record this id as processed."""
        await (await self.redis.client()).set(self._key(notification_id), DONE, px=self._ms(self.ttl))

    # -- SharedSeenIds ------------------------------------------------------------------------

    @asynccontextmanager
    async def claim(self, notification_id: str, event_type: str = "") -> AsyncIterator[None]:
        """Held while this delivery handles the id, renewed meanwhile; recorded as processed on success."""
        if notification_id in self._unrecorded:
            raise DuplicateNotificationError(notification_id, event_type)
        key = self._key(notification_id)
        token = CLAIM + secrets.token_hex(16)
        held = await self._claim(notification_id, key, token)
        if held == DONE:
            raise DuplicateNotificationError(notification_id, event_type)
        if held is not None:
            raise NotificationError(
                f"notification {notification_id!r} is being processed by another worker",
                check="in-flight",
                status=503,
                notification_id=notification_id,
            )
        renewal = asyncio.get_running_loop().create_task(self._renew(key, token))
        try:
            yield
        except BaseException:
            renewal.cancel()
            await self._release(key, token)
            raise
        renewal.cancel()
        await self._record(notification_id, key, token)

    async def _claim(self, notification_id: str, key: str, token: str) -> bytes | None:
        self._flush_soon()
        try:
            held: bytes | None = await self.redis.eval(_CLAIM, [key], token, self._ms(self.lease))
        except FAILURES as exc:
            self._uncertain[token] = key  # Redis may have taken the claim before the connection broke
            self._flush_soon()
            raise NotificationError(
                f"the replay store (Redis) is unreachable ({type(exc).__name__}: {exc}); "
                "answered 503 so that WeChat Pay delivers the notification again",
                check="seen-ids",
                status=503,
                notification_id=notification_id,
            ) from None
        return held

    async def _renew(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await self.redis.eval(_RENEW, [key], token, self._ms(self.lease)):
                    logger.warning("the claim on %s expired while its handler ran: raise RedisSeenIds(lease=…)", key)
                    return
            except FAILURES as exc:
                logger.debug("renewing the claim on %s failed (%s); trying again", key, exc)

    async def _record(self, notification_id: str, key: str, token: str) -> None:
        """Mark the id done, waiting up to `record_wait` for Redis; then keep it here until Redis answers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.record_wait
        pause = 0.05
        while True:
            try:
                held = await self.redis.eval(_RECORD, [key], self._ms(self.ttl))
            except FAILURES as exc:
                if loop.time() + pause > deadline:
                    self._unrecorded[notification_id] = None
                    self._flush_soon()
                    logger.warning(
                        "notification %s was handled, but Redis is unreachable to record it (%s): "
                        "this worker remembers it and records it once Redis answers",
                        notification_id,
                        exc,
                    )
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            if held not in (token.encode(), DONE):
                logger.warning("the claim on %s had expired before its handler finished (lease=%s s)", key, self.lease)
            return

    async def _release(self, key: str, token: str) -> None:
        try:
            await self.redis.eval(_RELEASE, [key], token)
        except FAILURES:
            self._uncertain[token] = key
            self._flush_soon()

    def _flush_soon(self) -> None:
        """Keep trying, in the background, to settle with Redis what happened while it was away."""
        task = self._flushing
        running = task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop()
        if (self._unrecorded or self._uncertain) and not running:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._unrecorded or self._uncertain:
            with suppress(*FAILURES):
                for token, key in list(self._uncertain.items()):
                    await self.redis.eval(_RELEASE, [key], token)
                    del self._uncertain[token]
                for notification_id in list(self._unrecorded):
                    await self.add(notification_id)
                    del self._unrecorded[notification_id]
                    logger.info("notification %s recorded in Redis now that it answers again", notification_id)
            if self._unrecorded or self._uncertain:
                await asyncio.sleep(_FLUSH_EVERY)

    # -- the rest -------------------------------------------------------------------------------

    def _key(self, notification_id: str) -> str:
        return self.prefix + notification_id

    @staticmethod
    def _ms(seconds: float) -> int:
        return max(1, int(seconds * 1000))

    async def aclose(self) -> None:
        """Close the Redis client made from a URL (a client passed in stays open)."""
        if self._flushing is not None:
            self._flushing.cancel()
        await self.redis.aclose()

    def __repr__(self) -> str:
        return f"<RedisSeenIds {self.redis!r} prefix={self.prefix!r} lease={self.lease:g} s>"
