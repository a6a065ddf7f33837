"""The documented endpoints, read from `endpoints.json` once, on first use.

The file (written by `tools/catalogue.py`) holds every schema node once, in a table, and each
endpoint refers to its nodes by number; here the numbers are resolved into shared, nested dicts,
so a schema tree reads like the JSON Schema it came from (`type`, `required`, `properties`,
`items`, `enum`, `format`, `pattern`, lengths and bounds, `oneOf`, `x-json` for a string that
holds JSON, and `x-required-any`: groups of fields of which any one is required).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import orjson

Schema = Mapping[str, Any]
"""A schema tree: JSON Schema's keys, children resolved (a property's value is its own tree)."""

DATA = "endpoints.json"
EMPTY = "empty"
"""`{empty}`: a placeholder no parameter documents, where the docs' examples send nothing (a trailing `/`)."""
V2_PREFIX = "v2/"  # APIv2 templates are spelled with it; their HTTP paths are not


@dataclass(frozen=True, slots=True)
class QueryParam:
    """A documented query parameter."""

    name: str
    type: str
    required: bool
    enum: tuple[Any, ...] = ()
    items: Schema | None = None  # the elements of an array

    @property
    def schema(self) -> Schema:
        """The parameter as a schema tree (for the checks shared with bodies)."""
        tree: dict[str, Any] = {"type": self.type}
        if self.enum:
            tree["enum"] = list(self.enum)
        if self.items is not None:
            tree["items"] = self.items
        return tree


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One documented (method, URI template): its parameters, request body and answer."""

    method: str
    template: str
    api: str  # "v3" (JSON) or "v2" (XML)
    content_type: str  # of the request: application/json, application/xml or multipart/form-data
    path_params: tuple[tuple[str, str | None], ...]  # (name, type) per placeholder; None: undocumented
    query: tuple[QueryParam, ...]
    body: Schema | None
    responses: Mapping[int, Schema | None]  # documented status -> its body's tree (None: no body)
    produces: str | None = None  # the answer's content type, where it is not the request's
    deprecated: bool = False
    cert_required: bool = False  # APIv2: the call needs the merchant's certificate (mutual TLS)
    base_uri: str | None = None  # documented on another host than the API's
    corpus_template: str | None = None  # a spelling of the template that the doc site's example uses
    segments: tuple[str | None, ...] = field(init=False, repr=False, compare=False)
    """The template's segments: the literal, None for a placeholder, "" for `{empty}` (it stands for nothing)."""

    def __post_init__(self) -> None:
        empty = {name for name, kind in self.path_params if name == EMPTY and kind is None}
        segments = tuple(
            ("" if segment[1:-1] in empty else None) if segment.startswith("{") else segment
            for segment in self.template.split("/")
        )
        object.__setattr__(self, "segments", segments)

    @property
    def key(self) -> str:
        """`METHOD template`, as messages name the endpoint."""
        return f"{self.method} {self.template}"

    @property
    def status(self) -> int:
        """The status of a successful answer."""
        return min(self.responses)

    @property
    def response(self) -> Schema | None:
        """The tree of a successful answer's body (None when none is documented)."""
        return self.responses[self.status]

    @property
    def path(self) -> str:
        """The HTTP path as a route template: without `v2/` for APIv2, `{empty}` as the nothing it stands for."""
        written = self.template.split("/")
        path = "/".join("" if kept == "" else text for text, kept in zip(written, self.segments, strict=True))
        return path.removeprefix(V2_PREFIX) if self.api == "v2" else path


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every documented endpoint, in the catalogue's order (by template, then method)."""

    endpoints: tuple[Endpoint, ...]
    about: Mapping[str, Any]  # the source (repository, commit, version, license) and the repairs made to it

    def api(self, name: str) -> tuple[Endpoint, ...]:
        """The endpoints of one API ("v3" or "v2")."""
        return tuple(endpoint for endpoint in self.endpoints if endpoint.api == name)


@cache
def catalogue() -> Catalogue:
    """The catalogue, parsed on the first call (a bare `import wechatpay_chain` never reads it)."""
    raw = orjson.loads(resources.files(__package__).joinpath(DATA).read_bytes())
    nodes = _resolve(raw["nodes"])
    return Catalogue(tuple(_endpoint(row, nodes) for row in raw["endpoints"]), raw["about"])


def _resolve(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes with their children's numbers replaced by the children (shared, not copied)."""
    nodes = [dict(node) for node in table]
    for node in nodes:
        if "properties" in node:
            node["properties"] = {name: nodes[number] for name, number in node["properties"].items()}
        for key in ("items", "x-json"):
            if key in node:
                node[key] = nodes[node[key]]
        if "oneOf" in node:
            node["oneOf"] = [nodes[number] for number in node["oneOf"]]
    return nodes


def _endpoint(row: dict[str, Any], nodes: list[dict[str, Any]]) -> Endpoint:
    def tree(number: int | None) -> Schema | None:
        return None if number is None else nodes[number]

    query = tuple(
        QueryParam(q["name"], q["type"], q["required"], tuple(q.get("enum", ())), tree(q.get("items")))
        for q in row["query"]
    )
    return Endpoint(
        method=row["method"],
        template=row["template"],
        api=row["api"],
        content_type=row["content_type"],
        path_params=tuple((name, kind) for name, kind in row["path_params"]),
        query=query,
        body=tree(row["body"]),
        responses={int(status): tree(number) for status, number in row["responses"].items()},
        produces=row.get("produces"),
        deprecated=row.get("deprecated", False),
        cert_required=row.get("cert_required", False),
        base_uri=row.get("base_uri"),
        corpus_template=row.get("corpus_template"),
    )
