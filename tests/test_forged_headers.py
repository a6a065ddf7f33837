"""Forged `Wechatpay-*` headers end in a SignatureError (a 401 for a notification), never another exception.

No valid signature is needed to send these, so each must be refused before it reaches int(),
str.encode() or a key lookup: on answers (byte-exact, from a raw HTTP peer) and on notifications
(through the aiohttp and ASGI adapters).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from benchmarks.reliability.raw_http import answer, answering, exchange, signed_headers
from wechatpay_chain import Client, SignatureError, Verifier, asgi_app, handler_for
from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._auth import sign_answer

NOW = 1_800_000_000


def arabic(digits: str) -> str:
    return "".join(chr(0x660 + int(d)) for d in digits)


# (label, header, raw value given the genuine one, the check that fails)
FORGERIES: list[tuple[str, str, Callable[[str], bytes], str]] = [
    ("401-digit timestamp", "Wechatpay-Timestamp", lambda v: b"9" * 401, "timestamp"),
    ("11-digit timestamp", "Wechatpay-Timestamp", lambda v: b"0" + v.encode(), "timestamp"),
    ("signed timestamp", "Wechatpay-Timestamp", lambda v: b"+" + v.encode(), "timestamp"),
    ("underscore in timestamp", "Wechatpay-Timestamp", lambda v: (v[:4] + "_" + v[4:]).encode(), "timestamp"),
    ("Arabic-Indic timestamp", "Wechatpay-Timestamp", lambda v: arabic(v).encode(), "timestamp"),
    ("\\xff in the nonce", "Wechatpay-Nonce", lambda v: v.encode() + b"\xff", "headers"),
    ("UTF-8 in the nonce", "Wechatpay-Nonce", lambda v: "随机".encode(), "headers"),
    ("\\xff in the serial", "Wechatpay-Serial", lambda v: v.encode() + b"\xff", "headers"),
]


def forged(credentials: Credentials, body: bytes, header: str, make: Callable[[str], bytes]) -> list[tuple[str, bytes]]:
    headers = sign_answer(credentials.public_key, credentials.public_key_id, body, int(time.time()))
    return signed_headers(headers, **{header: make(headers[header])})


def client_for(credentials: Credentials, base_url: str, **settings: Any) -> Client:
    """A client of the emulator's merchant, verifying with its public key, for a raw peer at `base_url`."""
    return Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        {credentials.public_key_id: credentials.public_key.public_key()},
        base_url=base_url,
        **settings,
    )


# -- the check itself ---------------------------------------------------------------------


@pytest.mark.parametrize(("label", "header", "make", "check"), FORGERIES, ids=[f[0] for f in FORGERIES])
async def test_the_verifier_refuses_each_forged_header(
    credentials: Credentials, label: str, header: str, make: Callable[[str], bytes], check: str
) -> None:
    body = b'{"ok":1}'
    # As aiohttp hands them over: bytes decoded as UTF-8 with surrogates for what is not.
    raw = forged(credentials, body, header, make)
    headers = CIMultiDict((name, value.decode("utf-8", "surrogateescape")) for name, value in raw)
    verifier = Verifier(lambda serial: _key(credentials, serial), clock=time.time)
    with pytest.raises(SignatureError) as caught:
        await verifier.check(headers, body)
    assert caught.value.check == check
    assert len(str(caught.value)) < 200  # a 401-digit value is not echoed whole


@pytest.mark.parametrize("name", ["Wechatpay-Signature", "Wechatpay-Serial", "Wechatpay-Timestamp", "Wechatpay-Nonce"])
async def test_a_repeated_signed_header_is_refused_whichever_copy_is_genuine(
    credentials: Credentials, name: str
) -> None:
    body = b'{"ok":1}'
    genuine = sign_answer(credentials.public_key, credentials.public_key_id, body, NOW)
    verifier = Verifier(lambda serial: _key(credentials, serial), clock=lambda: NOW)
    assert await verifier.check(CIMultiDict(genuine), body) == credentials.public_key_id  # the control
    for copy_first in (True, False):
        headers: CIMultiDict[str] = CIMultiDict()
        for key, value in genuine.items():
            if key == name and copy_first:
                headers.add(key, "0" if name == "Wechatpay-Timestamp" else "AAAA")
            headers.add(key, value)
            if key == name and not copy_first:
                headers.add(key, "0" if name == "Wechatpay-Timestamp" else "AAAA")
        with pytest.raises(SignatureError, match="came 2 times") as caught:
            await verifier.check(headers, body)
        assert caught.value.check == "headers"


async def _key(credentials: Credentials, serial: str) -> Any:
    return credentials.public_key.public_key() if serial == credentials.public_key_id else None


