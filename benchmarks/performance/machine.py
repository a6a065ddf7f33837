"""What the figures were measured on: the machine, its load, the versions of everything compared."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from .config import ROOT


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        code = ["--", "wechatpay_chain", "benchmarks"]  # the code measured, not the docs a run rewrites
        status = ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", *code]
        dirty = subprocess.run(status, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return (out.stdout.strip() or "unknown") + (" (with local changes)" if dirty.stdout.strip() else "")


def load() -> str:
    """The load averages over 1, 5 and 15 minutes: how busy the machine was besides the benchmark."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    """The machine and the versions, as `name: value` lines for the report."""
    from cryptography.hazmat.backends.openssl.backend import backend

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    http = (
        "httptools " + _version("httptools") if _version("httptools") != "not installed" else "h11 " + _version("h11")
    )
    return {
        "cpu": f"{_cpu_model()}, {os.cpu_count()} cores ({usable} usable)",
        "system": platform.platform(),
        "load average at start (1, 5, 15 min)": load(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "wechatpay_chain": f"{_version('wechatpay-chain')}, commit {_commit()}",
        "aiohttp": _version("aiohttp"),
        "cryptography": f"{_version('cryptography')} ({backend.openssl_version_text()})",
        "orjson": _version("orjson"),
        "wechatpayv3": f"{_version('wechatpayv3')} (requests {_version('requests')}, httpx {_version('httpx')})",
        "uvicorn": f"{_version('uvicorn')} ({http})",
    }
