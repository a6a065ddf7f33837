"""The client's aiohttp session, and the event loop it belongs to.

An aiohttp session and its connections belong to the event loop that made them. A client is bound
to the first loop it runs a call in and stays there while that loop is open; once that loop is
closed (the end of an `asyncio.run()`, of a pytest-asyncio test) the next call moves the client
to the running loop: the session made in the old loop is closed and a new one is made in the new
loop, while keys and downloaded certificates carry over. A call from a second loop while the
first is still open fails at once with `EventLoopError`, before anything is signed or sent.

The session a client makes is closed at the end of its loop's life, even if `close()` is never
called: an asynchronous generator started in the loop is closed by the loop's shutdown
(`loop.shutdown_asyncgens()`, which `asyncio.run` and `asyncio.Runner` call), and closes it.
"""

from __future__ import annotations

import asyncio
import enum
import os
from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp

from ._errors import ConfigurationError, EventLoopError, WechatpayError

# What a forked child inherits from its parent's event loop is never finalised in the child:
# closing those connections would unregister them from the epoll instance the child shares with
# its parent. They are kept here instead (a few objects per fork, and only after a call was made
# before forking).
_INHERITED: list[object] = []

ELSEWHERE = (
    "a Client's connections belong to one event loop at a time; it moves to a new loop once the "
    "old one is closed (as with successive asyncio.run() calls). Create one Client per event loop "
    "(loading the same key again costs nothing: keys are cached by content), hand calls to the "
    "client's own loop with asyncio.run_coroutine_threadsafe(), or from threads use "
    "wechatpay_chain.sync.Client"
)


# os.getpid() is a system call; every call asks whether the process is still the one the client
# was bound in, so the answer is kept here and renewed in a forked child.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forked)


class Move(enum.Enum):
    """How the running loop relates to the one the client was bound to."""

    SAME = "same"
    FIRST = "first"  # no loop yet
    CLOSED = "closed"  # the old loop is closed: its session can be closed from here
    FORKED = "forked"  # the old loop is the parent process's: leave it untouched


class LoopBinding:
    """The event loop a client runs in: the first that uses it, until that loop is closed."""

    __slots__ = ("_loop", "_pid")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop bound to, if any."""
        return self._loop

    def elsewhere(self) -> bool:
        """Whether the bound loop is another one, still open, of this process."""
        loop = self._loop
        return (
            loop is not None and self._pid == _pid and not loop.is_closed() and loop is not asyncio.get_running_loop()
        )

    def here(self) -> bool:
        """Whether the client is bound to the running loop, in this process (every call but a loop's first)."""
        return self._loop is asyncio.get_running_loop() and self._pid == _pid

    def enter(self) -> Move:
        """Bind to the running loop if the bound one is gone; EventLoopError if it is still open."""
        loop = asyncio.get_running_loop()
        pid = _pid
        if loop is self._loop and pid == self._pid:
            return Move.SAME
        old = self._loop
        if old is None:
            move = Move.FIRST
        elif pid != self._pid:
            move = Move.FORKED
        elif old.is_closed():
            move = Move.CLOSED
        else:
            raise EventLoopError(f"this Client is in use by another event loop, which is still open: {ELSEWHERE}")
        self._loop, self._pid = loop, pid
        return move


SessionFactory = Callable[[], aiohttp.ClientSession]
"""Makes the client's session (called in the event loop it will serve)."""


class Sessions:
    """The session a client sends through: the one given (yours), or one it makes per event loop (its own)."""

    def __init__(self, session: aiohttp.ClientSession | SessionFactory | None) -> None:
        self.given: aiohttp.ClientSession | None = None
        self._factory: SessionFactory = aiohttp.ClientSession
        if isinstance(session, aiohttp.ClientSession):
            self.given = session
        elif callable(session):
            self._factory = session
        elif session is not None:
            raise ConfigurationError(
                f"session must be an aiohttp.ClientSession or a function that makes one, got {type(session).__name__}"
            )
        self.binding = LoopBinding()
        self._made: aiohttp.ClientSession | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self.closed = False

    def get(self) -> aiohttp.ClientSession:
        """The session of the running call (made on first need)."""
        if self.closed:
            raise WechatpayError("this Client is closed")
        if self.given is not None:
            return self.given
        if self._made is None:
            made = self._factory()
            if not isinstance(made, aiohttp.ClientSession):
                raise ConfigurationError(
                    f"the session= function returned a {type(made).__name__}, not an aiohttp.ClientSession"
                )
            self._made = made
        return self._made

    def here(self) -> bool:
        """Whether the running loop is the one the client's session belongs to (`enter` has nothing to do)."""
        return self.binding.here()

    async def enter(self) -> None:
        """Called before a call unless `here()`: bind to the running loop, moving off a closed one."""
        move = self.binding.enter()
        if move is Move.SAME:
            return
        if self.given is not None and move is not Move.FIRST:
            raise EventLoopError(
                "this Client was given session=, an aiohttp session of an event loop that is now closed; "
                "give it a session made in the running loop, or none (then the client makes its own in "
                "each loop it runs in)"
            )
        if move is Move.FORKED:
            _INHERITED.extend(item for item in (self._made, self._guard) if item is not None)
        elif self._made is not None:
            await self._made.close()  # its loop is closed: this only marks it closed
        self._made = None
        self._guard = None
        if self.given is None:
            await self._close_at_loop_end()

    async def _close_at_loop_end(self) -> None:
        self._guard = await close_at_loop_end(self.close_made)

    async def close_made(self) -> None:
        """Close the session the client made (never one given)."""
        made, self._made = self._made, None
        if made is not None:
            await made.close()

    async def close(self) -> None:
        """Close the client's own session; the client refuses calls from now on."""
        if self.binding.elsewhere():
            raise EventLoopError(f"close() this Client in the event loop it runs in: {ELSEWHERE}")
        self.closed = True
        guard, self._guard = self._guard, None
        if self.binding.enter() is Move.FORKED:
            _INHERITED.extend(item for item in (self._made, guard) if item is not None)
            self._made = guard = None
        await self.close_made()
        if guard is not None:
            await guard.aclose()


async def close_at_loop_end(close: Callable[[], Awaitable[object]]) -> AsyncGenerator[None, None]:
    """Have the running loop's shutdown await `close()`; keep the returned generator referenced until then.

    The generator is suspended in its first iteration, so the running loop tracks it; the loop's
    `shutdown_asyncgens()` (or an `aclose()` of its holder) resumes it into its `finally`.
    """
    guard = _closing(close)
    await guard.asend(None)
    return guard


async def _closing(close: Callable[[], Awaitable[object]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await close()
