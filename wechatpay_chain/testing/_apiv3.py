"""APIv3 on the wire: requests authenticated by their `Authorization` header, answers signed with `Wechatpay-*`.

The key that signs follows the platform's key mode (`_key_modes.py`): the public key or the newest
certificate, or, in transition, the request's `Wechatpay-Serial`; notifications follow the choice
for the latest authenticated request.
"""

from __future__ import annotations

import math

import orjson
from aiohttp.payload import Payload
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from ._auth import AuthError, Merchant, authenticate, sign_answer
from ._credentials import Platform
from ._http import Answer, Incoming, Refusal
from ._key_modes import signs_with_public_key
from ._multipart import multipart_meta
from ._wire import FaultParams

JSON_TYPE = "application/json; charset=utf-8"
UNKNOWN_SERIAL = "0123456789ABCDEF0123456789ABCDEF01234567"


class ApiV3:
    """The APIv3 `Wire` of one emulated platform."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._merchant_cache: tuple[object, dict[str, Merchant]] = (None, {})
        self.notify_serial: str | None = None  # the Wechatpay-Serial of the latest authenticated request
        self.merchants: dict[str, Merchant] = {}  # more merchants it authenticates, by mchid (many clients' benchmarks)

    def authenticate(self, incoming: Incoming) -> None:
        """Check the request as WeChat Pay does; Refusal 401 SIGN_ERROR naming the failed check."""
        signed_body = multipart_meta(incoming.headers.get("Content-Type", ""), incoming.body)
        try:
            authenticate(
                self._merchants(),
                incoming.method,
                incoming.target,
                incoming.headers,
                incoming.body if signed_body is None else signed_body,
                self._platform.wire_now(),
            )
        except AuthError as exc:
            raise Refusal(401, "SIGN_ERROR", str(exc)) from None
        self.notify_serial = incoming.headers.get("Wechatpay-Serial", self.notify_serial)

    def signing_key(self, requested: str | None) -> tuple[str, RSAPrivateKey]:
        """(serial, key) that signs an answer to a request naming `requested` in `Wechatpay-Serial`."""
        creds = self._platform.credentials
        public_key = signs_with_public_key(self._platform.key_mode, requested, creds.public_key_id)
        return creds.signing_key(public_key=public_key)

    def seal(self, incoming: Incoming, answer: Answer, faults: FaultParams) -> tuple[dict[str, str], bytes | Payload]:
        """JSON (or the bytes given), a 2xx signed; a streamed file goes unsigned, as WeChat Pay's downloads do."""
        headers = dict(answer.headers)
        if isinstance(answer.body, Payload):
            return headers, answer.body
        if isinstance(answer.body, (bytes, bytearray)):
            body = bytes(answer.body)
        elif answer.body is not None:
            body = orjson.dumps(answer.body)
            headers["Content-Type"] = JSON_TYPE
        else:
            body = b""
        if 200 <= answer.status < 300 and "Wechatpay-Signature" not in headers:
            headers.update(self._sign(incoming, body, faults))
        return headers, body

    def _sign(self, incoming: Incoming, body: bytes, faults: FaultParams) -> dict[str, str]:
        serial, key = self.signing_key(incoming.headers.get("Wechatpay-Serial"))
        now = self._platform.wire_now()
        timestamp = int(now)
        if "skew" in faults:
            # Rounded away from now, so a skew of 301 s stays past the 300 s window however the
            # client's clock falls within the second.
            skewed = now + float(faults["skew"].get("seconds", 600))
            timestamp = math.ceil(skewed) if skewed > timestamp else math.floor(skewed)
        signed = sign_answer(key, serial, body, timestamp)
        if "bad_signature" in faults:
            signed["Wechatpay-Signature"] = sign_answer(key, serial, body + b"x", timestamp)["Wechatpay-Signature"]
        if "unknown_serial" in faults:
            signed["Wechatpay-Serial"] = UNKNOWN_SERIAL
        return signed

    def _merchants(self) -> dict[str, Merchant]:
        # Derived once per merchant key: deriving the public key costs more than verifying with it.
        creds = self._platform.credentials
        key, merchants = self._merchant_cache
        if key is not creds.merchant_key or creds.mchid not in merchants:
            merchants = {creds.mchid: Merchant(creds.mchid, creds.serial, creds.merchant_key.public_key())}
            self._merchant_cache = (creds.merchant_key, merchants)
        return {**self.merchants, **merchants} if self.merchants else merchants
