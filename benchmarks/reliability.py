"""The reliability suite with figures: soak, faults, tampering and fuzzing against the emulator.

    python benchmarks/reliability.py --quick   # CI: 1,000 calls at concurrency 50, 300 examples per fuzz target
    python benchmarks/reliability.py --full    # 10,000 calls at concurrency 200, 10,000 examples per target

Prints one table per part and exits 1 when any figure that must be zero is not. The tests in
tests/test_reliability.py run the same functions at small sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from yarl import URL

from wechatpay_chain import (
    Client,
    KeyLoadError,
    RetryPolicy,
    SignatureError,
    TransportError,
    Verifier,
    WechatpayError,
    load_private_key,
    load_public_key,
)
from wechatpay_chain._template import parse
from wechatpay_chain.testing import Answer, Credentials, Emulator, Insurance
from wechatpay_chain.testing._auth import sign_answer

PING = "v3/reliability/ping/{n}"
ECHO = "v3/reliability/echo"


@dataclass(frozen=True)
class Sizes:
    calls: int
    concurrency: int
    examples: int


SIZES = {
    "tiny": Sizes(calls=300, concurrency=50, examples=100),
    "quick": Sizes(calls=1_000, concurrency=50, examples=300),
    "full": Sizes(calls=10_000, concurrency=200, examples=10_000),
}


def stub_reliability_endpoints(emu: Emulator) -> None:
    """A GET that answers its placeholder and a POST that echoes its JSON: answers tie to their calls."""
    emu.stub("GET", PING, lambda incoming: Answer(200, {"n": incoming.segments[-1], "说明": "测试"}))
    emu.stub("POST", ECHO, lambda incoming: Answer(200, incoming.json()))


# -- soak -------------------------------------------------------------------------------------


@dataclass
class SoakFigures:
    calls: int
    concurrency: int
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    in_use_after: int = -1
    pooled_after: int = -1
    leaked_fds: int = 0
    leaked_tasks: int = 0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def rows(self) -> list[tuple[str, object]]:
        ordered = sorted(self.latencies) or [0.0]
        return [
            ("calls", self.calls),
            ("concurrency", self.concurrency),
            ("errors", self.error_count),
            ("calls per second", f"{self.calls / self.seconds:.0f}" if self.seconds else "-"),
            ("latency p50 / p99 / max (ms)", "{:.1f} / {:.1f} / {:.1f}".format(*_percentiles(ordered))),
            ("connections in use after the run", self.in_use_after),
            ("idle pooled connections after the run", self.pooled_after),
            ("file descriptors leaked after close", self.leaked_fds),
            ("asyncio tasks leaked after close", self.leaked_tasks),
        ]


def _percentiles(ordered: list[float]) -> tuple[float, float, float]:
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000, ordered[-1] * 1000


def open_fds() -> int:
    """File descriptors this process holds (Linux)."""
    return len(os.listdir("/proc/self/fd"))


def other_tasks() -> int:
    return len(asyncio.all_tasks()) - 1


async def _settle(baseline_fds: int, baseline_tasks: int, rounds: int = 40) -> None:
    """Give closed sockets and finished tasks a few loop turns to go (at most rounds x 50 ms)."""
    for _ in range(rounds):
        if open_fds() <= baseline_fds and other_tasks() <= baseline_tasks:
            return
        await asyncio.sleep(0.05)


async def _soak_call(client: Client, n: int) -> None:
    if n % 2:
        r = await client.chain(PING).get(n=f"n{n}")
        if r.json() != {"n": f"n{n}", "说明": "测试"}:
            raise AssertionError(f"call {n} got another call's answer: {r.json()!r}")
    else:
        payload = {"n": n, "text": "测试 ✓", "items": list(range(n % 7))}
        r = await client.chain(ECHO).post(json=payload)
        if r.json() != payload:
            raise AssertionError(f"call {n} got another call's answer: {r.json()!r}")


async def soak(calls: int, concurrency: int, credentials: Credentials | None = None) -> SoakFigures:
    """`calls` verified calls through one client, `concurrency` at a time; then count what was left open."""
    figures = SoakFigures(calls, concurrency)
    baseline_fds, baseline_tasks = open_fds(), other_tasks()
    async with Emulator(credentials=credentials) as emu:
        stub_reliability_endpoints(emu)
        client = emu.client()
        counter = itertools.count()

        async def worker() -> None:
            while (n := next(counter)) < calls:
                started = time.perf_counter()
                try:
                    await _soak_call(client, n)
                except Exception as exc:  # counted, never hidden: any error fails the figure
                    figures.errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                figures.latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        figures.seconds = time.perf_counter() - started
        figures.in_use_after, figures.pooled_after = _connector_counts(client)
        await client.close()
    await _settle(baseline_fds, baseline_tasks)
    figures.leaked_fds = max(0, open_fds() - baseline_fds)
    figures.leaked_tasks = max(0, other_tasks() - baseline_tasks)
    return figures


def _connector_counts(client: Client) -> tuple[int, int]:
    """(connections checked out, idle connections pooled) of the client's aiohttp connector."""
    connector = client._get_session().connector
    # aiohttp has no public count; these are the connector's own books.
    acquired = getattr(connector, "_acquired", set())
    pooled = getattr(connector, "_conns", {})
    return len(acquired), sum(len(v) for v in pooled.values())


