"""Benchmarks: overhead over the cryptographic floor, throughput, the incumbent SDK, chain cost, memory.

    python -m benchmarks.performance            # default run, under 2 minutes
    python -m benchmarks.performance --quick    # smoke run for CI, under 30 s
    python -m benchmarks.performance --full     # the figures of the README

Needs the `bench` extra (`pip install -e '.[bench]'`). The server (the Emulator, see server.py)
runs in a process of its own, so `time.process_time()` here measures the client's CPU alone
(plus, for the client signing in worker processes, the CPU of those workers: see children_cpu).
Every client makes the same call: GET v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…
Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from wechatpay_chain.testing import Credentials

from .chain_cost import measure_chain
from .config import MODES, ROOT
from .figures import Figures
from .memory import measure_memory
from .plot import plot
from .report import machine, table
from .server import server
from .throughput import measure_calls

DEFAULT_PLOT = ROOT / "benchmarks" / "performance.png"


async def run(mode: str, plot_path: Path | None, json_path: Path | None) -> Figures:
    """The whole benchmark."""
    settings = MODES[mode]
    figures = Figures(mode, machine())
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as srv:
        base_url = srv.base_url
        creds = Credentials.load(Path(tmp))
        print(f"{mode} run: {settings.calls} calls × {settings.repeats} per figure, server at {base_url}", flush=True)
        await measure_calls(figures, creds, srv, settings)
        measure_chain(figures, creds, base_url, settings)
        measure_memory(figures, Path(tmp), base_url, settings)
        for m in figures.memory.values():
            m["in_flight"] = settings.in_flight
    print()
    print(table(figures))
    print()
    for key, value in figures.machine.items():
        print(f"{key}: {value}")
    if plot_path is not None:
        plot(figures, plot_path)
        print(f"plot: {plot_path}")
    if json_path is not None:
        json_path.write_text(json.dumps(asdict(figures), indent=1, default=str))
        print(f"figures: {json_path}")
    return figures


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="mode", help="CI smoke run (< 30 s)")
    size.add_argument("--full", action="store_const", const="full", dest="mode", help="the README figures")
    parser.add_argument("--plot", type=Path, help=f"PNG to write (default {DEFAULT_PLOT.name}; none for --quick)")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    args = parser.parse_args()
    mode = args.mode or "default"
    plot_path = args.plot or (None if mode == "quick" else DEFAULT_PLOT)
    asyncio.run(run(mode, plot_path, args.json))


if __name__ == "__main__":
    main()
