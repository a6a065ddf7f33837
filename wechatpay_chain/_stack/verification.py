"""APIv3 response verification: the checks, the unsigned-download rules, the verifier middleware.

The same checks serve responses and webhook notifications (`Verifier.check`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .. import _hazmat
from .._config import CLOCK_WINDOW
from .._errors import SignatureError
from .._models import Request, Response
from .._types import Clock
from .middleware import Handler
from .signing import SCHEME

# Answers whose body is a file and carries no signature of its own.
_UNSIGNED = re.compile(
    r"v3/(?:billdownload/file|transferdownload/(?:signfile|elecvoucherfile)"
    r"|new-tax-control-fapiao/download|(?:global/)?merchant-service/images/(?!upload$)[^/]+)$"
)
# Statements verify over a digest header instead of the body, when they carry it.
_STATEMENTS = re.compile(r"v3/(?:global/)?statements$")

KeyLookup = Callable[[str], Awaitable[RSAPublicKey | None]]
"""The key for a `Wechatpay-Serial` value, or None when there is none."""


def verification_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """`TIMESTAMP\\nNONCE\\nBODY\\n` over the raw body bytes."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def is_statement(path: str) -> bool:
    """Whether the path is a statement download, signed over its `Wechatpay-Statement-Sha1` header."""
    return _STATEMENTS.match(path) is not None


def is_unsigned_download(path: str) -> bool:
    """Whether the path (relative to the base URL) is a download WeChat Pay does not sign."""
    return _UNSIGNED.match(path) is not None


def _required(headers: Mapping[str, str], name: str, response: Response | None) -> str:
    value = headers.get(name)
    if not value:
        raise SignatureError(f"the {name} header is missing", check="headers", response=response)
    return value


class Verifier:
    """Middleware that verifies every signed 2xx answer before the caller sees it.

    Its `check` is the one check of the client: answers, notifications and certificate lists.
    """

    def __init__(self, key_for: KeyLookup, *, clock: Clock = time.time, window: int = CLOCK_WINDOW) -> None:
        self._key_for = key_for
        self._clock = clock
        self.window = window

    async def check(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        response: Response | None = None,
        keys: KeyLookup | None = None,
        at: float | None = None,
    ) -> str:
        """Verify `Wechatpay-*` headers over `body`; returns the serial that signed it.

        `keys` looks the serial up instead of the client's keys (a certificate list checks itself
        against the certificates it carries); `at` checks the timestamp against that time instead
        of now (a certificate list received earlier by another worker).
        """
        timestamp = _required(headers, "Wechatpay-Timestamp", response)
        nonce = _required(headers, "Wechatpay-Nonce", response)
        signature = _required(headers, "Wechatpay-Signature", response)
        serial = _required(headers, "Wechatpay-Serial", response)
        kind = headers.get("Wechatpay-Signature-Type", SCHEME)
        if kind != SCHEME:
            raise SignatureError(
                f"unsupported Wechatpay-Signature-Type {kind!r}",
                check="signature-type",
                response=response,
            )
        try:
            skew = abs((self._clock() if at is None else at) - int(timestamp))
        except ValueError:
            raise SignatureError(
                f"Wechatpay-Timestamp {timestamp!r} is not a number",
                check="timestamp",
                response=response,
            ) from None
        if skew > self.window:
            raise SignatureError(
                f"Wechatpay-Timestamp is {skew:.0f} s away from now (limit {self.window} s)",
                check="timestamp",
                response=response,
            )
        key = await (keys or self._key_for)(serial)
        if key is None:
            raise SignatureError(
                f"no platform certificate or public key for Wechatpay-Serial {serial!r}",
                check="serial",
                response=response,
            )
        if not _hazmat.rsa_verify(key, verification_message(timestamp, nonce, body), signature):
            raise SignatureError(
                f"Wechatpay-Signature does not verify with {serial!r}",
                check="signature",
                response=response,
            )
        return serial

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        response = await call_next(request)
        if not response.ok or is_unsigned_download(request.path):
            return response
        body = response.body
        if is_statement(request.path):
            digest = response.headers.get("Wechatpay-Statement-Sha1")
            if digest is None:
                return response
            body = b'{"sha1":"' + digest.encode() + b'"}'
        try:
            await self.check(response.headers, body, response=response)
        except SignatureError:
            if response.stream is not None:  # a refused download: nobody will read it
                response.stream.release()
            raise
        return response
