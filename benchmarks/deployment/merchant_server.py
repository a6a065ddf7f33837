"""The emulator for the many-merchants benchmark, in a process of its own: it authenticates every merchant given.

    python -m benchmarks.deployment.merchant_server DIRECTORY

DIRECTORY holds the platform's keys (`platform/`, written by `Credentials.save`) and
`merchants.json` (mchid, serial, key_file of each). Prints `{"base_url": …}`, then serves
`GET v3/ping` until terminated.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from wechatpay_chain import load_private_key
from wechatpay_chain.testing import Emulator
from wechatpay_chain.testing._auth import Merchant


async def serve(directory: Path) -> None:
    """Start the emulator, register the merchants, print the base URL, serve forever."""
    async with Emulator(keys_dir=directory / "platform") as emulator:
        for merchant in json.loads((directory / "merchants.json").read_text()):
            key = load_private_key(f"file://{merchant['key_file']}").public_key()
            emulator.apiv3.merchants[merchant["mchid"]] = Merchant(merchant["mchid"], merchant["serial"], key)
        emulator.stub("GET", "v3/ping", {"ok": 1})
        print(json.dumps({"base_url": emulator.base_url}), flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
