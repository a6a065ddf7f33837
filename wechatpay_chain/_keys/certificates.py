"""Keeping the platform certificates fresh: download `v3/certificates`, check it, refresh on a schedule.

With the APIv3 key, the refresher downloads the certificates on first need, refreshes them in the
background, and refreshes once (rate-limited) when an answer names a serial the key ring does not
hold. The first download is trusted through the APIv3 key (each certificate's AEAD tag) and must
then verify with a certificate it carries; every later one must verify with a key already held.
The download goes through the client's stack without its verifier; the list is then checked with
the stack's verifier against those keys, so nothing needs to tell the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .._config import LOGGER_NAME, MAX_UNKNOWN_SERIALS, REFRESH_GAP, REFRESH_INTERVAL, REFRESH_JITTER
from .._errors import ApiError, ConfigurationError, SignatureError, TransportError
from .._models import Response
from .._secret import Secret
from .._types import Clock
from .cache import CertificateCache, Sharing
from .keyring import PUBLIC_KEY_PREFIX, KeyRing, PlatformKey, normalise_serial
from .loading import certificate_serial, load_certificate, public_key_of
from .resource import ResourceError, open_resource

logger = logging.getLogger(LOGGER_NAME)

Fetch = Callable[[], Awaitable[Response]]
"""Sends `GET v3/certificates` signed, and returns the answer unverified (the refresher checks it)."""


PUBLIC_KEY_ONLY = (
    "this merchant has no platform certificates (v3/certificates answered {status} RESOURCE_NOT_EXISTS): "
    "it uses the WeChat Pay public key. Download the public key and its id from the merchant platform "
    "(账户中心 > API安全 > 微信支付公钥) and configure certs={{'PUB_KEY_ID_…': 'file:///path/pub_key.pem'}}"
)


class CertificateRefresher:
    """Downloads, checks and schedules the platform certificates of one key ring."""

    def __init__(
        self,
        ring: KeyRing,
        fetch: Fetch,
        apiv3_key: Secret,
        check: Callable[..., Awaitable[str]],
        *,
        interval: float = REFRESH_INTERVAL,
        gap: float = REFRESH_GAP,
        clock: Clock = time.time,
        owner: str = "",
        cache: CertificateCache | None = None,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise ConfigurationError(f"refresh_interval must be seconds > 0, got {interval!r}")
        self.ring = ring
        self.interval = float(interval)
        self.gap = float(gap)
        self.public_key_only = False  # set when v3/certificates says the merchant has none
        self._fetch = fetch
        self._apiv3_key = apiv3_key
        self._check = check
        self._clock = clock
        self._owner = owner
        self._inflight: asyncio.Task[list[PlatformKey]] | None = None
        self._scheduled: asyncio.Task[None] | None = None
        self._tried: dict[str, float] = {}  # unknown serial -> when it last triggered a refresh
        self._last_error: Exception | None = None
        self._closed = False
        # With a cache shared by several workers: one download per refresh, taken by all (see `cache`).
        self._sharing = Sharing(cache, owner, self._accept, clock) if cache is not None else None

    # -- lookups that may refresh ---------------------------------------------------------

    def held(self, serial: str) -> RSAPublicKey | None:
        """The key for `serial` if the ring holds it, else None (in the event loop it starts the background refresh)."""
        key = self.ring.get(serial)
        self._schedule()
        return key

    async def key_for(self, serial: str) -> RSAPublicKey | None:
        """The key for `serial`; an unknown certificate serial triggers one rate-limited refresh."""
        key = self.held(serial)
        if key is not None:
            return key
        if normalise_serial(serial).startswith(PUBLIC_KEY_PREFIX):
            if not len(self.ring):
                raise ConfigurationError(
                    f"WeChat Pay signed with the public key {serial!r}, which is not configured: download it "
                    f"from the merchant platform and configure certs={{{serial!r}: 'file:///path/pub_key.pem'}}"
                )
            return None
        await self._refresh_for(serial)
        return self.ring.get(serial)

    async def current(self) -> PlatformKey | None:
        """The key requests name (see `KeyRing.current`), downloading the certificates when none is held."""
        entry = self.ring.current()
        if entry is None:
            await self._refresh_for(None)
            entry = self.ring.current()
        return entry

    async def _refresh_for(self, serial: str | None) -> None:
        """Refresh on demand, at most once per `gap` (joining a refresh in flight).

        A failure is raised only when the ring holds nothing that could verify anyway;
        otherwise it is logged and the caller goes on with the keys held.
        """
        if not self._may_refresh(serial or ""):
            if self._last_error is not None and not len(self.ring):
                raise self._last_error
            return
        try:
            await self._joined(lambda: self._on_demand(serial))
        except Exception as exc:
            if not len(self.ring):
                raise
            logger.warning("%s", _describe(exc, self._owner, serial))

    async def _on_demand(self, serial: str | None) -> list[PlatformKey]:
        """The list another worker shared if it holds what is missing, else a download."""
        asked = self._clock()
        if await self._adopted(serial):
            return []
        return await self._download(asked, lambda: self._holds(serial))

    def _holds(self, serial: str | None) -> bool:
        """Whether the ring holds `serial` (None: a key requests can name)."""
        return serial in self.ring if serial else self.ring.current() is not None

    async def _adopted(self, serial: str | None = None) -> bool:
        """Whether a list another worker shared holds what is missing (`serial`, or any certificate)."""
        if self._sharing is None:
            return False
        try:
            if not await self._sharing.adopt():
                return False
        except Exception as exc:  # a stored list that does not check out: this worker downloads its own
            logger.warning("%s (a list shared by another worker)", _describe(exc, self._owner, serial))
            return False
        self._schedule()
        return self._holds(serial)

    def _may_refresh(self, serial: str) -> bool:
        """Once per serial per `gap`, for a few serials at a time, or joining one in flight.

        So a rotation is picked up at once, yet a stream of made-up serials cannot become a
        stream of downloads.
        """
        if _running_here(self._inflight):
            return True
        now = self._clock()
        self._tried = {s: t for s, t in self._tried.items() if now - t < self.gap}
        if serial in self._tried or len(self._tried) >= MAX_UNKNOWN_SERIALS:
            return False
        self._tried[serial] = now
        return True

    # -- the download ---------------------------------------------------------------------

    async def refresh(self, *, since: float | None = None) -> list[PlatformKey]:
        """Download `v3/certificates` now; returns the certificates new to the ring.

        Concurrent callers share one download. Raises when the download is refused. With a shared
        cache, a list another worker received after `since` (default: now) is taken instead.
        """
        asked = self._clock() if since is None else since
        return await self._joined(lambda: self._download(asked))

    async def _joined(self, start: Callable[[], Coroutine[Any, Any, list[PlatformKey]]]) -> list[PlatformKey]:
        """Join the refresh in flight, or start one with `start()`."""
        task = self._inflight
        if task is None or not _running_here(task):
            task = self._inflight = asyncio.get_running_loop().create_task(start())
        try:
            # Shielded: a caller that gives up must not cancel the download others wait for.
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():  # the caller itself was cancelled
                raise
            # close() stopped the download: the callers waiting for it get an answer, not a cancellation.
            raise TransportError("GET v3/certificates: the client was closed during the download", sent=False) from None

    async def _download(self, since: float, enough: Callable[[], bool] = lambda: False) -> list[PlatformKey]:
        try:
            if self._sharing is not None:
                added = await self._sharing.download(since, self._fetch, enough)
            else:
                added = await self._accept(await self._fetch())
        except Exception as exc:
            self._last_error = exc
            raise
        self._last_error = None
        self.ring.prune()
        if added:
            logger.info("%splatform certificates added: %s", _who(self._owner), [e.serial for e in added])
        self._schedule()
        return added

    async def _accept(self, response: Response, at: float | None = None) -> list[PlatformKey]:
        """Check one `v3/certificates` answer (received at `at`, default now), hold what it carries; returns the new."""
        if not response.ok:
            error = ApiError(response)
            if response.status in (403, 404) and error.code == "RESOURCE_NOT_EXISTS":
                self.public_key_only = True
                raise ConfigurationError(PUBLIC_KEY_ONLY.format(status=response.status))
            raise error
        carried = {e.serial: e for e in open_certificate_list(response, self._apiv3_key)}
        await self._verify_list(response, carried, at)
        self.public_key_only = False
        now = self._clock()
        fresh = [e for s, e in carried.items() if s not in self.ring and not e.expired(now)]
        for entry in fresh:
            self.ring.hold(entry)
        return fresh

    async def _verify_list(self, response: Response, carried: Mapping[str, PlatformKey], at: float | None) -> None:
        """The list verifies with a held key, or, on the first download only, with one it carries."""
        bootstrap = not self.ring.has_certificates

        async def lookup(serial: str) -> RSAPublicKey | None:
            held = self.ring.get(serial)
            if held is not None or not bootstrap:
                return held
            entry = carried.get(normalise_serial(serial))
            return entry.key if entry else None

        try:
            when = {} if at is None else {"at": at}  # a shared list is checked as of when it was received
            await self._check(response.headers, response.body, response=response, keys=lookup, **when)
        except SignatureError as exc:
            whose = "one of the certificates it carries" if bootstrap else "a key already held"
            raise SignatureError(
                f"refused the platform certificate list: it must verify with {whose} ({exc})",
                check=exc.check,
                response=response,
            ) from None

    # -- the background refresh -----------------------------------------------------------

    def _schedule(self) -> None:
        """Start the periodic refresh on first use, once there are certificates to keep fresh."""
        if self._closed or self.public_key_only or not self.ring.has_certificates:
            return
        if _running_here(self._scheduled):
            return
        self._scheduled = asyncio.get_running_loop().create_task(self._refresh_periodically())

    def next_delay(self) -> float:
        """Seconds until the next background refresh: the interval with +- 10 % jitter."""
        return self.interval * random.uniform(1 - REFRESH_JITTER, 1 + REFRESH_JITTER)

    async def _refresh_periodically(self) -> None:
        while not self._closed:
            await self._until_next_round()
            try:
                # Shared: a list another worker received in the last half interval is as good as a download.
                await self.refresh(since=self._clock() - self.interval / 2 if self._sharing else None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Calls keep verifying with the certificates held; the next round tries again.
                logger.warning("%s", _describe(exc, self._owner, None))
                self.ring.prune()

    async def _until_next_round(self) -> None:
        """Sleep until the next refresh; with a shared cache, take other workers' lists every `gap` meanwhile."""
        remaining = self.next_delay()
        while remaining > 0:
            step = min(remaining, self.gap) if self._sharing is not None else remaining
            await asyncio.sleep(step)
            remaining -= step
            if remaining > 0:
                await self._adopted()  # a rotation one worker saw reaches this one

    async def close(self) -> None:
        """Stop the background refresh and any download in flight."""
        self._closed = True
        loop = asyncio.get_running_loop()
        for task in (self._scheduled, self._inflight):
            # A task of another (finished) loop is already gone with its loop.
            if task is not None and not task.done() and task.get_loop() is loop:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._scheduled = self._inflight = None

    def __repr__(self) -> str:
        return f"<CertificateRefresher every {self.interval:.0f} s, {len(self.ring)} keys>"


