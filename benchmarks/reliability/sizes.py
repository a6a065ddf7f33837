"""How large a run is: calls and concurrency of the soak, examples per fuzz target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Calls and concurrency of the soak, and examples per fuzz target."""

    calls: int
    concurrency: int
    examples: int


SIZES = {
    "tiny": Sizes(calls=300, concurrency=50, examples=100),
    "quick": Sizes(calls=1_000, concurrency=50, examples=300),
    "full": Sizes(calls=10_000, concurrency=200, examples=10_000),
}
