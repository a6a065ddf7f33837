"""The keys that verify WeChat Pay's answers: platform certificates and WeChat Pay public keys.

One map holds both, keyed by what `Wechatpay-Serial` carries: a certificate serial (hex) or a
public key id (`PUB_KEY_ID_…`). Each client has its own store; there is no global state.

With the APIv3 key and a way to fetch `v3/certificates`, the store manages the certificates
itself: it downloads them on first need, refreshes them in the background, and refreshes once
(rate-limited) when an answer names a serial it does not hold. The first download is trusted
through the APIv3 key (each certificate's AEAD tag) and must then verify with a certificate it
carries; every later one must verify with a key already held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from . import _hazmat
from ._errors import ApiError, ConfigurationError, SignatureError
from ._keys import PublicKeyInput, load_certificate, load_public, public_key_of
from ._models import Response
from ._verification import Verifier

PUBLIC_KEY_PREFIX = "PUB_KEY_ID_"
PREFERENCES = ("public_key", "certificate")
REFRESH_INTERVAL = 12 * 3600.0
REFRESH_GAP = 60.0  # an unknown serial triggers at most one refresh in this many seconds
MAX_UNKNOWN = 8  # and at most this many unknown serials do within that time
JITTER = 0.1  # background refreshes run at the interval ± 10 %, so many processes spread out
CERTIFICATE_AAD = "certificate"

logger = logging.getLogger("wechatpay_chain")

Fetch = Callable[[], Awaitable[Response]]
"""Sends `GET v3/certificates` signed, and returns the answer unverified (the store verifies it)."""


@dataclass(frozen=True, slots=True)
class PlatformKey:
    """A key WeChat Pay signs with, with the certificate it came in (if any)."""

    serial: str
    key: RSAPublicKey
    certificate: x509.Certificate | None = None

    @property
    def is_public_key_id(self) -> bool:
        """Whether this is a WeChat Pay public key (`PUB_KEY_ID_…`) rather than a certificate."""
        return self.serial.startswith(PUBLIC_KEY_PREFIX)

    @property
    def not_before(self) -> datetime | None:
        """When the certificate becomes valid (None for a bare public key)."""
        return self.certificate.not_valid_before_utc if self.certificate else None

    @property
    def not_after(self) -> datetime | None:
        """When the certificate expires (None for a bare public key)."""
        return self.certificate.not_valid_after_utc if self.certificate else None

    def pem(self) -> bytes:
        """The certificate as PEM (ValueError for a bare public key)."""
        if self.certificate is None:
            raise ValueError(f"{self.serial} is a bare public key, not a certificate")
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def expired(self, now: float) -> bool:
        """Whether the certificate has expired at Unix time `now` (a bare key never does)."""
        return self.certificate is not None and self.certificate.not_valid_after_utc.timestamp() <= now


def normalise_serial(serial: str) -> str:
    """Serials compare case-insensitively (hex); ids are kept in upper case."""
    return serial.strip().upper()


PUBLIC_KEY_ONLY = (
    "this merchant has no platform certificates (v3/certificates answered {status} RESOURCE_NOT_EXISTS): "
    "it uses the WeChat Pay public key. Download the public key and its id from the merchant platform "
    "(账户中心 > API安全 > 微信支付公钥) and configure certs={{'PUB_KEY_ID_…': 'file:///path/pub_key.pem'}}"
)


class CertificateStore:
    """Platform keys by serial, the choice of which one a request names, and their upkeep."""

    def __init__(
        self,
        certs: Mapping[str, PublicKeyInput] | None = None,
        *,
        apiv3_key: bytes | None = None,
        fetch: Fetch | None = None,
        prefer: str | None = None,
        refresh_interval: float = REFRESH_INTERVAL,
        refresh_gap: float = REFRESH_GAP,
        clock: Callable[[], float] = time.time,
        owner: str = "",
    ) -> None:
        if not isinstance(refresh_interval, (int, float)) or refresh_interval <= 0:
            raise ConfigurationError(f"refresh_interval must be seconds > 0, got {refresh_interval!r}")
        self._keys: dict[str, PlatformKey] = {}
        self._apiv3_key = apiv3_key
        self._fetch = fetch if apiv3_key is not None else None
        self._prefer: str | None = None
        self.refresh_interval = float(refresh_interval)
        self.refresh_gap = float(refresh_gap)
        self._clock = clock
        self._owner = owner
        self._current: tuple[PlatformKey | None, float] | None = None  # (choice, valid until)
        # The key `encrypt` used, per task: the requests that carry its output must name it.
        self._sealed_with: ContextVar[str | None] = ContextVar(f"wechatpay_chain.sealed_with.{id(self)}", default=None)
        self._inflight: asyncio.Task[list[PlatformKey]] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._tried: dict[str, float] = {}  # unknown serial -> when it last triggered a refresh
        self._last_error: Exception | None = None
        self._closed = False
        self._has_certificates = False
        self.public_key_only = False  # set when v3/certificates says the merchant has none
        self.prefer = prefer
        for serial, value in (certs or {}).items():
            self.add(serial, value)

    @property
    def prefer(self) -> str | None:
        """Which key requests name when both are held: "public_key" (None: the default) or "certificate"."""
        return self._prefer

    @prefer.setter
    def prefer(self, value: str | None) -> None:
        if value is not None and value not in PREFERENCES:
            raise ConfigurationError(f"prefer must be 'public_key' or 'certificate' (or None), got {value!r}")
        self._prefer = value
        self._current = None

    # -- holding keys ---------------------------------------------------------------------

    def add(self, serial: str, value: PublicKeyInput) -> PlatformKey:
        """Load and hold one platform certificate or public key under `serial`."""
        if not isinstance(serial, str) or not serial.strip():
            raise ConfigurationError("certs: each key must be a certificate serial or a PUB_KEY_ID_…")
        item = load_public(value, param=f"certs[{serial!r}]")
        certificate = item if isinstance(item, x509.Certificate) else None
        return self._hold(PlatformKey(normalise_serial(serial), public_key_of(item), certificate))

    def _hold(self, entry: PlatformKey) -> PlatformKey:
        self._keys[entry.serial] = entry
        self._changed()
        return entry

    def _changed(self) -> None:
        self._current = None
        self._has_certificates = any(not e.is_public_key_id for e in self._keys.values())

    def get(self, serial: str) -> RSAPublicKey | None:
        """The key for a `Wechatpay-Serial` value, or None when unknown."""
        entry = self._keys.get(serial) or self._keys.get(normalise_serial(serial))
        return entry.key if entry else None

    def entry(self, serial: str) -> PlatformKey | None:
        """The held entry for a serial or id, or None."""
        return self._keys.get(normalise_serial(serial))

    def serials(self) -> list[str]:
        """Every serial and id held."""
        return list(self._keys)

    def certificates(self) -> list[PlatformKey]:
        """The held platform certificates (entries that came with an X.509 certificate)."""
        return [e for e in self._keys.values() if e.certificate is not None]

    def __contains__(self, serial: object) -> bool:
        return isinstance(serial, str) and normalise_serial(serial) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def prune(self) -> list[str]:
        """Drop expired certificates (never a public key); returns their serials."""
        now = self._clock()
        gone = [s for s, e in self._keys.items() if e.expired(now)]
        for serial in gone:
            del self._keys[serial]
        if gone:
            self._changed()
        return gone

    # -- which key a request names --------------------------------------------------------

    def current(self) -> PlatformKey | None:
        """The key requests name and `encrypt` uses: per `prefer`, the public key or the newest certificate."""
        now = self._clock()
        cached = self._current
        if cached is not None and now < cached[1]:
            return cached[0]
        choice = self._choose(now)
        until = choice.not_after.timestamp() if choice is not None and choice.not_after else float("inf")
        self._current = (choice, until)
        return choice

    def _choose(self, now: float) -> PlatformKey | None:
        public = [e for e in self._keys.values() if e.is_public_key_id]
        others = [e for e in self._keys.values() if not e.is_public_key_id and not e.expired(now)]
        # Newest last; a later addition wins a tie, and a bare key ranks below any certificate.
        others.sort(key=lambda e: (e.not_after is not None, e.not_after or datetime.min, e.not_before or datetime.min))
        if self.prefer == "certificate":
            return others[-1] if others else (public[-1] if public else None)
        return public[-1] if public else (others[-1] if others else None)

    def request_serial(self) -> str | None:
        """The `Wechatpay-Serial` a request sends by default (the key `encrypt` used, in its task)."""
        sealed = self._sealed_with.get()
        if sealed is not None and sealed in self._keys:
            return sealed
        entry = self.current()
        return entry.serial if entry else None

    async def encryption_key(self) -> PlatformKey:
        """The key to encrypt sensitive fields with (downloading it if needed).

        Requests sent afterwards from the same task name this key in `Wechatpay-Serial`.
        """
        entry = self.current()
        if entry is None:
            await self._refresh_for(None)
            entry = self.current()
        if entry is None:
            raise ConfigurationError(
                "no platform certificate or public key to encrypt with: configure certs= or apiv3_key="
            )
        self._sealed_with.set(entry.serial)
        return entry

    # -- lookups that may refresh ---------------------------------------------------------

    @property
    def downloads(self) -> bool:
        """Whether this store can download certificates (it has the APIv3 key and a fetch)."""
        return self._fetch is not None

    async def key_for(self, serial: str) -> RSAPublicKey | None:
        """The key for `serial`; an unknown certificate serial triggers one rate-limited refresh."""
        key = self.get(serial)
        if self._fetch is not None and (self._refresher is None or self._refresher.done()):
            self._start_refresher()
        if key is not None:
            return key
        if normalise_serial(serial).startswith(PUBLIC_KEY_PREFIX):
            if not self._keys:
                raise ConfigurationError(
                    f"WeChat Pay signed with the public key {serial!r}, which is not configured: "
                    f"download it from the merchant platform and configure certs={{{serial!r}: 'file:///path/pub_key.pem'}}"
                )
            return None
        if self._fetch is None:
            return None
        await self._refresh_for(serial)
        return self.get(serial)

    async def _refresh_for(self, serial: str | None) -> None:
        """Refresh on demand, at most once per `refresh_gap` (joining a refresh in flight).

        A failure is raised only when the store holds nothing that could verify anyway;
        otherwise it is logged and the caller goes on with the keys held.
        """
        if self._fetch is None:
            return
        if not self._may_refresh(serial or ""):
            if self._last_error is not None and not self._keys:
                raise self._last_error
            return
        try:
            await self.refresh()
        except Exception as exc:
            if not self._keys:
                raise
            logger.warning("%s", _describe(exc, self._owner, serial))

    def _may_refresh(self, serial: str) -> bool:
        """Once per serial per `refresh_gap`, for a few serials at a time, or joining one in flight.

        So a rotation is picked up at once, yet a stream of made-up serials cannot become a
        stream of downloads.
        """
        if self._inflight is not None and not self._inflight.done():
            # Joining from inside the download itself (a verifier that checks it) would deadlock.
            return asyncio.current_task() is not self._inflight
        now = self._clock()
        self._tried = {s: t for s, t in self._tried.items() if now - t < self.refresh_gap}
        if serial in self._tried or len(self._tried) >= MAX_UNKNOWN:
            return False
        self._tried[serial] = now
        return True

    async def refresh(self) -> list[PlatformKey]:
        """Download `v3/certificates` now; returns the certificates new to the store.

        Concurrent callers share one download. Raises when the download is refused.
        """
        if self._fetch is None:
            raise ConfigurationError("the store cannot download certificates: the client needs apiv3_key=")
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.get_running_loop().create_task(self._download(self._fetch))
        # Shielded: a caller that gives up must not cancel the download others wait for.
        return await asyncio.shield(self._inflight)

    async def _download(self, fetch: Fetch) -> list[PlatformKey]:
        try:
            added = await self._accept(await fetch())
        except Exception as exc:
            self._last_error = exc
            raise
        self._last_error = None
        self.prune()
        if added:
            logger.info("%splatform certificates added: %s", _who(self._owner), [e.serial for e in added])
        if not self._closed:
            self._start_refresher()
        return added

    async def _accept(self, response: Response) -> list[PlatformKey]:
        """Check one `v3/certificates` answer and hold what it carries; returns the new entries."""
        if response.status in (403, 404) and _error_code(response) == "RESOURCE_NOT_EXISTS":
            self.public_key_only = True
            raise ConfigurationError(PUBLIC_KEY_ONLY.format(status=response.status))
        if not response.ok:
            raise ApiError(response)
        assert self._apiv3_key is not None  # a store with a fetch always has the key
        carried = {e.serial: e for e in open_certificate_list(response, self._apiv3_key)}
        await self._verify_list(response, carried)
        self.public_key_only = False
        now = self._clock()
        fresh = [e for s, e in carried.items() if s not in self._keys and not e.expired(now)]
        for entry in fresh:
            self._hold(entry)
        return fresh

    async def _verify_list(self, response: Response, carried: Mapping[str, PlatformKey]) -> None:
        """The list verifies with a held key, or, on the first download only, with one it carries."""
        bootstrap = not self._has_certificates

        async def lookup(serial: str) -> RSAPublicKey | None:
            held = self.get(serial)
            if held is not None or not bootstrap:
                return held
            entry = carried.get(normalise_serial(serial))
            return entry.key if entry else None

        try:
            await Verifier(lookup, clock=self._clock).check(response.headers, response.body, response=response)
        except SignatureError as exc:
            whose = "one of the certificates it carries" if bootstrap else "a key already held"
            raise SignatureError(
                f"refused the platform certificate list: it must verify with {whose} ({exc})",
                check=exc.check,
                response=response,
            ) from None

    # -- the background refresh -----------------------------------------------------------

    def _start_refresher(self) -> None:
        """Start the periodic refresh on first use, once there are certificates to keep fresh."""
        if self._closed or self.public_key_only or not self._has_certificates:
            return
        if self._refresher is not None and not self._refresher.done():
            return
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_periodically())

    def next_delay(self) -> float:
        """Seconds until the next background refresh: the interval with ± 10 % jitter."""
        return self.refresh_interval * random.uniform(1 - JITTER, 1 + JITTER)

    async def _refresh_periodically(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.next_delay())
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Calls keep verifying with the certificates held; the next round tries again.
                logger.warning("%s", _describe(exc, self._owner, None))
                self.prune()

    async def close(self) -> None:
        """Stop the background refresh and any download in flight."""
        self._closed = True
        loop = asyncio.get_running_loop()
        for task in (self._refresher, self._inflight):
            # A task of another (finished) loop is already gone with its loop.
            if task is not None and not task.done() and task.get_loop() is loop:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._refresher = self._inflight = None

    def __repr__(self) -> str:
        return f"<CertificateStore {self.serials()}>"


def open_certificate_list(response: Response, apiv3_key: bytes) -> list[PlatformKey]:
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


def _open_item(item: Any, apiv3_key: bytes, response: Response) -> PlatformKey:
    serial = normalise_serial(str(item["serial_no"]))
    sealed = item["encrypt_certificate"]
    try:
        pem = _hazmat.aead_decrypt(
            apiv3_key, sealed["nonce"], sealed.get("associated_data") or "", sealed["ciphertext"]
        )
    except ValueError:
        raise SignatureError(
            f"refused the platform certificate list: certificate {serial} does not decrypt with the APIv3 key "
            "(a wrong apiv3_key, or a forged certificate)",
            check="aead",
            response=response,
        ) from None
    certificate = load_certificate(pem)
    if f"{certificate.serial_number:X}" != serial:
        raise SignatureError(
            f"refused the platform certificate list: the certificate listed as {serial} "
            f"has serial {certificate.serial_number:X}",
            check="certificates",
            response=response,
        )
    return PlatformKey(serial, public_key_of(certificate), certificate)


def _error_code(response: Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return ""
    return str(payload.get("code") or "") if isinstance(payload, dict) else ""


def _who(owner: str) -> str:
    return f"mchid {owner}: " if owner else ""


def _describe(exc: Exception, owner: str, serial: str | None) -> str:
    why = f" (an answer was signed with unknown serial {serial})" if serial else ""
    return f"{_who(owner)}refreshing the platform certificates failed{why}: {type(exc).__name__}: {exc}"
