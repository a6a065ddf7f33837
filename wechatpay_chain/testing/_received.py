"""The log of API requests the emulator received, before any check: `emu.received`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

from ._controls import Control


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the emulator received it, before any check."""

    method: str
    target: str
    headers: CIMultiDictProxy[str]
    body: bytes

    def as_json(self) -> dict[str, Any]:
        """The request as JSON-ready data (the body as text)."""
        return {
            "method": self.method,
            "target": self.target,
            "headers": {str(name): value for name, value in self.headers.items()},
            "body": self.body.decode("utf-8", "replace"),
        }


def log_controls(log: deque[Received]) -> tuple[Control, ...]:
    """`GET` and `DELETE requests`: list and clear the log."""

    def listed() -> dict[str, Any]:
        data = [r.as_json() for r in log]
        return {"data": data, "total_count": len(data)}

    def cleared() -> dict[str, Any]:
        log.clear()
        return listed()

    return (
        Control("GET", "requests", listed, doc="the API requests received, oldest first"),
        Control("DELETE", "requests", cleared, doc="forget the requests received"),
    )
