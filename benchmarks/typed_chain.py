"""What the typed chain's stubs cost a type checker: paired cold-cache runs over a 50-line user script.

    python -m benchmarks.typed_chain [--rounds 6] [--pyright PATH]

The script calls ten endpoints through attributes. Each round runs `mypy --strict` on it twice with
an empty cache, in alternating order: against the package (its segments, placeholders, queries,
bodies and answers checked against the stubs), and against a copy of the package whose stubs are
replaced by the dynamic `Chain` (the floor: what the check costs without them). Prints both
medians, the ratio with its spread, and the stubs' size. With `--pyright` (or pyright on PATH),
pyright is timed on the script against the package too.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .performance.stats import percentile

ROOT = Path(__file__).resolve().parents[1]
STUBS = ROOT / "wechatpay_chain" / "endpoints" / "__init__.pyi"

TYPED = '''\
"""A shop's payment calls: ten endpoints through the typed chain."""

from __future__ import annotations

from wechatpay_chain import Client


async def checkout(client: Client, order_no: str, total: int, openid: str) -> str:
    answer = await client.v3.pay.transactions.jsapi.post(
        json={
            "appid": "wxd678efh567hg6787",
            "mchid": client.mchid,
            "description": "Image形象店-深圳腾大-QQ公仔",
            "out_trade_no": order_no,
            "notify_url": "https://www.weixin.qq.com/wxpay/pay.php",
            "amount": {"total": total, "currency": "CNY"},
            "payer": {"openid": openid},
        }
    )
    return str(answer.json()["prepay_id"])


async def native(client: Client, order_no: str) -> str:
    answer = await client.v3.pay.transactions.native.post(
        json={
            "appid": "wx1",
            "mchid": client.mchid,
            "description": "d",
            "out_trade_no": order_no,
            "notify_url": "https://example.com/n",
            "amount": {"total": 1},
        }
    )
    return str(answer.json()["code_url"])


async def follow_up(client: Client, order_no: str) -> None:
    by_no = client.v3.pay.transactions.outTradeNo._out_trade_no_
    order = (await by_no.get(out_trade_no=order_no, query={"mchid": client.mchid})).json()
    if order["trade_state"] == "NOTPAY":
        await by_no.close.post(out_trade_no=order_no, json={"mchid": client.mchid})
    await client.v3.pay.transactions.id._transaction_id_.get(transaction_id="42", query={"mchid": client.mchid})
    refunds = client.v3.refund.domestic.refunds
    refund = await refunds.post(
        json={"out_trade_no": order_no, "out_refund_no": "R1", "amount": {"refund": 1, "total": 1, "currency": "CNY"}}
    )
    print(refund.json()["status"])
    await refunds._out_refund_no_.get(out_refund_no="R" + order_no)
    print((await client.v3.bill.tradebill.get(query={"bill_date": "2024-06-01"})).json()["download_url"])
    await client.v3.certificates.get()
    receivers = client.v3.profitsharing.receivers
    await receivers.delete_.post(json={"appid": "wx1", "type": "PERSONAL_OPENID", "account": "o1"})
    print((await client.v3.hirePowerBank.userQualifications._openid_.get(openid="o1")).json()["qualified_user"])
'''
FLOOR_STUBS = "from .._chain.nodes import Chain\n\nhk = Chain\nv2 = Chain\nv3 = Chain\n"


def package_without_stubs(work: Path) -> Path:
    """A copy of the package whose typed roots are the dynamic `Chain`; returns the folder holding it."""
    floor = work / "floor"
    shutil.copytree(ROOT / "wechatpay_chain", floor / "wechatpay_chain", ignore=shutil.ignore_patterns("__pycache__"))
    (floor / "wechatpay_chain" / "endpoints" / "__init__.pyi").write_text(FLOOR_STUBS, encoding="utf-8")
    return floor


def timed(command: list[str], where: Path = ROOT, expect_clean: bool = True) -> float:
    """Seconds one run takes in `where` (the package is found there)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=where, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if expect_clean and done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def mypy(script: Path, package: Path, cache: Path) -> float:
    """A cold-cache `mypy --strict` run over `script`, against the package in the folder `package`."""
    return timed([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), str(script)], package)


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pyright", default=shutil.which("pyright"), help="the pyright command (default: on PATH)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        script = work / "shop.py"
        script.write_text(TYPED, encoding="utf-8")
        floor = package_without_stubs(work)
        stubbed: list[float] = []
        bare: list[float] = []
        for n in range(args.rounds):
            pair = ((ROOT, stubbed), (floor, bare)) if n % 2 == 0 else ((floor, bare), (ROOT, stubbed))
            for package, times in pair:
                times.append(mypy(script, package, work / f"cache-{len(stubbed)}-{len(bare)}"))
        ratios = [s / b for s, b in zip(stubbed, bare, strict=True)]
        print(f"machine: {platform.machine()}, Python {platform.python_version()}")
        print(f"stubs: {STUBS.stat().st_size:,} bytes, {STUBS.read_text(encoding='utf-8').count(chr(10)):,} lines")
        print(f"script: {TYPED.count(chr(10))} lines, ten endpoints; {args.rounds} paired cold-cache rounds")
        print(f"mypy --strict, typed chain:    median {statistics.median(stubbed):.2f} s (max {max(stubbed):.2f} s)")
        print(f"mypy --strict, without stubs:  median {statistics.median(bare):.2f} s")
        print(
            f"ratio: median {statistics.median(ratios):.2f} "
            f"(p10 {percentile(ratios, 0.1):.2f}, p90 {percentile(ratios, 0.9):.2f}); target: typed <= 10 s"
        )
        if args.pyright:
            command = [args.pyright, "--pythonpath", sys.executable, str(script)]
            runs = [timed(command, ROOT, expect_clean=False) for _ in range(args.rounds)]
            print(f"pyright, typed chain: median {statistics.median(runs):.2f} s (max {max(runs):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
