"""The event loop behind the sync API: one per process, in a daemon thread, started on first use.

Blocking callers hand it coroutines and wait for their results; the async client and everything
it holds (sessions, the certificate refresher, a remote signer's connections) live in that loop
only, so many threads can call at once without sharing anything but the loop's queue. A coroutine can hand a
function back to the thread that is waiting for it (`Caller.run`): notification handlers run
in the web framework's thread, where its database connections and thread-locals are.

The loop is shut down at interpreter exit (tasks cancelled, asynchronous generators closed,
which closes the clients' sessions). A forked child gets a new loop on first use; the parent's
is left alone (see `_session`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Callable, Coroutine
from queue import SimpleQueue
from typing import Any, TypeVar

from .._errors import EventLoopError, WechatpayError

T = TypeVar("T")
Job = Callable[[], None]

_STOP_TIMEOUT = 10.0  # seconds the loop has at exit to cancel its tasks and close its sessions


class _Refused(WechatpayError):
    """A call refused before it was handed to the loop."""


class _OwnThread(_Refused, EventLoopError):
    """A blocking call from the loop's own thread, which would wait for itself forever."""


class _ShutDown(_Refused):
    """A call after the loop was shut down."""


class Caller:
    """The thread waiting for a coroutine: `await caller.run(fn, arg)` runs `fn(arg)` there."""

    __slots__ = ("_inbox", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, inbox: SimpleQueue[Job | None]) -> None:
        self._loop = loop
        self._inbox = inbox

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run `function(*args)` in the waiting thread; returns its result or raises its exception."""
        done: asyncio.Future[T] = self._loop.create_future()

        def job() -> None:
            try:
                result = function(*args)
            except Exception as exc:
                self._loop.call_soon_threadsafe(_settle, done, None, exc)
            else:
                self._loop.call_soon_threadsafe(_settle, done, result, None)

        self._inbox.put(job)
        return await done


def _settle(future: asyncio.Future[T], result: T | None, error: Exception | None) -> None:
    if future.done():  # the coroutine waiting for it was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


class Portal:
    """An event loop running in a daemon thread, for blocking callers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="wechatpay_chain event loop", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` in the loop and block until it is done; returns its result or raises its error."""

        async def run(_: Caller) -> T:
            return await coroutine

        try:
            return self.call_with(run)
        except _Refused:
            coroutine.close()  # refused before it was handed to the loop: it must not be left never awaited
            raise

    def call_with(self, make: Callable[[Caller], Coroutine[Any, Any, T]]) -> T:
        """Run `make(caller)` in the loop, running in this thread the functions it hands back; block until done."""
        if threading.current_thread() is self._thread:
            raise _OwnThread(
                "a blocking wechatpay_chain.sync call was made from the sync API's own event loop "
                "(in a middleware, a signer or a callback): there, await the async Client instead"
            )
        inbox: SimpleQueue[Job | None] = SimpleQueue()
        coroutine = make(Caller(self.loop, inbox))
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        except RuntimeError:  # the loop was shut down: the interpreter is exiting
            coroutine.close()
            raise _ShutDown("the sync API's event loop has shut down (the interpreter is exiting)") from None
        future.add_done_callback(lambda _: inbox.put(None))
        try:
            while (job := inbox.get()) is not None:
                job()
        except BaseException:  # KeyboardInterrupt, SystemExit: stop the call too
            future.cancel()
            raise
        return future.result()

    def stop(self) -> None:
        """Cancel what runs, close asynchronous generators (the clients' sessions), stop the thread."""
        if self.loop.is_closed():
            return
        # At exit, a failure to wind down must not hide the program's own error.
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_wind_down(), self.loop).result(_STOP_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(_STOP_TIMEOUT)
        if not self._thread.is_alive():
            self.loop.close()


async def _wind_down() -> None:
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks(loop) if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await loop.shutdown_asyncgens()


_lock = threading.Lock()
_portal: Portal | None = None
_pid = 0
# A forked child keeps its parent's portal referenced, never finalised: its loop is the parent's
# (same epoll instance, same self-pipe), and only the parent may stop it.
_inherited: list[Portal] = []


def portal() -> Portal:
    """This process's portal, started on first use (and again in a forked child)."""
    global _portal, _pid
    current = _portal
    if current is not None and _pid == os.getpid():
        return current
    with _lock:
        if _portal is None or _pid != os.getpid():
            if _portal is not None:
                _inherited.append(_portal)
            _portal, _pid = Portal(), os.getpid()
        return _portal


def _stop_at_exit() -> None:
    if _portal is not None and _pid == os.getpid():
        _portal.stop()


atexit.register(_stop_at_exit)
