"""APIv3 response verification: the checks, the unsigned-download rules, the verifier middleware.

The same checks serve responses and webhook notifications (`Verifier.check`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .. import _hazmat
from .._config import CLOCK_WINDOW
from .._errors import SignatureError
from .._models import Request, Response
from .._types import Clock
from .middleware import Handler
from .signing import SCHEME

# Answers whose body is a file and carries no signature of its own. A complaint image's media id
# is base64 and may hold a raw "/": the image path takes the rest of the path, whatever it holds.
_UNSIGNED = re.compile(
    r"v3/(?:billdownload/file|transferdownload/(?:signfile|elecvoucherfile)"
    r"|new-tax-control-fapiao/download|(?:global/)?merchant-service/images/(?!upload$).+)$"
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


# What each signed header may hold. Anything else is refused before it reaches int(), str.encode()
# or a key lookup: a forged header must end in a SignatureError, never in another exception.
_TIMESTAMP = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() also takes "+1", "1_0" and "١٠"
_NONCE = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII (WeChat Pay sends 32 letters and digits)
_SERIAL = re.compile(r"[0-9A-Za-z_]{1,64}")  # a hex certificate serial or PUB_KEY_ID_<digits>
_SHA1 = re.compile(r"[0-9A-Fa-f]{40}")
_SHOWN = 40  # characters of a refused value quoted in the message


Values = Callable[[str], Sequence[str]]
"""Every value of a header, by name (a repeated header gives several)."""


def _values_of(headers: Mapping[str, str]) -> Values:
    getall = getattr(headers, "getall", None)  # a multidict keeps every copy of a repeated header
    if getall is not None:
        return lambda name: getall(name, ())  # type: ignore[no-any-return]
    return lambda name: () if (value := headers.get(name)) is None else (value,)


def _values(headers: Mapping[str, str], name: str) -> Sequence[str]:
    return _values_of(headers)(name)


def _show(value: str) -> str:
    return repr(value[:_SHOWN]) + ("…" if len(value) > _SHOWN else "")


def _header(
    headers: Mapping[str, str] | Values,
    name: str,
    response: Response | None,
    pattern: re.Pattern[str] | None = None,
    check: str = "headers",
) -> str:
    """The one value of a signed header; SignatureError when it is missing, repeated or malformed."""
    values = headers(name) if callable(headers) else _values(headers, name)
    if not values or not values[0]:
        raise SignatureError(f"the {name} header is missing", check="headers", response=response)
    if len(values) > 1:
        raise SignatureError(
            f"the {name} header came {len(values)} times; a signed message carries it once",
            check="headers",
            response=response,
        )
    value = values[0]
    if pattern is not None and pattern.fullmatch(value) is None:
        raise SignatureError(f"the {name} header is malformed: {_show(value)}", check=check, response=response)
    return value


class Verifier:
    """Middleware that verifies every signed 2xx answer before the caller sees it.

    Its `check` is the one check of the client: answers, notifications and certificate lists.
    """

    def __init__(
        self,
        key_for: KeyLookup,
        *,
        held: Callable[[str], RSAPublicKey | None] | None = None,
        clock: Clock = time.time,
        window: int = CLOCK_WINDOW,
    ) -> None:
        """`key_for` finds the key a serial names (it may download); `held`, when given, answers at once
        for the keys already held, and `key_for` is asked only when it has none: on every answer, that
        saves a coroutine."""
        self._key_for = key_for
        self._held = held
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
        values = _values_of(headers)  # looked up once, not per header
        timestamp = _header(values, "Wechatpay-Timestamp", response, _TIMESTAMP, "timestamp")
        nonce = _header(values, "Wechatpay-Nonce", response, _NONCE)
        signature = _header(values, "Wechatpay-Signature", response)
        serial = _header(values, "Wechatpay-Serial", response, _SERIAL)
        kind = _header(values, "Wechatpay-Signature-Type", response) if values("Wechatpay-Signature-Type") else SCHEME
        if kind != SCHEME:
            raise SignatureError(
                f"unsupported Wechatpay-Signature-Type {_show(kind)}",
                check="signature-type",
                response=response,
            )
        skew = abs((self._clock() if at is None else at) - int(timestamp))
        if skew > self.window:
            raise SignatureError(
                f"Wechatpay-Timestamp is {skew:.0f} s away from now (limit {self.window} s)",
                check="timestamp",
                response=response,
            )
        key = self._held(serial) if keys is None and self._held is not None else None
        if key is None:
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

    def __call__(self, request: Request, call_next: Handler) -> Awaitable[Response]:
        if request.api == "v2" or is_unsigned_download(request.path):
            # An APIv2 answer is the "apiv2-verifier"'s; these downloads carry no signature. Handed on
            # as is, with no coroutine of this middleware's around them.
            return call_next(request)
        return self._verified(request, call_next)

    async def _verified(self, request: Request, call_next: Handler) -> Response:
        response = await call_next(request)
        if not response.ok:
            return response
        body = response.body
        try:
            if is_statement(request.path):
                if not _values(response.headers, "Wechatpay-Statement-Sha1"):
                    return response
                digest = _header(response.headers, "Wechatpay-Statement-Sha1", response, _SHA1)
                body = b'{"sha1":"' + digest.encode() + b'"}'
            await self.check(response.headers, body, response=response)
        except SignatureError:
            if response.stream is not None:  # a refused download: nobody will read it
                response.stream.release()
            raise
        return response
