"""Signing in worker processes: the same signatures, real calls, and workers that never outlive their use."""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from wechatpay_chain import ConfigurationError, ProcessPoolSigner, Signer, WechatpayError
from wechatpay_chain._hazmat import rsa_verify
from wechatpay_chain.testing import Credentials, Emulator

MAIN = Path(__file__).resolve().parent.parent
WAIT = 30.0  # seconds; a bound on anything that could hang, never a timing assertion


@pytest.fixture(scope="module")
def pool(credentials: Credentials) -> Iterator[ProcessPoolSigner]:
    """One two-worker signer for the module (spawning workers is the slow part); each test has its own loop."""
    signer = ProcessPoolSigner(credentials.merchant_key, workers=2)
    yield signer
    asyncio.run(signer.aclose())


def worker_pids(signer: ProcessPoolSigner) -> list[int]:
    return [worker.process.pid for worker in signer._pool if worker.process.pid is not None]


def gone(pid: int) -> bool:
    """Whether process `pid` has exited (a zombie waiting for a reaper counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[0] == "Z"


def wait_until_gone(pids: list[int]) -> list[int]:
    """The pids still running after up to WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while (alive := [pid for pid in pids if not gone(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


MESSAGES = [
    b"",
    b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n",
    'POST\n/v3/x\n1\nn\n{"a":"中"}\n'.encode(),
    b"x" * 200_000,  # larger than a pipe's buffer
]


async def test_signatures_equal_the_in_process_signers_and_verify(
    pool: ProcessPoolSigner, credentials: Credentials
) -> None:
    local = Signer(credentials.mchid, credentials.serial, credentials.merchant_key)
    messages = MESSAGES + [b"message %d" % i for i in range(40)]  # more than the workers' pipes take at once
    signatures = await asyncio.wait_for(asyncio.gather(*(pool.sign(m) for m in messages)), WAIT)
    assert signatures == [await local.sign(m) for m in messages]  # PKCS#1 v1.5 is deterministic
    public = credentials.merchant_key.public_key()
    assert all(rsa_verify(public, m, s) for m, s in zip(messages, signatures, strict=True))
    assert not rsa_verify(public, messages[1], signatures[2])
    assert len(worker_pids(pool)) == 2


def test_the_signer_moves_from_one_event_loop_to_the_next(pool: ProcessPoolSigner, credentials: Credentials) -> None:
    public = credentials.merchant_key.public_key()
    for run in range(2):
        message = b"run %d" % run
        assert rsa_verify(public, message, asyncio.run(asyncio.wait_for(pool.sign(message), WAIT)))


async def test_a_killed_worker_is_replaced_and_its_messages_signed_again(
    pool: ProcessPoolSigner, credentials: Credentials
) -> None:
    await asyncio.wait_for(asyncio.gather(*(pool.sign(b"warm %d" % i) for i in range(8))), WAIT)  # both answered
    victim = worker_pids(pool)[0]
    os.kill(victim, signal.SIGKILL)
    messages = [b"after %d" % i for i in range(20)]
    signatures = await asyncio.wait_for(asyncio.gather(*(pool.sign(m) for m in messages)), WAIT)
    public = credentials.merchant_key.public_key()
    assert all(rsa_verify(public, m, s) for m, s in zip(messages, signatures, strict=True))
    pids = worker_pids(pool)
    assert len(pids) == 2 and victim not in pids
    assert not wait_until_gone([victim])


def test_repr_holds_no_key_material(pool: ProcessPoolSigner, credentials: Credentials) -> None:
    key = credentials.merchant_key
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    secrets = [str(key.private_numbers().d), str(key.private_numbers().p), base64.b64encode(der)[40:80].decode()]
    text = repr(pool) + "".join(repr(worker.process) for worker in pool._pool)
    assert text.startswith("<ProcessPoolSigner workers=2")
    assert "PRIVATE" not in text and not any(secret in text for secret in secrets)


async def test_a_client_signing_in_workers_makes_real_calls_and_close_stops_them(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    pool = ProcessPoolSigner(emulator.credentials.merchant_key, workers=1)
    client = emulator.client(private_key=None, signer=pool)
    answers = await asyncio.wait_for(asyncio.gather(*(client["v3/ping"].get() for _ in range(5))), WAIT)
    assert [a.json() for a in answers] == [{"ok": 1}] * 5  # the emulator checked every signature
    params = await client.jsapi_params("wx1", "prepay_1")  # payment parameters are signed in the pool too
    message = f"wx1\n{params['timeStamp']}\n{params['nonceStr']}\nprepay_id=prepay_1\n".encode()
    assert rsa_verify(emulator.credentials.merchant_key.public_key(), message, params["paySign"])
    pids = worker_pids(pool)
    assert len(pids) == 1
    await client.close()
    assert not wait_until_gone(pids)
    assert not {p.pid for p in multiprocessing.active_children()} & set(pids)
    assert "closed" in repr(pool)
    with pytest.raises(WechatpayError, match="closed"):
        await pool.sign(b"late")


async def test_workers_start_on_first_use_and_aclose_stops_them(credentials: Credentials) -> None:
    signer = ProcessPoolSigner(credentials.merchant_key, workers=1)
    assert "not started" in repr(signer) and not worker_pids(signer)
    await asyncio.wait_for(signer.sign(b"one"), WAIT)
    pids = worker_pids(signer)
    await signer.aclose()
    await signer.aclose()  # twice is fine
    assert not wait_until_gone(pids)
    with pytest.raises(WechatpayError, match="closed"):
        await signer.sign(b"two")


@pytest.mark.parametrize("workers", [0, -1, True, 1.5, "2"])
def test_a_bad_worker_count_is_refused_before_any_process_starts(credentials: Credentials, workers: object) -> None:
    with pytest.raises(ConfigurationError, match="signing workers must be a number of processes >= 1"):
        ProcessPoolSigner(credentials.merchant_key, workers=workers)  # type: ignore[arg-type]


FORGETFUL = """
    import asyncio, sys, time
    from pathlib import Path
    from wechatpay_chain import ProcessPoolSigner
    from wechatpay_chain.testing import Credentials

    async def main():
        creds = Credentials.load(Path(sys.argv[1]))
        signer = ProcessPoolSigner(creds.merchant_key, workers=2)
        await signer.sign(b"hello")
        print(*(w.process.pid for w in signer._pool), flush=True)
        if sys.argv[2] == "hang":
            time.sleep(60)
        return signer  # never closed

    if __name__ == "__main__":
        keep = asyncio.run(main())
"""


@pytest.mark.parametrize("ending", ["exit", "hang"])
def test_forgotten_workers_die_with_the_program(credentials: Credentials, tmp_path: Path, ending: str) -> None:
    credentials.save(tmp_path)
    script = tmp_path / "forgetful.py"
    script.write_text(textwrap.dedent(FORGETFUL))
    env = {**os.environ, "PYTHONPATH": str(MAIN)}
    with subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), ending], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        pids = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(pids) == 2
        if ending == "hang":
            proc.kill()  # SIGKILL: nothing in the program gets to run
        assert proc.wait(timeout=WAIT) == (0 if ending == "exit" else -signal.SIGKILL)
    assert not wait_until_gone(pids)


async def test_ctrl_c_is_left_to_the_parent(pool: ProcessPoolSigner, credentials: Credentials) -> None:
    await asyncio.wait_for(asyncio.gather(*(pool.sign(b"warm %d" % i) for i in range(8))), WAIT)
    pids = worker_pids(pool)
    for pid in pids:
        os.kill(pid, signal.SIGINT)  # what a terminal's Ctrl+C sends to the whole process group
    signatures = await asyncio.wait_for(asyncio.gather(*(pool.sign(b"then %d" % i) for i in range(8))), WAIT)
    assert all(rsa_verify(credentials.merchant_key.public_key(), b"then %d" % i, s) for i, s in enumerate(signatures))
    assert worker_pids(pool) == pids


UNGUARDED = """
    import asyncio, sys
    from pathlib import Path
    from wechatpay_chain import ProcessPoolSigner, WechatpayError
    from wechatpay_chain.testing import Credentials

    async def main():
        creds = Credentials.load(Path(sys.argv[1]))
        signer = ProcessPoolSigner(creds.merchant_key, workers=1)
        try:
            await signer.sign(b"hello")
        except WechatpayError as exc:
            print(exc, flush=True)
        await signer.aclose()

    asyncio.run(main())  # no `if __name__ == "__main__":` guard: each worker runs this again
"""


def run_script(source: str, credentials: Credentials, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `source` as a script of its own, given the directory of the saved credentials."""
    credentials.save(tmp_path)
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    env = {**os.environ, "PYTHONPATH": str(MAIN)}
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, env=env, timeout=WAIT
    )


def test_a_script_without_a_main_guard_is_told_what_to_fix(credentials: Credentials, tmp_path: Path) -> None:
    out = run_script(UNGUARDED, credentials, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "exited while starting" in out.stdout and "if __name__ == '__main__':" in out.stdout


CLOSED_MIDWAY = """
    import asyncio, sys
    from pathlib import Path
    from wechatpay_chain import ProcessPoolSigner
    from wechatpay_chain.testing import Credentials

    async def main():
        signer = ProcessPoolSigner(Credentials.load(Path(sys.argv[1])).merchant_key, workers=2)
        await signer.sign(b"warm")
        calls = [asyncio.ensure_future(signer.sign(b"call %d" % i)) for i in range(200)]
        await asyncio.sleep(0.01)  # some signed, some in the workers' pipes, most still queued
        await signer.aclose()
        results = await asyncio.gather(*calls, return_exceptions=True)
        print(sum(isinstance(r, Exception) for r in results), flush=True)

    if __name__ == "__main__":
        asyncio.run(main())
"""


def test_closing_with_calls_in_flight_is_quiet(credentials: Credentials, tmp_path: Path) -> None:
    out = run_script(CLOSED_MIDWAY, credentials, tmp_path)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 0  # calls were still waiting when it closed: they failed with the reason
    assert out.stderr == ""  # and no worker printed a traceback
