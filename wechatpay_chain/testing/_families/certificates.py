"""The emulated platform's keys as the merchant meets them: `GET v3/certificates`, rotation, sensitive fields.

The certificate list is what WeChat Pay sends: each certificate AEAD-encrypted with the APIv3 key
(`associated_data: "certificate"`), the answer signed like any other. An emulator in public-key mode
answers 404 RESOURCE_NOT_EXISTS, as WeChat Pay does for merchants without certificates.
"""

from __future__ import annotations

from typing import Any

import orjson

from ... import _hazmat
from ..._keys.keyring import normalise_serial
from ..._keys.sensitive import decrypt
from .._auth import sign_answer
from .._controls import Control
from .._credentials import Credentials, Platform, PlatformCertificate, cert_pem
from .._http import Answer, Incoming, Refusal
from .._key_modes import KeyMode, has_certificates, has_public_key
from .._routing import Params, Route
from .._time import rfc3339

AAD = "certificate"
NO_CERTIFICATES = (
    "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥 "
    "(no platform certificate: this merchant uses the WeChat Pay public key)"
)


def certificate_item(apiv3_key: str, platform: PlatformCertificate) -> dict[str, Any]:
    """One entry of the `v3/certificates` list: the certificate sealed with the APIv3 key."""
    nonce = _hazmat.nonce(12)
    certificate = platform.certificate
    return {
        "serial_no": platform.serial,
        "effective_time": rfc3339(certificate.not_valid_before_utc.timestamp()),
        "expire_time": rfc3339(certificate.not_valid_after_utc.timestamp()),
        "encrypt_certificate": {
            "algorithm": "AEAD_AES_256_GCM",
            "nonce": nonce,
            "associated_data": AAD,
            "ciphertext": _hazmat.aead_encrypt(apiv3_key.encode(), nonce, AAD, cert_pem(certificate)),
        },
    }


def certificate_list(credentials: Credentials) -> dict[str, Any]:
    """The `v3/certificates` body for every platform certificate the emulator has issued."""
    return {"data": [certificate_item(credentials.apiv3_key, p) for p in credentials.platform]}


def signed_list(credentials: Credentials, signer: PlatformCertificate, now: float) -> tuple[bytes, dict[str, str]]:
    """The certificate list as raw bytes and the headers signing it with `signer`."""
    body = orjson.dumps(certificate_list(credentials))
    headers = {"Content-Type": "application/json", **sign_answer(signer.key, signer.serial, body, int(now))}
    return body, headers


def decrypt_sensitive(
    credentials: Credentials,
    serial: str,
    ciphertext: str,
    *,
    sha256: bool = False,
    key_mode: KeyMode = "transition",
) -> str:
    """Decrypt a field a merchant encrypted for the key `serial` names (a platform serial or the public key id).

    Only the keys the merchant has in `key_mode` count.
    """
    if serial == credentials.public_key_id and has_public_key(key_mode):
        return decrypt(credentials.public_key, ciphertext, sha256=sha256)
    for platform in credentials.platform if has_certificates(key_mode) else ():
        if platform.serial == normalise_serial(serial):
            return decrypt(platform.key, ciphertext, sha256=sha256)
    raise ValueError(f"Wechatpay-Serial {serial!r} names no key of this merchant ({key_mode} mode)")


class Certificates:
    """The platform certificate family: the list endpoint and the rotation control."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    def routes(self) -> tuple[Route, ...]:
        """`GET v3/certificates`."""
        return (Route("GET", "v3/certificates", self._list),)

    def controls(self) -> tuple[Control, ...]:
        """`POST certificates/rotate`."""
        return (Control("POST", "certificates/rotate", self._rotated, doc="issue a new platform certificate"),)

    def rotate(self) -> str:
        """Issue a new platform certificate that signs from now on; returns its serial."""
        return self._platform.credentials.rotate().serial

    def _rotated(self) -> dict[str, Any]:
        serial = self.rotate()
        return {"serial": serial, "platform_serials": [p.serial for p in self._platform.credentials.platform]}

    def _list(self, incoming: Incoming, params: Params) -> Answer:
        if not has_certificates(self._platform.key_mode):
            raise Refusal(404, "RESOURCE_NOT_EXISTS", NO_CERTIFICATES)
        credentials = self._platform.credentials
        named = _older_certificate(credentials, incoming.headers.get("Wechatpay-Serial"))
        if named is None:
            return Answer(200, certificate_list(credentials))  # signed like any answer
        # While a new certificate is rolled out, WeChat Pay keeps signing with the one the
        # merchant still names, so a merchant that holds only the old one can verify the list.
        body, headers = signed_list(credentials, named, self._platform.wire_now())
        return Answer(200, body, headers)


def _older_certificate(credentials: Credentials, serial: str | None) -> PlatformCertificate | None:
    if not serial:
        return None
    for platform in credentials.platform[:-1]:
        if platform.serial == normalise_serial(serial):
            return platform
    return None
