"""Writing the report into docs/performance.md, between its two marker lines."""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- benchmark output: begin (written by python -m benchmarks.performance --docs; do not edit) -->"
END = "<!-- benchmark output: end -->"


def write_report(page: Path, report: str) -> None:
    """Replace what lies between the markers of `page` with `report`."""
    text = page.read_text(encoding="utf-8")
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{page} lacks the marker lines {BEGIN!r} and {END!r}")
    page.write_text(f"{head}{BEGIN}\n\n{report}\n\n{END}{tail}", encoding="utf-8")
