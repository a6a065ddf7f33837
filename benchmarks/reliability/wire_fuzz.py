"""Fuzzing what arrives: every header of an answer, byte for byte over HTTP, and of a notification.

No valid signature is needed to send any of these, so only the genuine signed answer or
notification may pass, and whatever else arrives must end in one of the package's typed errors
(for a notification: a 4xx answer, never a 500 or an exception).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from hypothesis import strategies as st
from multidict import CIMultiDict

from wechatpay_chain import (
    ApiError,
    Client,
    Limits,
    Notification,
    NotificationParser,
    SignatureError,
    Timeout,
    TransportError,
    WebhookEndpoint,
    WechatpayError,
)
from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._auth import sign_answer

from .fuzzing import FuzzFigure, run_target
from .mutations import HEADER_NAMES, mutated
from .raw_http import answer, answering

SIGNED = ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial")
ANSWER_HEADERS = (
    *HEADER_NAMES,
    "Wechatpay-Statement-Sha1",
    "Request-ID",
    "Content-Type",
    "Content-Encoding",
    "Content-Length",
    "Transfer-Encoding",
    "Retry-After",
    "Location",
)
NOTIFICATION_HEADERS = (*HEADER_NAMES, "Content-Type", "Content-Length", "User-Agent")
BODY = b'{"ok":1,"text":"\xe6\xb5\x8b\xe8\xaf\x95"}'


def header_values(genuine: list[bytes]) -> st.SearchStrategy[bytes]:
    """Raw header values: other headers' genuine values, digits of every length, any bytes, any text."""
    return st.one_of(
        st.sampled_from(genuine),
        st.integers(0, 500).map(lambda n: b"9" * n),
        st.sampled_from([b"+1700000000", b"1_700_000_000", "١٧٠٠".encode(), b"\xff", b"-1", b"0x10", b"1e9"]),
        st.binary(max_size=40),
        st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


def edits(names: tuple[str, ...], genuine: list[bytes]) -> st.SearchStrategy[list[tuple[str, str, bytes]]]:
    """A few edits of a header list: (replace | repeat | drop, name, raw value)."""
    name = st.one_of(st.sampled_from(names), st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z"))
    edit = st.tuples(st.sampled_from(["replace", "repeat", "drop"]), name, header_values(genuine))
    return st.lists(edit, max_size=4)


def apply(headers: list[tuple[str, bytes]], changes: list[tuple[str, str, bytes]]) -> list[tuple[str, bytes]]:
    """`headers` with `changes` made, in order (names compared without case)."""
    out = list(headers)
    for action, name, value in changes:
        same = [i for i, (n, _) in enumerate(out) if n.lower() == name.lower()]
        if action == "drop":
            out = [pair for i, pair in enumerate(out) if i not in same]
        elif action == "replace" and same:
            out[same[0]] = (name, value)
        else:
            out.append((name, value))
    return out


def untouched(headers: list[tuple[str, bytes]], genuine: dict[str, str]) -> bool:
    """Whether the signed headers came through exactly once each, as signed."""
    for name in SIGNED:
        values = [v for n, v in headers if n.lower() == name.lower()]
        if values != [genuine[name].encode()]:
            return False
    kinds = [v for n, v in headers if n.lower() == "wechatpay-signature-type"]
    return kinds in ([], [genuine["Wechatpay-Signature-Type"].encode()])


class WireFuzzer:
    """The answer and notification targets: a raw HTTP peer and a client in one event loop of their own."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.loop = asyncio.new_event_loop()
        self._raw = b""
        self._server: AbstractAsyncContextManager[str] = answering(lambda: self._raw)
        base_url = self.loop.run_until_complete(self._server.__aenter__())
        creds = credentials
        self.client = Client(
            creds.mchid,
            creds.serial,
            creds.merchant_key,
            {creds.public_key_id: creds.public_key.public_key()},
            apiv3_key=creds.apiv3_key,
            base_url=base_url,
            timeout=Timeout(total=5, pool=5),
            limits=Limits(answer=4096, error=1024),
        )
        self.handled: list[Notification] = []
        self.endpoint = WebhookEndpoint(NotificationParser(self.client, seen_ids=False), self.handled.append)

    def close(self) -> None:
        """Stop the peer and the client, then the loop."""
        self.loop.run_until_complete(self.client.close())
        self.loop.run_until_complete(self._server.__aexit__(None, None, None))
        self.loop.close()

    def targets(self) -> dict[str, Callable[[int], FuzzFigure]]:
        """Each target by the name the report prints."""
        return {
            "answer headers (raw bytes over HTTP)": self.answers,
            "notification headers and bodies": self.notifications,
        }

    # -- answers --------------------------------------------------------------------------

    def answers(self, examples: int) -> FuzzFigure:
        """Any answer: only the genuine signed one is accepted; anything else is a typed error."""
        creds = self.credentials
        genuine = sign_answer(creds.public_key, creds.public_key_id, BODY, int(time.time()))
        signed = [(name, value.encode()) for name, value in genuine.items()]
        base = [("Content-Type", b"application/json"), *signed]
        strategy = st.tuples(
            st.sampled_from([200, 200, 200, 204, 302, 400, 500]),
            st.one_of(st.just(BODY), mutated(BODY), st.binary(max_size=64)),
            edits(ANSWER_HEADERS, [v for _, v in signed]),
            st.booleans(),
        )
        return run_target(
            "answer headers (raw bytes over HTTP)",
            examples,
            strategy,
            lambda case: self._check_answer(case, base, genuine),
        )

    def _check_answer(self, case: Any, base: list[tuple[str, bytes]], genuine: dict[str, str]) -> None:
        status, body, changes, statement = case
        headers = apply(base, changes)
        self._raw = answer(status, headers, body)  # its own Content-Length follows any fuzzed one
        try:
            self.loop.run_until_complete(self._call(statement))
        except WechatpayError as exc:
            assert type(exc).__module__.startswith("wechatpay_chain"), type(exc)
            if isinstance(exc, (ApiError, SignatureError, TransportError)):
                assert str(exc).isprintable(), f"{type(exc).__name__} text is not one line: {str(exc)!r}"
            return
        if statement:  # a statement verifies over its digest header: only the genuine headers pass
            return
        assert 200 <= status < 300 and body == BODY, f"an answer not signed was accepted: {status} {body!r}"
        assert untouched(headers, genuine), f"changed signed headers were accepted: {headers!r}"

    async def _call(self, statement: bool) -> None:
        if statement:
            async with self.client.open_download("v3/statements", query={"bill_date": "2024-06-01"}) as stream:
                await stream.read()
        else:
            await self.client["v3/things"].get()

    # -- notifications ---------------------------------------------------------------------

    def notifications(self, examples: int) -> FuzzFigure:
        """Any notification: only the genuine one is handled (204); anything else a 4xx, never a 500 or a raise."""
        creds = self.credentials
        headers, body = creds.notification("TRANSACTION.SUCCESS", {"out_trade_no": "T1"}, summary="支付成功")
        raw = [(name, value.encode()) for name, value in headers.items()]
        strategy = st.tuples(
            st.one_of(st.just(body), mutated(body), st.binary(max_size=200)),
            edits(NOTIFICATION_HEADERS, [v for _, v in raw]),
            st.sampled_from(["asgi", "aiohttp", "dict"]),
        )
        return run_target(
            "notification headers and bodies",
            examples,
            strategy,
            lambda case: self._check_notification(case, raw, headers, body),
        )

    def _check_notification(
        self, case: Any, raw: list[tuple[str, bytes]], genuine: dict[str, str], genuine_body: bytes
    ) -> None:
        body, changes, framework = case
        headers = apply(raw, changes)
        handled = len(self.handled)
        given = _as_framework(headers, framework)
        status, reply = self.loop.run_until_complete(self.endpoint.respond(given, body))
        if status == 204:
            # What the endpoint was given: a plain dict keeps one copy of a name repeated alike.
            seen = (
                [(k, v.encode("utf-8", "surrogateescape")) for k, v in given.items()]
                if framework == "dict"
                else headers
            )
            assert body == genuine_body and untouched(seen, genuine), "a changed notification was handled"
            assert len(self.handled) == handled + 1
            return
        assert 400 <= status < 500, f"a forged notification was answered {status}: {reply!r}"
        assert len(self.handled) == handled and b'"FAIL"' in reply


def _as_framework(headers: list[tuple[str, bytes]], framework: str) -> Any:
    """Headers as a framework hands them over: ASGI's raw pairs, aiohttp's multidict, or a plain dict."""
    if framework == "asgi":
        return [(name.lower().encode("latin-1"), value) for name, value in headers]
    decoded = [(name, value.decode("utf-8", "surrogateescape")) for name, value in headers]  # as aiohttp decodes
    return CIMultiDict(decoded) if framework == "aiohttp" else dict(decoded)
