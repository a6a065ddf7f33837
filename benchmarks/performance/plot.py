"""The figures as a PNG: calls/s and CPU per call of each SDK, side by side."""

from __future__ import annotations

from pathlib import Path

from .config import CONCURRENCY, POOL, SDKS
from .figures import Figures


def plot(figures: Figures, path: Path) -> None:
    """Calls/s and CPU per call of each SDK at each concurrency, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    width = 0.16
    colours = ("#9e9e9e", "#1b9e77", "#66c2a5", "#d95f02", "#7570b3")
    labels = {
        "floor": "floor (bare aiohttp + RSA sign/verify)",
        POOL: f"wechatpay_chain, signing in {figures.machine['pool workers']} processes",
    }
    for k, (sdk, colour) in enumerate(zip(SDKS, colours, strict=True)):
        xs = [i + (k - (len(SDKS) - 1) / 2) * width for i in range(len(CONCURRENCY))]
        label = labels.get(sdk, sdk)
        left.bar(xs, [figures.rate(sdk, c) for c in CONCURRENCY], width, label=label, color=colour)
        right.bar(xs, [figures.cpu_us(sdk, c) for c in CONCURRENCY], width, label=label, color=colour)
    for i, c in enumerate(CONCURRENCY):  # how many times the incumbent's calls/s, above the group
        lines = []
        for ours, name in (("wechatpay_chain", "chain"), (POOL, "pool")):
            threads, async_ = (figures.rate(ours, c) / figures.rate(them, c) for them in SDKS[3:])
            lines.append(f"{name} ×{threads:.1f} thr, ×{async_:.1f} async")
        top = max(figures.rate(sdk, c) for sdk in SDKS)
        left.annotate("\n".join(lines), (i, top), ha="center", va="bottom", fontsize=7)
    for ax, title in (
        (left, "calls/s (higher is better)"),
        (right, "client CPU µs per call, signing workers included (lower is better)"),
    ):
        ax.set_xticks(range(len(CONCURRENCY)), [f"concurrency {c}" for c in CONCURRENCY])
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    left.set_ylim(top=left.get_ylim()[1] * 1.15)  # room for the annotations
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(
        f"order query against the emulator, {figures.machine['cores']} cores ({figures.machine['cpu']})", fontsize=10
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path)
    plt.close(fig)
