"""The product families the emulator serves, one module (or folder) each.

A family is a class holding its records, with `routes()` (the endpoints it answers, as
`Route`s) and `controls()` (what tests may do to it over HTTP, as `Control`s). It is built from
what it needs (a clock, a notify function, key material) and imports nothing of the emulator,
which composes the families.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .._controls import Control
from .._routing import Route


class Family(Protocol):
    """What the emulator needs of a product family."""

    def routes(self) -> Iterable[Route]:
        """The endpoints the family answers."""
        ...

    def controls(self) -> Iterable[Control]:
        """The family's HTTP controls under `/_emulator/`."""
        ...
