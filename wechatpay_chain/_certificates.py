"""The keys that verify WeChat Pay's answers: platform certificates and WeChat Pay public keys.

One map holds both, keyed by what `Wechatpay-Serial` carries: a certificate serial (hex) or a
public key id (`PUB_KEY_ID_…`). Each client has its own store; there is no global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ._errors import ConfigurationError
from ._keys import PublicKeyInput, load_public, public_key_of

PUBLIC_KEY_PREFIX = "PUB_KEY_ID_"


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
    def not_after(self) -> datetime | None:
        """When the certificate expires (None for a bare public key)."""
        return self.certificate.not_valid_after_utc if self.certificate else None


def normalise_serial(serial: str) -> str:
    """Serials compare case-insensitively (hex); ids are kept in upper case."""
    return serial.strip().upper()


class CertificateStore:
    """Platform keys by serial, and the choice of which one a request names."""

    def __init__(self, certs: Mapping[str, PublicKeyInput] | None = None) -> None:
        self._keys: dict[str, PlatformKey] = {}
        for serial, value in (certs or {}).items():
            self.add(serial, value)

    def add(self, serial: str, value: PublicKeyInput) -> PlatformKey:
        """Load and hold one platform certificate or public key under `serial`."""
        if not isinstance(serial, str) or not serial.strip():
            raise ConfigurationError("certs: each key must be a certificate serial or a PUB_KEY_ID_…")
        item = load_public(value, param=f"certs[{serial!r}]")
        certificate = item if isinstance(item, x509.Certificate) else None
        entry = PlatformKey(normalise_serial(serial), public_key_of(item), certificate)
        self._keys[entry.serial] = entry
        return entry

    def get(self, serial: str) -> RSAPublicKey | None:
        """The key for a `Wechatpay-Serial` value, or None when unknown."""
        entry = self._keys.get(serial) or self._keys.get(normalise_serial(serial))
        return entry.key if entry else None

    def serials(self) -> list[str]:
        """Every serial and id held."""
        return list(self._keys)

    def __contains__(self, serial: object) -> bool:
        return isinstance(serial, str) and normalise_serial(serial) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def current(self) -> PlatformKey | None:
        """The key requests should name: the public key when configured, else the newest certificate."""
        entries = list(self._keys.values())
        for entry in entries:
            if entry.is_public_key_id:
                return entry
        dated = [e for e in entries if e.not_after is not None]
        if dated:
            return max(dated, key=lambda e: e.not_after or datetime.min)
        return entries[-1] if entries else None

    def request_serial(self) -> str | None:
        """The `Wechatpay-Serial` a request sends by default."""
        entry = self.current()
        return entry.serial if entry else None

    def __repr__(self) -> str:
        return f"<CertificateStore {self.serials()}>"
