"""Deployment figures: two worker processes sharing Redis, and many merchants' clients in one process.

    python -m benchmarks.deployment --quick   # CI: 100 notifications, Redis down 1 s; 50 merchants
    python -m benchmarks.deployment --full    # 1,000 notifications, Redis down 3 s; 1,000 merchants

Run from the repository root, with redis-server installed (Debian: apt-get install redis-server).
Prints one table per part and exits 1 when a notification was handled twice or lost, a delivery
made while Redis was down was not answered 5xx, or the workers downloaded the certificates more
than once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from .merchants import measure
from .workers import run_workers

SIZES = {"quick": (100, 1.0, 50), "full": (1000, 3.0, 1000)}


def _table(title: str, rows: list[tuple[str, object]]) -> None:
    print(f"\n{title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def main(argv: list[str] | None = None) -> int:
    """Run both parts at the size asked; print the tables; exit status 1 on any failed guarantee."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick", help="CI size (default)")
    size.add_argument("--full", dest="size", action="store_const", const="full", help="the issue's full size")
    args = parser.parse_args(argv)
    notifications, outage, merchants = SIZES[args.size or "quick"]
    with tempfile.TemporaryDirectory() as directory:
        workers = run_workers(notifications, outage, Path(directory) / "workers")
        scenarios, memory = asyncio.run(measure(merchants, Path(directory) / "merchants"))
    _table(
        "two worker processes sharing Redis (sync client, WSGI app, RedisSeenIds, RedisCertificateCache)",
        workers.rows(),
    )
    _table(
        "many merchants in one process (emulator in its own process; first calls one after another)",
        [s.row() for s in scenarios],
    )
    _table(f"memory per client ({merchants} clients from one key)", [m.row() for m in memory])
    outage_answers = workers.during_outage
    failed = (
        workers.handled_twice
        or workers.lost
        or workers.certificate_downloads != 1
        or not outage_answers
        or any(d.status < 500 for d in outage_answers)
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
