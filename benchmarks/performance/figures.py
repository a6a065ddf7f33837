"""What one run measured: per-round values of every contestant, kept raw (the report derives the figures)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .stats import Rounds


def _table() -> defaultdict[str, Rounds]:
    return defaultdict(Rounds)


def cell(method: str, concurrency: int) -> str:
    """The key of one method and concurrency in the tables below."""
    return f"{method} {concurrency}"


@dataclass
class Figures:
    """Everything one run measured, keyed by `cell(method, concurrency)` or by framework."""

    mode: str
    machine: dict[str, str]
    settings: dict[str, Any]
    cpu: defaultdict[str, Rounds] = field(default_factory=_table)  # client CPU µs per call, per SDK
    rate: defaultdict[str, Rounds] = field(default_factory=_table)  # calls per second, per SDK
    server: defaultdict[str, Rounds] = field(default_factory=_table)  # server CPU µs per call while serving each SDK
    notifications: Rounds = field(default_factory=Rounds)  # CPU µs per notification parsed
    webhook_rate: defaultdict[str, Rounds] = field(default_factory=_table)  # deliveries/s: bare handler, adapter
    webhook_cpu: defaultdict[str, Rounds] = field(default_factory=_table)  # server CPU µs per delivery
    memory: defaultdict[str, Rounds] = field(default_factory=_table)  # KiB per call in flight, per method
    memory_incumbent: dict[str, dict[str, Any]] = field(default_factory=dict)  # one run per method
    core_rate: defaultdict[str, Rounds] = field(default_factory=_table)  # calls/s per arrangement
    core_cpu: defaultdict[str, Rounds] = field(default_factory=_table)  # client CPU µs per call, workers included
    micro: Rounds = field(default_factory=Rounds)  # ns per operation of the chain
    costs: defaultdict[str, Rounds] = field(default_factory=_table)  # µs per call of each layer, per method
    notes: list[str] = field(default_factory=list)  # what could not be measured, and why