# -- faults -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCase:
    name: str
    kind: str | None  # an emulator fault, or None for a refused connection
    params: Mapping[str, Any]
    method: str
    expect: str  # "ok", or the error class name (with ":check" for SignatureError, ":status" for ApiError)
    retry: bool = False
    times: int | None = None
    idempotent: bool | None = None
    attempts: int = 1  # attempts the call is expected to make


FAULT_CASES = (
    FaultCase("delay past the timeout", "delay", {"seconds": 2.0}, "GET", "TransportError"),
    FaultCase("delay once, GET retried", "delay", {"seconds": 2.0}, "GET", "ok", True, 1, attempts=2),
    FaultCase("500", "status", {"status": 500}, "GET", "ApiError:500"),
    FaultCase("500 once, GET retried", "status", {"status": 500}, "GET", "ok", True, 1, attempts=2),
    FaultCase("503 once, POST not retried", "status", {"status": 503}, "POST", "ApiError:503", True, 1),
    FaultCase("503 once, POST idempotent", "status", {"status": 503}, "POST", "ok", True, 1, True, attempts=2),
    FaultCase("429", "status", {"status": 429, "code": "FREQUENCY_LIMITED"}, "GET", "ApiError:429"),
    FaultCase("429 once, GET retried", "status", {"status": 429}, "GET", "ok", True, 1, attempts=2),
    FaultCase("dropped connection", "drop", {}, "GET", "TransportError"),
    FaultCase("dropped once, GET retried", "drop", {}, "GET", "ok", True, 1, attempts=2),
    FaultCase("dropped once, POST not retried", "drop", {}, "POST", "TransportError", True, 1),
    FaultCase("bad signature", "bad_signature", {}, "GET", "SignatureError:signature"),
    FaultCase("bad signature, not retried", "bad_signature", {}, "GET", "SignatureError:signature", True),
    FaultCase("skewed timestamp", "skew", {"seconds": 600}, "GET", "SignatureError:timestamp"),
    FaultCase("truncated body", "truncate", {}, "GET", "TransportError"),
    FaultCase("truncated once, GET retried", "truncate", {}, "GET", "ok", True, 1, attempts=2),
    FaultCase("tampered body", "tamper_body", {}, "POST", "SignatureError:signature"),
    FaultCase("unknown serial", "unknown_serial", {}, "GET", "SignatureError:serial"),
    FaultCase(
        "missing Wechatpay-Nonce", "missing_header", {"name": "Wechatpay-Nonce"}, "GET", "SignatureError:headers"
    ),
    FaultCase("refused connection", None, {}, "POST", "TransportError"),
    FaultCase("refused primary, failover", None, {}, "POST", "ok", True, attempts=2),
)


@dataclass
class FaultResult:
    case: FaultCase
    got: str
    attempts: int
    seconds: float
    bound: float

    @property
    def ok(self) -> bool:
        return self.got == self.case.expect and self.attempts == self.case.attempts and self.seconds <= self.bound


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens: connections are refused before anything is sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def outcome(exc: BaseException | None) -> str:
    """A call's outcome as FaultCase.expect writes it."""
    if exc is None:
        return "ok"
    if isinstance(exc, SignatureError):
        return f"SignatureError:{exc.check}"
    status = getattr(exc, "status", None)
    return (
        f"{type(exc).__name__}:{status}"
        if status is not None and not isinstance(exc, TransportError)
        else type(exc).__name__
    )


