"""Closing a ProcessPoolSigner with calls in flight is quiet: no worker traceback, every call accounted for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from wechatpay_chain.testing import Credentials

ROOT = Path(__file__).resolve().parents[1]

CLOSE_MID_FLIGHT = """
    import asyncio, collections, json, sys
    from pathlib import Path
    from wechatpay_chain import ProcessPoolSigner, TransportError
    from wechatpay_chain.testing import Credentials

    async def main():
        creds = Credentials.load(Path(sys.argv[1]))
        outcomes = collections.Counter()
        for _ in range(3):
            signer = ProcessPoolSigner(creds.merchant_key, workers=2)
            await signer.sign(b"warm")
            calls = [asyncio.ensure_future(signer.sign(b"x" * 1000)) for _ in range(400)]
            await asyncio.sleep(0.05)
            await signer.aclose()
            for result in await asyncio.gather(*calls, return_exceptions=True):
                if isinstance(result, str):
                    outcomes["signed"] += 1
                elif isinstance(result, TransportError) and not result.sent:
                    outcomes["not sent"] += 1
                else:
                    outcomes[type(result).__name__] += 1
        print(json.dumps(outcomes), flush=True)

    if __name__ == "__main__":
        asyncio.run(main())
"""


def test_closing_with_calls_in_flight_prints_no_worker_traceback(credentials: Credentials, tmp_path: Path) -> None:
    credentials.save(tmp_path)
    script = tmp_path / "close_mid_flight.py"
    script.write_text(textwrap.dedent(CLOSE_MID_FLIGHT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # no "Process wechatpay_chain signer: … BrokenPipeError"
    outcomes = json.loads(run.stdout)
    assert set(outcomes) <= {"signed", "not sent"}, outcomes
    assert sum(outcomes.values()) == 1200 and outcomes.get("not sent", 0) > 0
