"""Answers are read up to a bound: a typed error past it, with the memory of the process flat (gzip bombs too)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
from test_forged_headers import client_for

from benchmarks.reliability.raw_http import answer, answering
from wechatpay_chain import (
    ApiError,
    ConfigurationError,
    Limits,
    ResponseTooLargeError,
    RetryPolicy,
)
from wechatpay_chain.testing import Answer, Credentials, Emulator

TESTS = Path(__file__).resolve().parent


async def test_an_answer_at_the_bound_passes_and_one_byte_more_is_refused(emulator: Emulator) -> None:
    payload = {"data": "x" * 1000}
    size = len(orjson.dumps(payload))
    emulator.stub("GET", "v3/things", payload)
    assert (await emulator.client(limits=Limits(answer=size))["v3/things"].get()).json() == payload
    with pytest.raises(ResponseTooLargeError, match=f"over {size - 1} bytes") as caught:
        await emulator.client(limits=Limits(answer=size - 1))["v3/things"].get()
    assert (caught.value.status, caught.value.limit) == (200, size - 1)


async def test_an_error_answer_has_its_own_smaller_bound(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/things", Answer(500, {"code": "SYSTEM_ERROR", "message": "x" * (70 << 10)}))
    with pytest.raises(ResponseTooLargeError) as caught:
        await emulator.client()["v3/things"].get()
    assert (caught.value.status, caught.value.limit) == (500, 64 << 10)
    emulator.stub("GET", "v3/things", Answer(500, {"code": "SYSTEM_ERROR", "message": "short"}))
    with pytest.raises(ApiError, match="SYSTEM_ERROR"):
        await emulator.client()["v3/things"].get()


async def test_a_too_large_answer_is_not_retried(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/things", {"data": "x" * 2000})
    policy = RetryPolicy(attempts=3, backoff=0, primary_url=emulator.base_url, backup_url=None)
    with pytest.raises(ResponseTooLargeError):
        await emulator.client(limits=Limits(answer=1000), retry=policy)["v3/things"].get()
    assert len(emulator.received) == 1


async def test_an_announced_length_past_the_bound_is_refused_without_waiting_for_the_body(
    credentials: Credentials,
) -> None:
    raw = answer(200, [("Content-Type", b"application/json")], b"{}").replace(
        b"Content-Length: 2", b"Content-Length: 1000000000000"
    )
    async with answering(raw) as url:
        client = client_for(credentials, url, timeout=30)
        with pytest.raises(ResponseTooLargeError):
            await asyncio.wait_for(client["v3/things"].get(), 5)  # not the 30 s timeout: refused at once
        await client.close()


def test_limits_are_checked() -> None:
    for value in (0, -1, True, 1.5, "1"):
        with pytest.raises(ConfigurationError, match="Limits"):
            Limits(answer=value)  # type: ignore[arg-type]


def test_a_client_takes_only_a_limits(credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError, match="limits"):
        client_for(credentials, "http://127.0.0.1:9/", limits={"answer": 1})


# A 256 MiB gzip bomb (about 250 KB on the wire) in a process of its own, so that its peak resident
# memory measures this call alone.
BOMB = textwrap.dedent(
    """
    import asyncio, resource, sys, zlib
    from benchmarks.reliability.raw_http import answer, answering
    from wechatpay_chain import Client, ResponseTooLargeError
    from wechatpay_chain.testing import Credentials

    def bomb(size: int) -> bytes:
        squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        return b"".join(squeeze.compress(zeros) for _ in range(size >> 20)) + squeeze.flush()

    async def main() -> None:
        creds = Credentials.generate()
        body = bomb(256 << 20)
        headers = [("Content-Type", b"application/json"), ("Content-Encoding", b"gzip")]
        async with answering(answer(200, headers, body)) as url:
            client = Client(creds.mchid, creds.serial, creds.merchant_key,
                            {creds.public_key_id: creds.public_key.public_key()}, base_url=url)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            try:
                await client["v3/things"].get()
                outcome = "read whole"
            except ResponseTooLargeError:
                outcome = "ResponseTooLargeError"
            except Exception as exc:
                outcome = type(exc).__name__
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            await client.close()
        print(outcome, len(body), grown // 1024)

    asyncio.run(main())
    """
)


def test_a_gzip_bomb_stops_at_the_bound_with_flat_memory() -> None:
    env = {**os.environ, "PYTHONPATH": str(TESTS.parent)}
    run = subprocess.run(
        [sys.executable, "-c", BOMB], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    outcome, wire, grown_mib = run.stdout.split()
    assert outcome == "ResponseTooLargeError"
    assert int(wire) < 300_000  # what the server sent
    assert int(grown_mib) < 40, f"the process grew by {grown_mib} MiB reading a {wire}-byte answer"
