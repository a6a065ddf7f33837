"""An emulator serving from an event loop in its own thread: for tests of sync code, or of code with its own loops."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from wechatpay_chain.testing import Credentials, Emulator

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
def emulator_thread(credentials: Credentials, **options: Any) -> Iterator[tuple[Emulator, Background]]:
    """A started emulator serving from its own thread, with a copy of the session's keys."""
    background = Background()
    keys = dataclasses.replace(credentials, platform=list(credentials.platform))

    async def start() -> Emulator:
        return await Emulator(credentials=keys, **options).start()

    emulator = background.run(start())
    try:
        yield emulator, background
    finally:
        background.run(emulator.close())
        background.stop()


def client_settings(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments of a client of `emulator` (what `emulator.client()` uses), for clients it must not own."""
    creds = emulator.credentials
    settings: dict[str, Any] = {
        "mchid": creds.mchid,
        "serial": creds.serial,
        "private_key": creds.merchant_key,
        "certs": emulator.certs(),
        "apiv3_key": creds.apiv3_key,
        "base_url": emulator.base_url,
    }
    settings.update(overrides)
    return settings
