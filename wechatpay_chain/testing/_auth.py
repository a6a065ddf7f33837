"""The emulator's side of APIv3 signing: authenticate requests, sign answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from .. import _hazmat
from .._config import CLOCK_WINDOW
from .._keys.keyring import normalise_serial
from .._stack.signing import SCHEME, signing_message
from .._stack.verification import verification_message

_FIELD = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*(?:,|$)')
_FIELDS = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")


class AuthError(Exception):
    """A request failed one authentication check; the message says which."""


def parse_authorization(header: str | None) -> dict[str, str]:
    """The fields of an `Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…` header."""
    if not header:
        raise AuthError("the Authorization header is missing")
    scheme, _, params = header.partition(" ")
    if scheme != SCHEME:
        raise AuthError(f"unsupported authorization scheme {scheme!r} (expected {SCHEME})")
    fields = dict(_FIELD.findall(params))
    for name in _FIELDS:
        if not fields.get(name):
            raise AuthError(f"the Authorization header lacks {name}")
    return fields


@dataclass(frozen=True, slots=True)
class Merchant:
    """A merchant the emulator knows: its id, API certificate serial and public key."""

    mchid: str
    serial: str
    key: RSAPublicKey


def authenticate(
    merchants: Mapping[str, Merchant],
    method: str,
    target: str,
    headers: Mapping[str, str],
    signed_body: bytes,
    now: float,
) -> Merchant:
    """Check a request the way WeChat Pay does; raises AuthError naming the failed check."""
    fields = parse_authorization(headers.get("Authorization"))
    merchant = merchants.get(fields["mchid"])
    if merchant is None:
        raise AuthError(f"mchid {fields['mchid']!r} is not a known merchant")
    if normalise_serial(fields["serial_no"]) != normalise_serial(merchant.serial):
        raise AuthError(f"serial_no {fields['serial_no']!r} is not the merchant's API certificate serial")
    try:
        skew = abs(now - int(fields["timestamp"]))
    except ValueError:
        raise AuthError("timestamp is not a number") from None
    if skew > CLOCK_WINDOW:
        raise AuthError(f"timestamp is {int(skew)} s away from the server clock (limit {CLOCK_WINDOW} s)")
    message = signing_message(method, target, fields["timestamp"], fields["nonce_str"], signed_body)
    if not _hazmat.rsa_verify(merchant.key, message, fields["signature"]):
        raise AuthError("signature does not verify over the method, target, timestamp, nonce and body received")
    return merchant


def sign_answer(key: RSAPrivateKey, serial: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The `Wechatpay-*` headers that sign an answer (or a notification) body."""
    nonce = _hazmat.nonce()
    signature = _hazmat.rsa_sign(key, verification_message(str(timestamp), nonce, body))
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SCHEME,
    }
