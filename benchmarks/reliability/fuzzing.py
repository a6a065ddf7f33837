"""What every fuzz target shares: hypothesis' settings, the figure a target reports, and how a target runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}


@dataclass
class FuzzFigure:
    """Examples one fuzz target ran, and the first invariant it found broken."""

    target: str
    examples: int = 0
    failure: str = ""  # the first invariant broken, with hypothesis' smallest example


def run_target(name: str, examples: int, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> FuzzFigure:
    """Run `check` on `examples` values drawn from `strategy`; an invariant it breaks raises (hypothesis shrinks it)."""
    figure = FuzzFigure(name)

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(strategy)
    def run(value: Any) -> None:
        figure.examples += 1
        check(value)

    run()
    return figure
