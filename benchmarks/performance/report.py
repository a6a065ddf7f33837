"""The figures as text: the machine they were measured on, and Markdown tables."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import aiohttp
import wechatpayv3

from wechatpay_chain._stack.signing_pool import _usable_cpus

from .config import CONCURRENCY, POOL, SDKS
from .figures import Figures


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend

    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "cryptography": f"{cryptography.__version__} ({openssl_backend.openssl_version_text()})",
        "wechatpayv3": wechatpayv3.__version__,
        "pool workers": str(_usable_cpus()),
    }


def table(figures: Figures) -> str:
    """The figures as Markdown tables."""
    incumbents = ("wechatpayv3 threads", "wechatpayv3 async")
    lines = [
        "| calls/s | " + " | ".join(SDKS) + " | × threads | × async | pool × threads | pool × async |",
        "|---|" + "---:|" * (len(SDKS) + 4),
    ]
    for c in CONCURRENCY:
        rates = {s: figures.rate(s, c) for s in SDKS}
        ratios = [rates[ours] / rates[them] for ours in ("wechatpay_chain", POOL) for them in incumbents]
        lines.append(
            f"| concurrency {c} | "
            + " | ".join(f"{r:,.0f}" for r in rates.values())
            + " | "
            + " | ".join(f"{x:.2f}" for x in ratios)
            + " |"
        )
    lines += [
        "",
        "| client CPU µs/call | " + " | ".join(SDKS) + " | overhead ratio | server (emulator) |",
        "|---|" + "---:|" * (len(SDKS) + 2),
    ]
    for c in CONCURRENCY:
        cpu = {s: f"{figures.cpu_us(s, c):,.0f}" for s in SDKS}
        pooled = figures.cpu_us(POOL, c)
        workers = figures.children_us(POOL, c)
        cpu[POOL] = f"{pooled:,.0f} ({pooled - workers:,.0f} + {workers:,.0f} workers)"
        ratio = figures.cpu_us("wechatpay_chain", c) / figures.cpu_us("floor", c)
        lines.append(
            f"| concurrency {c} | "
            + " | ".join(cpu.values())
            + f" | {ratio:.3f} | {figures.server_us('wechatpay_chain', c):,.0f} |"
        )
    lines += ["", "| chain cost | ns |", "|---|---:|"]
    lines += [f"| {name} | {ns:,.0f} |" for name, ns in figures.micro.items()]
    if figures.memory:
        lines += [
            "",
            "| memory | calls in flight | RSS before MiB | peak RSS MiB | seconds |",
            "|---|---:|---:|---:|---:|",
        ]
        for sdk, m in figures.memory.items():
            lines.append(
                f"| {sdk} | {m['in_flight']:,.0f} | {m['baseline_mib']:.0f} | {m['peak_mib']:.0f} | "
                + (f"{m['seconds']:.1f} |" if m["finished"] else f"did not finish in {m['seconds']:.0f} |")
            )
    return "\n".join(lines)
