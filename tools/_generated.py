"""What every generator here shares: where the project's shared inputs are, and writing or checking outputs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared(*parts: str) -> Path:
    """A file of the project's shared inputs: `shared/` beside the checkout, or beside its folder of worktrees."""
    for parent in ROOT.parents:
        candidate = parent.joinpath("shared", *parts)
        if candidate.exists():
            return candidate
    return ROOT.parent.joinpath("shared", *parts)


def write_or_check(outputs: Mapping[Path, str], *, check: bool, source: Path | None = None) -> int:
    """Write each generated file, or with `check` only compare it: the exit status (1: a checked file is stale)."""
    stale = [path for path, text in outputs.items() if not path.exists() or path.read_text(encoding="utf-8") != text]
    if check:
        against = f" against {source}" if source else ""
        for path in outputs:
            print(f"{path.relative_to(ROOT)}: {'stale' if path in stale else 'current'}{against}")
        return 1 if stale else 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0
