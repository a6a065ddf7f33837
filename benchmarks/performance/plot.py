"""The figures as a PNG: client CPU per call and calls per second of each SDK, GET and POST, with their spread."""

from __future__ import annotations

from pathlib import Path

from .config import CONCURRENCY, METHODS, SDKS
from .figures import Figures, cell

COLOURS = ("#9e9e9e", "#1b9e77", "#d95f02", "#e6ab02", "#7570b3")
LABELS = {"floor": "floor (aiohttp + orjson + RSA sign/verify)"}


def plot(figures: Figures, path: Path) -> None:
    """Bars: the medians over the rounds; whiskers: the 10th-90th percentiles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(METHODS), 2, figsize=(11, 7.5), dpi=100)
    width = 0.16
    for row, method in enumerate(METHODS):
        for column, (table, title) in enumerate(
            ((figures.cpu, "client CPU µs per call (lower is better)"), (figures.rate, "calls/s (higher is better)"))
        ):
            ax = axes[row][column]
            for k, (sdk, colour) in enumerate(zip(SDKS, COLOURS, strict=True)):
                spreads = [table[cell(method, c)].spread(sdk) for c in CONCURRENCY]
                xs = [i + (k - (len(SDKS) - 1) / 2) * width for i in range(len(CONCURRENCY))]
                medians = [s.median for s in spreads]
                whiskers = [[s.median - s.p10 for s in spreads], [s.p90 - s.median for s in spreads]]
                ax.bar(xs, medians, width, yerr=whiskers, capsize=2, label=LABELS.get(sdk, sdk), color=colour)
            ax.set_xticks(range(len(CONCURRENCY)), [f"concurrency {c}" for c in CONCURRENCY])
            ax.set_title(f"{method}: {title}", fontsize=10)
            ax.grid(axis="y", alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    rounds = figures.settings["rounds"]
    fig.suptitle(
        f"signed + verified calls against a server that signs every answer; median of {rounds} paired rounds, "
        f"whiskers p10–p90\n{figures.machine['cpu']}",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path)
    plt.close(fig)
