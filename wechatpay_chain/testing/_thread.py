"""The emulator for sync code (Flask, Django, scripts): serving from an event loop in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..sync import Client as SyncClient
from ._emulator import Emulator

T = TypeVar("T")

_TIMEOUT = 60.0  # seconds a start, a stop or a control may take before the caller gives up


class EmulatorThread:
    """A started `Emulator` serving from a background thread: `with EmulatorThread() as emu: …`.

    For tests of Flask or Django views and for sync scripts, where no event loop runs the emulator.
    The emulator's methods are not thread-safe: run them in its thread with
    `emu.call(emu.emulator.insurance.user_sign, "C1")`, and its coroutines with
    `emu.run(emu.emulator.wait_delivered("…"))`. `emu.client()` is a `wechatpay_chain.sync.Client`
    bound to it (closed with it). Keyword arguments are the `Emulator`'s.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._emulator: Emulator | None = None
        self._clients: list[SyncClient] = []

    @property
    def emulator(self) -> Emulator:
        """The emulator (call its methods through `call` and `run`)."""
        if self._emulator is None:
            raise RuntimeError("the EmulatorThread is not started: use it as `with EmulatorThread() as emu:`")
        return self._emulator

    @property
    def base_url(self) -> str:
        """The URL clients use in place of `https://api.mch.weixin.qq.com/`."""
        return self.emulator.base_url

    def start(self) -> EmulatorThread:
        """Start the thread and the emulator in it."""
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="wechatpay_chain emulator", daemon=True)
        self._thread.start()
        self._emulator = self.run(Emulator(**self._options).start())
        return self

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine in the emulator's loop and wait for its result."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the EmulatorThread is not started")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_TIMEOUT)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `function(*args, **kwargs)` in the emulator's thread (its controls: rotate, user_sign, stub …)."""

        async def call() -> T:
            return function(*args, **kwargs)

        return self.run(call())

    def client(self, **overrides: Any) -> SyncClient:
        """A sync `Client` pointed at the emulator; keyword arguments override its settings."""
        client = SyncClient(**self.emulator.client_settings(**overrides))
        self._clients.append(client)
        return client

    def close(self) -> None:
        """Close the clients made by `client()`, stop the emulator and the thread."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self._emulator is not None:
            self.run(self._emulator.close())
            self._emulator = None
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(_TIMEOUT)
            self._loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
