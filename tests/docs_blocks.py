"""Finding and running the code blocks of README.md and docs/*.md (used by tests/test_docs.py).

The conventions these helpers implement are described in tests/test_docs.py's docstring.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import os
import re
import signal
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wechatpay_chain import Client
from wechatpay_chain.testing import Credentials, Emulator

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

BLOCK_TIMEOUT = 120.0  # seconds one block (or one shell command) may take; only stops a hang
MARKER = re.compile(r"^<!--\s*docs:\s*([a-z-]+)\s*-->$")
MARKERS = frozenset({"real-credentials", "continue", "quickstart", "certificate-mode"})
FENCE = re.compile(r"^```(\S*)\s*$")
INDENTED_FENCE = re.compile(r"^\s+```")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    source: str
    marker: str | None  # from an HTML comment `<!-- docs: … -->` on the line before the fence

    @property
    def where(self) -> str:
        """`README.md:57`, for test ids and messages."""
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"

    @property
    def kind(self) -> str:
        """How the block is checked: python, pytest, shell, quickstart or real-credentials."""
        if self.marker == "real-credentials":
            return "real-credentials"
        if self.marker == "quickstart":
            return "quickstart"
        if self.lang == "python":
            return "pytest" if defines_tests(self.source) else "python"
        if self.lang == "console":
            return "shell"
        raise ValueError(f"{self.where}: a ```{self.lang} block is neither run nor marked; see tests/test_docs.py")


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order; ValueError on a fence they cannot read."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if INDENTED_FENCE.match(lines[i]):
            raise ValueError(f"{page.name}:{i + 1}: an indented fence; keep code blocks at the left margin")
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"{page.name}:{i + 1}: an unclosed fence")
        before = lines[i - 1].strip() if i else ""
        tag = MARKER.match(before)
        if before.startswith("<!--") and (tag is None or tag.group(1) not in MARKERS):
            raise ValueError(f"{page.name}:{i}: unknown marker {before!r}; one of {sorted(MARKERS)}")
        found.append(Block(page, i + 1, opening.group(1), "\n".join(lines[i + 1 : end]) + "\n", tag and tag.group(1)))
        i = end + 1
    return found


def all_blocks() -> list[Block]:
    """Every block of README.md and docs/*.md."""
    return [block for page in PAGES for block in blocks(page)]


def defines_tests(source: str) -> bool:
    """Whether a python block is a test module: it defines top-level `test_*` functions."""
    tree = ast.parse(source)
    return any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
        for node in tree.body
    )


def python_groups(found: list[Block]) -> Iterator[list[Block]]:
    """The python blocks to run, each followed by the `continue` blocks that share its namespace."""
    group: list[Block] = []
    for block in found:
        if block.kind != "python":
            continue
        if block.marker == "continue":
            if not group or group[-1].page != block.page:
                raise ValueError(f"{block.where}: `continue` needs an earlier python block on the same page")
            group.append(block)
            continue
        if group:
            yield group
        group = [block]
    if group:
        yield group


# -- the emulator every block runs against --------------------------------------------------


def fresh_emulator(credentials: Credentials, block: Block | None = None) -> Emulator:
    """An emulator with the session's keys (a copy, so a certificate rotation stays in one block).

    Its key mode is the default (public-key) unless the block is marked `certificate-mode`.
    """
    certificates = block is not None and block.marker == "certificate-mode"
    copy = dataclasses.replace(credentials, platform=list(credentials.platform))
    return Emulator(credentials=copy, key_mode="certificate" if certificates else "public-key")


def run_python(group: list[Block], credentials: Credentials, workdir: Path) -> None:
    """Run a python block and its `continue` blocks in one namespace, with `emu`, `wxpay` and `client`."""
    loop = asyncio.new_event_loop()
    emulator = fresh_emulator(credentials, group[0])
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        loop.run_until_complete(emulator.start())
        client: Client = emulator.client()
        namespace: dict[str, Any] = {"__name__": "__main__", "emu": emulator, "wxpay": client, "client": client}
        for block in group:
            code = compile(block.source, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if code.co_flags & inspect.CO_COROUTINE:
                loop.run_until_complete(asyncio.wait_for(eval(code, namespace), BLOCK_TIMEOUT))
            else:
                exec(code, namespace)
    finally:
        os.chdir(previous)
        loop.run_until_complete(emulator.close())
        loop.close()


def pytest_files(block: Block, workdir: Path) -> list[str]:
    """Write a test-module block and the pytest settings the docs give; returns the pytest command."""
    (workdir / "test_from_docs.py").write_text(block.source, encoding="utf-8")
    (workdir / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n", encoding="utf-8"
    )
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(workdir)]


# -- shell sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One `$ command` of a console block and the output shown under it."""

    text: str
    expected: list[str]


def commands(block: Block) -> list[Command]:
    """The commands of a console block: `$ ` lines (with `\\` continuations) and the output lines after each."""
    found: list[Command] = []
    lines = block.source.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise ValueError(f"{block.where}: output before the first `$ ` command: {lines[i]!r}")
        text = [lines[i][2:]]
        while text[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            text.append(lines[i])
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        found.append(Command("\n".join(text), expected))
    return found


def output_pattern(expected: list[str]) -> re.Pattern[str]:
    """A pattern for the shown output: `…` alone on a line stands for any lines, within a line for any text."""
    parts = []
    for line in expected:
        if line.strip() == ELLIPSIS:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append("[^\n]*".join(re.escape(piece) for piece in line.rstrip().split(ELLIPSIS)) + r"\n")
    return re.compile("".join(parts))


def matches(expected: list[str], actual: str) -> bool:
    """Whether the actual output is what the docs show (see `output_pattern`)."""
    text = "\n".join(line.rstrip() for line in actual.strip("\n").splitlines()) + "\n"
    return output_pattern(expected).fullmatch(text) is not None


def shell_env(emulator: Emulator, keys: Path) -> dict[str, str]:
    """The environment of a console block: the `WECHATPAY_*` variables of the emulator's merchant."""
    files = emulator.credentials.save(keys)
    credentials = emulator.credentials
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WECHATPAY_")}
    return {
        **env,
        "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
        "PYTHONIOENCODING": "utf-8",
        "WECHATPAY_MCHID": credentials.mchid,
        "WECHATPAY_SERIAL": credentials.serial,
        "WECHATPAY_PRIVATE_KEY": files["private_key_file"],
        "WECHATPAY_APIV3_KEY": credentials.apiv3_key,
        "WECHATPAY_PUBLIC_KEY_ID": credentials.public_key_id,
        "WECHATPAY_PUBLIC_KEY": files["public_key_file"],
        "WECHATPAY_BASE_URL": emulator.base_url,
    }


SEPARATOR = "@@docs-command {rc}@@"
SEPARATED = re.compile(r"\n?@@docs-command (\d+)@@\n")
SERVER = re.compile(r"^(?:wechatpay-chain|python -m wechatpay_chain) mock\b")


def session_script(found: list[Command]) -> str:
    """One bash script running the commands in order, each followed by a line with its exit status."""
    lines = ['cd "$1"']
    for command in found:
        lines.append(f"{{ {command.text}\n}} 2>&1")
        lines.append(f"__rc=$?; printf '\\n{SEPARATOR.format(rc='%d')}\\n' $__rc; (exit $__rc)")
    return "\n".join(lines) + "\n"


async def run_session(found: list[Command], env: Mapping[str, str], workdir: Path) -> list[tuple[int, str]]:
    """Run the commands in one bash session; returns each one's (exit status, output)."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        session_script(found),
        "bash",
        str(workdir),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(env),
    )
    out, _ = await asyncio.wait_for(process.communicate(), BLOCK_TIMEOUT)
    pieces = SEPARATED.split(out.decode("utf-8"))
    # pieces: output, status, output, status, …, trailing text
    return [(int(pieces[i + 1]), pieces[i]) for i in range(0, len(pieces) - 1, 2)]


async def run_server(command: Command, env: Mapping[str, str], workdir: Path) -> tuple[str, int]:
    """Start a serving command, read its first line, stop it with SIGINT; returns (line, exit status)."""
    process = await asyncio.create_subprocess_shell(
        "exec " + command.text,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        env=dict(env),
        cwd=workdir,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), BLOCK_TIMEOUT)
    finally:
        process.send_signal(signal.SIGINT)
        status = await asyncio.wait_for(process.wait(), BLOCK_TIMEOUT)
    return line.decode("utf-8"), status


def check_shell(block: Block, credentials: Credentials, workdir: Path) -> None:
    """Run a console block against a fresh emulator and compare every shown output."""
    found = commands(block)
    servers = [c for c in found if SERVER.match(c.text)]
    if servers and len(found) > 1:
        raise AssertionError(f"{block.where}: a block that starts a server holds that one command only")

    async def session() -> None:
        async with fresh_emulator(credentials, block) as emulator:
            env = shell_env(emulator, workdir / "merchant-keys")
            work = workdir / "work"
            work.mkdir()
            if servers:
                line, status = await run_server(servers[0], env, work)
                assert matches(servers[0].expected, line), f"{block.where}: the server printed\n{line}"
                assert status == 0, f"{block.where}: the server exited {status} on SIGINT"
                return
            results = await run_session(found, env, work)
            assert len(results) == len(found), f"{block.where}: only {len(results)} commands ran: {results}"
            for n, (command, (status, output)) in enumerate(zip(found, results, strict=True)):
                shows_status = n + 1 < len(found) and found[n + 1].text.strip() == "echo $?"
                assert status == 0 or shows_status, f"{block.where}: `{command.text}` exited {status}:\n{output}"
                if command.expected:
                    assert matches(command.expected, output), (
                        f"{block.where}: `{command.text}` printed\n{output}\nbut the docs show\n"
                        + "\n".join(command.expected)
                    )

    asyncio.run(session())


# -- links ---------------------------------------------------------------------------------------

INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HTML_LINK = re.compile(r"(?:href|src)\s*=\s*[\"']([^\"']+)[\"']")
AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def links(markdown: str) -> list[str]:
    """Every link and image target of a Markdown text, outside code."""
    text = CODE.sub("", markdown)
    found = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text) + HTML_LINK.findall(text)
    return found + AUTOLINK.findall(text)


def slug(heading: str) -> str:
    """The anchor mkdocs' toc extension gives a heading (its default slugify)."""
    text = re.sub(r"`|\*\*|\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    """The anchors of a docs page's headings (outside code blocks)."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)}
