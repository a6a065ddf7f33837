"""Fuzzing: whatever a user passes, only the package's typed errors escape and URLs stay well formed."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from yarl import URL

from wechatpay_chain import (
    Client,
    KeyLoadError,
    SignatureError,
    Verifier,
    WechatpayError,
    load_private_key,
    load_public_key,
)
from wechatpay_chain._chain.template import parse
from wechatpay_chain.testing import Credentials

from .mutations import HEADER_NAMES, b64, key_file, mutated, mutated_headers, secret_fragments

FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}


@dataclass
class FuzzFigure:
    """Examples one fuzz target ran, and the first invariant it found broken."""

    target: str
    examples: int = 0
    failure: str = ""  # the first invariant broken, with hypothesis' smallest example


class Fuzzer:
    """The fuzz targets over one set of keys; each method runs `examples` hypothesis examples."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.credentials = credentials or Credentials.generate()
        creds = self.credentials
        self.client = Client(
            creds.mchid,
            creds.serial,
            creds.merchant_key,
            {creds.public_key_id: creds.public_key.public_key()},
            base_url="http://127.0.0.1:9/prefix/",
        )
        self.loop = asyncio.new_event_loop()

    def close(self) -> None:
        """Close the event loop the notification target runs in."""
        self.loop.close()

    def targets(self) -> dict[str, Callable[[int], FuzzFigure]]:
        """Each fuzz target by the name the report prints."""
        return {
            "chain attribute names": self.chain_names,
            "URI templates": self.templates,
            "placeholder values": self.placeholders,
            "notification headers and bodies": self.notifications,
            "key inputs": self.keys,
        }

    def _run(
        self, name: str, examples: int, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]
    ) -> FuzzFigure:
        figure = FuzzFigure(name)

        @settings(max_examples=examples, **FUZZ_SETTINGS)
        @given(strategy)
        def run(value: Any) -> None:
            figure.examples += 1
            check(value)

        run()
        return figure

    # chain attribute names: any string getattr may be handed
    def chain_names(self, examples: int) -> FuzzFigure:
        """Any attribute name on a chain node gives a node or AttributeError, never a bad request."""
        names = st.one_of(st.text(max_size=40), st.from_regex(r"\A_?[A-Za-z][A-Za-z0-9_]{0,30}_?\Z"))
        return self._run("chain attribute names", examples, names, self._check_chain_name)

    def _check_chain_name(self, name: str) -> None:
        try:
            node = getattr(self.client.v3, name)
        except AttributeError:
            if not name.startswith("_") and name:
                raise
            return
        if not hasattr(node, "_template"):  # a real attribute of Chain (get, post, chain, ...)
            return
        template = str(node)
        assert template == "v3" or template.startswith("v3/"), template  # getattr(node, "/") adds nothing
        if name.isidentifier():
            assert template.count("/") == 1, f"{name!r} became {template!r}"
        self._build_any("GET", template, {n: "x" for n in _placeholders(template)})

    # templates: anything a user may write in client["..."]
    def templates(self, examples: int) -> FuzzFigure:
        """Any string given as a URI template builds a sendable request or raises a typed error."""
        pieces = st.sampled_from(
            ["v3", "/", "{", "}", "{id}", "?", "a=b", "&", "#", "%", "%2F", "..", ".", "-", "é", " "]
        )
        template = st.one_of(st.text(max_size=60), st.lists(pieces, max_size=12).map("".join))
        values = st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=12), st.integers()), max_size=3)
        return self._run("URI templates", examples, st.tuples(template, values), self._check_template)

    def _check_template(self, case: tuple[str, dict[str, Any]]) -> None:
        template, extra = case
        values = {n: "v" for n in _placeholders(template)} | extra
        self._build_any("POST", template, values)

    # placeholder values: one value may never leave its segment
    def placeholders(self, examples: int) -> FuzzFigure:
        """Any placeholder value stays inside its own path segment."""
        value = st.one_of(
            st.text(max_size=40), st.integers(), st.sampled_from([".", "..", "%2e%2e", "a/../b", "?x=1", "#f", "", " "])
        )
        return self._run("placeholder values", examples, st.tuples(value, value), self._check_placeholders)

    def _check_placeholders(self, pair: tuple[Any, Any]) -> None:
        first, second = pair
        url = self._build_any("GET", "v3/a/{x}/b/{y}", {"x": first, "y": second}, {"query": {"q": "1"}})
        if url is None:
            return
        assert url.raw_query_string == "q=1", url.raw_query_string
        segments = url.raw_path.split("/")
        assert segments[:3] == ["", "prefix", "v3"] and segments[3] == "a" and segments[5] == "b", segments
        assert len(segments) == 7, segments
        assert [unquote(segments[4]), unquote(segments[6])] == [str(first), str(second)]

    # notifications: random headers/bodies and mutations of a genuine one
    def notifications(self, examples: int) -> FuzzFigure:
        """Only the genuine signed notification passes verification."""
        creds = self.credentials
        now = time.time()
        headers, body = creds.notification("TRANSACTION.SUCCESS", {"out_trade_no": "T1"}, summary="支付成功", now=now)
        key = creds.public_key.public_key()

        async def lookup(serial: str) -> Any:
            return key if serial == creds.public_key_id else None

        verifier = Verifier(lookup, clock=lambda: now)
        genuine = (dict(headers), body)
        random_headers = st.dictionaries(
            st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=20)), st.text(max_size=60), max_size=7
        )
        strategy = st.one_of(
            st.tuples(random_headers, st.binary(max_size=200)),
            st.tuples(st.just(dict(headers)), mutated(body)),
            mutated_headers(dict(headers)).map(lambda h: (h, body)),
        )
        return self._run(
            "notification headers and bodies",
            examples,
            strategy,
            lambda case: self._check_notification(verifier, genuine, case),
        )

    def _check_notification(self, verifier: Verifier, genuine: tuple[dict[str, str], bytes], case: Any) -> None:
        headers, body = case
        try:
            self.loop.run_until_complete(verifier.check(CIMultiDict(headers), body))
        except SignatureError:
            return
        # Accepted: only the genuine signed content may pass (equivalent header spellings aside).
        original, original_body = genuine
        assert body == original_body, "a changed body was accepted"
        for name in ("Wechatpay-Timestamp", "Wechatpay-Nonce"):
            assert CIMultiDict(headers).get(name) == original[name], f"a changed {name} was accepted"

    # keys: every form load_private_key / load_public_key accept, broken every way
    def keys(self, examples: int) -> FuzzFigure:
        """Any key input loads or raises KeyLoadError, and no error message quotes the key."""
        key = self.credentials.merchant_key
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        pkcs1 = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        secrets = secret_fragments(self.credentials)
        folder = Path(tempfile.mkdtemp(prefix="wechatpay-fuzz-"))
        inputs = st.one_of(
            st.text(max_size=80),
            st.binary(max_size=80),
            mutated(pem),
            mutated(pem).map(lambda b: b.decode("latin-1")),
            mutated(pkcs8).map(lambda d: "private.pkcs8://" + b64(d)),
            mutated(pkcs1).map(lambda d: "private.pkcs1://" + b64(d)),
            mutated(public).map(lambda d: "public.spki://" + b64(d)),
            mutated(public).map(lambda d: "public.pkcs1://" + b64(d)),
            st.text(max_size=40).map(lambda t: "private.pkcs8://" + t),
            st.text(max_size=40).map(lambda t: "-----BEGIN " + t),
            st.tuples(st.booleans(), mutated(pem)).map(lambda t: key_file(folder, t[0], t[1])),
        )
        passwords = st.one_of(st.none(), st.text(max_size=8), st.binary(max_size=8))
        try:
            return self._run(
                "key inputs", examples, st.tuples(inputs, passwords), lambda case: self._check_key(case, secrets)
            )
        finally:
            for child in folder.iterdir():
                child.unlink()
            folder.rmdir()

    def _check_key(self, case: tuple[Any, Any], secrets: list[str]) -> None:
        value, password = case
        for load in (lambda: load_private_key(value, password=password), lambda: load_public_key(value)):
            try:
                load()
            except KeyLoadError as exc:
                leaked = [s for s in secrets if s in str(exc)]
                assert not leaked, f"a key error message quotes the key: {leaked[0]!r}"

    def _build_any(
        self, method: str, template: str, values: Mapping[str, object], options: Mapping[str, Any] | None = None
    ) -> URL | None:
        """Build a request: only typed errors may escape (None), and the URL built must be sendable as is."""
        try:
            request = self.client.build_request(method, template, values, options or {})
        except WechatpayError as exc:
            assert _typed(exc)
            return None
        url = URL(request.url, encoded=True)
        assert request.url == "http://127.0.0.1:9" + request.target, request.url
        assert request.target.startswith("/prefix/"), request.target
        assert url.raw_path == request.target.partition("?")[0], (url.raw_path, request.target)
        assert "#" not in request.url
        return url


def _typed(exc: WechatpayError) -> bool:
    return type(exc).__module__.startswith("wechatpay_chain")


def _placeholders(template: str) -> tuple[str, ...]:
    try:
        return parse(template).placeholders
    except WechatpayError:
        return ()


def run_fuzz(examples: int, credentials: Credentials) -> list[FuzzFigure]:
    """Every fuzz target at `examples` examples; a broken invariant is recorded, not raised."""
    fuzzer = Fuzzer(credentials)
    figures = []
    try:
        for name, target in fuzzer.targets().items():
            try:
                figures.append(target(examples))
            except Exception as exc:  # the report names the broken invariant; the exit status fails
                figures.append(FuzzFigure(name, failure=f"{type(exc).__name__}: {exc}"[:400]))
    finally:
        fuzzer.close()
    return figures
