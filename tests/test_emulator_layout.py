"""How the emulator is put together: imports one way, every control declared once and documented, families plug in."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import wechatpay_chain
from wechatpay_chain import ApiError, Client
from wechatpay_chain.testing import Credentials, Emulator
from wechatpay_chain.testing._controls import PREFIX, Control

PACKAGE = Path(wechatpay_chain.__file__).parent
TESTING = "wechatpay_chain.testing"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(name: str) -> set[str]:
    """Every module `name` imports, wherever the import stands (functions and TYPE_CHECKING included)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source = ".".join(filter(None, (base, node.module)))
            for alias in node.names:  # `from pkg import module` imports the module
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
    return {module for module in found if module in MODULES}


GRAPH = {name: imported(name) for name in MODULES if name.startswith(TESTING)}


def cycle_from(start: str) -> list[str] | None:
    """An import cycle within wechatpay_chain.testing through `start`, if any."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, trail = stack.pop()
        for target in GRAPH.get(name, ()):
            if target == start:
                return [*trail, start]
            if target in GRAPH and target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return None


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_no_module_of_testing_is_part_of_an_import_cycle(name: str) -> None:
    assert cycle_from(name) is None, " -> ".join(cycle_from(name) or [])


def test_modules_import_downwards_families_under_the_emulator() -> None:
    families = {name for name in GRAPH if name.startswith(f"{TESTING}._families")}
    assert len(families) >= 10
    upward = {f"{TESTING}._emulator", f"{TESTING}._pytest_plugin", TESTING}
    assert {name: GRAPH[name] & upward for name in families if GRAPH[name] & upward} == {}
    composers = {f"{TESTING}._emulator", TESTING}
    shared = set(GRAPH) - families - composers
    assert {name: GRAPH[name] & families for name in shared if GRAPH[name] & families} == {}
    core = [name for name in MODULES if not name.startswith((TESTING, "wechatpay_chain._cli"))]
    assert [name for name in core if any(m.startswith(TESTING) for m in imported(name))] == []


def test_the_insurance_products_do_not_import_their_composition() -> None:
    composite = f"{TESTING}._families.insurance"
    products = [name for name in GRAPH if name.startswith(composite + ".")]
    assert [name for name in products if composite in GRAPH[name]] == []


# -- the control table ------------------------------------------------------------------------------------


CREDENTIALS = Credentials.generate()  # an emulator that is never started, for its control table


def every_control() -> list[Control]:
    return list(Emulator(credentials=CREDENTIALS).controls)


@pytest.mark.parametrize("control", every_control(), ids=lambda c: f"{c.method} {c.path}")
def test_each_control_declares_the_parameters_of_its_function(control: Control) -> None:
    signature = inspect.signature(control.run)
    declared = {spec.name for spec in control.params} | set(control.preset)
    signature.bind_partial(**dict.fromkeys(declared))  # no name the function does not take
    for name, parameter in signature.parameters.items():
        if parameter.default is inspect.Parameter.empty and parameter.kind is not parameter.VAR_KEYWORD:
            required = {spec.name for spec in control.params if spec.required} | set(control.preset)
            assert name in required or name == control.rest, f"{name} is required by the function"


def documented_controls() -> set[tuple[str, str]]:
    text = (PACKAGE / "testing" / "EMULATOR.md").read_text(encoding="utf-8")
    section = text[text.index("### Controls over HTTP") : text.index("### Emulator: behaviour chosen")]
    return {(method, path) for method, path in re.findall(r"^\| `(GET|POST|DELETE) ([^`]*?)`", section, re.M)}


def test_the_documented_control_table_is_the_table_in_the_code() -> None:
    assert documented_controls() == {(c.method, c.path.strip()) for c in every_control()}


# -- a family plugs in ------------------------------------------------------------------------------------


def documented_family() -> type[Any]:
    """The family sketched in EMULATOR.md, as written there."""
    text = (PACKAGE / "testing" / "EMULATOR.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(class ProfitSharing:.*?)```", text, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(
        "from __future__ import annotations\n"
        "from collections.abc import Callable\nfrom typing import Any\n"
        "from wechatpay_chain.testing import Answer, Incoming, Notice, Refusal\n"
        "from wechatpay_chain.testing._controls import Control\n"
        "from wechatpay_chain.testing._notices import Notify\n"
        "from wechatpay_chain.testing._routing import Params, Route\n"
        "from wechatpay_chain.testing._validation import text\n" + code.group(1),
        namespace,
    )
    family: type[Any] = namespace["ProfitSharing"]
    return family


async def test_the_documented_family_plugs_in_with_its_routes_and_controls(emulator: Emulator, client: Client) -> None:
    sharing = documented_family()(emulator.webhooks.send)
    emulator.add_family(sharing)
    path = "v3/profitsharing/orders/{out_order_no}"
    with pytest.raises(ApiError) as missing:
        await client[path].get(out_order_no="S1")
    assert (missing.value.status, missing.value.code) == (404, "RESOURCE_NOT_EXISTS")
    sharing.orders["S1"] = {"out_order_no": "S1", "state": "PROCESSING", "notify_url": "https://x.test/n"}
    assert (await client[path].get(out_order_no="S1")).json()["state"] == "PROCESSING"
    async with aiohttp.ClientSession() as session:
        url = emulator.base_url + PREFIX.lstrip("/") + "profitsharing/finish"
        async with session.post(url, json={"out_order_no": "S1"}) as answer:
            assert (answer.status, (await answer.json())["state"]) == (200, "FINISHED")
        async with session.get(emulator.base_url + PREFIX.lstrip("/")) as index:
            assert "profitsharing/finish" in (await index.json())["controls"]
    assert (await client[path].get(out_order_no="S1")).json()["state"] == "FINISHED"
