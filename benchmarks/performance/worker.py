"""A client process for the beyond-one-core comparison.

`python -m benchmarks.performance.worker KIND KEYS_DIR BASE_URL`: KIND is `plain` (the default
client) or `pool` (the client signing in a ProcessPoolSigner of POOL_WORKERS processes). It
prints `ready`, then for each line `{"method", "calls", "concurrency"}` read from standard input
makes those calls and prints `{"cpu": …}`: the CPU seconds this process and its live children (the
pool's workers) spent on them. It stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from wechatpay_chain import ProcessPoolSigner
from wechatpay_chain.testing import Credentials

from .config import POOL_WORKERS
from .cpu import children_cpu
from .ours import chain_calls, chain_client
from .sampling import drive


async def work(kind: str, keys_dir: Path, base_url: str) -> None:
    """Answer the parent's commands until it closes our standard input."""
    creds = Credentials.load(keys_dir)
    options = {"signer": ProcessPoolSigner(creds.merchant_key, workers=POOL_WORKERS)} if kind == "pool" else {}
    loop = asyncio.get_running_loop()
    async with chain_client(creds, base_url, **options) as client:
        calls = chain_calls(client)
        print("ready", flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command = json.loads(line)
            own, workers = time.process_time(), children_cpu()
            await drive(calls[command["method"]], command["calls"], command["concurrency"])
            cpu = time.process_time() - own + children_cpu() - workers
            print(json.dumps({"cpu": cpu}), flush=True)


if __name__ == "__main__":
    asyncio.run(work(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
