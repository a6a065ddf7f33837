"""APIv3 request signing: the message, the Authorization header, and the signer middleware."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from .. import _hazmat
from .._errors import ConfigurationError, WechatpayError
from .._identity import check_mchid, check_serial
from .._models import Request, Response
from .._types import Clock, SigningKey
from .middleware import Handler

SCHEME = "WECHATPAY2-SHA256-RSA2048"


def signing_message(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """`METHOD\\nTARGET\\nTIMESTAMP\\nNONCE\\nBODY\\n` as bytes, BODY exactly as sent."""
    return f"{method}\n{target}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def authorization(mchid: str, serial: str, timestamp: str, nonce: str, signature: str) -> str:
    """The `Authorization` header value."""
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial}"'
    )


class Signer:
    """Middleware that signs each request for the merchant: the `Authorization` header, and `Wechatpay-Serial`.

    `key` is the merchant's RSA private key (signs in this process) or any `SigningKey` (an HSM, a
    signing service: `await key.sign(message)`). Everything the client signs goes through the `sign`
    of the stack's current "signer", so replacing it (or subclassing and overriding `sign`) moves
    every signature, payment parameters included.
    """

    def __init__(
        self,
        mchid: str,
        serial: str,
        key: RSAPrivateKey | SigningKey | None,
        *,
        platform_serial: Callable[[], str | None] = lambda: None,
        clock: Clock = time.time,
        nonce: Callable[[], str] = _hazmat.nonce,
    ) -> None:
        if key is not None and not isinstance(key, RSAPrivateKey) and not callable(getattr(key, "sign", None)):
            raise ConfigurationError(
                f"signer must have an async sign(message: bytes) -> str method, got a {type(key).__name__}"
            )
        self.mchid = check_mchid(mchid)
        self.serial = check_serial(serial)
        self._private_key = key if isinstance(key, RSAPrivateKey) else None
        self._remote = None if isinstance(key, RSAPrivateKey) else key
        self._platform_serial = platform_serial
        self._clock = clock
        self._nonce = nonce
        # A subclass that overrides `sign` (or an instance given its own `sign`) signs every call through it.
        self._signs_here = type(self).sign is Signer.sign

    async def sign(self, message: bytes) -> str:
        """Base64 RSA-SHA256 signature of `message` with the merchant's key."""
        if self._private_key is not None:
            return _hazmat.rsa_sign(self._private_key, message)
        if self._remote is None:
            raise NotImplementedError("Signer without a key: pass a private key or a SigningKey, or override sign()")
        signature = await self._remote.sign(message)
        if not isinstance(signature, str) or not signature:
            raise WechatpayError(
                f"the signer {type(self._remote).__name__} returned {type(signature).__name__}, "
                "not a base64 signature str"
            )
        return signature

    def __call__(self, request: Request, call_next: Handler) -> Awaitable[Response]:
        if request.api == "v2":  # signed in its body by the "apiv2-signer"
            return call_next(request)
        timestamp = str(int(self._clock()))
        nonce = self._nonce()
        message = signing_message(request.method, request.target, timestamp, nonce, request.body)
        key = self._private_key
        if key is not None and self._signs_here and "sign" not in self.__dict__:
            # The merchant's key is in this process and `sign` is this class's own: sign now, so
            # the rest of the call runs without a coroutine of the signer's around it.
            self._authorize(request, timestamp, nonce, _hazmat.rsa_sign(key, message))
            return call_next(request)
        return self._sign_then_call(request, call_next, timestamp, nonce, message)

    async def _sign_then_call(
        self, request: Request, call_next: Handler, timestamp: str, nonce: str, message: bytes
    ) -> Response:
        self._authorize(request, timestamp, nonce, await self.sign(message))
        return await call_next(request)

    def _authorize(self, request: Request, timestamp: str, nonce: str, signature: str) -> None:
        headers = request.headers
        headers["Authorization"] = authorization(self.mchid, self.serial, timestamp, nonce, signature)
        if "Wechatpay-Serial" not in headers:
            serial = self._platform_serial()
            if serial:
                headers["Wechatpay-Serial"] = serial

    async def aclose(self) -> None:
        """Close the signing key if it holds resources (an HSM session, open connections); the client calls it."""
        aclose = getattr(self._remote, "aclose", None)
        if aclose is not None:
            await aclose()

    def __repr__(self) -> str:
        return f"<Signer mchid={self.mchid!r} serial={self.serial!r}>"
