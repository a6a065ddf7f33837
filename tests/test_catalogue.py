"""The endpoint catalogue in the package: what it holds, the notice that travels with it, the stubs made from it."""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from test_corpus import ROWS as CORPUS

from tools import stubs
from wechatpay_chain import Client
from wechatpay_chain._catalogue.data import catalogue

ROOT = Path(__file__).resolve().parents[1]
DATA = resources.files("wechatpay_chain._catalogue")


def test_the_catalogue_holds_every_documented_endpoint() -> None:
    endpoints = catalogue().endpoints
    assert (len(endpoints), len(catalogue().api("v3")), len(catalogue().api("v2"))) == (1154, 1018, 136)
    keys = {e.key for e in endpoints} | {f"{e.method} {e.corpus_template}" for e in endpoints if e.corpus_template}
    assert not [row for row in CORPUS if f"{row['method']} {row['template']}" not in keys]
    native = next(e for e in endpoints if e.key == "POST v3/pay/transactions/native")
    assert native.body is not None and native.body["properties"]["amount"]["properties"]["total"] == {"type": "integer"}
    assert native.status == 200 and native.response == {
        "type": "object",
        "required": ["code_url"],
        "properties": {"code_url": {"type": "string"}},
    }


def test_its_notice_travels_with_it() -> None:
    notice = DATA.joinpath("NOTICE.md").read_text(encoding="utf-8")
    about = catalogue().about
    assert about["source"]["license"] == "MIT" and about["notice"] == "NOTICE.md"
    assert "Copyright (c) 2020-present James ZHANG(TheNorthMemory)" in notice
    assert "Permission is hereby granted, free of charge" in notice and about["source"]["commit"] in notice
    assert all(f"- {repair}" in notice for repair in about["repairs"])
    third_party = (ROOT / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    assert "wechatpay_chain/_catalogue/" in third_party and "wechatpay_chain/endpoints/" in third_party


def test_the_wheel_ships_the_catalogue_its_notice_and_the_stubs() -> None:
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = config.split("[tool.setuptools.package-data]", 1)[1]
    found = re.search(r"^wechatpay_chain = (\[.*\])$", table, re.M)
    assert found is not None
    patterns = json.loads(found.group(1))  # a TOML array of strings reads as JSON
    for shipped in ("_catalogue/endpoints.json", "_catalogue/NOTICE.md", "endpoints/__init__.pyi"):
        assert (ROOT / "wechatpay_chain" / shipped).is_file()
        assert any(fnmatch.fnmatch(shipped, pattern) for pattern in patterns), shipped


def test_the_stubs_are_current_with_the_catalogue() -> None:
    # Regenerated from the package's own catalogue: `python -m tools.stubs` rewrites them.
    assert stubs.render() == stubs.TARGET.read_text(encoding="utf-8")


def test_every_endpoint_but_five_is_reached_by_attributes(offline_client: Client) -> None:
    _, unreachable = stubs.tree_of(list(catalogue().endpoints))
    # Capitals in a path segment (addInstitutionsub) and {empty}, which stands for a trailing '/'.
    assert len(unreachable) == 5
    for row in CORPUS:
        attributes = [stubs.attribute(written) for written in row["template"].split("/")]
        if None in attributes or row["template"].endswith("{empty}"):
            continue
        start: Any = offline_client
        names = [name for name in attributes if name is not None]
        node = functools.reduce(getattr, names, start)  # the runtime reads the stub's spelling back
        assert str(node) == row["template"]
