"""A client process for the beyond-one-core comparison.

`python -m benchmarks.performance.worker KEYS_DIR BASE_URL` prints `ready`, then for each line
`{"method", "calls", "concurrency"}` read from standard input makes those calls with the default
client and prints `{"cpu": …}`, the CPU seconds this process spent on them. It stops when its
standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from wechatpay_chain.testing import Credentials

from .ours import chain_calls, chain_client
from .sampling import drive


async def work(keys_dir: Path, base_url: str) -> None:
    """Answer the parent's commands until it closes our standard input."""
    loop = asyncio.get_running_loop()
    async with chain_client(Credentials.load(keys_dir), base_url) as client:
        calls = chain_calls(client)
        print("ready", flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command = json.loads(line)
            started = time.process_time()
            await drive(calls[command["method"]], command["calls"], command["concurrency"])
            print(json.dumps({"cpu": time.process_time() - started}), flush=True)


if __name__ == "__main__":
    asyncio.run(work(Path(sys.argv[1]), sys.argv[2]))
