"""WeChat Pay's encrypted resources: `{algorithm, nonce, associated_data, ciphertext}` sealed with the APIv3 key.

Notifications carry one as their `resource`, and each platform certificate of `v3/certificates`
comes as one (`encrypt_certificate`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _hazmat
from .._secret import Secret

ALGORITHM = "AEAD_AES_256_GCM"


class ResourceError(ValueError):
    """A resource that does not open; `check` is "algorithm", "envelope" or "decrypt"."""

    def __init__(self, message: str, *, check: str) -> None:
        super().__init__(message)
        self.check = check


def open_resource(key: Secret, resource: Mapping[str, Any]) -> bytes:
    """The plaintext of a sealed resource; ResourceError saying what is wrong otherwise."""
    return _open(key.reveal(), resource)


class ResourceKey:
    """The APIv3 key made ready to open many resources (a notification endpoint's): `open` as `open_resource`."""

    __slots__ = ("_aead",)

    def __init__(self, key: Secret) -> None:
        self._aead = _hazmat.aead_key(key.reveal())

    def open(self, resource: Mapping[str, Any]) -> bytes:
        """The plaintext of a sealed resource; ResourceError saying what is wrong otherwise."""
        return _open(self._aead, resource)

    def __repr__(self) -> str:
        return "<ResourceKey>"


def _open(key: bytes | _hazmat.AeadKey, resource: Mapping[str, Any]) -> bytes:
    algorithm = resource.get("algorithm")
    if algorithm != ALGORITHM:
        raise ResourceError(f"algorithm {algorithm!r} is not supported (expected {ALGORITHM})", check="algorithm")
    ciphertext, nonce = resource.get("ciphertext"), resource.get("nonce")
    associated_data = resource.get("associated_data") or ""
    if not (isinstance(ciphertext, str) and isinstance(nonce, str) and isinstance(associated_data, str)):
        raise ResourceError("it needs string ciphertext, nonce and associated_data", check="envelope")
    try:
        return _hazmat.aead_decrypt(key, nonce, associated_data, ciphertext)
    except ValueError:
        raise ResourceError(
            "it does not decrypt with the APIv3 key (AEAD_AES_256_GCM tag mismatch)", check="decrypt"
        ) from None
