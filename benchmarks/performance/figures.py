"""What one run measured, and the figures derived from its samples."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .sampling import Sample


@dataclass
class Figures:
    """Everything one run measured."""

    mode: str
    machine: dict[str, str]
    samples: dict[str, dict[int, list[Sample]]] = field(default_factory=dict)
    micro: dict[str, float] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)

    # Best of the repeats: a busy machine only ever adds time, so the best sample is the closest
    # to what the code costs, and it is taken the same way for every SDK.

    def cpu_us(self, sdk: str, c: int) -> float:
        """Least client CPU per call over the repeats (this process and its workers), µs."""
        return min((s.cpu + s.children_cpu) / s.calls for s in self.samples[sdk][c]) * 1e6

    def children_us(self, sdk: str, c: int) -> float:
        """The worker processes' share of the sample `cpu_us` picks, µs per call."""
        best = min(self.samples[sdk][c], key=lambda s: (s.cpu + s.children_cpu) / s.calls)
        return best.children_cpu / best.calls * 1e6

    def rate(self, sdk: str, c: int) -> float:
        """Most calls per second over the repeats."""
        return max(s.calls / s.wall for s in self.samples[sdk][c])

    def server_us(self, sdk: str, c: int) -> float:
        """Median server CPU per call while serving `sdk`, µs (/proc counts in 10 ms ticks: a rough figure)."""
        return statistics.median(s.server_cpu / s.calls for s in self.samples[sdk][c]) * 1e6
