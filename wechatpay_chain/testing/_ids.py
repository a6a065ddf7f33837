"""Ids the emulated WeChat Pay hands out: numbers in one sequence, so no two resources share one."""

from __future__ import annotations


class Ids:
    """A counter shared by the families of one emulator; `next(base)` is `base` plus the next number."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, base: int = 0) -> str:
        """The next id, as digits: `base + n` for the n-th id handed out."""
        self._last += 1
        return str(base + self._last)
