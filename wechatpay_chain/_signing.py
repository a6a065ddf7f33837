"""APIv3 request signing: the message, the Authorization header, and the signer middleware."""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from . import _hazmat
from ._middleware import Handler
from ._models import Request, Response

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
    """Middleware that signs each request with the merchant's private key.

    Subclass and override `sign` to keep the key elsewhere (an HSM, a signing service).
    """

    def __init__(
        self,
        mchid: str,
        serial: str,
        private_key: RSAPrivateKey | None,
        *,
        platform_serial: Callable[[], str | None] = lambda: None,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = _hazmat.nonce,
    ) -> None:
        self.mchid = mchid
        self.serial = serial
        self._private_key = private_key
        self._platform_serial = platform_serial
        self._clock = clock
        self._nonce = nonce

    async def sign(self, message: bytes) -> str:
        """Base64 RSA-SHA256 signature of `message`."""
        if self._private_key is None:
            raise NotImplementedError("Signer without a private key: override sign()")
        return _hazmat.rsa_sign(self._private_key, message)

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        timestamp = str(int(self._clock()))
        nonce = self._nonce()
        message = signing_message(request.method, request.target, timestamp, nonce, request.signed_body)
        signature = await self.sign(message)
        headers = request.headers
        headers["Authorization"] = authorization(self.mchid, self.serial, timestamp, nonce, signature)
        if "Wechatpay-Serial" not in headers:
            serial = self._platform_serial()
            if serial:
                headers["Wechatpay-Serial"] = serial
        return await call_next(request)

    def __repr__(self) -> str:
        return f"<Signer mchid={self.mchid!r} serial={self.serial!r}>"
