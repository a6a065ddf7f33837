"""How large a run is: calls and concurrency of the soak, examples per fuzz target, the overload run."""

from __future__ import annotations

from dataclasses import dataclass

from wechatpay_chain import Timeout


@dataclass(frozen=True)
class Sizes:
    """Calls and concurrency of the soak, examples per fuzz target, and the calls and timeout of the overload run."""

    calls: int
    concurrency: int
    examples: int
    overload: int
    overload_timeout: Timeout


SIZES = {
    "tiny": Sizes(calls=300, concurrency=50, examples=100, overload=1_000, overload_timeout=Timeout(pool=0.5)),
    "quick": Sizes(calls=1_000, concurrency=50, examples=300, overload=3_000, overload_timeout=Timeout(pool=1.0)),
    # The run: 50,000 calls at once with the default timeout (30 s, 30 s for a connection).
    "full": Sizes(calls=10_000, concurrency=200, examples=10_000, overload=50_000, overload_timeout=Timeout()),
}
