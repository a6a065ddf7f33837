"""Threads for tests of sync code and of code with its own loops: an event loop, the emulator, a WSGI server."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from wechatpay_chain.testing import Credentials, EmulatorThread

T = TypeVar("T")


class Background:
    """An event loop in a daemon thread; `run(coroutine)` waits for a coroutine run there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[[], T]) -> T:
        """Run a plain function in the loop's thread (emulator controls are not thread-safe)."""

        async def call() -> T:
            return function()

        return self.run(call())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextmanager
def emulator_thread(credentials: Credentials, **options: Any) -> Iterator[EmulatorThread]:
    """A started emulator serving from its own thread, with a copy of the session's keys (a test may rotate them)."""
    keys = dataclasses.replace(credentials, platform=list(credentials.platform))
    with EmulatorThread(credentials=keys, **options) as served:
        yield served


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 64  # the listen backlog: requests arriving together are all accepted


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the access log out of the test output."""


@contextmanager
def wsgi_server(app: Any) -> Iterator[str]:
    """A real threaded WSGI server (wsgiref) on 127.0.0.1 serving `app`; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
