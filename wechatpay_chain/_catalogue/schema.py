"""A value checked against a schema tree of the catalogue: the first bad field, named as a path.

Fields are named as WeChat Pay's PARAM_ERROR answers name them: `amount.total`,
`detail.goods_detail[0].quantity`, `(root)` for the body itself. Two depths of checking:

- `full=False` (strict mode, before a call goes out): presence of required fields, JSON types,
  enumerations and formats (`rfc3339`, `date`, `url`, `base64`, JSON held in a string, …);
- `full=True` (the emulator, as WeChat Pay would): also lengths, patterns, bounds, item counts.

Where the docs ask for any one of a few fields (`x-required-any`: an order's `transaction_id` or
`out_trade_no`), the first is named when none is given.

What the documentation leaves unsaid is not refused: fields it does not list, a `required`
name it gives no schema for (79 such names in the source are mistakes: a path parameter, a field
defined elsewhere), a field with no type. `null` counts as absent, and a required string must not
be empty.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from .data import QueryParam, Schema


@dataclass(frozen=True, slots=True)
class Violation:
    """The first field that fails its schema, and why (`issue` reads after the field's name)."""

    field: str
    issue: str


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(?:[Zz]|([+-])(\d\d):(\d\d))")
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_URL = re.compile(r"https?://[^\s/?#]+\S*")
_COMPACT_TIME = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)")
_CARD_EXPIRY = re.compile(r"(0[1-9]|1[0-2])/\d\d")
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def _is_rfc3339(text: str) -> bool:
    match = _RFC3339.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    offset = (int(match.group(8)), int(match.group(9))) if match.group(7) else (0, 0)
    return _is_date(year, month, day) and hour < 24 and minute < 60 and second < 61 and offset < (24, 0)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _is_iso_date(text: str) -> bool:
    match = _DATE.fullmatch(text)
    return match is not None and _is_date(*(int(g) for g in match.groups()))


def _is_compact_time(text: str) -> bool:
    match = _COMPACT_TIME.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    return _is_date(year, month, day) and hour < 24 and minute < 60 and second < 60


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(text)


def _holds_json(kind: type) -> Callable[[str], bool]:
    def test(text: str) -> bool:
        try:
            return isinstance(orjson.loads(text), kind)
        except orjson.JSONDecodeError:
            return False

    return test


# String formats the catalogue uses: (test, the issue when it fails). Others (MediaId) are free text.
STRING_FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "rfc3339": (_is_rfc3339, "must be an RFC 3339 time, e.g. 2024-06-01T10:00:00+08:00"),
    "date": (_is_iso_date, "must be a date YYYY-MM-DD"),
    "url": (lambda s: _URL.fullmatch(s) is not None, "must be an http(s) URL"),
    "MediaUrl": (lambda s: _URL.fullmatch(s) is not None, "must be an http(s) URL"),
    "base64": (_is_base64, "must be base64 (an encrypted field: encrypt it with client.encrypt)"),
    "jsonObjectLike": (_holds_json(dict), "must be a JSON object, as text"),
    "jsonArrayLike": (_holds_json(list), "must be a JSON array, as text"),
    "yyyyMMddHHmmss": (_is_compact_time, "must be a time yyyyMMddHHmmss"),
    "mm/yy": (lambda s: _CARD_EXPIRY.fullmatch(s) is not None, "must be MM/YY"),
    "rfc2397": (lambda s: s.startswith("data:") and "," in s, "must be a data: URL (RFC 2397)"),
}
# Number formats: the range they allow; "integer" on a `number` asks for a whole number.
NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint": (0, 2**64 - 1),
    "uint32": (0, 2**32 - 1),
    "unit32": (0, 2**32 - 1),  # the source's spelling of uint32
    "uint64": (0, 2**64 - 1),
}


def first_violation(value: Any, tree: Schema, *, full: bool, field: str = "") -> Violation | None:
    """The first field of `value` that `tree` refuses, or None when it conforms."""
    if "oneOf" in tree:
        return _one_of(value, tree, full, field)
    kind = tree.get("type")
    if kind == "object" or (kind is None and "properties" in tree):
        return _object(value, tree, full, field)
    if kind == "array":
        return _array(value, tree, full, field)
    if kind == "string":
        return _string(value, tree, full, field)
    if kind in ("integer", "number"):
        return _number(value, tree, full, field, kind)
    if kind == "boolean" and not isinstance(value, bool):
        return Violation(field or "(root)", "must be a boolean")
    return _enum(value, tree, field)


def required_fields(tree: Schema | None) -> list[str]:
    """The required fields `tree` documents a schema for (those it checks), in the documented order."""
    if tree is None:
        return []
    properties = tree.get("properties", {})
    return [name for name in tree.get("required", ()) if name in properties]