# -- answers, byte for byte ---------------------------------------------------------------


@pytest.mark.parametrize(("label", "header", "make", "check"), FORGERIES, ids=[f[0] for f in FORGERIES])
async def test_a_forged_answer_header_is_a_signature_error(
    credentials: Credentials, label: str, header: str, make: Callable[[str], bytes], check: str
) -> None:
    body = b'{"ok":1}'
    raw = answer(200, [("Content-Type", b"application/json"), *forged(credentials, body, header, make)], body)
    async with answering(raw) as url:
        client = client_for(credentials, url)
        with pytest.raises(SignatureError) as caught:
            await client["v3/ping"].get()
        await client.close()
    assert caught.value.check == check


async def test_a_repeated_answer_header_is_refused(credentials: Credentials) -> None:
    body = b'{"ok":1}'
    headers = signed_headers(sign_answer(credentials.public_key, credentials.public_key_id, body, int(time.time())))
    raw = answer(200, [*headers, ("Wechatpay-Serial", b"PUB_KEY_ID_0000")], body)
    async with answering(raw) as url:
        client = client_for(credentials, url)
        with pytest.raises(SignatureError, match="Wechatpay-Serial header came 2 times"):
            await client["v3/ping"].get()
        await client.close()


@pytest.mark.parametrize("digest", [b"\xff" * 40, b"z" * 40, b"ab"], ids=["non-ASCII", "not hex", "short"])
async def test_a_malformed_statement_digest_is_a_signature_error(credentials: Credentials, digest: bytes) -> None:
    signed_body = b'{"sha1":"' + b"0" * 40 + b'"}'  # what a statement's signature covers
    headers = signed_headers(
        sign_answer(credentials.public_key, credentials.public_key_id, signed_body, int(time.time())),
        Wechatpay_Statement_Sha1=digest,
    )
    raw = answer(200, [("Content-Type", b"application/pdf"), *headers], b"%PDF-1.4")
    async with answering(raw) as url:
        client = client_for(credentials, url)
        with pytest.raises(SignatureError) as caught:
            async with client.open_download("v3/statements", query={"bill_date": "2024-06-01"}) as stream:
                await stream.read()
        await client.close()
    assert caught.value.check == "headers"


# -- notifications: 401, never a 500 with a traceback ------------------------------------


def notification_client(credentials: Credentials) -> Client:
    return Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        {credentials.public_key_id: credentials.public_key.public_key()},
        apiv3_key=credentials.apiv3_key,
    )


def forged_notification(
    credentials: Credentials, header: str, make: Callable[[str], bytes]
) -> tuple[list[tuple[str, bytes]], bytes]:
    headers, body = credentials.notification("TRANSACTION.SUCCESS", {"out_trade_no": "T1"})
    return signed_headers(headers, **{header: make(headers[header])}), body


@pytest.mark.parametrize(("label", "header", "make", "check"), FORGERIES, ids=[f[0] for f in FORGERIES])
async def test_the_aiohttp_adapter_answers_401_to_a_forged_notification(
    credentials: Credentials,
    caplog: pytest.LogCaptureFixture,
    label: str,
    header: str,
    make: Callable[[str], bytes],
    check: str,
) -> None:
    seen: list[object] = []
    app = web.Application()
    app.router.add_post("/notify", handler_for(notification_client(credentials), seen.append))
    headers, body = forged_notification(credentials, header, make)
    with caplog.at_level(logging.INFO, "wechatpay_chain"):
        async with TestServer(app, host="127.0.0.1") as server:
            status, reply = await exchange(str(server.make_url("/notify")), "POST", headers, body)
    assert status == 401, reply
    assert b'"code":"FAIL"' in reply
    assert seen == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class AsgiCall:
    """One HTTP request to an ASGI app, fed in chunks; keeps what the app sent back."""

    def __init__(self, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> None:
        self.scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/notify", "headers": headers}
        self.chunks = chunks
        self.received = 0
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        chunk = self.chunks[self.received]
        self.received += 1
        return {"type": "http.request", "body": chunk, "more_body": self.received < len(self.chunks)}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])


@pytest.mark.parametrize(("label", "header", "make", "check"), FORGERIES, ids=[f[0] for f in FORGERIES])
async def test_the_asgi_adapter_answers_401_to_a_forged_notification(
    credentials: Credentials, label: str, header: str, make: Callable[[str], bytes], check: str
) -> None:
    seen: list[object] = []
    app = asgi_app(notification_client(credentials), seen.append)
    headers, body = forged_notification(credentials, header, make)
    call = AsgiCall([(name.lower().encode(), value) for name, value in headers], [body])
    await app(call.scope, call.receive, call.send)
    assert call.status == 401
    assert seen == []