async def run_fault(emu: Emulator, case: FaultCase, timeout: float = 1.0) -> FaultResult:
    """One call under one fault; the outcome must come within the timeout plus one second."""
    policy = RetryPolicy(attempts=3, backoff=0.05, backoff_cap=0.2, primary_url=emu.base_url, backup_url=None)
    base = emu.base_url
    if case.kind is None:
        base = closed_port_url()
        policy = RetryPolicy(attempts=3, backoff=0.05, primary_url=base, backup_url=emu.base_url)
    elif case.kind:
        emu.fault(case.kind, PING if case.method == "GET" else ECHO, times=case.times, **case.params)
    client = emu.client(base_url=base, retry=policy if case.retry else None, timeout=timeout)
    node = client.chain(PING) if case.method == "GET" else client.chain(ECHO)
    call: Callable[[], Awaitable[Any]] = (
        (lambda: node.get(n="1", idempotent=case.idempotent))
        if case.method == "GET"
        else (lambda: node.post(json={"a": 1}, idempotent=case.idempotent))
    )
    started = time.perf_counter()
    error: BaseException | None = None
    attempts = 1
    try:
        response = await call()
        attempts = int(response.request.extensions.get("attempt", 1))
    except WechatpayError as exc:
        error, attempts = exc, exc.attempts
    seconds = time.perf_counter() - started
    emu.clear_faults()
    await client.close()
    return FaultResult(case, outcome(error), attempts, seconds, timeout + 1.0)


async def faults_one(credentials: Credentials | None, case: FaultCase, timeout: float = 1.0) -> FaultResult:
    """One fault case against a fresh emulator."""
    async with Emulator(credentials=credentials) as emu:
        stub_reliability_endpoints(emu)
        return await run_fault(emu, case, timeout)


async def faults(credentials: Credentials | None = None, timeout: float = 1.0) -> list[FaultResult]:
    """Every fault case, each against a fresh emulator."""
    return [await faults_one(credentials, case, timeout) for case in FAULT_CASES]


# -- tampering --------------------------------------------------------------------------------

TAMPER_FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bad_signature", {}),
    ("skew", {"seconds": 301}),
    ("skew", {"seconds": -301}),
    ("tamper_body", {}),
    ("unknown_serial", {}),
    ("truncate", {}),
    *(("missing_header", {"name": n}) for n in ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature")),
    ("missing_header", {"name": "Wechatpay-Serial"}),
)
# Forgeries the emulator's faults do not make: answers whose Wechatpay-* headers the stub sets itself.
FORGERIES = ("replayed headers", "foreign key, real serial", "other signature type", "timestamp not a number")


@dataclass
class TamperFigures:
    endpoints: int = 0
    controls_accepted: int = 0
    tampered_calls: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    accepted_unverified: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, object]]:
        return [
            ("insurance endpoints", self.endpoints),
            ("untampered answers accepted (control)", f"{self.controls_accepted} / {self.endpoints}"),
            ("tampered answers", self.tampered_calls),
            *((f"  rejected as {k}", v) for k, v in sorted(self.rejected.items())),
            ("accepted unverified responses", len(self.accepted_unverified)),
            ("not applicable (empty 204 body)", len(self.not_applicable)),
        ]


def insurance_endpoints() -> list[tuple[str, str, int]]:
    """(method, template, status) of the 22 insurance endpoints; `renew` answers 204."""
    routes = Insurance(clock=time.time, notify=print, mchid="1900000109").routes()
    return [(r.method, r.template.text, 204 if r.template.text.endswith("/renew") else 200) for r in routes]


def _answer_for(template: str, status: int) -> Any:
    return None if status == 204 else {"endpoint": template, "state": "已受理", "amount": {"total": 100}}


def _forged_headers(emu: Emulator, kind: str, body: bytes) -> dict[str, str]:
    creds = emu.credentials
    now = int(emu.now())
    if kind == "replayed headers":  # genuine headers of another answer
        return sign_answer(creds.public_key, creds.public_key_id, body + b" ", now)
    if kind == "foreign key, real serial":
        return sign_answer(creds.platform[0].key, creds.public_key_id, body, now)
    headers = sign_answer(creds.public_key, creds.public_key_id, body, now)
    if kind == "other signature type":
        headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    else:
        headers["Wechatpay-Timestamp"] = f"{now}.0"
    return headers


def _values(template: str) -> dict[str, str]:
    return {name: f"{name}-1" for name in parse(template).placeholders}


async def _tamper_call(client: Client, method: str, template: str) -> BaseException | None:
    node = client.chain(template)
    verb = getattr(node, method.lower())
    try:
        await verb(json=None if method == "GET" else {"k": "v"}, **_values(template))
    except WechatpayError as exc:
        return exc
    return None


