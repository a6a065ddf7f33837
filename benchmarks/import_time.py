"""What `import wechatpay_chain` costs over the dependencies it cannot do without: paired whole-process runs.

    python -m benchmarks.import_time [--rounds 40]

The package's bytecode is compiled first, as installing a wheel does (an editable install run
with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at every start, which no
installed dependency pays). Each round starts two fresh interpreters, in alternating order: one
imports aiohttp, orjson and the parts of cryptography the package signs and verifies with (the floor); the other imports
wechatpay_chain. Prints the median of the per-round ratios with the 10th-90th percentile spread,
the medians of both, and the machine and versions.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.performance.machine import machine
from benchmarks.performance.stats import percentile

FLOOR = (
    "import aiohttp, orjson; "
    "from cryptography.hazmat.primitives import hashes, serialization; "
    "from cryptography.hazmat.primitives.asymmetric import padding, rsa; "
    "from cryptography.hazmat.primitives.ciphers.aead import AESGCM"
)
OURS = "import wechatpay_chain"


def run(code: str) -> float:
    """Seconds one fresh interpreter takes to run `code` and exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def rounds(count: int) -> tuple[list[float], list[float]]:
    """(floor, ours) seconds per round, the order alternating so that drift hits both alike."""
    floor: list[float] = []
    ours: list[float] = []
    run(FLOOR), run(OURS)  # warm the file cache
    for i in range(count):
        if i % 2:
            ours.append(run(OURS))
            floor.append(run(FLOOR))
        else:
            floor.append(run(FLOOR))
            ours.append(run(OURS))
    return floor, ours


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    import wechatpay_chain

    compileall.compile_dir(Path(wechatpay_chain.__file__).parent, quiet=1)
    floor, ours = rounds(args.rounds)
    ratios = [o / f for f, o in zip(floor, ours, strict=True)]
    for name, value in machine().items():
        print(f"{name}: {value}")
    print(f"method: {args.rounds} paired rounds of two fresh interpreters each, order alternating")
    print(
        "floor (aiohttp + orjson + cryptography's RSA, hashes, AES-GCM): "
        f"median {statistics.median(floor) * 1000:.0f} ms"
    )
    print(f"import wechatpay_chain: median {statistics.median(ours) * 1000:.0f} ms")
    print(
        f"ratio: median {statistics.median(ratios):.3f} "
        f"(p10 {percentile(ratios, 0.1):.3f}, p90 {percentile(ratios, 0.9):.3f}; target <= 1.10)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
