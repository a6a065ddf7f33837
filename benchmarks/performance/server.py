"""The benchmark's server: the Emulator in a process of its own, answering an order query.

`python -m benchmarks.performance.server KEYS_DIR` prints `port <n>` once it listens and stops when its
standard input closes (so it never outlives the benchmark that started it).

Every request is authenticated for real (RSA verify of the merchant's signature). The answer is
always the same order, so its signature is made once every SIGN_EVERY seconds instead of once per
request: an RSA signature costs as much CPU as the whole client call, and a server that pays it
on each answer would be the bottleneck of every client measured, hiding their differences. Each
client still verifies every answer it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from wechatpay_chain.testing import Answer, Emulator, Incoming
from wechatpay_chain.testing._auth import sign_answer

from .config import ROOT
from .cpu import process_cpu

TEMPLATE = "v3/pay/transactions/out-trade-no/{out_trade_no}"
SIGN_EVERY = 60.0  # seconds; well inside the 300 s window clients accept

ORDER = {
    "appid": "wxd678efh567hg6787",
    "mchid": "1900000109",
    "out_trade_no": "1217752501201407033233368018",
    "transaction_id": "1217752501201407033233368018",
    "trade_type": "JSAPI",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "CMC",
    "attach": "自定义数据",
    "success_time": "2018-06-08T10:34:56+08:00",
    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
    "scene_info": {"device_id": "013467007045764"},
    "promotion_detail": [],
}


class OrderAnswer:
    """Answers the order query with one fixed body, re-signed every SIGN_EVERY seconds."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._body = orjson.dumps(ORDER)
        self._headers: dict[str, str] = {}
        self._signed_at = 0.0

    def __call__(self, incoming: Incoming) -> Answer:
        """The order, with the current signature."""
        # The emulator keeps every request it receives; a benchmark sends too many to keep.
        self._emulator.received.clear()
        now = time.monotonic()
        if now - self._signed_at > SIGN_EVERY:
            creds = self._emulator.credentials
            signed = sign_answer(creds.public_key, creds.public_key_id, self._body, int(self._emulator.now()))
            self._headers = {**signed, "Content-Type": "application/json; charset=utf-8"}
            self._signed_at = now
        return Answer(200, self._body, dict(self._headers))


async def serve(keys_dir: Path) -> None:
    """Run the emulator until standard input closes."""
    emulator = Emulator(keys_dir=keys_dir, key_mode="public-key")
    emulator.stub("GET", TEMPLATE, OrderAnswer(emulator))
    async with emulator:
        print(f"port {emulator.port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


@dataclass(frozen=True)
class Server:
    """The benchmark server process, as the benchmark sees it."""

    base_url: str
    pid: int

    def cpu(self) -> float:
        """CPU seconds the server process has used so far (0 where /proc is missing)."""
        return process_cpu(self.pid)


@contextlib.contextmanager
def server(keys_dir: Path) -> Iterator[Server]:
    """Start the server (this module) in its own process; stop it on leaving."""
    proc = subprocess.Popen(
        [sys.executable, "-m", __spec__.name, str(keys_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the benchmark server did not start (said {line!r})")
        yield Server(f"http://127.0.0.1:{int(line.split()[1])}/", proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the server stops when its stdin closes
        proc.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