async def tampering(credentials: Credentials | None = None) -> TamperFigures:
    """Each tampering of each insurance endpoint's signed answer; none may be accepted."""
    figures = TamperFigures()
    async with Emulator(credentials=credentials) as emu:
        client = emu.client(timeout=5)
        for method, template, status in insurance_endpoints():
            figures.endpoints += 1
            body = _answer_for(template, status)
            emu.stub(method, template, Answer(status, body))
            if await _tamper_call(client, method, template) is None:
                figures.controls_accepted += 1
            for kind, params in TAMPER_FAULTS:
                label = f"{kind}({params.get('name') or params.get('seconds') or ''})"
                if body is None and kind in ("tamper_body", "truncate"):
                    figures.not_applicable.append(f"{method} {template}: {label}")
                    continue
                emu.fault(kind, template, times=1, **params)
                _count(figures, f"{method} {template}: {label}", await _tamper_call(client, method, template))
            raw = orjson.dumps(body) if body is not None else b""
            for kind in FORGERIES:
                # An answer with a body even for the 204 endpoint: headers signed over another body.
                sent = raw or b'{"injected":true}'
                forged = {"Content-Type": "application/json", **_forged_headers(emu, kind, sent)}
                emu.stub(method, template, Answer(200, sent, forged))
                _count(figures, f"{method} {template}: {kind}", await _tamper_call(client, method, template))
            emu.stub(method, template, Answer(status, body))
    return figures


def _count(figures: TamperFigures, label: str, error: BaseException | None) -> None:
    figures.tampered_calls += 1
    if error is None:
        figures.accepted_unverified.append(label)
    else:
        figures.rejected[outcome(error)] += 1


# -- fuzzing ----------------------------------------------------------------------------------

FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
HEADER_NAMES = (
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Signature",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


@dataclass
class FuzzFigure:
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
        self.loop.close()

    def targets(self) -> dict[str, Callable[[int], FuzzFigure]]:
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
        value = st.one_of(
            st.text(max_size=40), st.integers(), st.sampled_from([".", "..", "%2e%2e", "a/../b", "?x=1", "#f", "", " "])
        )
        return self._run("placeholder values", examples, st.tuples(value, value), self._check_placeholders)

    def _check_placeholders(self, pair: tuple[Any, Any]) -> None:
        first, second = pair
        try:
            request = self.client.build_request(
                "GET", "v3/a/{x}/b/{y}", {"x": first, "y": second}, {"query": {"q": "1"}}
            )
        except WechatpayError as exc:
            assert _typed(exc)
            return
        url = URL(request.url, encoded=True)
        assert url.raw_path == request.target.partition("?")[0], (url.raw_path, request.target)
        assert url.raw_query_string == "q=1", url.raw_query_string
        segments = url.raw_path.split("/")
        assert segments[:3] == ["", "prefix", "v3"] and segments[3] == "a" and segments[5] == "b", segments
        assert len(segments) == 7, segments
        assert [unquote(segments[4]), unquote(segments[6])] == [str(first), str(second)]

    # notifications: random headers/bodies and mutations of a genuine one
    def notifications(self, examples: int) -> FuzzFigure:
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
            st.tuples(st.just(dict(headers)), _mutated(body)),
            _mutated_headers(dict(headers)).map(lambda h: (h, body)),
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
        b64 = _b64
        inputs = st.one_of(
            st.text(max_size=80),
            st.binary(max_size=80),
            _mutated(pem),
            _mutated(pem).map(lambda b: b.decode("latin-1")),
            _mutated(pkcs8).map(lambda d: "private.pkcs8://" + b64(d)),
            _mutated(pkcs1).map(lambda d: "private.pkcs1://" + b64(d)),
            _mutated(public).map(lambda d: "public.spki://" + b64(d)),
            _mutated(public).map(lambda d: "public.pkcs1://" + b64(d)),
            st.text(max_size=40).map(lambda t: "private.pkcs8://" + t),
            st.text(max_size=40).map(lambda t: "-----BEGIN " + t),
            st.tuples(st.booleans(), _mutated(pem)).map(lambda t: _as_file(folder, t[0], t[1])),
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

    def _build_any(self, method: str, template: str, values: Mapping[str, object]) -> None:
        """Build a request: only typed errors may escape, and the result must be sendable as is."""
        try:
            request = self.client.build_request(method, template, values, {})
        except WechatpayError as exc:
            assert _typed(exc)
            return
        url = URL(request.url, encoded=True)
        assert request.url == "http://127.0.0.1:9" + request.target, request.url
        assert request.target.startswith("/prefix/"), request.target
        assert url.raw_path == request.target.partition("?")[0], (url.raw_path, request.target)
        assert "#" not in request.url


def _typed(exc: WechatpayError) -> bool:
    return type(exc).__module__.startswith("wechatpay_chain")


def _placeholders(template: str) -> tuple[str, ...]:
    try:
        return parse(template).placeholders
    except WechatpayError:
        return ()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _as_file(folder: Path, exists: bool, data: bytes) -> str:
    path = folder / "key.pem"
    if exists:
        path.write_bytes(data)
        return f"file://{path}"
    return f"file://{folder / 'missing.pem'}"


def _mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """`data` with a byte flipped, cut short, or with bytes inserted or deleted."""
    n = len(data)
    return st.one_of(
        st.tuples(st.integers(0, n - 1), st.integers(1, 255)).map(
            lambda t: data[: t[0]] + bytes([data[t[0]] ^ t[1]]) + data[t[0] + 1 :]
        ),
        st.integers(0, n - 1).map(lambda i: data[:i]),
        st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=8)).map(
            lambda t: data[: t[0]] + t[1] + data[t[0] :]
        ),
        st.tuples(st.integers(0, n - 1), st.integers(1, 16)).map(lambda t: data[: t[0]] + data[t[0] + t[1] :]),
    )


