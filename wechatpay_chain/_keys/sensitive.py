"""Sensitive fields (names, ID numbers, phone numbers): RSA-OAEP encryption as WeChat Pay expects it.

Fields going out are encrypted with WeChat Pay's key (a platform certificate or the public key), and
the request that carries them must name that key in `Wechatpay-Serial`. The link is the ciphertext
itself: `encrypt` returns an `Encrypted` string that remembers its key's serial, and a `json=` body
holding one is sent with that serial (a request naming another key, or mixing keys, is refused).
Fields coming back are decrypted with the merchant's private key. OAEP uses SHA-1 unless `sha256=True`.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from .. import _hazmat
from .._errors import ConfigurationError

# OAEP overhead: two hash lengths plus two bytes.
_OVERHEAD = {False: 2 * 20 + 2, True: 2 * 32 + 2}


class Encrypted(str):
    """A base64 ciphertext for WeChat Pay, with the serial (or public key id) of the key that sealed it."""

    __slots__ = ("serial",)
    serial: str

    def __new__(cls, ciphertext: str, serial: str) -> Encrypted:
        """The ciphertext `ciphertext`, sealed with the key named `serial`."""
        self = super().__new__(cls, ciphertext)
        self.serial = serial
        return self

    def __reduce__(self) -> tuple[type[Encrypted], tuple[str, str]]:
        return (Encrypted, (str(self), self.serial))


def encrypt(key: RSAPublicKey, text: str, *, sha256: bool = False) -> str:
    """Base64 RSA-OAEP ciphertext of `text` (UTF-8) under WeChat Pay's key."""
    if not isinstance(text, str):
        raise ConfigurationError(f"encrypt: the field must be a str, got {type(text).__name__}")
    data = text.encode("utf-8")
    room = key.key_size // 8 - _OVERHEAD[sha256]
    if len(data) > room:
        raise ConfigurationError(
            f"encrypt: the field is {len(data)} bytes in UTF-8; RSA-OAEP with this key takes at most {room}"
        )
    return _hazmat.oaep_encrypt(key, data, sha256=sha256)


def decrypt(key: RSAPrivateKey | None, ciphertext: str, *, sha256: bool = False) -> str:
    """The text of a base64 RSA-OAEP field WeChat Pay encrypted for the merchant."""
    if key is None:
        raise ConfigurationError(
            "decrypt: fields WeChat Pay encrypts for the merchant open with the merchant's private key; "
            "this client signs remotely and holds none: pass private_key= as well to decrypt"
        )
    try:
        return _hazmat.oaep_decrypt(key, ciphertext, sha256=sha256).decode("utf-8")
    except (ValueError, TypeError):
        padding = "SHA-256" if sha256 else "SHA-1"
        raise ConfigurationError(
            f"decrypt: the field does not decrypt with the merchant private key (RSA-OAEP {padding}); "
            "it may be for another merchant, use the other OAEP hash, or not be a ciphertext at all"
        ) from None
