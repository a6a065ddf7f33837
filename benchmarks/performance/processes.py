"""The benchmark's other processes: servers that announce their port and stop when their standard input closes.

A server child prints `port <n>` once it listens, serves `GET /cpu` (its own CPU seconds so far, so the
benchmark can tell the server's work from the client's), and stops when its standard input closes,
so it never outlives the benchmark that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp

from .config import ROOT

CPU_PATH = "/cpu"


@dataclass(frozen=True)
class Child:
    """A server child as the benchmark sees it."""

    url: str  # http://127.0.0.1:<port>/
    pid: int

    async def cpu(self, session: aiohttp.ClientSession) -> float:
        """The CPU seconds the child has used so far (its own clock, not /proc's 10 ms ticks)."""
        async with session.get(self.url.rstrip("/") + CPU_PATH) as answer:
            return float(await answer.text())


@contextlib.contextmanager
def child_server(module: str, *args: str) -> Iterator[Child]:
    """Run `python -m module args…` until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"{module} did not start (said {line!r})")
        yield Child(f"http://127.0.0.1:{int(line.split()[1])}/", proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_text() -> str:
    """What `GET /cpu` answers: this process's CPU seconds so far."""
    return repr(time.process_time())


def listening_socket() -> socket.socket:
    """A TCP socket bound to a free port of 127.0.0.1, announced to the parent (the first line it reads)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    print(f"port {sock.getsockname()[1]}", flush=True)
    return sock


async def until_stdin_closes() -> None:
    """Return once the parent closes our standard input (or dies)."""
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
