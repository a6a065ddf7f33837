"""Write the package's endpoint catalogue (`wechatpay_chain/_catalogue/endpoints.json`) from the shared one.

    python -m tools.catalogue                        # from ../shared/catalogue/endpoints.json
    python -m tools.catalogue --source PATH --check  # exit 1 if the package's copy is stale

The source (`endpoints.json` beside a README giving its provenance) lists 1,154 endpoints with
their schema trees. The package keeps what strict mode, the typed chain and the emulator need, in
a compact form: every schema node once, in a table (`nodes`), referred to by its index, so that the
hundreds of repeated `amount`, `payer` or `{type: string, maxLength: 32}` nodes are stored once.
One node or endpoint a line, keys sorted: the same source always gives the same bytes, and a new
catalogue shows as a readable diff.

Repairs of the source are made here and listed in the output's `repairs` (and in NOTICE.md):
types that are no JSON type (`"int"`, `"stringde"`, an example value written where the type
belongs), a tree with properties but no type, `pattern`s written between slashes, an APIv2
`sign` too short for the HMAC-SHA256 sign its endpoint's `sign_type` allows, and identifiers
marked required where WeChat Pay asks for any one of them (read as `x-required-any`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from ._generated import ROOT, shared, write_or_check

TARGET = ROOT / "wechatpay_chain" / "_catalogue" / "endpoints.json"
NOTICE = ROOT / "wechatpay_chain" / "_catalogue" / "NOTICE.md"

# Provenance, as the source's README gives it: checked against that README on every run.
REPOSITORY = "https://github.com/TheNorthMemory/wechatpay-openapi"
COMMIT = "4d6325b09af308025ba7677ead284feeea2680ba"
VERSION = "1.1.20"
COPYRIGHT = "Copyright (c) 2020-present James ZHANG(TheNorthMemory)"

JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "file"})
TYPE_SLIPS = {"int": "integer", "uint64": "integer", "string ": "string", "stringde": "string"}
# Keys of a schema node kept as they are (children are replaced by node numbers).
PLAIN_KEYS = (
    "type",
    "required",
    "enum",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "x-required-any",  # groups of fields of which each needs one (a repair: see `alternatives`)
)
# Fields of an endpoint kept as they are when present.
OPTIONAL_FIELDS = ("produces", "cert_required", "deprecated", "base_uri", "corpus_template")
# A class holding the range `|-_` (0x7C down to 0x5F, which no regex engine accepts): a literal '-' meant.
REVERSED_RANGE = "\\|-_"
HMAC_SIGN_LENGTH = 64  # an HMAC-SHA256 `sign`: 64 hex characters (an MD5 one has 32)
# An order named two ways, and what else names it in a query: where an APIv2 body's `required` lists
# both of a pair, WeChat Pay asks for one of them (二选一, or 四选一 with a second pair), not all.
ORDER_IDS = ("transaction_id", "out_trade_no")
OTHER_IDS = (("out_refund_no", "refund_id"), ("sub_order_no", "sub_order_id"))
BOTH_IDS = frozenset({"v2/cgi-bin/mch/customs/customdeclareorder", "v2/cgi-bin/mch/newcustoms/customdeclareredeclare"})

MIT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class Compactor:
    """Turns schema trees into numbered nodes, each distinct node once, and records every repair."""

    def __init__(self) -> None:
        self.nodes: list[str] = []  # each node's canonical JSON, by number
        self._numbers: dict[str, int] = {}
        self.repairs: list[str] = []

    def node(self, tree: dict[str, Any], where: str) -> int:
        """The number of `tree` (children first), repaired where the source slips."""
        node: dict[str, Any] = {key: tree[key] for key in PLAIN_KEYS if key in tree}
        if "type" in node and node["type"] not in JSON_TYPES:
            node["type"] = self._type(node["type"], where)
        elif "type" not in node and ("properties" in tree or "required" in tree):
            node["type"] = "object"
            self.repairs.append(f"{where}: no type, read as 'object' (it has properties or required)")
        if "pattern" in node:
            node["pattern"] = self._pattern(node["pattern"], where)
        if "enum" in node:
            self.agree_with_enum(node, where)
        if "properties" in tree:
            node["properties"] = {
                name: self.node(child, f"{where}.{name}") for name, child in tree["properties"].items()
            }
        if "items" in tree:
            node["items"] = self.node(tree["items"], f"{where}[]")
        if "oneOf" in tree:
            node["oneOf"] = [self.node(child, f"{where}|{i}") for i, child in enumerate(tree["oneOf"])]
        if "x-json" in tree:
            node["x-json"] = self.node(tree["x-json"], f"{where}<json>")
        text = dump(node)
        number = self._numbers.get(text)
        if number is None:
            number = self._numbers[text] = len(self.nodes)
            self.nodes.append(text)
        return number

    def _type(self, written: str, where: str) -> str:
        read = TYPE_SLIPS.get(written, "string")
        why = "a slip" if written in TYPE_SLIPS else "an example value written where the type belongs"
        self.repairs.append(f"{where}: type {written!r} ({why}) read as {read!r}")
        return read

    def agree_with_enum(self, node: dict[str, Any], where: str) -> None:
        """Make the type and length agree with the enumeration where the source contradicts itself."""
        values = node["enum"]
        kind = node.get("type")
        if kind == "string" and any(not isinstance(v, str) for v in values):
            node["enum"] = [v if isinstance(v, str) else str(v) for v in values]
            self.repairs.append(f"{where}: a string whose enum {values} holds numbers; read as {node['enum']}")
        elif kind in ("integer", "number") and any(isinstance(v, str) for v in values):
            node["type"] = "string"
            self.repairs.append(f"{where}: type {kind!r} but enum {values} holds strings; read as 'string'")
        longest = max((len(v) for v in node["enum"] if isinstance(v, str)), default=0)
        if longest > node.get("maxLength", longest):
            self.repairs.append(f"{where}: maxLength {node['maxLength']} is shorter than its enum; read as {longest}")
            node["maxLength"] = longest

    def _pattern(self, written: str, where: str) -> str:
        inner = written[1:-1] if len(written) > 1 and written[0] == written[-1] == "/" else written
        if REVERSED_RANGE in inner:
            inner = inner.replace(REVERSED_RANGE, "\\|\\-_")
            self.repairs.append(f"{where}: pattern {written!r} holds the reversed range '|-_'; read as '|', '-', '_'")
        re.compile(inner)  # any other broken pattern stops the generator
        anchored = f"^(?:{inner})$"
        self.repairs.append(f"{where}: pattern {written!r} (between slashes, unanchored) read as {anchored!r}")
        return anchored


def dump(value: object) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def endpoint(source: dict[str, Any], compactor: Compactor) -> dict[str, Any]:
    """What the package keeps of one endpoint, its trees replaced by node numbers."""
    name = f"{source['method']} {source['template']}"
    query = []
    for param in source["query"]:
        kept = {key: param[key] for key in ("name", "type", "required", "enum") if key in param}
        if "enum" in kept:
            compactor.agree_with_enum(kept, f"{name} query {param['name']}")
        if "items" in param:
            kept["items"] = compactor.node(param["items"], f"{name} query {param['name']}[]")
        query.append(kept)
    body = source["body"]
    responses = dict(source["responses"])
    if takes_hmac(source):
        body = widen_sign(body, f"{name} body", compactor)
    if source["api"] == "v2" and source["template"] not in BOTH_IDS:
        body = alternatives(body, f"{name} body", compactor)
        responses = {status: widen_sign(tree, f"{name} {status}", compactor) for status, tree in responses.items()}
    record: dict[str, Any] = {
        "method": source["method"],
        "template": source["template"],
        "api": source["api"],
        "content_type": source["content_type"],
        "path_params": [[param["name"], param["type"]] for param in source["path_params"]],
        "query": query,
        "body": None if body is None else compactor.node(body, f"{name} body"),
        "responses": {
            status: None if tree is None else compactor.node(tree, f"{name} {status}")
            for status, tree in responses.items()
        },
    }
    record.update({key: source[key] for key in OPTIONAL_FIELDS if key in source})
    return record


def takes_hmac(source: dict[str, Any]) -> bool:
    """Whether an APIv2 call documents a `sign_type` that allows HMAC-SHA256 (its answer is signed the same way)."""
    if source["api"] != "v2":
        return False
    fields = dict((source["body"] or {}).get("properties", {}))
    fields.update({param["name"]: param for param in source["query"]})
    sign_type = fields.get("sign_type")
    return sign_type is not None and "HMAC-SHA256" in sign_type.get("enum", ["HMAC-SHA256"])


def widen_sign(tree: dict[str, Any] | None, where: str, compactor: Compactor) -> dict[str, Any] | None:
    """The tree, its `sign` long enough for an HMAC-SHA256 sign (a copy: nodes are shared)."""
    sign = (tree or {}).get("properties", {}).get("sign")
    if tree is None or sign is None or sign.get("maxLength", HMAC_SIGN_LENGTH) >= HMAC_SIGN_LENGTH:
        return tree
    compactor.repairs.append(
        f"{where}.sign: maxLength {sign['maxLength']} is shorter than the HMAC-SHA256 sign its sign_type "
        f"allows; read as {HMAC_SIGN_LENGTH}"
    )
    properties = {**tree["properties"], "sign": {**sign, "maxLength": HMAC_SIGN_LENGTH}}
    return {**tree, "properties": properties}


def alternatives(tree: dict[str, Any] | None, where: str, compactor: Compactor) -> dict[str, Any] | None:
    """The tree, the order's two identifiers (and a second pair named with them) required as alternatives."""
    required = list((tree or {}).get("required", ()))
    if tree is None or not set(ORDER_IDS) <= set(required):
        return tree
    group = [*ORDER_IDS, *(name for pair in OTHER_IDS if set(pair) <= set(required) for name in pair)]
    named = ", ".join(group)
    compactor.repairs.append(
        f"{where}: required names {named}, of which WeChat Pay asks for one; read as x-required-any"
    )
    return {**tree, "required": [name for name in required if name not in group], "x-required-any": [group]}


