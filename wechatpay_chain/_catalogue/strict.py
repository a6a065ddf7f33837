"""Strict mode (`Client(..., strict=True)`): every call checked against the catalogue before any I/O.

The request builder hands each call to `StrictCheck` before it expands the template. Refused:

- a template that stands for no documented endpoint: `TemplateError` naming the closest documented
  ones; a method the endpoint does not document: `TemplateError` naming those it does;
- placeholder values that lead to an undocumented path (a doc slip's template filled with
  anything but the literal the docs meant), with the documented spelling as the hint;
- a query without a documented required parameter, or with a value of the wrong type;
- a `json=` body without a documented required field, or with a field of the wrong type, outside
  its enumeration or not in its format (`SchemaError`, the field named as a path: `amount.total`).

Lengths and patterns are left to WeChat Pay (the docs do not say whether they count bytes or
characters). Upload endpoints take their body from `client.upload`; APIv2 bodies are XML and are
not checked here. An absolute URL (a `download_url`) is not a template and passes as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .._chain.template import Template, encode_query
from .._errors import ConfigurationError, SchemaError, TemplateError
from .data import EMPTY, Endpoint, catalogue
from .paths import Index
from .schema import Violation, first_violation, query_violation, required_fields


class StrictCheck:
    """The check strict mode makes of each call: raises before any I/O, returns None when the call is documented."""

    def __init__(self, index: Index | None = None) -> None:
        self._index = index

    @property
    def index(self) -> Index:
        """The catalogue's endpoints, indexed on first use."""
        if self._index is None:
            self._index = Index(catalogue().endpoints)
        return self._index

    def __call__(
        self, method: str, template: Template, values: Mapping[str, object], options: Mapping[str, Any]
    ) -> None:
        endpoint = self.endpoint(method, template, values)
        _check_query(endpoint, method, template, options.get("query"))
        _check_body(endpoint, method, template, options)

    def endpoint(self, method: str, template: Template, values: Mapping[str, object]) -> Endpoint:
        """The documented endpoint the call reaches; TemplateError when there is none."""
        source = template.source
        candidates = self.index.candidates(source)
        if not candidates:
            raise TemplateError(
                f"{method} {source!r} is not a documented endpoint (strict mode){self._closest(method, source)}"
            )
        mine = [endpoint for endpoint in candidates if endpoint.method == method]
        if not mine:
            keys = sorted({endpoint.key for endpoint in candidates})
            documented = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            raise TemplateError(
                f"{method} {source!r}: the docs give no {method} for it, only {documented} (strict mode)"
            )
        try:
            path = template.expand(values)
        except TemplateError as exc:
            raise TemplateError(f"{exc}{_empty_hint(template, mine)}") from None
        found = self.index.match(mine, path)
        if found is None:
            raise TemplateError(
                f"{method} {source!r}: these values give the path {path!r}, which is not documented (strict mode)"
                f"{_empty_hint(template, mine) or _slip_hint(source, mine)}{self._closest(method, source)}"
            )
        return found

    def _closest(self, method: str, source: str) -> str:
        near = self.index.closest(method, source)
        return f". Closest documented: {', '.join(near)}" if near else ""


def _empty_hint(template: Template, candidates: list[Endpoint]) -> str:
    if EMPTY not in template.placeholders:
        return ""
    for endpoint in candidates:
        if "" in endpoint.segments:
            where = endpoint.path if endpoint.api == "v3" else endpoint.template
            return f". The docs write {{{EMPTY}}} where the path has nothing: call client.chain({where!r})"
    return ""


def _slip_hint(source: str, candidates: list[Endpoint]) -> str:
    for endpoint in candidates:
        if endpoint.corpus_template == source:
            return (
                f". The doc site's example writes {source!r}, but the endpoint is the literal path "
                f"{endpoint.template!r}: call client.chain({endpoint.template!r})"
            )
    return ""


def _refuse(method: str, template: Template, endpoint: Endpoint, location: str, violation: Violation) -> SchemaError:
    documented = "" if endpoint.template == template.source else f", documented as {endpoint.key}"
    return SchemaError(
        f"{method} {template.source}: {location} field {violation.field}: {violation.issue} (strict mode{documented})",
        field=violation.field,
        location=location,
        issue=violation.issue,
    )


# What the client's APIv2 signer adds to a v2 call: the caller leaves them out.
_SIGNED_BY_THE_CLIENT = frozenset({"sign", "nonce_str"})


def _check_query(endpoint: Endpoint, method: str, template: Template, query: Any) -> None:
    if not endpoint.query:
        return
    given: dict[str, list[str]] = {}
    for name, value in parse_qsl(encode_query(template.query, query), keep_blank_values=True):
        given.setdefault(name, []).append(value)
    params = endpoint.query
    if endpoint.api == "v2":
        params = tuple(p for p in params if p.name not in _SIGNED_BY_THE_CLIENT)
    violation = query_violation(params, given, full=False)
    if violation is not None:
        raise _refuse(method, template, endpoint, "query", violation)


def _check_body(endpoint: Endpoint, method: str, template: Template, options: Mapping[str, Any]) -> None:
    data = options.get("json")
    if endpoint.content_type.startswith("multipart/"):
        if data is not None:
            raise ConfigurationError(
                f"{method} {template.source} is an upload: send it with client.upload({endpoint.template!r}, file, "
                "meta={…}) (strict mode)"
            )
        return
    if endpoint.api != "v3":
        return  # XML: the APIv2 client checks its own bodies
    if data is None:
        required = required_fields(endpoint.body)
        if required and options.get("body") is None:
            issue = f"is missing: the documented body requires {', '.join(required)}"
            raise _refuse(method, template, endpoint, "body", Violation("(root)", issue))
        return
    if endpoint.body is None:
        if method == "GET":
            issue = "is not documented for a GET: pass its parameters as query="
            raise _refuse(method, template, endpoint, "body", Violation("(root)", issue))
        return
    violation = first_violation(data, endpoint.body, full=False)
    if violation is not None:
        raise _refuse(method, template, endpoint, "body", violation)
