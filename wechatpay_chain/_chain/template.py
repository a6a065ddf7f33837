"""URI templates such as `v3/papay/contracts/plan-id/{plan_id}?a=b`: parsing and strict expansion.

A placeholder is a plain `{name}` (RFC 6570 level 1): its value is always exactly one path segment,
percent-encoded so that no value can add `/`, `?`, `#` or a dot segment to the path. Operators and
modifiers of the higher levels (`{/seg}`, `{?q}`, `{id:3}`, `{list*}`) are refused, never read as
part of a name. Every mistake raises `TemplateError` before any I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote

from .._errors import TemplateError
from .._types import Query

# Characters a literal path may carry as they are (RFC 3986 pchar plus '/'), and a query ('?' too);
# '%' stays only where it starts an escape. Anything else (a space, CR/LF, non-ASCII) is encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DOT_SEGMENTS = frozenset({".", ".."})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = "+#./;?&=,!@|"
_API_ROOTS = frozenset({"", "v2", "v3"})
_PATH_AND_QUERY = re.compile(r"((?:[^{?]|\{[^}]*\}?)*)(?:\?(.*))?", re.S)
# What quote(safe="") never escapes: most ids and amounts are made only of these, and skipping
# quote() for them halves the cost of an expansion.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _encode(text: str, safe: str, what: str) -> str:
    """`text` percent-encoded (as UTF-8) except for `safe` and the escapes it already holds."""
    try:
        return quote(_STRAY_PERCENT.sub("%25", text), safe=safe + "%")
    except UnicodeEncodeError:
        raise TemplateError(f"{what} holds a character that is not valid Unicode text (a lone surrogate)") from None


def encode_target(path: str, query: str, what: str) -> tuple[str, str]:
    """A literal path and query percent-encoded where they must be, escapes and delimiters kept as they are."""
    return _encode(path, _PATH_SAFE, what), _encode(query, _QUERY_SAFE, what)


def quote_component(text: str, what: str = "a value") -> str:
    """`text` percent-encoded as one path segment or query component (nothing left unescaped)."""
    return text if _UNRESERVED.fullmatch(text) else _quote(text, what)


def _quote(text: str, what: str) -> str:
    # Apart from quote_component's test, so that callers build `what` (an f-string) only when it may be needed.
    try:
        return quote(text, safe="")
    except UnicodeEncodeError:
        raise TemplateError(f"{what} holds a character that is not valid Unicode text (a lone surrogate)") from None


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed URI template: literal path pieces alternating with placeholder names."""

    source: str
    pieces: tuple[str, ...]  # the encoded literals around the placeholders (one more than them)
    placeholders: tuple[str, ...]
    query: str  # the template's inline query, percent-encoded
    names: frozenset[str] = field(init=False, repr=False, compare=False)  # the placeholders, for one set check

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(self.placeholders))

    def expand(self, values: Mapping[str, object]) -> str:
        """The encoded path with every placeholder filled; raises TemplateError on any slip."""
        if values.keys() != self.names:
            self._explain_mismatch(values)
        pieces = self.pieces
        path = pieces[0]
        for i, name in enumerate(self.placeholders, 1):  # templates hold one to three
            path += self._encode(name, values[name]) + pieces[i]
        return path

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
        if _UNRESERVED.fullmatch(text):
            return text
        return _quote(text, f"placeholder {{{name}}} of template {self.source!r}")

    def _explain_mismatch(self, values: Mapping[str, object]) -> None:
        import difflib  # only on this error path: it is slow to import

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
    """Parse (and cache) a template; raises TemplateError when it is malformed or names no endpoint."""
    _check_target(source)
    path, query = _split_query(source)
    pieces: list[str] = []
    names: list[str] = []
    rest = path
    while True:
        start, end = rest.find("{"), rest.find("}")
        if start < 0:
            if end >= 0:
                raise TemplateError(f"template {source!r}: '}}' without '{{'")
            pieces.append(_encode(rest, _PATH_SAFE, f"template {source!r}"))
            break
        if end < start:
            raise TemplateError(f"template {source!r}: unbalanced braces")
        name = _placeholder(source, rest[start + 1 : end], names)
        pieces.append(_encode(rest[:start], _PATH_SAFE, f"template {source!r}"))
        names.append(name)
        rest = rest[end + 1 :]
    return Template(source, tuple(pieces), tuple(names), encode_target("", query, f"template {source!r}")[1])