def _mutated_headers(headers: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """The genuine headers with one of them changed, dropped or replaced by random text."""

    def change(case: tuple[str, str | None]) -> dict[str, str]:
        name, value = case
        out = dict(headers)
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
        return out

    edits = st.one_of(st.none(), st.text(max_size=60), st.sampled_from(list(headers.values())))
    return st.tuples(st.sampled_from(HEADER_NAMES), edits).map(change)


def secret_fragments(credentials: Credentials, width: int = 24) -> list[str]:
    """Pieces of every secret of `credentials` as they could show in text: key base64 and numbers, the APIv3 key."""
    texts: list[str] = [credentials.apiv3_key]
    for key in (credentials.merchant_key, credentials.public_key, *(p.key for p in credentials.platform)):
        for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
            der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
            texts.append(_b64(der))
        numbers = key.private_numbers()
        texts += [str(numbers.d), f"{numbers.d:x}", str(numbers.p), f"{numbers.p:x}"]
    return [text[i : i + width] for text in texts for i in range(0, max(1, len(text) - width + 1), width // 2)]


# -- the report -------------------------------------------------------------------------------


def _table(title: str, rows: list[tuple[str, object]]) -> None:
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


async def _async_parts(sizes: Sizes, credentials: Credentials) -> tuple[SoakFigures, list[FaultResult], TamperFigures]:
    return (
        await soak(sizes.calls, sizes.concurrency, credentials),
        await faults(credentials),
        await tampering(credentials),
    )


def run_fuzz(examples: int, credentials: Credentials) -> list[FuzzFigure]:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick", help="CI size (default)")
    size.add_argument("--full", dest="size", action="store_const", const="full", help="the issue's full size")
    args = parser.parse_args(argv)
    sizes = SIZES[args.size or "quick"]
    credentials = Credentials.generate()
    started = time.perf_counter()
    soaked, faulted, tampered = asyncio.run(_async_parts(sizes, credentials))
    fuzzed = run_fuzz(sizes.examples, credentials)

    _table(f"soak ({args.size or 'quick'})", soaked.rows())
    for key, count in soaked.errors.most_common(5):
        print(f"    {count} x {key}")
    _table(
        "faults (per-attempt timeout 1 s; bound: timeout + 1 s)",
        [
            (r.case.name, f"{'ok  ' if r.ok else 'FAIL'} {r.got} after {r.attempts} attempt(s) in {r.seconds:.2f} s")
            for r in faulted
        ],
    )
    _table("tampering (22 insurance endpoints)", tampered.rows())
    for label in tampered.accepted_unverified[:10]:
        print(f"    ACCEPTED: {label}")
    _table(
        f"fuzzing ({sizes.examples} examples per target asked)",
        [(f.target, f"{f.examples} examples, {'FAILED: ' + f.failure if f.failure else '0 escapes'}") for f in fuzzed],
    )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    broken = (
        soaked.error_count
        + soaked.in_use_after
        + soaked.leaked_fds
        + soaked.leaked_tasks
        + sum(not r.ok for r in faulted)
        + len(tampered.accepted_unverified)
        + (tampered.controls_accepted != tampered.endpoints)
        + sum(bool(f.failure) for f in fuzzed)
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
