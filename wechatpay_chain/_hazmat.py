"""Cryptographic primitives of the WeChat Pay protocol, with no knowledge of HTTP or clients.

Everything here works on bytes and key objects; the friendly layers (signing, verification,
notifications, sensitive fields) build on these functions and never call `cryptography` directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "aead_decrypt",
    "aead_encrypt",
    "aead_key",
    "apiv2_digest",
    "ecb_decrypt",
    "ecb_encrypt",
    "nonce",
    "oaep_decrypt",
    "oaep_encrypt",
    "rsa_sign",
    "rsa_verify",
]

_BASE62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Bytes below 248 (= 4 * 62) map onto the alphabet evenly; larger ones are dropped and drawn again.
# One bytes.translate does the mapping and the dropping in C (a per-byte loop cost 4 µs a call).
_UNBIASED_LIMIT = 248
_TO_BASE62 = bytes(_BASE62[b % 62] for b in range(_UNBIASED_LIMIT)) + bytes(256 - _UNBIASED_LIMIT)
_BIASED = bytes(range(_UNBIASED_LIMIT, 256))
_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()


def nonce(length: int = 32) -> str:
    """A random string of `length` base62 characters, free of modulo bias."""
    out = b""
    while len(out) < length:
        out += os.urandom(length + 8).translate(_TO_BASE62, _BIASED)
    return out[:length].decode("ascii")


def rsa_sign(key: RSAPrivateKey, message: bytes) -> str:
    """Base64 of the RSA PKCS#1 v1.5 SHA-256 signature of `message`."""
    return base64.b64encode(key.sign(message, _PKCS1, _SHA256)).decode("ascii")


def rsa_verify(key: RSAPublicKey, message: bytes, signature: str | bytes) -> bool:
    """Whether `signature` (base64) is a valid RSA PKCS#1 v1.5 SHA-256 signature of `message`."""
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, message, _PKCS1, _SHA256)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _oaep(sha256: bool) -> padding.OAEP:
    algorithm: hashes.HashAlgorithm = hashes.SHA256() if sha256 else hashes.SHA1()
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


def oaep_encrypt(key: RSAPublicKey, plaintext: bytes, *, sha256: bool = False) -> str:
    """Base64 of RSA-OAEP encryption (SHA-1 by default, as WeChat Pay expects)."""
    return base64.b64encode(key.encrypt(plaintext, _oaep(sha256))).decode("ascii")


def oaep_decrypt(key: RSAPrivateKey, ciphertext: str | bytes, *, sha256: bool = False) -> bytes:
    """Decrypt a base64 RSA-OAEP ciphertext; raises ValueError when it does not decrypt."""
    try:
        return key.decrypt(base64.b64decode(ciphertext, validate=True), _oaep(sha256))
    except binascii.Error as exc:
        raise ValueError("ciphertext is not valid base64") from exc


def aead_encrypt(key: bytes, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """AEAD_AES_256_GCM as WeChat Pay uses it: base64(ciphertext || 16-byte tag)."""
    sealed = AESGCM(key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode("ascii")


AeadKey = AESGCM
"""An AEAD_AES_256_GCM key made ready once (`aead_key`), for many resources sealed with it."""


def aead_key(key: bytes) -> AeadKey:
    """`key` made ready for `aead_decrypt`: its AES key schedule done once instead of per resource (about 1 µs)."""
    return AESGCM(key)


def aead_decrypt(key: bytes | AeadKey, nonce: str, associated_data: str, ciphertext: str) -> bytes:
    """Open an AEAD_AES_256_GCM resource; raises ValueError when the tag or encoding is wrong."""
    try:
        sealed = base64.b64decode(ciphertext, validate=True)
        aead = key if isinstance(key, AESGCM) else AESGCM(key)
        return aead.decrypt(nonce.encode(), sealed, associated_data.encode())
    except (InvalidTag, binascii.Error) as exc:
        raise ValueError("AEAD_AES_256_GCM authentication failed") from exc


# -- APIv2: the MD5 / HMAC-SHA256 signature, and AES-256-ECB for refund notifications ----------

_V2_DIGESTS = ("MD5", "HMAC-SHA256")


def apiv2_digest(sign_type: str, message: bytes, key: bytes) -> str:
    """APIv2's `sign`: upper-case hex MD5 of `message&key=KEY`, or its HMAC-SHA256 keyed with KEY."""
    signed = message + b"&key=" + key
    if sign_type == "MD5":
        return hashlib.md5(signed).hexdigest().upper()
    if sign_type == "HMAC-SHA256":
        return hmac.new(key, signed, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"sign_type is one of {_V2_DIGESTS}, got {sign_type!r}")


def ecb_encrypt(key: bytes, plaintext: bytes) -> bytes:
    """AES-ECB with PKCS#7 padding (APIv2 refund notifications; the emulator seals them with it)."""
    pad = 16 - len(plaintext) % 16
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(plaintext + bytes([pad]) * pad) + encryptor.finalize()


def ecb_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    """Open AES-ECB with PKCS#7 padding; ValueError when the length or the padding is wrong (a wrong key)."""
    if not ciphertext or len(ciphertext) % 16:
        raise ValueError("the ciphertext is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
        raise ValueError("the PKCS#7 padding is wrong: the key does not open this ciphertext")
    return padded[:-pad]
