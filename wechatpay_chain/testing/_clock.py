"""The emulator's two clocks: wire time signs and checks the protocol, business time drives the states."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._controls import Control
from ._validation import number


class Clock:
    """Wire time is the given wall clock; business time adds `offset`, which `advance` moves.

    Keeping signatures on the wall clock lets any client, on its own clock, keep working after
    `advance`; the state machines (session expiry, period windows, times in resources) follow
    business time.
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.wall = wall
        self._offset = 0.0
        self._listeners: list[Callable[[], object]] = []

    @property
    def offset(self) -> float:
        """Seconds business time is ahead of the wall clock; setting it tells the listeners."""
        return self._offset

    @offset.setter
    def offset(self, seconds: float) -> None:
        self._offset = float(seconds)
        for listener in self._listeners:
            listener()

    def on_change(self, listener: Callable[[], object]) -> None:
        """Call `listener()` whenever business time jumps (`advance`, a new offset), for timers on it."""
        self._listeners.append(listener)

    def now(self) -> float:
        """Business time: the wall clock plus `offset`."""
        return self.wall() + self._offset

    def advance(self, seconds: float) -> float:
        """Move business time forward (or back, if negative); returns the new `now()`."""
        self.offset += float(seconds)
        return self.now()

    def as_json(self) -> dict[str, Any]:
        """`{now, clock_offset}`."""
        return {"now": self.now(), "clock_offset": self.offset}

    def set(
        self, *, advance: float | None = None, offset: float | None = None, now: float | None = None
    ) -> dict[str, Any]:
        """Move business time by `advance`, to `offset`, or to the Unix time `now`: exactly one of them."""
        given = [value for value in (advance, offset, now) if value is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of advance, offset or now (seconds)")
        if advance is not None:
            self.advance(advance)
        elif offset is not None:
            self.offset = float(offset)
        elif now is not None:
            self.advance(now - self.now())
        return self.as_json()

    def controls(self) -> tuple[Control, ...]:
        """`GET clock` and `POST clock`."""
        seconds = (number("advance"), number("offset"), number("now"))
        return (
            Control("GET", "clock", self.as_json, doc="business time and its offset from the wall clock"),
            Control("POST", "clock", self.set, seconds, doc="advance, set the offset, or jump to a Unix time"),
        )
