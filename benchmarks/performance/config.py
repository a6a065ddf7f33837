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
POOL = "one process, ProcessPoolSigner(workers=2)"
TWO = "two processes"
ARRANGEMENTS = (ONE, POOL, TWO)
POOL_WORKERS = 2

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


MODES = {
    # The test suite's size: every part runs, the figures mean nothing.
    "tiny": Settings(1, 8, 1, 20, 1, 16, 1, 40, 10, 1, 16, 1, 2_000),
    # CI: the same tables in well under a minute on 2 cores.
    "quick": Settings(2, 64, 3, 200, 2, 256, 1, 300, 10, 1, 64, 3, 20_000),
    # The figures of docs/performance.md.
    "full": Settings(15, 300, 20, 2_000, 12, 2_048, 3, 10_000, 60, 6, 600, 9, 200_000),
}
