"""Notifications in sync code: `respond()` for views and the WSGI app, served by a real WSGI server on 127.0.0.1."""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from background import emulator_thread, wsgi_server

from wechatpay_chain import ConfigurationError, MemorySeenIds, Notification
from wechatpay_chain.sync import Client, WebhookEndpoint, wsgi_app
from wechatpay_chain.testing import Credentials, EmulatorThread, Notice

RESOURCE = {"out_trade_no": "T1", "trade_state": "SUCCESS", "amount": {"total": 100}}


@pytest.fixture
def served(credentials: Credentials) -> Iterator[EmulatorThread]:
    with emulator_thread(credentials, notify_backoff=0.01) as served:
        yield served


@pytest.fixture
def wxpay(served: EmulatorThread) -> Iterator[Client]:
    emulator = served.emulator
    with Client(**emulator.client_settings()) as client:
        yield client


class Handler:
    """The business handler: records what it handled, and in which thread; fails the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.handled: list[str] = []
        self.threads: set[str] = set()
        self.failures = failures
        self._lock = threading.Lock()

    def __call__(self, notification: Notification) -> None:
        with self._lock:
            self.threads.add(threading.current_thread().name)
            if self.failures:
                self.failures -= 1
                raise RuntimeError("the database is down")
            self.handled.append(notification.id)


def post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body if method == "POST" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def too_big(base: str, length: int) -> int:
    """The status answered to a POST announcing `length` bytes (none of which are sent)."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        connection.putrequest("POST", "/")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def deliver(served: EmulatorThread, url: str, event_type: str = "TRANSACTION.SUCCESS") -> Any:
    """Have the emulated WeChat Pay deliver one notification to `url`, retrying as it does; the final attempt."""

    emulator = served.emulator

    async def send() -> Any:
        emulator.webhooks.send(Notice(url, event_type, "支付成功", "transaction", RESOURCE))
        return await emulator.wait_delivered(event_type, timeout=10)

    return served.run(send())


def test_the_wsgi_app_under_a_real_server_handles_each_notification_in_the_server_thread(
    wxpay: Client, served: EmulatorThread
) -> None:
    handler = Handler()
    with wsgi_server(wsgi_app(wxpay, handler)) as base:
        delivery = deliver(served, base + "/wxpay/notify")
    assert delivery.status == 204 and delivery.attempt == 1
    assert handler.handled == [delivery.notification_id]
    assert handler.threads and not any("wechatpay_chain" in name for name in handler.threads)


def test_a_failing_handler_is_answered_500_and_handled_on_the_next_delivery(
    wxpay: Client, served: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = served.emulator
    handler = Handler(failures=1)
    with wsgi_server(wsgi_app(wxpay, handler)) as base:
        delivery = deliver(served, base + "/notify")
    assert [d.status for d in emulator.deliveries] == [500, 204]
    assert handler.handled == [delivery.notification_id]
    assert "the database is down" in caplog.text


def test_forged_repeated_and_malformed_posts(wxpay: Client, served: EmulatorThread) -> None:
    emulator = served.emulator
    handler = Handler()
    headers, body = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    with wsgi_server(wsgi_app(wxpay, handler)) as base:
        forged = {**headers, "Wechatpay-Signature": headers["Wechatpay-Signature"][::-1]}
        assert post(base, body, forged)[0] == 401
        assert post(base, body, headers) == (204, b"")
        assert post(base, body, headers) == (204, b"")  # delivered again: acknowledged, not handled again
        status, answer = post(base, b"", {}, method="GET")
        assert status == 405 and b'"code":"FAIL"' in answer
        assert too_big(base, 2 << 20) == 413  # refused on its Content-Length, before reading the body
    assert len(handler.handled) == 1


def test_respond_from_sixteen_view_threads_at_once(wxpay: Client, served: EmulatorThread) -> None:
    emulator = served.emulator
    handler = Handler()
    endpoint = WebhookEndpoint(wxpay, handler)
    signed = [emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE) for _ in range(16)]
    answers: list[tuple[int, bytes]] = []
    start = threading.Barrier(16)

    def view(index: int) -> None:
        start.wait()
        headers, body = signed[index]
        answers.append(endpoint.respond(headers, body))
        answers.append(endpoint.respond(headers, body))  # each delivered twice

    threads = [threading.Thread(target=view, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [(204, b"")] * 32
    assert sorted(handler.handled) == sorted(orjson.loads(body)["id"] for _, body in signed)


def test_two_endpoints_share_one_replay_store(wxpay: Client, served: EmulatorThread) -> None:
    emulator = served.emulator
    store = MemorySeenIds()
    first, second = Handler(), Handler()
    headers, body = emulator.credentials.notification("TRANSACTION.SUCCESS", RESOURCE)
    assert WebhookEndpoint(wxpay, first, seen_ids=store).respond(headers, body)[0] == 204
    assert WebhookEndpoint(wxpay, second, seen_ids=store).respond(headers, body)[0] == 204
    assert len(first.handled) == 1 and second.handled == []


def test_an_async_handler_is_refused_with_the_way_out(wxpay: Client) -> None:
    async def on_event(notification: Notification) -> None:
        pass

    with pytest.raises(ConfigurationError, match="use the async"):
        WebhookEndpoint(wxpay, on_event)
