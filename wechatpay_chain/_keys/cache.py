"""A certificate list shared by the workers of one merchant: one download per refresh, seen by all.

The refresher takes a `CertificateCache` (Redis: `RedisCertificateCache`) and uses it through
`Sharing`: before downloading it takes the list another worker stored, if it is recent enough;
otherwise it downloads under the cache's lease (the other workers wait, then take that list) and
stores what it downloaded. What is shared is the answer exactly as WeChat Pay sent it: every
worker checks it again (each certificate opens with the APIv3 key; the list's signature verifies
with a key already held, or on the first one with a certificate it carries), so whoever can
write to the cache can withhold a rotation but never plant a certificate.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from multidict import CIMultiDict, CIMultiDictProxy

from .._config import LOGGER_NAME, BaseURL
from .._models import Request, Response
from .._types import Clock
from .keyring import PlatformKey

logger = logging.getLogger(LOGGER_NAME)

SHARED_HEADERS = (
    "Content-Type",
    "Request-ID",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature",
    "Wechatpay-Signature-Type",
    "Wechatpay-Timestamp",
)
"""The headers of a `v3/certificates` answer that are kept with it: what its checks read."""

_FROM_CACHE = BaseURL("shared-cache://", "/")  # where a shared answer "came from", in its repr and errors


@dataclass(frozen=True, slots=True)
class SharedList:
    """A `v3/certificates` answer as WeChat Pay sent it, and when it was received (Unix time)."""

    body: bytes = field(repr=False)
    headers: Mapping[str, str]
    received_at: float

    @classmethod
    def of(cls, response: Response, received_at: float) -> SharedList:
        """What to share of an answer: its body and the headers its checks read."""
        kept = {name: response.headers[name] for name in SHARED_HEADERS if name in response.headers}
        return cls(response.body, kept, received_at)

    def response(self) -> Response:
        """The answer again, to be checked as if it had just been downloaded (at `received_at`)."""
        request = Request("GET", _FROM_CACHE, "v3/certificates", "", "v3/certificates", CIMultiDict())
        return Response(200, CIMultiDictProxy(CIMultiDict(self.headers)), self.body, request)


@runtime_checkable
class CertificateCache(Protocol):
    """Where the workers of a merchant share the platform certificate list (implemented over Redis, a table…).

    `owner` is the merchant id. Failures should be logged and answered as "nothing shared": the
    refresher then downloads on its own, as it does without a cache.
    """

    async def latest(self, owner: str) -> SharedList | None:
        """The newest list stored for `owner` by any worker, or None."""
        ...

    def downloading(self, owner: str) -> AbstractAsyncContextManager[object]:
        """Held while one worker downloads for `owner`; the others wait (a lease: a dead holder's expires)."""
        ...

    async def store(self, owner: str, shared: SharedList) -> None:
        """Store a list this worker downloaded and accepted."""
        ...


Accept = Callable[[Response, "float | None"], Awaitable[list[PlatformKey]]]
"""Checks an answer (at the given time, or now) and holds what it carries; returns the new keys."""
Fetch = Callable[[], Awaitable[Response]]


class Sharing:
    """The refresher's use of a `CertificateCache`: adopt other workers' lists, download for all otherwise."""

    def __init__(self, cache: CertificateCache, owner: str, accept: Accept, clock: Clock) -> None:
        self.cache = cache
        self.owner = owner
        self._accept = accept
        self._clock = clock
        # When the newest list this worker took (downloaded or adopted), and the newest it refused, were received.
        self.seen = self.refused = float("-inf")

    async def adopt(self) -> list[PlatformKey]:
        """Take the newest stored list unless this worker has taken or refused it; returns the keys it added.

        Raises what checking the list raises (a list that does not check out is not tried again).
        """
        shared = await self._latest()
        if shared is None or shared.received_at <= max(self.seen, self.refused):
            return []
        return await self._take(shared)

    async def download(self, since: float, fetch: Fetch, enough: Callable[[], bool]) -> list[PlatformKey]:
        """Download under the cache's lease, unless the list stored by then was received after `since`,
        or holds `enough` once taken (another worker downloaded what this one was waiting for)."""
        async with AsyncExitStack() as held:
            try:
                await held.enter_async_context(self.cache.downloading(self.owner))
            except Exception as exc:  # no lease: download anyway, the certificates must not wait on the cache
                logger.warning("mchid %s: the shared download lease failed (%s); downloading anyway", self.owner, exc)
            shared = await self._latest()
            if shared is not None and shared.received_at > max(self.seen, self.refused):
                try:
                    added = await self._take(shared)
                except Exception as exc:
                    logger.warning("mchid %s: refused a shared certificate list (%s); downloading", self.owner, exc)
                else:
                    if self.seen >= since or enough():
                        return added
            elif self.seen >= since:
                return []  # what this worker took already is recent enough
            received = self._clock()
            response = await fetch()
            added = await self._accept(response, None)
            self.seen = max(self.seen, received)
            try:
                await self.cache.store(self.owner, SharedList.of(response, received))
            except Exception as exc:
                logger.warning("mchid %s: the certificate list could not be shared: %s", self.owner, exc)
            return added

    async def _take(self, shared: SharedList) -> list[PlatformKey]:
        try:
            added = await self._accept(shared.response(), shared.received_at)
        except Exception:
            self.refused = max(self.refused, shared.received_at)
            raise
        self.seen = max(self.seen, shared.received_at)
        return added

    async def _latest(self) -> SharedList | None:
        try:
            return await self.cache.latest(self.owner)
        except Exception as exc:
            logger.warning("mchid %s: the shared certificate list could not be read: %s", self.owner, exc)
            return None
