"""The table-driven request validator: field specs for bodies, queries, path parameters and controls.

A field that fails its spec is refused as WeChat Pay does: `400 PARAM_ERROR`, the message
`<location> field <name>: <issue>` and `detail: {field, location, issue}`; nested fields are named
like `policy_periods[0].estimated_deduct_amount.total`. Only the first bad field is reported.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ._http import Answer, Incoming, Refusal
from ._routing import Params
from ._time import parse_date, parse_rfc3339

Kind = Literal["string", "integer", "number", "boolean", "object", "array"]

_DIGITS = re.compile(r"[0-9]+")
_ALNUM = re.compile(r"[0-9A-Za-z]+")
_ORDER_NO = re.compile(r"[0-9A-Za-z_\-|*]+")
_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]+")
_URL = re.compile(r"https?://[^\s/]+\S*")


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


# String formats by name: (test, the issue reported when it fails).
FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "date": (lambda s: parse_date(s) is not None, "must be a date YYYY-MM-DD"),
    "rfc3339": (lambda s: parse_rfc3339(s) is not None, "must be an RFC 3339 time with offset"),
    "url": (lambda s: _URL.fullmatch(s) is not None, "must be an http(s) URL"),
    "base64": (_is_base64, "must be base64"),
    "digits": (lambda s: _DIGITS.fullmatch(s) is not None, "must be digits"),
    "alnum": (lambda s: _ALNUM.fullmatch(s) is not None, "must be letters and digits only"),
    "order_no": (lambda s: _ORDER_NO.fullmatch(s) is not None, "must match [0-9A-Za-z_-|*]"),
    "refund_no": (lambda s: _REFUND_NO.fullmatch(s) is not None, "must match [0-9A-Za-z_-|*@]"),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One request field: JSON kind, presence and limits; arrays apply limits per element."""

    name: str
    kind: Kind
    required: bool = False
    max_len: int | None = None
    enum: tuple[str, ...] = ()
    fmt: str | None = None  # a key of FORMATS
    minimum: float | None = None
    maximum: float | None = None
    fields: tuple[FieldSpec, ...] = ()  # members of an object, or of each object in an array
    item: Kind | None = None  # element kind of an array
    min_items: int = 0
    max_items: int | None = None


Specs = tuple[FieldSpec, ...]


def param_error(name: str, issue: str, location: str = "body") -> Refusal:
    """The PARAM_ERROR refusal naming one bad field."""
    detail = {"field": name, "location": location, "issue": issue}
    return Refusal(400, "PARAM_ERROR", f"{location} field {name}: {issue}", detail)


# -- spec builders: one line per field in the tables ---------------------------------------------


def text(
    name: str, *, req: bool = False, max_len: int | None = None, enum: tuple[str, ...] = (), fmt: str | None = None
) -> FieldSpec:
    """A string field."""
    return FieldSpec(name, "string", req, max_len, enum, fmt)


def integer(name: str, *, req: bool = False, minimum: int | None = None, maximum: int | None = None) -> FieldSpec:
    """An integer field (JSON integers only: no booleans, no floats)."""
    return FieldSpec(name, "integer", req, minimum=minimum, maximum=maximum)


def number(name: str, *, req: bool = False, minimum: float | None = None) -> FieldSpec:
    """A number field (integer or float, not a boolean)."""
    return FieldSpec(name, "number", req, minimum=minimum)


def flag(name: str, *, req: bool = False) -> FieldSpec:
    """A boolean field."""
    return FieldSpec(name, "boolean", req)


def obj(name: str, *fields: FieldSpec, req: bool = False) -> FieldSpec:
    """An object field with its members' specs (an object without specs is taken as is)."""
    return FieldSpec(name, "object", req, fields=fields)


def array(
    name: str, item: FieldSpec, *, req: bool = False, min_items: int = 0, max_items: int | None = None
) -> FieldSpec:
    """An array of elements shaped like `item` (an object spec's fields, or a scalar's limits)."""
    return dataclasses.replace(
        item, name=name, kind="array", required=req, item=item.kind, min_items=min_items, max_items=max_items
    )


def optional(spec: FieldSpec) -> FieldSpec:
    """The same field, not required."""
    return dataclasses.replace(spec, required=False)


# -- checking ------------------------------------------------------------------------------------


def validate(value: Any, specs: Specs, location: str = "body") -> dict[str, Any]:
    """Check a JSON object against specs; return it cleaned (known, non-null fields only)."""
    return _check_object(value, specs, "", location)


