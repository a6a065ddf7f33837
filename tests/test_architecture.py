"""The package's shape: imports go one way (no cycles, the core never reaches up) and a bare import stays light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wechatpay_chain"
NAME = "wechatpay_chain"
# What `import wechatpay_chain` must not load: each belongs to a feature that loads it on first use.
HEAVY = ["aiohttp.web", "multiprocessing", "argparse", "difflib", "cryptography.x509", "xml.parsers.expat", "redis"]
# The layers above the core: they may import the client; nothing in the core imports them.
ABOVE_CORE = (f"{NAME}.testing", f"{NAME}._cli", f"{NAME}.__main__", f"{NAME}.sync", f"{NAME}._sync")


def above_core(module: str) -> bool:
    return any(module == top or module.startswith(top + ".") for top in ABOVE_CORE)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# The typed chain's stubs (`endpoints/*.pyi`, for type checkers only) count too: they must not import upwards.
MODULES = {module_name(p): p for p in sorted([*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyi")])}


def _target(module: str, node: ast.ImportFrom, alias: str) -> str:
    """The package module an import statement reaches (a submodule if `alias` names one)."""
    if node.level:
        package = module if MODULES[module].stem == "__init__" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    return f"{base}.{alias}" if f"{base}.{alias}" in MODULES else base


def imports_of(module: str) -> set[str]:
    """Every package module `module` imports anywhere: top level, in functions, under TYPE_CHECKING."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(NAME))
        elif isinstance(node, ast.ImportFrom):
            found.update(_target(module, node, a.name) for a in node.names)
    return {m for m in found if m in MODULES and m != module}


GRAPH = {module: imports_of(module) for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a cycle or a knot of them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    assert len(GRAPH) > 30  # the parse found the package
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_never_imports_the_layers_above_it() -> None:
    core = {m for m in GRAPH if not above_core(m) and m != NAME}
    reaching_up = {m: sorted(t for t in GRAPH[m] if above_core(t)) for m in core}
    assert {m: t for m, t in reaching_up.items() if t} == {}


def test_only_the_top_layers_import_the_client() -> None:
    importers = sorted(m for m, targets in GRAPH.items() if f"{NAME}._client" in targets)
    assert importers and all(m == NAME or above_core(m) for m in importers), importers


PROBE = f"""
import json, sys
before = set(sys.modules)
import {NAME}
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.fixture(scope="module")
def loaded() -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    modules: list[str] = json.loads(out.stdout)
    return modules


@pytest.mark.parametrize("heavy", HEAVY)
def test_a_bare_import_loads_no_feature_dependency(loaded: list[str], heavy: str) -> None:
    assert heavy not in loaded


def test_a_bare_import_loads_neither_the_emulator_nor_the_command_line(loaded: list[str]) -> None:
    assert f"{NAME}._client" in loaded  # the probe did import the package
    assert not [m for m in loaded if above_core(m)]


def test_a_bare_import_reads_no_catalogue(loaded: list[str]) -> None:
    assert not [m for m in loaded if m.startswith(f"{NAME}._catalogue")]


def test_the_catalogue_is_read_by_the_first_strict_call_only() -> None:
    probe = f"""
import sys
from cryptography.hazmat.primitives.asymmetric import rsa
from {NAME} import Client
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
Client("1900000109", "5E1A", key, {{"PUB_KEY_ID_1": key.public_key()}})
assert not [m for m in sys.modules if m.startswith("{NAME}._catalogue")], "a lenient client loads no catalogue"
strict = Client("1900000109", "5E1A", key, {{"PUB_KEY_ID_1": key.public_key()}}, strict=True)
from {NAME}._catalogue.data import catalogue
assert catalogue.cache_info().currsize == 0, "a strict client reads the catalogue on its first call"
strict.build_request("GET", "v3/certificates", {{}}, {{}})
assert catalogue.cache_info().currsize == 1
"""
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_features_load_what_they_need_on_first_use() -> None:
    probe = f"import sys, {NAME}; assert 'redis' not in sys.modules; {NAME}.RedisSeenIds; assert 'redis' in sys.modules"
    subprocess.run([sys.executable, "-c", probe], check=True)
