"""Regenerate tests/data/endpoints.jsonl, the conformance corpus tests/test_corpus.py runs, from its source.

    python -m tools.corpus                        # from ../shared/corpus/endpoints.jsonl
    python -m tools.corpus --source PATH --check  # exit 1 if the checked-in copy is stale

The tests read only that copy, so a clone runs them with no sibling folder.
The copy keeps the fields the tests use, plus `doc` (the source page), in the source's order:
the same source always gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._generated import ROOT, shared, write_or_check

TARGET = ROOT / "tests" / "data" / "endpoints.jsonl"
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
    parser.add_argument("--source", type=Path, help="default: ../shared/corpus/endpoints.jsonl")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if the copy differs")
    args = parser.parse_args(argv)
    source = args.source or shared("corpus", "endpoints.jsonl")
    text = render(source)
    status = write_or_check({TARGET: text}, check=args.check, source=source)
    if not args.check:
        print(f"{TARGET.relative_to(ROOT)}: {text.count(chr(10))} endpoints from {source}")
    return status


if __name__ == "__main__":
    sys.exit(main())
