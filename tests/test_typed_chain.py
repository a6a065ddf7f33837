"""The typed chain as a type checker sees it: one `mypy --strict` run over the snippets in typed_snippets/.

`passes.py` must raise no error; in `fails.py` each line ending in `# expect[code]: text` must get an
error with that code whose message contains the text, and no other line any error. The snippets are
left out of the repository's own mypy run (pyproject.toml), since `fails.py` is wrong on purpose.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = Path(__file__).with_name("typed_snippets")
EXPECT = re.compile(r"#\s*expect\[(?P<code>[a-z-]+)\]:\s*(?P<text>.+?)\s*$")
ERROR = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: (?P<message>.*)  \[(?P<code>[a-z-]+)\]$")

Where = tuple[str, int]


def expected() -> dict[Where, tuple[str, str]]:
    """(file name, line) -> (error code, text of the message) for every `# expect[...]` comment."""
    found: dict[Where, tuple[str, str]] = {}
    for path in sorted(SNIPPETS.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                found[(path.name, number)] = (match["code"], match["text"])
    return found


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> dict[Where, list[tuple[str, str]]]:
    """(file name, line) -> [(code, message)] of the errors mypy reports, from a cold cache."""
    cache = tmp_path_factory.mktemp("mypy-cache")
    files = [str(path) for path in sorted(SNIPPETS.glob("*.py"))]
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), "--no-error-summary", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors: dict[Where, list[tuple[str, str]]] = {}
    for line in run.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            where = (Path(match["file"]).name, int(match["line"]))
            errors.setdefault(where, []).append((match["code"], match["message"]))
        else:
            assert ": note: " in line, f"unexpected mypy output: {line}\n{run.stderr}"
    return errors


def test_the_snippets_expect_what_the_typed_chain_must_catch() -> None:
    codes = {code for code, _ in expected().values()}
    # A misspelt segment or an undocumented verb, a missing or unknown placeholder, a body without a
    # required field, with a wrong type, an unknown key or a value outside its enumeration; an answer's type.
    assert codes >= {"attr-defined", "call-arg", "typeddict-item", "typeddict-unknown-key", "list-item", "assignment"}
    assert len(expected()) >= 14


def test_every_expected_error_is_reported_on_its_line(reported: dict[Where, list[tuple[str, str]]]) -> None:
    missing = {
        where: want
        for where, want in expected().items()
        if not any(code == want[0] and want[1] in message for code, message in reported.get(where, []))
    }
    assert missing == {}, f"expected, not reported: {missing}; reported: {reported}"


def test_nothing_else_is_reported(reported: dict[Where, list[tuple[str, str]]]) -> None:
    extra = {where: errors for where, errors in reported.items() if where not in expected()}
    assert extra == {}
