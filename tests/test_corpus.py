"""Conformance: every documented endpoint works through the three calling styles."""

from __future__ import annotations

import functools
import json
import keyword
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from wechatpay_chain import Client, TemplateError

CORPUS = Path(__file__).with_name("data") / "endpoints.jsonl"  # from the doc site: see data/README.md
ROWS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
OPTION_KEYS = {
    "json",
    "query",
    "headers",
    "xml",
    "security",
    "base_uri",
    "body",
    "sink",
    "handler",
    "nonceless",
    "timeout",
}
RESERVED = {"get", "post", "put", "patch", "delete", "chain"}


def python_attr(segment: str) -> str:
    """The PHP segment as a Python attribute: keywords and node methods get a trailing underscore."""
    return segment + "_" if keyword.iskeyword(segment) or segment in RESERVED else segment


def example_values(row: dict[str, Any]) -> dict[str, str]:
    """A value for each name the documented example passes; awkward on purpose (space, slash, CJK)."""
    names = [a for a in row["example_args"] if a not in OPTION_KEYS]
    return {name: f"{name.upper()}-1 /中?" for name in names}


def test_corpus_is_complete() -> None:
    assert len(ROWS) == 1143


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['method']} {r['template']}" for r in ROWS])
def test_endpoint(row: dict[str, Any], offline_client: Client) -> None:
    attrs = [python_attr(s) for s in row["attr_chain"].split("->")]
    node = functools.reduce(getattr, attrs, offline_client)
    template = row["template"]
    assert str(node) == template
    assert str(offline_client.chain(template)) == template
    assert str(offline_client[template]) == template
    assert node == offline_client[template]

    values = example_values(row)
    build = functools.partial(offline_client.build_request, row["method"], template, values, {})
    if set(values) != set(row["placeholders"]):
        # Documented slips ({empty} with no value, use_id for {user_id}, ...) must fail loudly,
        # naming the placeholder and the template, rather than send a wrong URL.
        with pytest.raises(TemplateError) as caught:
            build()
        missing = set(row["placeholders"]) - set(values)
        assert template in str(caught.value)
        assert all(f"{{{name}}}" in str(caught.value) for name in missing)
        return
    request = build()
    expected = template
    for name, value in values.items():
        expected = expected.replace("{" + name + "}", quote(value, safe=""))
    if expected.startswith("v2/"):
        expected = expected[3:]
    assert request.url == "https://api.mch.weixin.qq.com/" + expected
    assert request.target == "/" + expected
