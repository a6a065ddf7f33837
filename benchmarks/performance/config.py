"""What every measurement shares: the SDKs compared, the concurrencies, the sizes of a run, the call made."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONCURRENCY = (1, 16, 64)
POOL = "wechatpay_chain pool"  # signing in worker processes: Client(..., signer=ProcessPoolSigner(key, workers=n))
SDKS = ("floor", "wechatpay_chain", POOL, "wechatpayv3 threads", "wechatpayv3 async")
ROOT = Path(__file__).resolve().parents[2]  # the checkout: child processes run `python -m benchmarks...` here


@dataclass(frozen=True)
class Settings:
    """How much to measure: calls per sample, samples per figure, size of the memory test."""

    calls: int
    repeats: int
    in_flight: int
    micro: int
    deadline: float  # seconds the memory test may take per SDK before it is called off


MODES = {
    "quick": Settings(calls=150, repeats=1, in_flight=1_000, micro=100_000, deadline=10),
    "default": Settings(calls=500, repeats=3, in_flight=10_000, micro=300_000, deadline=20),
    "full": Settings(calls=2_000, repeats=5, in_flight=10_000, micro=1_000_000, deadline=60),
}


def order_no(i: int) -> str:
    """The out_trade_no of call `i` (each call asks for another order)."""
    return f"BENCH{i:012d}"
