"""Timeouts, opt-in retries and failover: what is repeated, how, where to, and what the final error says."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.payload import BytesPayload
from multidict import CIMultiDict, CIMultiDictProxy

from wechatpay_chain import (
    ApiError,
    BaseURL,
    Client,
    ConfigurationError,
    RetryPolicy,
    SignatureError,
    Timeout,
    TransportError,
)
from wechatpay_chain._config import BACKUP_URL, PRIMARY_URL
from wechatpay_chain._models import Request, Response
from wechatpay_chain._stack.transport import Transport
from wechatpay_chain.testing import Answer, Credentials, Emulator
from wechatpay_chain.testing._auth import parse_authorization

PING = "v3/retry/ping/{n}"
ECHO = "v3/retry/echo"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def fast(emu_url: str, **options: Any) -> RetryPolicy:
    """A policy with tiny waits whose primary is the given URL (no failover unless asked)."""
    settings: dict[str, Any] = {"backoff": 0.01, "backoff_cap": 0.05, "primary_url": emu_url, "backup_url": None}
    settings.update(options)
    return RetryPolicy(**settings)


@pytest.fixture
async def emu(credentials: Credentials) -> Any:
    async with Emulator(credentials=credentials) as emulator:
        emulator.stub("GET", PING, lambda incoming: Answer(200, {"n": incoming.segments[-1]}))
        emulator.stub("POST", ECHO, lambda incoming: Answer(200, incoming.json()))
        yield emulator


def request(
    method: str = "GET", base: str = PRIMARY_URL, path: str = "v3/x/1", query: str = "", idempotent: bool | None = None
) -> Request:
    return Request(method, BaseURL.parse(base), path, query, "v3/x/{n}", CIMultiDict(), idempotent=idempotent)


def response(status: int, **headers: str) -> Response:
    return Response(status, CIMultiDictProxy(CIMultiDict(headers)), b"", request())


# -- the policy object -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"attempts": 0},
        {"attempts": True},
        {"attempts": 2.0},
        {"backoff": -1},
        {"backoff_cap": float("nan")},
        {"jitter": 1.5},
        {"failover_after": 0},
        {"statuses": {99}},
        {"statuses": {"503"}},
        {"statuses": 503},
        {"backup_url": "api2.mch.weixin.qq.com"},
        {"primary_url": "https://"},
        {"backup_url": "https://x.example/?a=1"},
    ],
)
def test_a_policy_that_cannot_work_is_refused_with_the_field_named(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        RetryPolicy(**options)


def test_defaults_fail_over_from_the_primary_to_the_backup_host() -> None:
    policy = RetryPolicy()
    assert (policy.primary_url, policy.backup_url) == ("https://api.mch.weixin.qq.com/", BACKUP_URL)
    assert BACKUP_URL == "https://api2.mch.weixin.qq.com/"
    assert policy.statuses == frozenset({429, 500, 502, 503, 504})
    assert RetryPolicy(backup_url="https://b.example").backup_url == "https://b.example/"


def test_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    policy = RetryPolicy(backoff=0.5, backoff_cap=3.0, jitter=0.5)
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
        waits = [policy.delay(attempt) for _ in range(200)]
        assert all(full * 0.5 <= w <= full for w in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 1  # jittered
    assert RetryPolicy(backoff=0.5, jitter=0).delay(2) == 1.0


def test_a_retry_after_header_lengthens_the_wait_within_the_cap() -> None:
    policy = RetryPolicy(backoff=0.1, backoff_cap=5.0, jitter=0)
    assert policy.delay(1, response(429, **{"Retry-After": "2"})) == 2.0
    assert policy.delay(1, response(429, **{"Retry-After": "60"})) == 5.0
    assert policy.delay(1, response(429, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.1
    assert policy.delay(1, response(503, **{"Retry-After": "-3"})) == 0.1


@pytest.mark.parametrize(
    ("method", "flag", "expected"),
    [("GET", None, True), ("POST", None, False), ("PUT", None, False), ("DELETE", None, False),
     ("POST", True, True), ("PATCH", True, True), ("GET", False, False)],
)  # fmt: skip
def test_only_get_is_idempotent_unless_the_call_says(method: str, flag: bool | None, expected: bool) -> None:
    assert RetryPolicy().idempotent(request(method, idempotent=flag)) is expected


async def test_a_sent_streamed_upload_is_not_repeated_even_when_idempotent() -> None:
    calls: list[Request] = []

    async def server_error(attempt: Request) -> Response:
        calls.append(attempt)
        return response(503)

    upload = request("POST", idempotent=True)
    upload.payload = BytesPayload(b"file")
    policy = RetryPolicy(backoff=0, backup_url=None)
    assert (await policy(upload, server_error)).status == 503
    assert len(calls) == 1
    assert (await policy(request("POST", idempotent=True), server_error)).status == 503
    assert len(calls) == 1 + policy.attempts


def test_attempts_fail_over_after_the_primary_failed_and_keep_their_path() -> None:
    policy = RetryPolicy(primary_url="https://a.example/base/", backup_url="https://b.example/", failover_after=2)
    original = request(base="https://a.example/base/", query="q=%20")
    first, second, third = (policy.attempt(original, n) for n in (1, 2, 3))
    assert (first.url, first.target) == ("https://a.example/base/v3/x/1?q=%20", "/base/v3/x/1?q=%20")
    assert second.url == first.url
    assert (third.url, third.target) == ("https://b.example/v3/x/1?q=%20", "/v3/x/1?q=%20")
    assert [r.attempt for r in (first, second, third)] == [1, 2, 3]
    first.headers["Authorization"] = "signed once"
    assert "Authorization" not in original.headers and "Authorization" not in second.headers


def test_other_hosts_never_fail_over() -> None:
    policy = RetryPolicy()
    hk = request(base="https://apihk.mch.weixin.qq.com/", path="v3/global/x")
    assert policy.attempt(hk, 3).url == hk.url
    assert RetryPolicy(backup_url=None).attempt(request(), 3).url == request().url


def test_the_client_places_retries_outside_the_signer(credentials: Credentials) -> None:
    key = {credentials.public_key_id: credentials.public_key.public_key()}
    plain = Client(credentials.mchid, credentials.serial, credentials.merchant_key, key)
    assert plain.middleware.names() == ["logging", "pool", "signer", "verifier", "apiv2-signer", "apiv2-verifier"]
    policy = RetryPolicy()
    retried = Client(credentials.mchid, credentials.serial, credentials.merchant_key, key, retry=policy)
    names = ["logging", "retry", "pool", "signer", "verifier", "apiv2-signer", "apiv2-verifier"]
    assert retried.middleware.names() == names
    assert retried.middleware["retry"] is policy
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        Client(credentials.mchid, credentials.serial, credentials.merchant_key, key, retry=3)  # type: ignore[arg-type]


# -- against the emulator ---------------------------------------------------------------------


async def test_each_attempt_is_signed_afresh(emu: Emulator) -> None:
    emu.fault("status", PING, times=2, status=503)
    client = emu.client(retry=fast(emu.base_url, attempts=3))
    answer = await client.chain(PING).get(n="7")
    assert answer.json() == {"n": "7"} and answer.request.attempt == 3
    fields = [parse_authorization(r.headers["Authorization"]) for r in emu.received]
    assert len(fields) == 3
    assert len({f["nonce_str"] for f in fields}) == 3
    assert len({f["signature"] for f in fields}) == 3


async def test_a_get_gives_up_after_its_attempts_and_says_so(emu: Emulator) -> None:
    emu.fault("status", PING, status=503, code="SYSTEM_ERROR")
    client = emu.client(retry=fast(emu.base_url, attempts=3))
    with pytest.raises(ApiError) as caught:
        await client.chain(PING).get(n="1")
    assert (caught.value.status, caught.value.attempts, len(emu.received)) == (503, 3, 3)
    assert "3 attempts" in str(caught.value)


async def test_a_post_that_reached_the_server_is_not_repeated(emu: Emulator) -> None:
    emu.fault("status", ECHO, times=1, status=500)
    client = emu.client(retry=fast(emu.base_url))
    with pytest.raises(ApiError) as caught:
        await client.chain(ECHO).post(json={"a": 1})
    assert (caught.value.attempts, len(emu.received)) == (1, 1)
    assert "attempts" not in str(caught.value)


async def test_a_dropped_post_is_not_repeated_and_the_error_says_how_to_allow_it(emu: Emulator) -> None:
    emu.fault("drop", ECHO, times=1)
    client = emu.client(retry=fast(emu.base_url))
    with pytest.raises(TransportError) as caught:
        await client.chain(ECHO).post(json={"a": 1})
    assert (caught.value.attempts, caught.value.sent, len(emu.received)) == (1, True, 1)
    assert "not repeated" in str(caught.value) and "idempotent=True" in str(caught.value)


async def test_a_post_marked_idempotent_is_repeated(emu: Emulator) -> None:
    emu.fault("drop", ECHO, times=1)
    client = emu.client(retry=fast(emu.base_url))
    answer = await client.chain(ECHO).post(json={"a": 1}, idempotent=True)
    assert answer.json() == {"a": 1} and answer.request.attempt == 2
    assert len(emu.received) == 2


async def test_a_get_marked_not_idempotent_is_not_repeated_after_sending(emu: Emulator) -> None:
    emu.fault("status", PING, times=1, status=502)
    client = emu.client(retry=fast(emu.base_url))
    with pytest.raises(ApiError):
        await client.chain(PING).get(n="1", idempotent=False)
    assert len(emu.received) == 1


async def test_statuses_outside_the_policy_are_not_repeated(emu: Emulator) -> None:
    emu.fault("status", PING, times=1, status=400, code="PARAM_ERROR")
    client = emu.client(retry=fast(emu.base_url))
    with pytest.raises(ApiError) as caught:
        await client.chain(PING).get(n="1")
    assert (caught.value.code, caught.value.attempts, len(emu.received)) == ("PARAM_ERROR", 1, 1)


async def test_a_signature_failure_is_never_repeated_and_counts_the_attempts_before_it(emu: Emulator) -> None:
    emu.fault("bad_signature", PING, times=1)
    client = emu.client(retry=fast(emu.base_url, attempts=5))
    with pytest.raises(SignatureError) as caught:
        await client.chain(PING).get(n="1")
    assert (caught.value.check, caught.value.attempts, len(emu.received)) == ("signature", 1, 1)
    emu.received.clear()
    # The emulator spends every matching fault on each request: a 503 first, a bad signature next.
    emu.fault("status", PING, times=1, status=503)
    emu.fault("bad_signature", PING, times=2)
    with pytest.raises(SignatureError) as caught:
        await client.chain(PING).get(n="1")
    assert (caught.value.attempts, len(emu.received)) == (2, 2)


async def test_without_a_policy_nothing_is_repeated_not_even_by_aiohttp(emu: Emulator) -> None:
    emu.fault("drop", PING, times=1)
    client = emu.client()
    with pytest.raises(TransportError) as caught:
        await client.chain(PING).get(n="1")
    assert (caught.value.attempts, len(emu.received)) == (1, 1)
    emu.fault("status", PING, times=1, status=503)
    with pytest.raises(ApiError):
        await client.chain(PING).get(n="1")
    assert len(emu.received) == 2


async def test_a_refused_connection_is_repeated_for_any_method_then_fails_over(emu: Emulator) -> None:
    primary = closed_port_url()
    client = emu.client(base_url=primary, retry=fast(primary, backup_url=emu.base_url))
    answer = await client.chain(ECHO).post(json={"k": "v"})
    assert answer.json() == {"k": "v"}
    assert answer.request.attempt == 2 and answer.request.url.startswith(emu.base_url)
    [received] = emu.received
    assert received.target == "/v3/retry/echo"


async def test_failover_between_two_emulators_sharing_keys(credentials: Credentials) -> None:
    async with Emulator(credentials=credentials) as primary, Emulator(credentials=credentials) as backup:
        for emulator in (primary, backup):
            emulator.stub("GET", PING, lambda incoming: Answer(200, {"n": incoming.segments[-1]}))
        primary.fault("status", PING, status=503)
        client = primary.client(retry=fast(primary.base_url, backup_url=backup.base_url, attempts=3))
        answer = await client.chain(PING).get(n="42")
        assert answer.json() == {"n": "42"}
        assert (len(primary.received), len(backup.received)) == (1, 1)
        assert primary.received[0].target == backup.received[0].target == "/v3/retry/ping/42"


async def test_a_refused_connection_with_no_backup_gives_up_saying_nothing_was_sent(credentials: Credentials) -> None:
    primary = closed_port_url()
    key = {credentials.public_key_id: credentials.public_key.public_key()}
    async with Client(
        credentials.mchid, credentials.serial, credentials.merchant_key, key, base_url=primary, retry=fast(primary)
    ) as client:
        with pytest.raises(TransportError) as caught:
            await client.chain(ECHO).post(json={})
    assert (caught.value.attempts, caught.value.sent) == (3, False)
    assert "gave up after 3 attempts" in str(caught.value)
    assert "POST v3/retry/echo" in str(caught.value)


# -- timeouts ---------------------------------------------------------------------------------


async def test_a_call_timeout_is_a_transport_error_naming_the_call_never_a_hang(emu: Emulator) -> None:
    emu.fault("delay", PING, seconds=1.5)
    client = emu.client(timeout=5)
    started = time.perf_counter()
    with pytest.raises(TransportError, match=r"GET v3/retry/ping/\{n\}: no answer within 0.3 s"):
        await client.chain(PING).get(n="1", timeout=0.3)
    assert time.perf_counter() - started <= 0.3 + 1


async def test_a_client_timeout_applies_to_every_call(emu: Emulator) -> None:
    emu.fault("delay", ECHO, seconds=1.5)
    client = emu.client(timeout=0.3)
    started = time.perf_counter()
    with pytest.raises(TransportError, match=r"no answer within 0\.3 s"):
        await client.chain(ECHO).post(json={})
    assert time.perf_counter() - started <= 0.3 + 1


def test_timeout_defaults_and_numbers(offline_client: Client) -> None:
    transport = offline_client.middleware._transport
    assert isinstance(transport, Transport)
    assert transport.timeout == Timeout(total=30, connect=5, pool=30, read=None)
    long = offline_client.build_request("GET", "v3/x/y", {}, {"timeout": 60}).timeout
    short = offline_client.build_request("GET", "v3/x/y", {}, {"timeout": 2}).timeout
    assert (long, short) == (Timeout(total=60, connect=5, pool=60), Timeout(total=2, connect=2, pool=2))
    native = offline_client.build_request("GET", "v3/x/y", {}, {"timeout": aiohttp.ClientTimeout(10, sock_read=3)})
    assert native.timeout == Timeout(total=10, connect=None, pool=10, read=3)


async def test_waiting_for_a_busy_pool_is_not_a_connect_timeout(emu: Emulator) -> None:
    emu.fault("delay", PING, seconds=0.3)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = emu.client(session=session, timeout=aiohttp.ClientTimeout(total=5, sock_connect=0.2))
        started = time.perf_counter()
        answers = await asyncio.gather(*(client.chain(PING).get(n=str(n)) for n in range(3)))
        assert [a.json() for a in answers] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
        assert time.perf_counter() - started >= 0.6  # the last call waited for the one connection


async def test_callers_waiting_for_the_pool_are_served_in_turn(emu: Emulator) -> None:
    emu.fault("delay", PING, seconds=0.05)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2)) as session:
        client = emu.client(session=session)

        async def worker(w: int) -> None:
            for i in range(4):
                await client.chain(PING).get(n=f"w{w}-{i}")

        await asyncio.gather(*(worker(w) for w in range(4)))
    served = [r.target.rsplit("/", 1)[1].partition("-")[0] for r in emu.received]
    # Without the queue, the two callers holding connections keep them and the others starve.
    assert set(served[:4]) == {"w0", "w1", "w2", "w3"}, served


class _FailingSession:
    connector = None

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "sent", "text"),
    [
        (aiohttp.ConnectionTimeoutError("Connection timeout to host"), False, "no connection within 5 s"),
        (aiohttp.ServerDisconnectedError(), True, "ServerDisconnectedError"),
        (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), True, "no answer within 30 s"),
        (TimeoutError(), True, "no answer within 30 s"),
    ],
)
async def test_the_transport_tells_whether_the_request_can_have_gone_out(exc: Exception, sent: bool, text: str) -> None:
    transport = Transport(lambda: _FailingSession(exc), Timeout(total=30, connect=5))  # type: ignore[arg-type,return-value]
    with pytest.raises(TransportError) as caught:
        await transport(request("POST"))
    assert caught.value.sent is sent
    assert text in str(caught.value) and "POST v3/x/{n}" in str(caught.value)


async def test_a_refused_connection_was_not_sent(emu: Emulator) -> None:
    client = emu.client(base_url=closed_port_url())
    with pytest.raises(TransportError) as caught:
        await client.chain(ECHO).post(json={})
    assert caught.value.sent is False and caught.value.attempts == 1