def from_text(text: str, tree: Schema) -> Any:
    """A path or query string read as the type its tree gives (left as text when it does not read as one)."""
    kind = tree.get("type")
    if kind == "integer" and _INTEGER_TEXT.fullmatch(text):
        return int(text)
    if kind == "number":
        return _number_text(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if kind == "array":
        items = tree.get("items", {})
        return [from_text(part, items) for part in text.split(",")]
    return text


def query_violation(params: tuple[QueryParam, ...], given: Mapping[str, list[str]], *, full: bool) -> Violation | None:
    """The first documented query parameter that the query's values (`name -> [text, …]`) fail, if any.

    An array takes repeated parameters or one comma-separated value; any other parameter its last value.
    """
    for param in params:
        texts = [text for text in given.get(param.name, ()) if text != ""]
        if not texts:
            if param.required:
                return Violation(param.name, "is required")
            continue
        value = from_text(",".join(texts) if param.type == "array" else texts[-1], param.schema)
        found = first_violation(value, param.schema, full=full, field=param.name)
        if found is not None:
            return found
    return None


def _number_text(text: str) -> Any:
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if number == number and abs(number) != float("inf") else text


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def _object(value: Any, tree: Schema, full: bool, field: str) -> Violation | None:
    if not isinstance(value, Mapping):
        return Violation(field or "(root)", "must be a JSON object")
    properties: Mapping[str, Schema] = tree.get("properties", {})
    for name in required_fields(tree):
        present = value.get(name)
        if present is None:
            return Violation(_join(field, name), "is required")
        if present == "" and properties[name].get("type") == "string":
            return Violation(_join(field, name), "is required and must not be empty")
    for first, *others in tree.get("x-required-any", ()):  # any one of them will do
        if all(value.get(name) in (None, "") for name in (first, *others)):
            return Violation(_join(field, first), f"is required, or one of {', '.join(others)}")
    for name, child in properties.items():
        present = value.get(name)
        if present is not None:
            found = first_violation(present, child, full=full, field=_join(field, name))
            if found is not None:
                return found
    return None


def _array(value: Any, tree: Schema, full: bool, field: str) -> Violation | None:
    if not isinstance(value, (list, tuple)):
        return Violation(field or "(root)", "must be an array")
    if full and len(value) < tree.get("minItems", 0):
        return Violation(field, f"needs at least {tree['minItems']} item(s)")
    if full and "maxItems" in tree and len(value) > tree["maxItems"]:
        return Violation(field, f"allows at most {tree['maxItems']} item(s)")
    items = tree.get("items")
    if items is not None:
        for i, item in enumerate(value):
            found = first_violation(item, items, full=full, field=f"{field}[{i}]")
            if found is not None:
                return found
    return None


def _string(value: Any, tree: Schema, full: bool, field: str) -> Violation | None:
    name = field or "(root)"
    if not isinstance(value, str):
        return Violation(name, f"must be a string, not {_json_kind(value)}")
    found = _enum(value, tree, field)
    if found is not None:
        return found
    fmt = STRING_FORMATS.get(tree.get("format", ""))
    if fmt is not None and value and not fmt[0](value):
        return Violation(name, fmt[1])
    if "x-json" in tree and value:
        found = _inner_json(value, tree["x-json"], full, name)
        if found is not None:
            return found
    if full:
        if len(value) < tree.get("minLength", 0):
            return Violation(name, f"is shorter than {tree['minLength']} characters")
        if "maxLength" in tree and len(value) > tree["maxLength"]:
            return Violation(name, f"is longer than {tree['maxLength']} characters")
        if "pattern" in tree and not _compiled(tree["pattern"]).search(value):
            return Violation(name, f"must match {tree['pattern']}")
    return None


def _inner_json(text: str, tree: Schema, full: bool, name: str) -> Violation | None:
    """A string holding JSON (a v2 field, a multipart `meta`): its content checked, fields named `meta.sha256`."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Violation(name, "must hold JSON, as text")
    found = first_violation(value, tree, full=full)
    if found is None:
        return None
    return Violation(name if found.field == "(root)" else _join(name, found.field), found.issue)


def _number(value: Any, tree: Schema, full: bool, field: str, kind: str) -> Violation | None:
    name = field or "(root)"
    whole = kind == "integer" or tree.get("format") == "integer"  # sent as 1, never as 1.0
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        expected = "an integer" if whole else "a number"
        return Violation(name, f"must be {expected}, not {_json_kind(value)}")
    found = _enum(value, tree, field)
    if found is not None or not full:
        return found
    low, high = NUMBER_RANGES.get(tree.get("format", ""), (None, None))
    low = tree.get("minimum", low)
    high = tree.get("maximum", high)
    if low is not None and value < low:
        return Violation(name, f"must be >= {low}")
    if high is not None and value > high:
        return Violation(name, f"must be <= {high}")
    return None


def _enum(value: Any, tree: Schema, field: str) -> Violation | None:
    allowed = tree.get("enum")
    if allowed and value not in allowed:
        return Violation(field or "(root)", "must be one of " + ", ".join(str(v) for v in allowed))
    return None


def _one_of(value: Any, tree: Schema, full: bool, field: str) -> Violation | None:
    first: Violation | None = None
    for alternative in tree["oneOf"]:
        found = first_violation(value, alternative, full=full, field=field)
        if found is None:
            return None
        first = first or found
    assert first is not None  # oneOf lists at least one alternative
    return Violation(first.field, f"{first.issue} (in each of the {len(tree['oneOf'])} documented forms)")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