def is_absolute(source: str) -> bool:
    """Whether `source` is an absolute URL rather than a path template."""
    return "://" in source.partition("?")[0] or source.startswith("//")


def check_relative(source: str) -> None:
    """TemplateError for an absolute URL where a path below the base URL is expected."""
    if is_absolute(source):
        raise TemplateError(
            f"{source!r} is an absolute URL: chain() and [] take a path below the client's base URL "
            "(pass base_url= to call another host, or client.download() for a download_url)"
        )


def _split_query(source: str) -> tuple[str, str]:
    """(path, inline query) at the first '?' outside braces, so that `{?q}` stays a placeholder (and is refused)."""
    match = _PATH_AND_QUERY.match(source)
    assert match is not None  # the pattern matches any text
    return match.group(1), match.group(2) or ""


def _check_target(source: str) -> None:
    """Refuse what cannot be a path below the base URL: absolute URLs, fragments, dot segments, bare roots."""
    check_relative(source)
    if "#" in source:
        raise TemplateError(f"template {source!r}: '#' has no place in a request target")
    path = _split_query(source)[0]
    segments = path.strip("/").split("/")
    if any(s.lower().replace("%2e", ".") in _DOT_SEGMENTS for s in segments):  # %2E%2E is '..' to a server too
        raise TemplateError(f"template {source!r}: '.' and '..' segments would move the request to another path")
    if path.strip("/") in _API_ROOTS:
        raise TemplateError(
            f"template {source!r} is no endpoint: give the whole path, e.g. client.v3.pay.transactions.native "
            "or client.chain('v3/pay/transactions/native')"
        )


def _placeholder(source: str, name: str, seen: list[str]) -> str:
    if not name or "{" in name:
        raise TemplateError(f"template {source!r}: empty or nested placeholder")
    if name[0] in _OPERATORS or not _NAME.fullmatch(name):
        raise TemplateError(
            f"template {source!r}: placeholder {{{name}}} is not a plain name; RFC 6570 operators and "
            "modifiers ({/x}, {?x}, {x:3}, {x*}) are not supported: write {name} for one path segment "
            "and pass queries with query="
        )
    if name in seen:
        raise TemplateError(f"template {source!r}: placeholder {{{name}}} appears twice")
    return name


def _query_items(query: Query) -> list[tuple[str, str]]:
    """The query's (name, value) pairs, encoded, in order; a list value gives one pair per item."""
    # The dict check first: most queries are dicts, and the Mapping ABC check costs more.
    pairs = query.items() if isinstance(query, (dict, Mapping)) else query
    items: list[tuple[str, str]] = []
    for key, value in pairs:
        name = None
        for one in value if isinstance(value, (list, tuple)) else (value,):
            if one is None:
                continue
            if isinstance(one, bool):
                one = "true" if one else "false"
            elif not isinstance(one, (str, int, float)):
                raise TemplateError(f"query {key!r}: cannot send a {type(one).__name__}")
            if name is None:
                name = str(key)
                if not _UNRESERVED.fullmatch(name):
                    name = _quote(name, "a query name")
            text = str(one)
            items.append((name, text if _UNRESERVED.fullmatch(text) else _quote(text, f"query {key!r}")))
    return items


def encode_query(inline: str, query: Query | None) -> str:
    """The query string to send: the template's inline query merged with `query` (which wins)."""
    if not query:
        return inline
    items = _query_items(query)
    encoded = "&".join(map("=".join, items))
    if not inline:
        return encoded
    given = {name for name, _ in items}
    kept = [p for p in inline.split("&") if p and p.partition("=")[0] not in given]
    return "&".join(kept + ([encoded] if encoded else []))