def _running_here(task: asyncio.Task[Any] | None) -> bool:
    """Whether `task` is running in the running loop (a task of a closed loop never finishes)."""
    return task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop()


def open_certificate_list(response: Response, apiv3_key: Secret) -> list[PlatformKey]:
    """Decrypt each certificate of a `v3/certificates` answer; SignatureError when one does not open."""
    try:
        items = response.json()["data"]
        if not isinstance(items, list):
            raise TypeError("data is not a list")
        return [_open_item(item, apiv3_key, response) for item in items]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SignatureError(
            f"refused the platform certificate list: it is not one ({type(exc).__name__}: {exc})",
            check="certificates",
            response=response,
        ) from None


def _open_item(item: Any, apiv3_key: Secret, response: Response) -> PlatformKey:
    serial = normalise_serial(str(item["serial_no"]))
    try:
        pem = open_resource(apiv3_key, item["encrypt_certificate"])
    except ResourceError as exc:
        raise SignatureError(
            f"refused the platform certificate list: certificate {serial} does not open: {exc} "
            "(a wrong apiv3_key, or a forged certificate)",
            check="aead",
            response=response,
        ) from None
    certificate = load_certificate(pem)
    if certificate_serial(certificate) != serial:
        raise SignatureError(
            f"refused the platform certificate list: the certificate listed as {serial} "
            f"has serial {certificate_serial(certificate)}",
            check="certificates",
            response=response,
        )
    return PlatformKey(serial, public_key_of(certificate), certificate)


def _who(owner: str) -> str:
    return f"mchid {owner}: " if owner else ""


def _describe(exc: Exception, owner: str, serial: str | None) -> str:
    why = f" (an answer was signed with unknown serial {serial})" if serial else ""
    return f"{_who(owner)}refreshing the platform certificates failed{why}: {type(exc).__name__}: {exc}"
