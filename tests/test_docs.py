"""Every code block of README.md and docs/*.md runs against a real emulator on 127.0.0.1, or is marked.

How a block is checked depends on its fence and on an optional marker, an HTML comment alone on
the line just before the fence (invisible once rendered, by mkdocs as on PyPI):

- ```` ```python ````: run in a fresh namespace with top-level `await` allowed, in a working directory
  of its own, against a started `Emulator` with the test session's keys. If the block does not make
  its own, it can use the harness's names: `emu` (the emulator), `wxpay` and `client` (one `Client`
  bound to it, closed with it). `__name__` is `"__main__"`, so `if __name__ == "__main__":` blocks
  run too. A block fails the test by raising: state claims as `assert`s, not as comments.
- `<!-- docs: continue -->` before a python block: it runs after the python block before it on the
  same page, in the same namespace and against the same emulator (a page that builds a program step
  by step).
- A python block that defines top-level `test_*` functions is a test module: it is written to a
  temporary directory with `asyncio_mode = auto` and run by pytest (with the package's pytest
  plugin, as installed); every test must pass.
- ```` ```console ````: a shell session. Lines starting with `$ ` are commands (a trailing `\\`
  continues one); the lines under a command are its output, where `…` alone on a line stands for
  any number of lines and `…` within a line for any text; a command shown without output is not
  compared. The commands run in order in one bash process, in a temporary directory, with the
  package's commands on PATH and the `WECHATPAY_*` variables (`MCHID`, `SERIAL`, `PRIVATE_KEY`,
  `APIV3_KEY`, `PUBLIC_KEY_ID`, `PUBLIC_KEY`, `BASE_URL`) set for a started emulator, as a reader
  sets them from the line `wechatpay-chain mock` prints. A command must exit 0 unless the next
  command is `echo $?`, which shows its status. A block whose command starts a server
  (`wechatpay-chain mock …`) holds only that command: its first line of output is compared, then it
  is stopped with SIGINT and must exit 0.
- `<!-- docs: quickstart -->` before README's Quick start block: its two commands are checked by
  `test_the_quick_start_commands_are_independent`, the main job is run in this environment, and the
  test command is the one `.ci/run` runs.
- `<!-- docs: certificate-mode -->` before a python or console block: it runs against an emulator
  whose merchant has platform certificates only (`key_mode="certificate"`) instead of the default
  WeChat Pay public key, for the pages about downloading certificates.
- `<!-- docs: real-credentials -->`: the block needs a real merchant's credentials (a key file, the
  real API) and is not run; it is compiled, and its first line must say so to the reader. These
  blocks are a small known set, `REAL_CREDENTIALS` below.

Any other fence (```` ```text ````, ```` ```bash ```` without the quickstart marker, …) fails the
test: nothing is skipped silently. `test_block_counts` prints how many blocks of each kind exist.
"""

from __future__ import annotations

import ast
import collections
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docs_blocks import (
    PAGES,
    ROOT,
    Block,
    all_blocks,
    anchors,
    blocks,
    check_shell,
    links,
    pytest_files,
    python_groups,
    run_python,
)

from wechatpay_chain.testing import Credentials

BLOCKS = all_blocks()
README = ROOT / "README.md"
README_LIMIT = 250
# The pages every reader of docs/ can count on (the index links them all).
TOPICS = (
    "index",
    "calls",
    "endpoints",
    "keys",
    "notifications",
    "files",
    "apiv2",
    "sync",
    "production",
    "emulator",
    "testing",
    "payments",
    "reliability",
    "performance",
    "cli",
    "architecture",
)
# Blocks that need a real merchant and are only compiled, by page: keep this list short.
REAL_CREDENTIALS = {"README.md": 1, "docs/keys.md": 1, "docs/cli.md": 1}


