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

# Downloads WeChat Pay treats apart, in one pattern (one match per answer): the files whose body
# carries no signature of its own ("unsigned"; a complaint image's media id is base64 and may hold a
# raw "/", so the image path takes the rest of the path, whatever it holds), and the statements,
# which verify over a digest header instead of the body when they carry it ("statement").
_DOWNLOADS = re.compile(
    r"v3/(?:(?P<unsigned>billdownload/file|transferdownload/(?:signfile|elecvoucherfile)"
    r"|new-tax-control-fapiao/download|(?:global/)?merchant-service/images/(?!upload$).+)"
    r"|(?P<statement>(?:global/)?statements))$"
)

KeyLookup = Callable[[str], Awaitable[RSAPublicKey | None]]
"""The key for a `Wechatpay-Serial` value, or None when there is none."""


def verification_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """`TIMESTAMP\\nNONCE\\nBODY\\n` over the raw body bytes."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def _download(path: str) -> str | None:
    """The kind of a download `_DOWNLOADS` names ("unsigned" or "statement"); None for any other path."""
    match = _DOWNLOADS.match(path)
    return None if match is None else match.lastgroup


def is_statement(path: str) -> bool:
    """Whether the path is a statement download, signed over its `Wechatpay-Statement-Sha1` header."""
    return _download(path) == "statement"


def is_unsigned_download(path: str) -> bool:
    """Whether the path (relative to the base URL) is a download WeChat Pay does not sign."""
    return _download(path) == "unsigned"


# What each signed header may hold. Anything else is refused before it reaches int(), str.encode()
# or a key lookup: a forged header must end in a SignatureError, never in another exception.
_TIMESTAMP = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() also takes "+1", "1_0" and "١٠"
_NONCE = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII (WeChat Pay sends 32 letters and digits)
_SERIAL = re.compile(r"[0-9A-Za-z_]{1,64}")  # a hex certificate serial or PUB_KEY_ID_<digits>
_SHA1 = re.compile(r"[0-9A-Fa-f]{40}")
_SHOWN = 40  # characters of a refused value quoted in the message


GetAll = Callable[[str, Sequence[str]], Sequence[str]]
"""Every value of a header by name, or the default (a repeated header gives several)."""

Expected = tuple[str, "re.Pattern[str] | None", str, "str | None"]
"""A signed header: its name, what its value may hold (None: anything), the check a refusal names,
and the value an absent header stands for (None: it is required)."""

_SIGNED: tuple[Expected, ...] = (
    ("Wechatpay-Timestamp", _TIMESTAMP, "timestamp", None),
    ("Wechatpay-Nonce", _NONCE, "headers", None),
    ("Wechatpay-Signature", None, "headers", None),
    ("Wechatpay-Serial", _SERIAL, "headers", None),
    ("Wechatpay-Signature-Type", None, "headers", SCHEME),
)


def _getall(headers: Mapping[str, str]) -> GetAll:
    getall: GetAll | None = getattr(headers, "getall", None)  # a multidict keeps every copy of a repeated header
    if getall is not None:
        return getall

    def one(name: str, default: Sequence[str]) -> Sequence[str]:
        value = headers.get(name)
        return default if value is None else (value,)

    return one


def _values(headers: Mapping[str, str], name: str) -> Sequence[str]:
    return _getall(headers)(name, ())


def _show(value: str) -> str:
    return repr(value[:_SHOWN]) + ("…" if len(value) > _SHOWN else "")


def _read(getall: GetAll, expected: tuple[Expected, ...], response: Response | None) -> list[str]:
    """The one value of each expected header; SignatureError when one is missing, repeated or malformed.

    One loop over a table rather than a function call per header: this runs for every answer.
    """
    found = []
    for name, pattern, check, absent in expected:
        values = getall(name, ())
        if not values and absent is not None:
            found.append(absent)
            continue
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
        found.append(value)
    return found


def _header(
    headers: Mapping[str, str],
    name: str,
    response: Response | None,
    pattern: re.Pattern[str] | None = None,
    check: str = "headers",
) -> str:
    """The one value of a signed header; SignatureError when it is missing, repeated or malformed."""
    return _read(_getall(headers), ((name, pattern, check, None),), response)[0]


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
        timestamp, nonce, signature, serial, kind = _read(_getall(headers), _SIGNED, response)
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
        download = _download(request.path)
        if request.api == "v2" or download == "unsigned":
            # An APIv2 answer is the "apiv2-verifier"'s; these downloads carry no signature. Handed on
            # as is, with no coroutine of this middleware's around them.
            return call_next(request)
        return self._verified(request, call_next, statement=download == "statement")

    async def _verified(self, request: Request, call_next: Handler, *, statement: bool) -> Response:
        response = await call_next(request)
        if not response.ok:
            return response
        body = response.body
        try:
            if statement:
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