def read_strings(raw: Mapping[str, str], specs: Specs, location: str) -> dict[str, Any]:
    """Type path or query strings by their specs (integers, numbers, booleans), then validate them."""
    typed: dict[str, Any] = {}
    for spec in specs:
        value = raw.get(spec.name)
        if value is not None:
            typed[spec.name] = _from_string(value, spec, location)
    return validate(typed, specs, location)


def read_json(raw: bytes, specs: Specs) -> dict[str, Any]:
    """Parse and validate a JSON object body."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise param_error("(root)", "request body is not valid JSON") from None
    return validate(document, specs)


def _from_string(value: str, spec: FieldSpec, location: str) -> Any:
    if spec.kind == "integer":
        if not _DIGITS.fullmatch(value):
            raise param_error(spec.name, "must be an integer", location)
        return int(value)
    if spec.kind == "number":
        try:
            return float(value)
        except ValueError:
            raise param_error(spec.name, "must be a number", location) from None
    if spec.kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _check_object(value: Any, specs: Specs, prefix: str, location: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise param_error(prefix or "(root)", "must be a JSON object", location)
    if not specs and prefix:
        return value  # a free-form object
    clean: dict[str, Any] = {}
    for spec in specs:
        name = f"{prefix}.{spec.name}" if prefix else spec.name
        if value.get(spec.name) is None:
            if spec.required:
                raise param_error(name, "is required", location)
            continue
        clean[spec.name] = _check(value[spec.name], spec, name, location)
    return clean


def _check(value: Any, spec: FieldSpec, name: str, location: str) -> Any:
    if spec.kind == "object":
        return _check_object(value, spec.fields, name, location)
    if spec.kind == "array":
        return _check_array(value, spec, name, location)
    if spec.kind == "boolean":
        if not isinstance(value, bool):
            raise param_error(name, "must be a boolean", location)
        return value
    if spec.kind in ("integer", "number"):
        return _check_number(value, spec, name, location)
    return _check_string(value, spec, name, location)


def _check_array(value: Any, spec: FieldSpec, name: str, location: str) -> list[Any]:
    if not isinstance(value, list):
        raise param_error(name, "must be an array", location)
    if len(value) < spec.min_items:
        raise param_error(name, f"needs at least {spec.min_items} item(s)", location)
    if spec.max_items is not None and len(value) > spec.max_items:
        raise param_error(name, f"allows at most {spec.max_items} items", location)
    element = dataclasses.replace(spec, kind=spec.item or "string", item=None)
    return [_check(item, element, f"{name}[{i}]", location) for i, item in enumerate(value)]


def _check_number(value: Any, spec: FieldSpec, name: str, location: str) -> float:
    kinds = int if spec.kind == "integer" else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise param_error(name, f"must be {'an integer' if spec.kind == 'integer' else 'a number'}", location)
    if spec.minimum is not None and value < spec.minimum:
        raise param_error(name, f"must be >= {spec.minimum}", location)
    if spec.maximum is not None and value > spec.maximum:
        raise param_error(name, f"must be <= {spec.maximum}", location)
    return value


def _check_string(value: Any, spec: FieldSpec, name: str, location: str) -> str:
    if not isinstance(value, str):
        raise param_error(name, "must be a string", location)
    if not value and spec.required:
        raise param_error(name, "must not be empty", location)
    if spec.max_len is not None and len(value) > spec.max_len:
        raise param_error(name, f"is longer than {spec.max_len} characters", location)
    if spec.enum and value not in spec.enum:
        raise param_error(name, f"must be one of {', '.join(spec.enum)}", location)
    if spec.fmt is not None and value:
        test, issue = FORMATS[spec.fmt]
        if not test(value):
            raise param_error(name, issue, location)
    return value


# -- validated handlers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """A request whose path parameters, query and body passed their specs (typed and cleaned)."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: dict[str, Any]
    incoming: Incoming


def checked(
    run: Callable[[Call], Answer],
    *,
    path: Mapping[str, FieldSpec],
    query: Specs = (),
    body: Specs | None = None,
) -> Callable[[Incoming, Params], Answer]:
    """A route handler that checks path, then query, then body, and hands `run` the typed `Call`.

    `path` holds the spec of each placeholder name; `body=None` ignores any body (GET, or a POST
    documented without one).
    """

    def handler(incoming: Incoming, params: Params) -> Answer:
        return run(
            Call(
                read_strings(params, tuple(path[name] for name in params), "path"),
                read_strings(incoming.query, query, "query"),
                {} if body is None else read_json(incoming.body, body),
                incoming,
            )
        )

    return handler