def _project_url(label: str) -> str:
    """A URL of pyproject's [project.urls] (read with a pattern: tomllib is Python 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(rf'^{label}\s*=\s*"([^"]+)"', text, re.M)
    assert found, f"pyproject.toml has no {label} URL in [project.urls]"
    return found.group(1)


DOCS_SITE = _project_url("Documentation").rstrip("/") + "/"
REPOSITORY = _project_url("Source").rstrip("/") + "/"


@pytest.fixture(scope="module")
def keys() -> Credentials:
    """Emulator keys made once for all blocks (generating RSA keys is the slow part)."""
    return Credentials.generate()


def _of(kind: str) -> list[Block]:
    return [block for block in BLOCKS if block.kind == kind]


@pytest.mark.parametrize("group", list(python_groups(BLOCKS)), ids=lambda g: g[0].where)
def test_python_block_runs(group: list[Block], keys: Credentials, tmp_path: Path) -> None:
    run_python(group, keys, tmp_path)


@pytest.mark.parametrize("block", _of("pytest"), ids=lambda b: b.where)
def test_test_module_block_passes(block: Block, tmp_path: Path) -> None:
    done = subprocess.run(pytest_files(block, tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{block.where}:\n{done.stdout}{done.stderr}"
    assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout


@pytest.mark.parametrize("block", _of("shell"), ids=lambda b: b.where)
def test_shell_block_behaves_as_shown(block: Block, keys: Credentials, tmp_path: Path) -> None:
    check_shell(block, keys, tmp_path)


@pytest.mark.parametrize("block", _of("real-credentials"), ids=lambda b: b.where)
def test_real_credentials_block_compiles_and_says_so(block: Block) -> None:
    if block.lang == "python":
        compile(block.source, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    else:
        assert block.lang == "console", f"{block.where}: only python and console blocks can be marked"
    first = block.source.splitlines()[0]
    assert first.startswith(("# ", "$ # ")) and "real credentials" in first.lower(), (
        f"{block.where}: a block that is not run tells the reader why in a comment on its first line "
        f"(e.g. '# Real credentials: …'), not {first!r}"
    )


def test_real_credentials_blocks_are_the_known_few() -> None:
    counted = collections.Counter(str(b.page.relative_to(ROOT)) for b in _of("real-credentials"))
    assert dict(counted) == REAL_CREDENTIALS


def test_block_counts() -> None:
    kinds = collections.Counter(block.kind for block in BLOCKS)  # raises on a block of no kind
    print("\ncode blocks:", dict(sorted(kinds.items())), "total", len(BLOCKS))
    run = kinds["python"] + kinds["pytest"] + kinds["shell"] + kinds["quickstart"]
    assert run + kinds["real-credentials"] == len(BLOCKS)
    assert kinds["quickstart"] == 1
    assert kinds["real-credentials"] <= len(BLOCKS) // 10, "most blocks must run"


def test_a_stale_block_fails(keys: Credentials, tmp_path: Path) -> None:
    """The harness is not a formality: a block claiming the wrong state, or the wrong output, fails."""
    page = tmp_path / "stale.md"
    page.write_text(
        "```python\n"
        'r = await wxpay.v3.hirePowerBank.userQualifications._openid_.get(openid="o1")\n'
        'assert r.json() == {"qualified_user": False}\n'
        "```\n\n"
        "```console\n$ wechatpay-chain call GET 'v3/hire-power-bank/user-qualifications/{openid}' -p openid=o1\n"
        '{\n  "qualified_user": false\n}\n```\n',
        encoding="utf-8",
    )
    python, shell = blocks(page)
    with pytest.raises(AssertionError):
        run_python([python], keys, tmp_path)
    with pytest.raises(AssertionError, match="printed"):
        check_shell(shell, keys, tmp_path)


# -- the Quick start -----------------------------------------------------------------------------

QUICKSTART = re.compile(
    r"^python3 -m venv (?P<venv>\S+) && (?P=venv)/bin/pip install (?:-q )?-e (?P<spec>\S+) "
    r"&& (?P=venv)/bin/(?P<run>python -m .+)$"
)


def _quickstart() -> list[re.Match[str]]:
    (block,) = _of("quickstart")
    assert block.page == README
    lines = [line for line in block.source.splitlines() if line.strip() and not line.startswith("#")]
    found = [QUICKSTART.match(line) for line in lines]
    assert all(found) and len(found) == 2, f"two one-line commands of the form {QUICKSTART.pattern}"
    return [m for m in found if m is not None]


def test_the_quick_start_commands_are_independent() -> None:
    demo, tests = _quickstart()
    # Each has its own virtual environment and uses it by path, without activating it: run alone or
    # one after the other, neither builds on (or breaks) the other.
    assert demo["venv"] != tests["venv"]
    assert demo["spec"] == "." and tests["spec"] == "'.[test,bench]'"
    assert demo["run"] == "python -m wechatpay_chain demo"
    assert tests["run"] == "python -m pytest -q -p no:cacheprovider"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8")
    for venv in (demo["venv"], tests["venv"]):
        assert any(re.fullmatch(p.rstrip("/").replace("*", ".*"), venv) for p in ignored.split()), venv


def test_the_quick_start_main_job_runs_here() -> None:
    demo, _ = _quickstart()
    command = demo["run"].split()
    done = subprocess.run(
        [sys.executable, *command[1:]], capture_output=True, text=True, encoding="utf-8", timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^All \d+ steps behaved", done.stdout, re.M), done.stdout


def test_ci_runs_the_quick_start_test_command_and_builds_the_docs() -> None:
    _, tests = _quickstart()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(tests['run'])}$", ci, re.M)
    assert re.search(r"\bmkdocs build --strict --site-dir \S+", ci)


# -- pages and links -------------------------------------------------------------------------------


def test_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= README_LIMIT


def test_each_topic_has_its_page_and_the_site_lists_them() -> None:
    assert {p.stem for p in PAGES if p.parent == ROOT / "docs"} == set(TOPICS)
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert [m.group(1) for m in re.finditer(r"^\s+- [^:]+: (\S+)\.md$", nav, re.M)] == list(TOPICS)


def test_the_long_description_is_readme_and_has_only_absolute_links() -> None:
    # PyPI renders README.md alone: a relative link or an in-page anchor there leads nowhere.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^readme\s*=\s*"README.md"$', pyproject, re.M)
    found = links(README.read_text(encoding="utf-8"))
    assert found, "README links to the docs"
    relative = [link for link in found if not link.startswith(("https://", "mailto:"))]
    assert relative == []


def _page_of(url: str) -> tuple[Path, str]:
    """The docs page and anchor a docs-site URL points to."""
    path, _, anchor = url[len(DOCS_SITE) :].partition("#")
    name = path.strip("/") or "index"
    return ROOT / "docs" / f"{name}.md", anchor


def _repository_file(url: str) -> Path:
    path = re.sub(r"^(?:blob|tree)/[^/]+/", "", url[len(REPOSITORY) :].partition("#")[0])
    return ROOT / path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_to_the_docs_site_and_the_repository_resolve(page: Path) -> None:
    for link in links(page.read_text(encoding="utf-8")):
        if link.startswith(DOCS_SITE):
            target, anchor = _page_of(link)
            assert target.exists(), f"{page.name}: {link} is no docs page"
            assert not anchor or anchor in anchors(target), f"{page.name}: {link}: no heading #{anchor}"
        elif link.startswith(REPOSITORY + "blob/") or link.startswith(REPOSITORY + "tree/"):
            assert _repository_file(link).exists(), f"{page.name}: {link} names no file of the repository"
        elif page == README:
            assert link.startswith(("https://", "mailto:")), link
