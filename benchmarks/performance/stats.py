"""Paired rounds and their spread: the median of per-round figures with the 10th-90th percentile range."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` quantile of `values`, interpolated between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Spread:
    """The median of some per-round values and their 10th and 90th percentiles."""

    median: float
    p10: float
    p90: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of `values` (one per round)."""
        return cls(statistics.median(values), percentile(values, 0.1), percentile(values, 0.9), len(values))

    def range(self, digits: int = 2) -> str:
        """`p10–p90` as text."""
        return f"{self.p10:,.{digits}f}–{self.p90:,.{digits}f}"


@dataclass
class Rounds:
    """One value per round for each contestant, all measured in the same rounds (so they pair up)."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        """Record `name`'s value for the current round."""
        self.values.setdefault(name, []).append(value)

    def spread(self, name: str) -> Spread:
        """The spread of `name`'s values over the rounds."""
        return Spread.of(self.values[name])

    def median(self, name: str) -> float:
        """The median of `name`'s values over the rounds."""
        return statistics.median(self.values[name])

    def difference(self, name: str, *others: str) -> list[float]:
        """The per-round values of `name` less those of `others` (paired: all from the same round)."""
        return [a - sum(rest) for a, *rest in zip(self.values[name], *(self.values[o] for o in others), strict=True)]

    def ratio(self, name: str, other: str) -> Spread:
        """The spread of the per-round ratios `name / other` (paired: both from the same round)."""
        pairs = zip(self.values[name], self.values[other], strict=True)
        return Spread.of([a / b for a, b in pairs])
