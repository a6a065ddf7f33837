"""URI templates such as `v3/papay/contracts/plan-id/{plan_id}?a=b`: parsing and strict expansion.

A placeholder value is always exactly one path segment: it is percent-encoded so that no value
can add `/`, `?`, `#` or a dot segment to the path. Mistakes raise `TemplateError` before any I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote

from ._errors import TemplateError

PlaceholderValue = str | int
QueryValue = str | int | float | bool | None
Query = Mapping[str, QueryValue | Iterable[QueryValue]] | Iterable[tuple[str, QueryValue]]

# Characters a literal path may carry as they are (RFC 3986 pchar plus '/' and '%' for
# already-encoded input); anything else, e.g. a space or non-ASCII, is percent-encoded.
_LITERAL_SAFE = "/%:@!$&'()*+,;=-._~"
_DOT_SEGMENTS = frozenset({".", ".."})
# What quote(safe="") never escapes: most ids and amounts are made only of these, and skipping
# quote() for them halves the cost of an expansion.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _quote(text: str) -> str:
    """`text` percent-encoded as one path segment or query component (nothing left unescaped)."""
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="")


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed URI template: literal path pieces alternating with placeholder names."""

    source: str
    pieces: tuple[str, ...]  # the encoded literals around the placeholders (one more than them)
    placeholders: tuple[str, ...]
    query: str  # the template's inline query, kept as written
    names: frozenset[str] = field(init=False, repr=False, compare=False)  # the placeholders, for one set check

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(self.placeholders))

    def expand(self, values: Mapping[str, object]) -> str:
        """The encoded path with every placeholder filled; raises TemplateError on any slip."""
        if values.keys() != self.names:
            self._explain_mismatch(values)
        if not self.placeholders:
            return self.pieces[0]
        out = [self.pieces[0]]
        for i, name in enumerate(self.placeholders):
            out.append(self._encode(name, values[name]))
            out.append(self.pieces[i + 1])
        return "".join(out)

    def _encode(self, name: str, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TemplateError(
                f"placeholder {{{name}}} of template {self.source!r} takes a str or int, got {type(value).__name__}"
            )
        text = str(value)
        if not text:
            raise TemplateError(f"placeholder {{{name}}} of template {self.source!r} got an empty value")
        if text in _DOT_SEGMENTS:
            raise TemplateError(
                f"placeholder {{{name}}} of template {self.source!r} cannot be {text!r}: "
                "it would move the request to another path"
            )
        return _quote(text)

    def _explain_mismatch(self, values: Mapping[str, object]) -> None:
        missing = [n for n in self.placeholders if n not in values]
        unknown = [k for k in values if k not in self.placeholders]
        parts = []
        if missing:
            parts.append("missing " + ", ".join(f"{{{n}}}" for n in missing))
        for key in unknown:
            hint = difflib.get_close_matches(key, missing or self.placeholders, n=1)
            parts.append(f"unknown keyword {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        expected = ", ".join(self.placeholders) or "none"
        raise TemplateError(f"template {self.source!r}: {'; '.join(parts)}. Its placeholders: {expected}")


@lru_cache(maxsize=4096)
def parse(source: str) -> Template:
    """Parse (and cache) a template; raises TemplateError when it is malformed."""
    path, _, query = source.partition("?")
    if "#" in source:
        raise TemplateError(f"template {source!r}: '#' has no place in a request target")
    pieces: list[str] = []
    names: list[str] = []
    rest = path
    while True:
        start = rest.find("{")
        end = rest.find("}")
        if start < 0:
            if end >= 0:
                raise TemplateError(f"template {source!r}: '}}' without '{{'")
            pieces.append(quote(rest, safe=_LITERAL_SAFE))
            break
        if end < start:
            raise TemplateError(f"template {source!r}: unbalanced braces")
        name = rest[start + 1 : end]
        if not name or "{" in name:
            raise TemplateError(f"template {source!r}: empty or nested placeholder")
        if name in names:
            raise TemplateError(f"template {source!r}: placeholder {{{name}}} appears twice")
        pieces.append(quote(rest[:start], safe=_LITERAL_SAFE))
        names.append(name)
        rest = rest[end + 1 :]
    return Template(source, tuple(pieces), tuple(names), query)


def _query_items(query: Query) -> list[tuple[str, str]]:
    # The dict check first: most queries are dicts, and the Mapping ABC check costs more.
    pairs = query.items() if isinstance(query, (dict, Mapping)) else query
    items: list[tuple[str, str]] = []
    for key, value in pairs:
        values = value if isinstance(value, (list, tuple)) else (value,)
        for one in values:
            if one is None:
                continue
            if isinstance(one, bool):
                one = "true" if one else "false"
            elif not isinstance(one, (str, int, float)):
                raise TemplateError(f"query {key!r}: cannot send a {type(one).__name__}")
            items.append((str(key), str(one)))
    return items


def encode_query(inline: str, query: Query | None) -> str:
    """The query string to send: the template's inline query merged with `query` (which wins)."""
    if not query:
        return inline
    items = _query_items(query)
    encoded = [f"{_quote(k)}={_quote(v)}" for k, v in items]
    if not inline:
        return "&".join(encoded)
    given = {k for k, _ in items}
    kept = [p for p in inline.split("&") if p and p.partition("=")[0] not in given]
    return "&".join(kept + encoded)
