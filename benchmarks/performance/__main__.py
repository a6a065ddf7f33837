"""The performance benchmark: wechatpay_chain against the floor and the incumbent SDK, in paired rounds.

    python -m benchmarks.performance --quick   # CI: every table, small (well under a minute on 2 cores)
    python -m benchmarks.performance --full    # the figures of docs/performance.md (about 15 minutes)
    python -m benchmarks.performance --full --docs   # … and write them into docs/performance.md and its plot

Needs the `bench` extra (`pip install -e '.[bench]'`). Run from the repository root. Prints the
machine, the versions, the method, each target's ratio with its spread and verdict, then the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

from wechatpay_chain.testing import Credentials

from .calls import measure_calls
from .chain_cost import measure_chain
from .config import MODES, ROOT
from .cores import measure_cores
from .costs import measure_costs
from .docs import write_report
from .figures import Figures
from .machine import load, machine
from .memory import measure_memory
from .notifications import measure_notifications
from .plot import plot
from .processes import child_server
from .report import report
from .webhooks import measure_webhooks

DOCS_PAGE = ROOT / "docs" / "performance.md"
DOCS_PLOT = ROOT / "docs" / "performance.png"


async def _part(name: str, measure: Callable[[], Awaitable[None]]) -> None:
    started = time.perf_counter()
    print(f"{name}…", flush=True)
    await measure()
    print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)


async def run(mode: str) -> tuple[Figures, str]:
    """Measure everything at the size of `mode`; the figures and the report."""
    settings = MODES[mode]
    figures = Figures(mode, machine(), asdict(settings))
    creds = Credentials.generate()
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp)
        creds.save(keys)
        with child_server("benchmarks.performance.server", str(keys)) as api:
            await _part("calls", lambda: measure_calls(figures, creds, api, settings))
            await _part("layer by layer", lambda: measure_costs(figures, creds, api, settings))
            await _part("beyond one core", lambda: measure_cores(figures, keys, api.url, settings))
            await _part("memory", lambda: asyncio.to_thread(measure_memory, figures, keys, api.url, settings))
        await _part("notifications", lambda: measure_notifications(figures, creds, settings))
        await _part("webhook endpoints", lambda: measure_webhooks(figures, creds, keys, settings))
        await _part("chain costs", lambda: asyncio.to_thread(measure_chain, figures, creds, settings))
    return figures, report(figures, load())


def main() -> None:
    """Parse the command line, measure, print; write the plot, the JSON and the docs page when asked."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="mode", help="the CI size (default)")
    size.add_argument("--full", action="store_const", const="full", dest="mode", help="the documented figures")
    parser.add_argument("--docs", action="store_true", help=f"write the report into {DOCS_PAGE.name} and its plot")
    parser.add_argument("--plot", type=Path, help="also draw the figures into this PNG")
    parser.add_argument("--json", type=Path, help="also write every per-round value as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    figures, text = asyncio.run(run(args.mode or "quick"))
    print(f"\n{text}\n\nbenchmark: {time.perf_counter() - started:.0f} s in all", flush=True)
    for path in [args.plot] + ([DOCS_PLOT] if args.docs else []):
        if path is not None:
            plot(figures, path)
            print(f"plot: {path}")
    if args.docs:
        write_report(DOCS_PAGE, text)
        print(f"report: {DOCS_PAGE}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, default=vars, indent=1))  # dataclasses as their fields
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
