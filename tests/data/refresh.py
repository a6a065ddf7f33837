"""Regenerate endpoints.jsonl, the conformance corpus tests/test_corpus.py runs, from its source.

    python tests/data/refresh.py                        # from ../shared/corpus/endpoints.jsonl
    python tests/data/refresh.py --source PATH --check  # exit 1 if the checked-in copy is stale

The tests read only the copy next to this script, so a clone runs them with no sibling folder.
The copy keeps the fields the tests use, plus `doc` (the source page), in the source's order:
the same source always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "endpoints.jsonl"
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "corpus" / "endpoints.jsonl"
FIELDS = ("doc", "method", "attr_chain", "template", "placeholders", "example_args")


def render(source: Path) -> str:
    """The corpus copy: one JSON object a line, FIELDS only, in the source's order."""
    lines = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            lines.append(json.dumps({name: row[name] for name in FIELDS}, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the copy; the exit status says whether it was current."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help=f"default: {DEFAULT_SOURCE}")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if the copy differs")
    args = parser.parse_args(argv)
    text = render(args.source)
    current = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
    if args.check:
        print(f"{TARGET.name}: {'current' if current else 'stale'} against {args.source}")
        return 0 if current else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"{TARGET.name}: {text.count(chr(10))} endpoints from {args.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
