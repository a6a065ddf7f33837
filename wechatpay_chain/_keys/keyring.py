"""The keys that verify WeChat Pay's answers: platform certificates and WeChat Pay public keys.

One ring holds both, keyed by what `Wechatpay-Serial` carries: a certificate serial (hex) or a
public key id (`PUB_KEY_ID_…`). It answers lookups and says which key requests name (the
preference between the public key and the newest certificate); keeping the certificates fresh is
the refresher's job (`_certificates`). Each client has its own ring; there is no global state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .._errors import ConfigurationError
from .._types import Clock, PublicKeyInput
from .loading import is_certificate, load_public, public_key_of

if TYPE_CHECKING:
    from cryptography import x509

PUBLIC_KEY_PREFIX = "PUB_KEY_ID_"
PREFERENCES = ("public_key", "certificate")


_HEX = re.compile(r"[0-9A-F]+")
_SERIAL = re.compile(r"[0-9A-Za-z_]{1,64}")  # a hex serial or PUB_KEY_ID_<digits>


def normalise_serial(serial: str) -> str:
    """The one form serials are held and compared in: upper case; a hex serial as whole bytes.

    A certificate serial is a number: WeChat Pay (like openssl) writes it in whole bytes, so one
    whose first nibble is 0 reads `0A1B…`, while a plain hex conversion gives `A1B…`. Both spellings
    become `0A1B…`: leading zeros dropped, then one put back when the digits are odd in number.
    Public key ids (`PUB_KEY_ID_…`) are only upper-cased.
    """
    text = serial.strip().upper()
    if _HEX.fullmatch(text) is None:
        return text
    digits = text.lstrip("0") or "0"
    return "0" + digits if len(digits) % 2 else digits


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
        from cryptography.hazmat.primitives import serialization

        if self.certificate is None:
            raise ValueError(f"{self.serial} is a bare public key, not a certificate")
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def expired(self, now: float) -> bool:
        """Whether the certificate has expired at Unix time `now` (a bare key never does)."""
        return self.certificate is not None and self.certificate.not_valid_after_utc.timestamp() <= now


class KeyRing:
    """Platform keys by serial, and the choice of which one requests name and `encrypt` uses."""

    def __init__(
        self,
        certs: Mapping[str, PublicKeyInput] | None = None,
        *,
        prefer: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._keys: dict[str, PlatformKey] = {}
        self._clock = clock
        self._prefer: str | None = None
        self._current: tuple[PlatformKey | None, float] | None = None  # (choice, valid until)
        self._has_certificates: bool | None = None  # known until the keys change (asked on every call)
        self.prefer = prefer
        if certs is not None and not isinstance(certs, Mapping):
            raise ConfigurationError("certs must be a mapping {serial or PUB_KEY_ID_…: key or certificate}")
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
        if not isinstance(serial, str) or _SERIAL.fullmatch(serial.strip()) is None:
            raise ConfigurationError(
                "certs: each key must be a certificate serial (hex) or a public key id (PUB_KEY_ID_…), "
                f"got {serial!r:.60}"
            )
        item = load_public(value, param=f"certs[{serial!r}]")
        certificate = item if is_certificate(item) else None
        return self.hold(PlatformKey(normalise_serial(serial), public_key_of(item), certificate))

    def hold(self, entry: PlatformKey) -> PlatformKey:
        """Hold a key already loaded (the refresher adds downloaded certificates this way)."""
        self._keys[entry.serial] = entry
        self._current = self._has_certificates = None
        return entry

    def get(self, serial: str) -> RSAPublicKey | None:
        """The key for a `Wechatpay-Serial` value, or None when unknown."""
        entry = self._keys.get(serial) or self._keys.get(normalise_serial(serial))
        return entry.key if entry else None

    async def lookup(self, serial: str) -> RSAPublicKey | None:
        """`get` as the Verifier calls it (a ring that cannot download has nothing more to try)."""
        return self.get(serial)

    def serials(self) -> list[str]:
        """Every serial and id held."""
        return list(self._keys)

    def certificates(self) -> list[PlatformKey]:
        """The held platform certificates (entries that came with an X.509 certificate)."""
        return [e for e in self._keys.values() if e.certificate is not None]

    @property
    def has_certificates(self) -> bool:
        """Whether any platform certificate is held (not only public keys)."""
        if self._has_certificates is None:
            self._has_certificates = any(not e.is_public_key_id for e in self._keys.values())
        return self._has_certificates

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
            self._current = self._has_certificates = None
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
        """The `Wechatpay-Serial` a request names unless it says otherwise (see `current`)."""
        entry = self.current()
        return entry.serial if entry else None

    def __repr__(self) -> str:
        return f"<KeyRing {self.serials()}>"
