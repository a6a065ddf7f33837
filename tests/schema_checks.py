"""A value checked against a catalogue tree with jsonschema, not the package's own validator (emulator tests).

The catalogue's string formats are checked by the small functions here; other formats pass.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jsonschema
import orjson

_T = TypeVar("_T")

JSON_FORMATS: dict[str, Callable[[str], object]] = {
    "rfc3339": lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00")).tzinfo is not None or None,
    "date": dt.date.fromisoformat,
    "url": lambda s: (urlsplit(s).scheme in ("http", "https") and urlsplit(s).netloc) or None,
    "base64": lambda s: base64.b64decode(s, validate=True),
    "jsonObjectLike": lambda s: isinstance(orjson.loads(s), dict) or None,
    "jsonArrayLike": lambda s: isinstance(orjson.loads(s), list) or None,
}
FORMATS = jsonschema.FormatChecker(formats=())
for _name, _parse in JSON_FORMATS.items():
    FORMATS.checks(_name, raises=(ValueError, TypeError, binascii.Error, orjson.JSONDecodeError))(
        lambda value, parse=_parse: not isinstance(value, str) or parse(value) is not None
    )


def conforms(value: Any, tree: Any) -> list[str]:
    """jsonschema's complaints about `value` under the catalogue tree (empty when it conforms)."""
    validator = jsonschema.Draft7Validator(tree, format_checker=FORMATS)
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(value)
    ]


async def problems_of_each(items: Sequence[_T], check: Callable[[_T], Awaitable[list[str]]]) -> list[str]:
    """Every problem `check` finds, eight items at a time (a loaded emulator, not a stampede)."""
    problems: list[str] = []
    for start in range(0, len(items), 8):
        for found in await asyncio.gather(*(check(item) for item in items[start : start + 8])):
            problems += found
    return problems
