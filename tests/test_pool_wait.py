"""Calls beyond the connection pool: a bounded wait of their own, and close() ends every one with TransportError.

Waiting for a free connection is bounded by `Timeout.pool` and fails before anything is sent
(`sent=False`, safe to repeat); the call's `total` starts once it holds a connection, so a long
wait never makes a call fail after its request went out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from wechatpay_chain import Client, Response, Timeout, TransportError
from wechatpay_chain.testing import Answer, Credentials, Emulator

PING = "v3/pool/ping/{n}"


@pytest.fixture
async def one_connection(credentials: Credentials) -> AsyncIterator[tuple[Emulator, aiohttp.ClientSession]]:
    """The emulator, and a session whose pool holds a single connection."""
    async with Emulator(credentials=credentials) as emu:
        emu.stub("GET", PING, lambda incoming: Answer(200, {"n": incoming.segments[-1]}))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            yield emu, session


def ping(client: Client, n: int, timeout: float | None = None) -> asyncio.Task[Response]:
    return asyncio.ensure_future(client.chain(PING).get(n=str(n), timeout=timeout))


async def test_waiting_for_a_connection_does_not_eat_the_calls_own_budget(
    one_connection: tuple[Emulator, aiohttp.ClientSession],
) -> None:
    emu, session = one_connection
    emu.fault("delay", PING, seconds=0.3)  # every answer takes 0.3 s
    client = emu.client(session=session)
    first, second = ping(client, 1, 0.5), ping(client, 2, 0.5)
    # The second waits 0.3 s for the connection, then still has its whole 0.5 s.
    assert [(await first).json(), (await second).json()] == [{"n": "1"}, {"n": "2"}]


async def test_a_wait_past_the_pool_bound_fails_before_sending(
    one_connection: tuple[Emulator, aiohttp.ClientSession],
) -> None:
    emu, session = one_connection
    emu.fault("delay", PING, seconds=0.5, times=1)
    client = emu.client(session=session)
    busy = ping(client, 1)
    await asyncio.sleep(0.05)
    with pytest.raises(TransportError, match=r"no free connection within 0.1 s \(Timeout.pool\)") as caught:
        await client.chain(PING).get(n="2", timeout=Timeout(total=5, pool=0.1))
    assert caught.value.sent is False
    await busy
    assert [r.target for r in emu.received] == ["/v3/pool/ping/1"]  # the second never went out


async def test_close_ends_every_waiting_call_with_a_transport_error(credentials: Credentials) -> None:
    async with Emulator(credentials=credentials) as emu:
        emu.stub("GET", PING, lambda incoming: Answer(200, {"n": incoming.segments[-1]}))
        emu.fault("delay", PING, seconds=0.5)
        client = emu.client()  # its own session: 100 connections
        calls = [ping(client, n) for n in range(300)]
        await asyncio.sleep(0.2)
        await client.close()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        after = await asyncio.gather(client.chain(PING).get(n="late"), return_exceptions=True)
    assert all(isinstance(o, TransportError) for o in outcomes), {type(o).__name__ for o in outcomes}
    waited = [o for o in outcomes if isinstance(o, TransportError) and not o.sent]
    assert len(waited) == 200  # the calls beyond the 100 connections never went out
    assert all("closed while this call waited" in str(o) for o in waited)
    (late,) = after
    assert isinstance(late, TransportError) and late.sent is False and "closed" in str(late)


async def test_a_waiting_call_that_is_cancelled_passes_its_turn_on(
    one_connection: tuple[Emulator, aiohttp.ClientSession],
) -> None:
    emu, session = one_connection
    emu.fault("delay", PING, seconds=0.2, times=1)
    client = emu.client(session=session)
    busy, gives_up, waits = ping(client, 1), ping(client, 2), ping(client, 3)
    await asyncio.sleep(0.05)
    gives_up.cancel()
    assert (await waits).json() == {"n": "3"}
    await busy
    with pytest.raises(asyncio.CancelledError):
        await gives_up
    # The one connection's turn is free again: three more calls go through one after another.
    answers = await asyncio.gather(*(client.chain(PING).get(n=str(n)) for n in range(4, 7)))
    assert [a.json()["n"] for a in answers] == ["4", "5", "6"]


async def test_a_closed_session_is_a_transport_error_not_a_runtime_error(emulator: Emulator) -> None:
    session = aiohttp.ClientSession()
    client = emulator.client(session=session)
    await session.close()  # the caller's own session, closed under the client
    with pytest.raises(TransportError) as caught:
        await client["v3/things"].get()
    assert caught.value.sent is False
