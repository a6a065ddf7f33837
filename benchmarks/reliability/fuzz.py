"""Fuzzing what users pass: only the package's typed errors escape, and what is built goes out as signed.

Chain names, templates, placeholder values, inline queries, request headers, key inputs and the
CLI's environment. What arrives (answers, notifications) is fuzzed in `wire_fuzz`.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp.http_writer import _py_serialize_headers
from cryptography.hazmat.primitives import serialization
from hypothesis import strategies as st
from multidict import CIMultiDict
from yarl import URL

from wechatpay_chain import (
    Client,
    KeyLoadError,
    WechatpayError,
    load_private_key,
    load_public_key,
)
from wechatpay_chain._chain.template import parse
from wechatpay_chain._cli._credentials import ENVIRONMENT, client_from
from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._credentials import cert_pem, private_pem, public_pem

from .fuzzing import FuzzFigure, run_target
from .mutations import b64, key_file, mutated, secret_fragments
from .wire_fuzz import WireFuzzer

# What a request target may hold on the wire (RFC 3986 unreserved, sub-delims, ':', '@', '/', '?', '%').
_TARGET = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


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
        self.folder = Path(tempfile.mkdtemp(prefix="wechatpay-fuzz-"))

    def close(self) -> None:
        """Remove the key files the targets wrote."""
        for child in self.folder.iterdir():
            child.unlink()
        self.folder.rmdir()

    def targets(self) -> dict[str, Callable[[int], FuzzFigure]]:
        """Each fuzz target by the name the report prints."""
        return {
            "chain attribute names": self.chain_names,
            "URI templates": self.templates,
            "placeholder values": self.placeholders,
            "inline queries": self.inline_queries,
            "request headers": self.request_headers,
            "key inputs": self.keys,
            "CLI environment": self.cli_environment,
        }

    def _run(
        self, name: str, examples: int, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]
    ) -> FuzzFigure:
        return run_target(name, examples, strategy, check)

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
        folder = self.folder
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
        return self._run(
            "key inputs", examples, st.tuples(inputs, passwords), lambda case: self._check_key(case, secrets)
        )

    def _check_key(self, case: tuple[Any, Any], secrets: list[str]) -> None:
        value, password = case
        for load in (lambda: load_private_key(value, password=password), lambda: load_public_key(value)):
            try:
                load()
            except KeyLoadError as exc:
                leaked = [s for s in secrets if s in str(exc)]
                assert not leaked, f"a key error message quotes the key: {leaked[0]!r}"

    # inline queries: a query written in the template goes out exactly as signed
    def inline_queries(self, examples: int) -> FuzzFigure:
        """Any inline query (and query=) builds a target of RFC 3986 characters that yarl sends unchanged."""
        pieces = st.sampled_from(
            ["a", "=", "&", "?", "%", "%41", "%zz", " ", "\r\n", "#", "/", "+", "é", "\udc80", ";"]
        )
        inline = st.one_of(st.text(max_size=40), st.lists(pieces, max_size=10).map("".join))
        query = st.one_of(
            st.none(),
            st.dictionaries(st.text(max_size=6), st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=3),
        )
        return self._run("inline queries", examples, st.tuples(inline, query), self._check_inline_query)

    def _check_inline_query(self, case: tuple[str, dict[str, Any] | None]) -> None:
        inline, query = case
        try:
            request = self.client.build_request("GET", "v3/things?" + inline, {}, {"query": query})
        except WechatpayError as exc:
            assert _typed(exc)
            return
        target = request.target
        assert _TARGET.fullmatch(target), f"{target!r} holds characters a request line cannot carry"
        assert URL(request.url, encoded=True).raw_path_qs == target, "the target on the wire is not the one signed"

    # request headers: any headers= a caller passes
    def request_headers(self, examples: int) -> FuzzFigure:
        """Any headers= gives a typed error or headers aiohttp writes as they are, none the signer owns."""
        names = st.one_of(
            st.sampled_from(
                ["Content-Length", "transfer-encoding", "Host", "Authorization", "X-Trace", "Wechatpay-Serial"]
            ),
            st.text(max_size=12),
            st.integers(),
        )
        values = st.one_of(st.text(max_size=30), st.integers(), st.none(), st.binary(max_size=8), st.just("a\r\nX: 1"))
        strategy = st.one_of(st.dictionaries(names, values, max_size=4), st.lists(st.text(max_size=5), max_size=2))
        return self._run("request headers", examples, strategy, self._check_request_headers)

    def _check_request_headers(self, headers: Any) -> None:
        try:
            request = self.client.build_request("POST", "v3/things", {}, {"headers": headers, "json": {"a": 1}})
        except WechatpayError as exc:
            assert _typed(exc)
            return
        if not isinstance(headers, Mapping):
            assert not headers, "headers that are no mapping were taken"
            return
        sent = request.headers
        for name in ("Content-Length", "Transfer-Encoding", "Host", "Authorization"):
            assert name not in sent, f"{name} was taken from the caller"
        for name, value in headers.items():
            assert sent.getall(name) == [value], (name, sent.getall(name))
        _py_serialize_headers("POST /prefix/v3/things HTTP/1.1", CIMultiDict(sent))  # raises on CR/LF and the like

    # the CLI's environment: what WECHATPAY_* may hold
    def cli_environment(self, examples: int) -> FuzzFigure:
        """Any WECHATPAY_* environment gives a Client or a typed error, and no message quotes a key."""
        creds = self.credentials
        pem = private_pem(creds.merchant_key)
        key_path = self.folder / "apiclient_key.pem"
        key_path.write_bytes(pem)
        public_path = self.folder / "pub_key.pem"
        public_path.write_bytes(public_pem(creds.public_key))
        values: dict[str, st.SearchStrategy[str]] = {
            "WECHATPAY_MCHID": st.one_of(st.just(creds.mchid), st.text(max_size=12)),
            "WECHATPAY_SERIAL": st.one_of(st.just(creds.serial), st.text(max_size=12)),
            "WECHATPAY_PRIVATE_KEY": st.one_of(
                st.just(pem.decode()),
                st.just(str(key_path)),
                mutated(pem).map(lambda b: b.decode("latin-1")),
                st.text(max_size=60),
                st.just(b64(pem)),
            ),
            "WECHATPAY_APIV3_KEY": st.one_of(st.just(creds.apiv3_key), st.text(max_size=40)),
            "WECHATPAY_PUBLIC_KEY": st.one_of(st.just(str(public_path)), st.text(max_size=30)),
            "WECHATPAY_PUBLIC_KEY_ID": st.one_of(st.just(creds.public_key_id), st.text(max_size=30)),
            "WECHATPAY_PLATFORM_CERT": st.one_of(
                st.just(cert_pem(creds.platform[0].certificate).decode()), st.text(max_size=30), st.just(str(key_path))
            ),
            "WECHATPAY_BASE_URL": st.one_of(st.just("http://127.0.0.1:9/"), st.text(max_size=30)),
        }
        environ = st.fixed_dictionaries({}, optional=values).map(
            lambda env: {k: v for k, v in env.items() if "\0" not in v}  # no environment holds a NUL
        )
        secrets = secret_fragments(creds)
        return self._run("CLI environment", examples, environ, lambda env: self._check_environment(env, secrets))

    def _check_environment(self, environ: dict[str, str], secrets: list[str]) -> None:
        args = argparse.Namespace(**{name: None for name in ENVIRONMENT})  # no flags: all from the environment
        try:
            client_from(args, environ)
        except WechatpayError as exc:
            assert _typed(exc)
            leaked = [s for s in secrets if s in str(exc)]
            assert not leaked, f"a CLI message quotes a key: {leaked[0]!r}"

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
    figures = []
    fuzzers: list[Fuzzer | WireFuzzer] = [Fuzzer(credentials), WireFuzzer(credentials)]
    try:
        for fuzzer in fuzzers:
            for name, target in fuzzer.targets().items():
                try:
                    figures.append(target(examples))
                except Exception as exc:  # the report names the broken invariant; the exit status fails
                    figures.append(FuzzFigure(name, failure=f"{type(exc).__name__}: {exc}"[:400]))
    finally:
        for fuzzer in fuzzers:
            fuzzer.close()
    return figures
