"""What every measurement shares: the contestants, the concurrencies, the targets, the sizes of a run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: child processes run `python -m benchmarks...` here

CONCURRENCY = (1, 16, 64)
METHODS = ("GET", "POST")

FLOOR = "floor"
OURS = "wechatpay_chain"
SESSION = "wechatpayv3 Session"  # its sync client given a requests.Session: its fair best
DEFAULT = "wechatpayv3 default"  # its sync client as shipped: a new connection per call
ASYNC = "wechatpayv3 async"  # its AsyncWeChatPay (httpx)
SDKS = (FLOOR, OURS, SESSION, DEFAULT, ASYNC)
INCUMBENTS = (SESSION, DEFAULT, ASYNC)

# Beyond one core: the arrangements compared at the same total number of calls in flight.
ONE = "one process"
TWO = "two processes"
ARRANGEMENTS = (ONE, TWO)

WEBHOOK_CONCURRENCY = 64
FRAMEWORKS = ("aiohttp", "ASGI")


@dataclass(frozen=True)
class Target:
    """A bound on a paired ratio: `ratio <= limit` (at_most) or `ratio >= limit`."""

    limit: float
    at_most: bool = True

    def met(self, ratio: float) -> bool:
        """Whether `ratio` keeps to the bound."""
        return ratio <= self.limit if self.at_most else ratio >= self.limit

    def __str__(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.limit:.2f}"


CLIENT_CPU = Target(1.05)
NOTIFICATION = Target(1.15)
WEBHOOK = Target(0.95, at_most=False)
MEMORY = Target(1.00)


@dataclass(frozen=True)
class Settings:
    """How much to measure. Every figure is a median over `rounds`-style paired rounds."""

    rounds: int  # paired rounds of client calls (every SDK, method and concurrency per round)
    calls: int  # calls per SDK, method and concurrency in one round
    notification_rounds: int
    notifications: int  # notifications parsed per contestant and round
    webhook_rounds: int
    deliveries: int  # webhook deliveries per handler and round
    memory_rounds: int
    in_flight: int  # calls started at once in the memory test
    deadline: float  # seconds a memory test may take before it is called off
    core_rounds: int
    core_calls: int  # calls per arrangement, concurrency and round, all processes together
    micro_rounds: int
    micro: int  # operations per round of a chain-cost figure
    cost_rounds: int
    cost_calls: int  # calls per layer and round in the breakdown of the client's CPU


MODES = {
    # The test suite's size: every part runs, the figures mean nothing.
    "tiny": Settings(
        rounds=1, calls=8, notification_rounds=1, notifications=20, webhook_rounds=1, deliveries=16,
        memory_rounds=1, in_flight=40, deadline=10, core_rounds=1, core_calls=16, micro_rounds=1, micro=2_000,
        cost_rounds=1, cost_calls=20,
    ),
    # CI: the same tables in well under a minute on 2 cores.
    "quick": Settings(
        rounds=2, calls=64, notification_rounds=3, notifications=200, webhook_rounds=2, deliveries=256,
        memory_rounds=1, in_flight=300, deadline=10, core_rounds=1, core_calls=64, micro_rounds=3, micro=20_000,
        cost_rounds=3, cost_calls=200,
    ),
    # The figures of docs/performance.md.
    "full": Settings(
        rounds=15, calls=300, notification_rounds=20, notifications=2_000, webhook_rounds=12, deliveries=2_048,
        memory_rounds=3, in_flight=10_000, deadline=60, core_rounds=6, core_calls=600, micro_rounds=9, micro=200_000,
        cost_rounds=20, cost_calls=2_000,
    ),
}  # fmt: skip
