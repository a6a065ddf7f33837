"""The redis-server the Redis tests start: missing, the tests fail (CI installs it), unless told to skip locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.deployment.redis_server import SKIP_VARIABLE, RedisServer, binary, must_skip


def redis_executable() -> str:
    """redis-server's path; fails the test when it is missing, or skips it if WECHATPAY_CHAIN_SKIP_REDIS=1."""
    found = binary()
    if found is not None:
        return found
    if must_skip():
        pytest.skip(f"redis-server is not installed and {SKIP_VARIABLE}=1")
    pytest.fail(
        f"redis-server is not installed: apt-get install redis-server (or set {SKIP_VARIABLE}=1 to skip locally)",
        pytrace=False,
    )


def started(directory: Path) -> Iterator[RedisServer]:
    """A fresh redis-server for one test, stopped afterwards."""
    with RedisServer(directory / "redis", executable=redis_executable()) as server:
        yield server
