"""Deterministic values that fit a schema tree: the bodies of schema-only answers (and of tests' requests).

The same tree and field name always give the same value, and it passes every check the tree
makes (types, required fields, enumerations, formats, lengths, patterns, bounds, item counts):

- a string is its field's name (cut or padded to the documented length), the first value of its
  enumeration, or a fixed value of its format (`2024-06-01T10:00:00+08:00`, `2024-06-01`,
  `https://example.com/<name>`, the base64 of the name, …); a string holding JSON holds a sample
  of its inner tree;
- a number is 100, moved into the documented bounds; a boolean is true;
- an object has every documented property, and a required name the docs give no schema for is a
  string; an array has one item (or as many as `minItems` asks).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson

from ...._catalogue.data import Schema

TIME = "2024-06-01T10:00:00+08:00"
NUMBER = 100
_FORMATS = {
    "rfc3339": TIME,
    "date": "2024-06-01",
    "yyyyMMddHHmmss": "20240601100000",
    "mm/yy": "06/30",
    "rfc2397": "data:text/plain;base64,ZXhhbXBsZQ==",
    "jsonObjectLike": "{}",
    "jsonArrayLike": "[]",
}
# Tried in turn against a `pattern` (the catalogue's patterns are dates, times and codes).
_PATTERN_CANDIDATES = ("20240601", "20240601100000", "100000", "OnAccept", "A1")


def sample(tree: Schema, name: str = "") -> Any:
    """A value of `tree` for the field `name` (the name shapes strings)."""
    if "oneOf" in tree:
        return sample(tree["oneOf"][0], name)
    kind = tree.get("type")
    if tree.get("enum"):
        return tree["enum"][0]
    if kind == "object" or (kind is None and "properties" in tree):
        return _object(tree)
    if kind == "array":
        item = tree.get("items", {"type": "string"})
        return [sample(item, name) for _ in range(max(1, tree.get("minItems", 1)))]
    if kind in ("integer", "number"):
        return min(max(NUMBER, tree.get("minimum", NUMBER)), tree.get("maximum", NUMBER))
    if kind == "boolean":
        return True
    return _string(tree, name)


def _object(tree: Schema) -> dict[str, Any]:
    properties = tree.get("properties", {})
    value = {field: sample(child, field) for field, child in properties.items()}
    for field in tree.get("required", ()):
        value.setdefault(field, field)  # required, but given no schema: any string
    return value


def _string(tree: Schema, name: str) -> str:
    if "x-json" in tree:
        return orjson.dumps(sample(tree["x-json"])).decode()
    fmt = tree.get("format")
    if fmt in _FORMATS:
        return _FORMATS[fmt]
    text = name or "text"
    if fmt in ("url", "MediaUrl"):
        text = f"https://example.com/{text}"
    elif fmt == "base64":
        text = base64.b64encode(text.encode()).decode()
    if "pattern" in tree:
        return _matching(tree["pattern"], text, tree)
    return _fit(text, tree)


def _fit(text: str, tree: Schema) -> str:
    low, high = tree.get("minLength", 1), tree.get("maxLength")
    text = text.ljust(low, "0")
    return text if high is None else text[:high]


def _matching(pattern: str, text: str, tree: Schema) -> str:
    compiled = re.compile(pattern)
    for candidate in (_fit(text, tree), *_PATTERN_CANDIDATES):
        if compiled.search(candidate) and len(candidate) <= tree.get("maxLength", len(candidate)):
            return candidate
    raise ValueError(f"no sample matches the pattern {pattern!r}: add one to _PATTERN_CANDIDATES")
