"""One async client, more than one event loop: successive loops work, a second open loop fails at once."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import warnings
from collections.abc import Iterator

import aiohttp
import pytest
from background import Background, emulator_thread

from wechatpay_chain import Client, EventLoopError, WechatpayError
from wechatpay_chain.testing import Credentials, Emulator, EmulatorThread


@pytest.fixture
def served(credentials: Credentials) -> Iterator[EmulatorThread]:
    with emulator_thread(credentials) as served:
        served.call(served.emulator.stub, "GET", "v3/ping", {"ok": 1})
        yield served


def pings(emulator: Emulator) -> int:
    return sum(1 for r in list(emulator.received) if r.target == "/v3/ping")


def test_successive_asyncio_runs_share_one_client_and_close_each_loops_session(
    served: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = served.emulator
    client = Client(**emulator.client_settings())
    sessions: list[aiohttp.ClientSession] = []

    async def call() -> int:
        response = await client["v3/ping"].get()
        sessions.append(client._get_session())
        return response.status

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR, logger="asyncio"):
        warnings.simplefilter("always")
        assert [asyncio.run(call()) for _ in range(3)] == [200, 200, 200]
        # Each run made its own session, and the end of each run closed it.
        assert len({id(s) for s in sessions}) == 3
        assert all(s.closed for s in sessions)
        asyncio.run(client.close())
        sessions.clear()
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message) or "unclosed" in str(w.message)]
    assert "Unclosed" not in caplog.text
    assert pings(emulator) == 3


def test_a_second_open_loop_fails_at_once_and_nothing_is_sent(served: EmulatorThread) -> None:
    emulator = served.emulator
    client = Client(**emulator.client_settings())
    home = Background()  # the client's loop, still open in its own thread
    try:
        assert home.run(client["v3/ping"].get()).status == 200
        with pytest.raises(EventLoopError, match=r"another event loop, which is still open.*sync\.Client") as caught:
            asyncio.run(client["v3/ping"].get())
        assert isinstance(caught.value, WechatpayError) and isinstance(caught.value, RuntimeError)
        assert pings(emulator) == 1  # refused before anything was signed or sent
        assert home.run(client["v3/ping"].get()).status == 200  # the client still works in its own loop
        with pytest.raises(EventLoopError, match="close"):
            asyncio.run(client.close())
        home.run(client.close())
    finally:
        home.stop()


def test_a_loop_closed_without_shutting_down_is_left_behind_cleanly(served: EmulatorThread) -> None:
    emulator = served.emulator
    # No apiv3_key: no background refresh task, which a loop closed this way would leave pending.
    client = Client(**emulator.client_settings(apiv3_key=None))
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(client["v3/ping"].get()).status == 200
    loop.close()  # no shutdown_asyncgens(): the session was not closed by the loop's end
    assert asyncio.run(client["v3/ping"].get()).status == 200
    asyncio.run(client.close())


def test_a_session_given_belongs_to_its_loop(served: EmulatorThread) -> None:
    emulator = served.emulator
    holder: list[Client] = []

    async def first() -> None:
        session = aiohttp.ClientSession()
        holder.append(Client(**emulator.client_settings(session=session)))
        await holder[0]["v3/ping"].get()
        await session.close()

    asyncio.run(first())
    with pytest.raises(EventLoopError, match=r"given session=.* now closed"):
        asyncio.run(holder[0]["v3/ping"].get())


def test_a_session_factory_serves_every_loop(served: EmulatorThread) -> None:
    emulator = served.emulator
    made: list[aiohttp.ClientSession] = []

    def session() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession(headers={"X-Proxy-Hop": "1"}))
        return made[-1]

    client = Client(**emulator.client_settings(session=session))
    for _ in range(2):
        assert asyncio.run(client["v3/ping"].get()).status == 200
    asyncio.run(client.close())
    assert len(made) == 2 and all(s.closed for s in made)
    assert [r.headers.get("X-Proxy-Hop") for r in emulator.received if r.target == "/v3/ping"] == ["1", "1"]


def test_a_session_factory_must_make_a_session(served: EmulatorThread) -> None:
    emulator = served.emulator
    client = Client(**emulator.client_settings(session=lambda: "not a session"))
    with pytest.raises(WechatpayError, match=r"returned a str, not an aiohttp\.ClientSession"):
        asyncio.run(client["v3/ping"].get())


def test_downloaded_certificates_carry_over_to_the_next_loop(credentials: Credentials) -> None:
    with emulator_thread(credentials, key_mode="certificate") as served:  # a merchant with certificates
        served.call(served.emulator.stub, "GET", "v3/ping", {"ok": 1})
        emulator = served.emulator
        client = Client(**emulator.client_settings(certs=None))  # certificates downloaded with the APIv3 key
        for _ in range(3):
            assert asyncio.run(client["v3/ping"].get()).status == 200
        asyncio.run(client.close())
    downloads = [r for r in emulator.received if r.target == "/v3/certificates"]
    assert len(downloads) == 1


def test_loops_in_many_threads_one_after_another(served: EmulatorThread) -> None:
    # Celery-style: each task runs asyncio.run() in whatever worker thread picks it up.
    emulator = served.emulator
    client = Client(**emulator.client_settings())
    lock = threading.Lock()
    statuses: list[int] = []

    def task() -> None:
        with lock:  # one loop at a time, in different threads
            statuses.append(asyncio.run(client["v3/ping"].get()).status)

    threads = [threading.Thread(target=task) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    asyncio.run(client.close())
