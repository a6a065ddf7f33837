"""The floors: the least any correct Python code does for a signed call and for a notification.

Written against aiohttp, orjson and cryptography alone (nothing of wechatpay_chain), doing per call
every piece of cryptographic and JSON work the protocol requires and nothing more: a random nonce,
the signing message, the RSA signature, the request with its headers, reading the answer, the
timestamp window, the RSA verification of the received answer over the received bytes, parsing its
JSON (and, for a POST, serialising the body). Nothing is prepared before the clock starts that a
client could not prepare once for all its calls.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from yarl import URL

from .workload import NATIVE_PATH, native_order, order_no

SCHEME = "WECHATPAY2-SHA256-RSA2048"
WINDOW = 300  # seconds a signed timestamp may be away from now
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class FloorError(Exception):
    """A floor call or notification that failed one of its checks."""


def _verify(
    keys: Mapping[str, RSAPublicKey], timestamp: str, nonce: str, signature: str, serial: str, body: bytes
) -> None:
    """The checks of a signed answer or notification: timestamp window, key, RSA signature over the raw bytes."""
    if abs(time.time() - int(timestamp)) > WINDOW:
        raise FloorError("timestamp outside the window")
    key = keys.get(serial)
    if key is None:
        raise FloorError(f"no key for {serial}")
    key.verify(base64.b64decode(signature), f"{timestamp}\n{nonce}\n".encode() + body + b"\n", _PKCS1, _SHA256)


class Floor:
    """The floor of a signed and verified call, with a session of aiohttp's defaults (like the client's)."""

    def __init__(
        self,
        mchid: str,
        serial: str,
        key: RSAPrivateKey,
        keys: Mapping[str, RSAPublicKey],
        base_url: str,
        session: aiohttp.ClientSession,
        user_agent: str,
    ) -> None:
        self._mchid = mchid
        self._serial = serial
        self._key = key
        self._keys = keys
        self._origin = base_url.rstrip("/")
        self._session = session
        request_serial = next(iter(keys))
        base = {"Accept": "application/json", "User-Agent": user_agent, "Wechatpay-Serial": request_serial}
        self._headers = {"GET": base, "POST": {**base, "Content-Type": "application/json"}}

    def request(self, method: str, i: int) -> tuple[str, bytes]:
        """The target and body of call `i` (a POST's body serialised here, as every client must)."""
        if method == "GET":
            return f"/v3/pay/transactions/out-trade-no/{order_no(i)}?mchid={self._mchid}", b""
        return "/" + NATIVE_PATH, orjson.dumps(native_order(self._mchid, i))

    async def get(self, i: int) -> Any:
        """GET call `i`: query an order."""
        return await self._call("GET", *self.request("GET", i))

    async def post(self, i: int) -> Any:
        """POST call `i`: create a Native order."""
        return await self._call("POST", *self.request("POST", i))

    async def _call(self, method: str, target: str, body: bytes) -> Any:
        url = URL(self._origin + target, encoded=True)
        headers = self.signed_headers(method, target, body)
        async with self._session.request(method, url, data=body or None, headers=headers) as answer:
            payload = await answer.read()
            return self.accept(answer.status, answer.headers, payload)

    def signed_headers(self, method: str, target: str, body: bytes) -> dict[str, str]:
        """The request's headers, its Authorization signed afresh (the work before the I/O)."""
        timestamp = str(int(time.time()))
        nonce = os.urandom(16).hex()
        message = f"{method}\n{target}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = base64.b64encode(self._key.sign(message, _PKCS1, _SHA256)).decode("ascii")
        authorization = (
            f'{SCHEME} mchid="{self._mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{self._serial}"'
        )
        return {**self._headers[method], "Authorization": authorization}

    def accept(self, status: int, h: Mapping[str, str], payload: bytes) -> Any:
        """The answer's JSON once its status, timestamp and signature are checked (the work after the I/O)."""
        if status != 200:
            raise FloorError(f"floor call failed: {status} {payload[:200]!r}")
        if h.get("Wechatpay-Signature-Type", SCHEME) != SCHEME:
            raise FloorError("unsupported signature type")
        _verify(
            self._keys,
            h["Wechatpay-Timestamp"],
            h["Wechatpay-Nonce"],
            h["Wechatpay-Signature"],
            h["Wechatpay-Serial"],
            payload,
        )
        return orjson.loads(payload)


class NotificationFloor:
    """The floor of a notification: verify the raw body, parse the envelope, open its AES-GCM resource.

    Takes the four `Wechatpay-*` header values as the web framework hands them over (each bare
    handler reads them its framework's cheapest way); the AES-GCM key object is made once.
    """

    def __init__(self, keys: Mapping[str, RSAPublicKey], apiv3_key: str) -> None:
        self._keys = keys
        self._aead = AESGCM(apiv3_key.encode())

    def open(
        self, timestamp: str, nonce: str, signature: str, serial: str, kind: str | None, body: bytes
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The verified envelope and its decrypted resource."""
        if kind not in (None, SCHEME):
            raise FloorError("unsupported signature type")
        _verify(self._keys, timestamp, nonce, signature, serial, body)
        envelope = orjson.loads(body)
        resource = envelope["resource"]
        sealed = base64.b64decode(resource["ciphertext"])
        plain = self._aead.decrypt(resource["nonce"].encode(), sealed, resource["associated_data"].encode())
        return envelope, orjson.loads(plain)

    def open_mapping(self, headers: Mapping[str, str], body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        """`open` with the headers of a case-insensitive mapping (aiohttp's `request.headers`)."""
        return self.open(
            headers["Wechatpay-Timestamp"],
            headers["Wechatpay-Nonce"],
            headers["Wechatpay-Signature"],
            headers["Wechatpay-Serial"],
            headers.get("Wechatpay-Signature-Type"),
            body,
        )
