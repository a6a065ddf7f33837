"""The floor: the same call with aiohttp and the RSA signature and verification alone."""

from __future__ import annotations

import time

import aiohttp
from yarl import URL

from wechatpay_chain import _hazmat, authorization, signing_message, verification_message
from wechatpay_chain._config import user_agent
from wechatpay_chain.testing import Credentials

from .config import order_no


class Floor:
    """The same call with nothing but aiohttp and the RSA sign and verify it cannot avoid.

    The URLs, signing messages and nonces are made before the clock starts; the response
    message verified is a real one, taken from the server beforehand.
    """

    def __init__(self, creds: Credentials, base_url: str, session: aiohttp.ClientSession) -> None:
        self._creds = creds
        self._base = base_url.rstrip("/")
        self._session = session
        self._key = creds.merchant_key
        self._public = creds.public_key.public_key()
        self._headers = {
            "Accept": "application/json",
            "User-Agent": user_agent(),
            "Wechatpay-Serial": creds.public_key_id,
        }
        self._prepared: list[tuple[URL, bytes, str, str]] = []
        self._answer: tuple[bytes, str] = (b"", "")

    async def prepare(self, calls: int) -> None:
        """Precompute what the floor does not count, and fetch one signed answer to verify."""
        timestamp = str(int(time.time()))
        self._prepared = []
        for i in range(calls):
            target = f"/v3/pay/transactions/out-trade-no/{order_no(i)}?mchid={self._creds.mchid}"
            nonce = _hazmat.nonce()
            message = signing_message("GET", target, timestamp, nonce, b"")
            self._prepared.append((URL(self._base + target, encoded=True), message, timestamp, nonce))
        async with self._session.get(self._prepared[0][0], headers=self._headers_for(0)) as answer:
            body = await answer.read()
            h = answer.headers
            message = verification_message(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], body)
            self._answer = (message, h["Wechatpay-Signature"])

    def _headers_for(self, i: int) -> dict[str, str]:
        _, message, timestamp, nonce = self._prepared[i]
        signature = _hazmat.rsa_sign(self._key, message)
        auth = authorization(self._creds.mchid, self._creds.serial, timestamp, nonce, signature)
        return {**self._headers, "Authorization": auth}

    async def __call__(self, i: int) -> object:
        """Call `i`: sign its prepared message, send it, verify the prepared answer's signature."""
        async with self._session.get(self._prepared[i][0], headers=self._headers_for(i)) as answer:
            body = await answer.read()
        if answer.status != 200 or not _hazmat.rsa_verify(self._public, *self._answer):
            raise RuntimeError(f"floor call failed: {answer.status} {body[:200]!r}")
        return body
