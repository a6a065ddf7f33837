"""Misbehaviour injected into API answers: `emu.fault(kind, template, times=..., **params)`.

The faults are listed and used up here; the server applies them where each one acts (before
authentication, on the signature, on the bytes sent, on the connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._controls import Control
from ._routing import Template
from ._validation import integer, obj, text

EVERY_PATH = "{path}"
FAULT_KINDS = frozenset(
    {
        "delay",
        "status",
        "drop",
        "bad_signature",
        "skew",
        "truncate",
        "tamper_body",
        "unknown_serial",
        "missing_header",
    }
)


@dataclass(slots=True)
class Fault:
    """A misbehaviour injected for the requests whose path matches `template`."""

    kind: str  # one of FAULT_KINDS
    template: str  # as given; EVERY_PATH matches every path
    params: dict[str, Any]
    times: int | None  # how many requests it hits; None = until cleared
    _paths: Template | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._paths = None if self.template == EVERY_PATH else Template(self.template)

    def matches(self, segments: tuple[str, ...]) -> bool:
        """Whether the fault applies to a request for this path."""
        return self._paths is None or self._paths.match(segments) is not None

    def as_json(self) -> dict[str, Any]:
        """The fault as JSON-ready data (for the HTTP controls)."""
        return {"kind": self.kind, "path": self.template, "times": self.times, "params": self.params}


class Faults:
    """The faults injected and not yet used up or cleared."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def add(self, kind: str, template: str = EVERY_PATH, *, times: int | None = None, **params: Any) -> None:
        """Inject a fault for the paths matching `template` (a URI template; default: every path)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        self._faults.append(Fault(kind, template, params, times))

    def clear(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def take(self, segments: tuple[str, ...]) -> dict[str, Fault]:
        """The faults for one request, by kind (of one kind, the last added wins); uses up counted ones."""
        active: dict[str, Fault] = {}
        for fault in self._faults:
            if fault.matches(segments):
                active[fault.kind] = fault
                if fault.times is not None:
                    fault.times -= 1
        self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        return active

    def as_json(self) -> dict[str, Any]:
        """`{data: [fault, ...]}`."""
        return {"data": [fault.as_json() for fault in self._faults]}

    def controls(self) -> tuple[Control, ...]:
        """`GET`, `POST` and `DELETE faults`."""
        fault = (text("kind", req=True), text("path"), integer("times", minimum=1), obj("params"))
        return (
            Control("GET", "faults", self.as_json, doc="the active faults"),
            Control("POST", "faults", self._add, fault, rest="params", doc="inject a fault; params flat or nested"),
            Control("DELETE", "faults", self._clear, doc="remove every fault"),
        )

    def _add(
        self, kind: str, params: dict[str, Any], path: str = EVERY_PATH, times: int | None = None
    ) -> dict[str, Any]:
        self.add(kind, path, times=times, **params)
        return self.as_json()

    def _clear(self) -> dict[str, Any]:
        self.clear()
        return self.as_json()
