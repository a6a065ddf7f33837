"""Redis shared by workers, against a real redis-server on 127.0.0.1: the replay guard and the certificate list."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis
from redis_support import started

from benchmarks.deployment.redis_server import RedisServer
from wechatpay_chain import (
    Client,
    ConfigurationError,
    Notification,
    RedisCertificateCache,
    RedisSeenIds,
    SharedList,
    SharedSeenIds,
    WebhookEndpoint,
)
from wechatpay_chain.testing import Emulator

RESOURCE = {"out_trade_no": "T1", "trade_state": "SUCCESS"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from started(tmp_path)


class Handler:
    """Records each notification it handles; sleeps to stay in flight; fails while `failing` is set."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.handled: list[str] = []
        self.seconds = seconds
        self.failing = False

    async def __call__(self, notification: Notification) -> None:
        await asyncio.sleep(self.seconds)
        if self.failing:
            raise RuntimeError("the database is down")
        self.handled.append(notification.id)


def worker(client: Client, server: RedisServer, handler: Handler, record_wait: float = 5.0) -> WebhookEndpoint:
    """One worker's endpoint: its own connection to the shared Redis."""
    return WebhookEndpoint(client, handler, seen_ids=RedisSeenIds(server.url, record_wait=record_wait))


async def test_a_notification_delivered_to_two_workers_at_once_is_handled_once(
    emulator: Emulator, client: Client, server: RedisServer
) -> None:
    handler = Handler(seconds=0.1)
    first, second = worker(client, server, handler), worker(client, server, handler)
    headers, body = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    answers = await asyncio.gather(first.respond(headers, body), second.respond(headers, body))
    assert sorted(status for status, _ in answers) == [204, 503]  # the other is delivered again later
    assert b"another worker" in max(answers)[1]
    assert await second.respond(headers, body) == (204, b"")  # redelivered: processed already
    assert len(handler.handled) == 1
    assert isinstance(first.parser.seen_ids, SharedSeenIds)


async def test_a_failed_handler_releases_its_claim(emulator: Emulator, client: Client, server: RedisServer) -> None:
    handler = Handler()
    endpoint = worker(client, server, handler)
    headers, body = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    handler.failing = True
    assert (await endpoint.respond(headers, body))[0] == 500
    handler.failing = False
    assert await worker(client, server, handler).respond(headers, body) == (204, b"")  # another worker, at once
    assert len(handler.handled) == 1


async def test_a_dead_workers_claim_expires_and_the_notification_is_handled(
    emulator: Emulator, client: Client, server: RedisServer
) -> None:
    headers, body = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    store = RedisSeenIds(server.url)
    key = store.prefix + orjson.loads(body)["id"]
    async with aioredis.Redis.from_url(server.url) as redis:  # what a worker killed mid-handler leaves
        await redis.set(key, "claim:dead-worker", px=300)
    handler = Handler()
    endpoint = WebhookEndpoint(client, handler, seen_ids=store)
    assert (await endpoint.respond(headers, body))[0] == 503
    await asyncio.sleep(0.4)
    assert await endpoint.respond(headers, body) == (204, b"")
    assert len(handler.handled) == 1


