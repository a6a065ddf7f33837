"""The reliability suite with figures: soak, faults, tampering, fuzzing and overload against the emulator.

    python -m benchmarks.reliability --quick   # CI: 1,000 calls at concurrency 50, 300 examples per fuzz
                                               # target, 3,000 calls at once with a 1 s pool wait
    python -m benchmarks.reliability --full    # 10,000 calls at concurrency 200, 10,000 examples per
                                               # target, 50,000 calls at once with the default timeout

Run from the repository root. Prints one table per part and exits 1 when any figure that must be zero is not.
The tests in tests/test_reliability.py run the same functions at small sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from wechatpay_chain.testing import Credentials

from .faults import FaultResult, faults
from .fuzz import run_fuzz
from .overload import OverloadFigures, overload
from .sizes import SIZES, Sizes
from .soak import SoakFigures, soak
from .tampering import TamperFigures, tampering


def _table(title: str, rows: list[tuple[str, object]]) -> None:
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


async def _async_parts(
    sizes: Sizes, credentials: Credentials
) -> tuple[SoakFigures, list[FaultResult], TamperFigures, OverloadFigures]:
    return (
        await soak(sizes.calls, sizes.concurrency, credentials),
        await faults(credentials),
        await tampering(credentials),
        await overload(sizes.overload, sizes.overload_timeout, credentials),
    )


def main(argv: list[str] | None = None) -> int:
    """Run every part at the size asked; print the tables; exit status 1 if any figure that must be zero is not."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick", help="CI size (default)")
    size.add_argument("--full", dest="size", action="store_const", const="full", help="the issue's full size")
    args = parser.parse_args(argv)
    sizes = SIZES[args.size or "quick"]
    credentials = Credentials.generate()
    started = time.perf_counter()
    soaked, faulted, tampered, overloaded = asyncio.run(_async_parts(sizes, credentials))
    fuzzed = run_fuzz(sizes.examples, credentials)

    _table(f"soak ({args.size or 'quick'})", soaked.rows())
    for key, count in soaked.errors.most_common(5):
        print(f"    {count} x {key}")
    _table(
        "faults (per-attempt timeout 1 s; bound: timeout + 1 s)",
        [
            (r.case.name, f"{'ok  ' if r.ok else 'FAIL'} {r.got} after {r.attempts} attempt(s) in {r.seconds:.2f} s")
            for r in faulted
        ],
    )
    _table("tampering (22 insurance endpoints: stubbed, then their stateful handlers)", tampered.rows())
    for label in tampered.accepted_unverified[:10]:
        print(f"    ACCEPTED: {label}")
    _table(
        f"fuzzing ({sizes.examples} examples per target asked)",
        [(f.target, f"{f.examples} examples, {'FAILED: ' + f.failure if f.failure else '0 escapes'}") for f in fuzzed],
    )
    _table("overload (every call started at once; 100 pooled connections)", overloaded.rows())
    for key, count in overloaded.other.most_common(5):
        print(f"    {count} x {key}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    broken = (
        soaked.error_count
        + soaked.in_use_after
        + soaked.leaked_fds
        + soaked.leaked_tasks
        + sum(not r.ok for r in faulted)
        + len(tampered.accepted_unverified)
        + (tampered.controls_accepted != tampered.endpoints)
        + (tampered.stateful_controls_accepted != tampered.stateful_endpoints)
        + sum(bool(f.failure) for f in fuzzed)
        + overloaded.failed_after_sending
        + sum(overloaded.other.values())
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