def render(source: Path) -> str:
    """The package's catalogue, as text: a header, then one node and one endpoint a line."""
    check_provenance(source)
    compactor = Compactor()
    endpoints = [endpoint(row, compactor) for row in json.loads(source.read_text(encoding="utf-8"))]
    header = {
        "source": {"repository": REPOSITORY, "commit": COMMIT, "version": VERSION, "license": "MIT"},
        "notice": "NOTICE.md",
        "repairs": compactor.repairs,
    }
    lines = ["{", f'"about":{dump(header)},', '"nodes":[']
    lines += [text + "," for text in compactor.nodes[:-1]] + [compactor.nodes[-1], "],", '"endpoints":[']
    rows = [dump(row) for row in endpoints]
    lines += [row + "," for row in rows[:-1]] + [rows[-1], "]", "}"]
    return "\n".join(lines) + "\n"


def notice(repairs: list[str]) -> str:
    """NOTICE.md: where the catalogue comes from, its license, and the repairs made to it."""
    listed = "\n".join(f"- {repair}" for repair in repairs)
    return (
        "# The endpoint catalogue: provenance and license\n\n"
        "`endpoints.json` here, and the typed chain's stubs generated from it (`wechatpay_chain/endpoints/`),\n"
        "hold facts (paths, parameters, field names, types, enumerations) derived from the Swagger files of\n"
        f"{REPOSITORY}\n"
        f"at commit {COMMIT} (swagger info.version {VERSION}): `docs/{{v2,v3,hk,global}}/**.yaml` and\n"
        "`docs/definitions/*.yaml`. They are structure only: no descriptions, titles or examples.\n"
        "That repository is licensed under the MIT License:\n\n"
        "```\nMIT License\n\n"
        f"{COPYRIGHT}\n\n{MIT}```\n\n"
        "## Repairs\n\n"
        "Read as written except for these repairs (`tools/catalogue.py` in the wechatpay_chain repository\n"
        "makes them). Patterns are written between slashes and unanchored in the source; they are kept\n"
        "anchored, as their values are meant whole.\n\n"
        f"{listed}\n"
    )


def check_provenance(source: Path) -> None:
    """Refuse a source whose README does not name the commit and license recorded here."""
    readme = source.with_name("README.md")
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if COMMIT not in text or "MIT" not in text:
        raise SystemExit(f"{readme}: does not name commit {COMMIT} under MIT; update the provenance in {__file__}")


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the package's catalogue and notice; the status says if they were current."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="default: ../shared/catalogue/endpoints.json")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a file differs")
    args = parser.parse_args(argv)
    source = args.source or shared("catalogue", "endpoints.json")
    catalogue = render(source)
    outputs = {TARGET: catalogue, NOTICE: notice(json.loads(catalogue)["about"]["repairs"])}
    status = write_or_check(outputs, check=args.check, source=source)
    if not args.check:
        count = catalogue.count("\n") - catalogue.split('"endpoints":[', 1)[0].count("\n") - 3
        print(f"{TARGET.relative_to(ROOT)}: {count} endpoints, {len(catalogue.encode()):,} bytes from {source}")
    return status


if __name__ == "__main__":
    sys.exit(main())