async def test_while_redis_is_down_notifications_get_503_and_none_is_handled(
    emulator: Emulator, client: Client, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Handler()
    endpoint = worker(client, server, handler)
    before = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    during = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    assert (await endpoint.respond(*before))[0] == 204
    server.stop()
    status, answer = await endpoint.respond(*during)
    assert status == 503 and b"unreachable" in answer
    assert (await endpoint.respond(*before))[0] == 503  # not even a duplicate can be told apart
    assert len(handler.handled) == 1
    assert "replay store (Redis) is unreachable" in caplog.text
    server.start()
    assert await endpoint.respond(*before) == (204, b"")  # kept across the restart (AOF): not handled again
    assert await endpoint.respond(*during) == (204, b"")
    assert len(handler.handled) == 2


async def test_redis_lost_while_the_handler_runs(
    emulator: Emulator, client: Client, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Handled, but Redis is away when it should be recorded: acknowledged anyway (it was handled),
    # remembered by this worker, and written to Redis once it is back, for every other worker.
    handler = Handler(seconds=0.2)
    endpoint = worker(client, server, handler, record_wait=0.3)
    headers, body = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    responding = asyncio.ensure_future(endpoint.respond(headers, body))
    await asyncio.sleep(0.1)
    server.stop()
    with caplog.at_level(logging.INFO, logger="wechatpay_chain"):
        assert await responding == (204, b"")
        assert await endpoint.respond(headers, body) == (204, b"")  # this worker remembers
        server.start()
        other = worker(client, server, handler)
        for _ in range(50):  # the first worker writes it within about a second
            if await other.respond(headers, body) == (204, b""):
                break
            await asyncio.sleep(0.1)
    assert len(handler.handled) == 1
    assert "recorded in Redis now that it answers again" in caplog.text


async def test_a_redis_client_can_be_passed_in(emulator: Emulator, client: Client, server: RedisServer) -> None:
    async with aioredis.Redis.from_url(server.url) as redis:
        store = RedisSeenIds(redis, prefix="shop-1:")
        assert not await store.seen("N1")
        await store.add("N1")
        assert await store.seen("N1") and await redis.get("shop-1:N1") == b"done"
        assert "secret" not in repr(RedisSeenIds("redis://user:secret@127.0.0.1:1/0"))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisSeenIds("127.0.0.1:6379")
    with pytest.raises(ConfigurationError, match="lease"):
        RedisSeenIds("redis://127.0.0.1", lease=0)
    with pytest.raises(ConfigurationError, match=r"Redis URL or a redis\.asyncio\.Redis"):
        RedisCertificateCache(6379)  # type: ignore[arg-type]


# -- the shared certificate list -----------------------------------------------------------


def downloads(emulator: Emulator) -> int:
    return sum(1 for r in emulator.received if r.target == "/v3/certificates")


def shared_client(emulator: Emulator, server: RedisServer) -> Client:
    """A worker's client: no certificates configured, the APIv3 key to download them, the shared cache."""
    return emulator.client(certs=None, certificate_cache=RedisCertificateCache(server.url))


@pytest.mark.wechatpay_emulator(key_mode="certificate")  # workers download the certificates
async def test_workers_starting_together_make_one_download(emulator: Emulator, server: RedisServer) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    workers = [shared_client(emulator, server) for _ in range(4)]
    answers = await asyncio.gather(*(w["v3/ping"].get() for w in workers))
    assert [a.status for a in answers] == [200] * 4
    assert downloads(emulator) == 1
    serials = {tuple(w.certificates.serials()) for w in workers}
    assert serials == {tuple(p.serial for p in emulator.credentials.platform)}


@pytest.mark.wechatpay_emulator(key_mode="certificate")  # workers download the certificates
async def test_a_rotation_one_worker_sees_reaches_the_others_without_a_download(
    emulator: Emulator, server: RedisServer
) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    first, second = shared_client(emulator, server), shared_client(emulator, server)
    assert second.refresher is not None
    second.refresher.gap = 0.05  # how often a worker looks for another's list (60 s by default)
    await first["v3/ping"].get()
    await second["v3/ping"].get()
    fresh = emulator.rotate_certificate()  # answers are signed with a new certificate from now on
    await first["v3/ping"].get()  # meets the new serial: downloads the list once, and shares it
    assert downloads(emulator) == 2
    for _ in range(100):  # the second worker's background round takes it from Redis
        if fresh in second.certificates:
            break
        await asyncio.sleep(0.02)
    assert fresh in second.certificates
    assert second.certificates.request_serial() in (emulator.credentials.public_key_id, fresh)
    await second["v3/ping"].get()
    assert downloads(emulator) == 2


@pytest.mark.wechatpay_emulator(key_mode="certificate")  # workers download the certificates
async def test_a_forged_list_in_redis_is_refused_and_the_worker_downloads_its_own(
    emulator: Emulator, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    cache = RedisCertificateCache(server.url)
    genuine = shared_client(emulator, server)
    await genuine["v3/ping"].get()
    stored = await cache.latest(emulator.credentials.mchid)
    assert stored is not None
    forged = stored.body.replace(b'"ciphertext":"', b'"ciphertext":"AAAA', 1)
    await cache.store(emulator.credentials.mchid, SharedList(forged, stored.headers, stored.received_at + 1))
    victim = shared_client(emulator, server)
    assert (await victim["v3/ping"].get()).status == 200
    assert "refused the platform certificate list" in caplog.text
    assert downloads(emulator) == 2  # its own download, checked like any other
    assert set(victim.certificates.serials()) == set(genuine.certificates.serials())


@pytest.mark.wechatpay_emulator(key_mode="certificate")  # workers download the certificates
async def test_certificates_do_not_wait_for_redis(emulator: Emulator, server: RedisServer) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    server.stop()
    client = shared_client(emulator, server)
    assert (await client["v3/ping"].get()).status == 200
    assert downloads(emulator) == 1


def test_a_certificate_cache_needs_the_apiv3_key(emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="apiv3_key"):
        emulator.client(apiv3_key=None, certificate_cache=RedisCertificateCache("redis://127.0.0.1"))
