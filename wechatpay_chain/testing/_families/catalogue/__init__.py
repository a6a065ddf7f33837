"""Schema-only answers (`emu.catalogue`): every catalogued endpoint that no stateful family serves.

A request is authenticated by its route's wire like any other, then checked against the endpoint's
documented schema: path parameters, then the query, then the body (a JSON object, or for an upload
the multipart form, whose `meta` part holds JSON). The first bad field is refused as WeChat Pay
refuses it, `400 PARAM_ERROR` naming the field (`body field amount.total: must be an integer, not
a string`, with `detail: {field, location, issue}`). A request that passes gets the documented
status and a sample of the documented answer (`samples.py`): the same request always gets the same
body, and a value the request carries (a path parameter, a query or top-level body field) comes
back in the answer field of the same name when it fits that field.

These answers come last, after every route (stubs, the stateful families, families added later)
and every `add_handler` fallback: they never hide a stateful answer. The emulator asks `match`
only for a request no route matched. Each API is served with its own `Api`: its wire, how its
bodies are read, how it words a bad field and how it writes an answer. APIv3 (JSON) is here,
APIv2 (XML) in `apiv2.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ...._catalogue.data import Endpoint, Schema, catalogue
from ...._catalogue.paths import specificity
from ...._catalogue.schema import Violation, first_violation, from_text, query_violation, required_fields
from ..._controls import Control
from ..._http import Answer, Incoming
from ..._multipart import form_parts
from ..._routing import Params, Route, Router
from ..._validation import param_error
from ..._wire import Wire
from .samples import sample

BodyReader = Callable[[Incoming, Endpoint], Any]
"""Reads a request's body as the value its schema checks (None for no body); raises Refusal when unreadable."""
Refuser = Callable[[Violation, str], Answer]
"""The answer to the first bad field (its location: "path", "query" or "body"), in the API's words."""
Responder = Callable[[Endpoint, Incoming, Mapping[str, Any]], Answer]
"""The answer to a call that passed its checks, given the request's typed values by field name."""

FILES = {"application/pdf": b"%PDF-1.4\n%emulated\n%%EOF\n", "text/plain": b"emulated\n"}
"""The few bytes that stand for a documented file, by content type."""


def read_json(incoming: Incoming, endpoint: Endpoint) -> Any:
    """An APIv3 body: JSON, or the parts of a multipart form (an upload) by name."""
    if endpoint.content_type.startswith("multipart/"):
        return read_form(incoming, endpoint)
    if not incoming.body:
        return None
    try:
        return orjson.loads(incoming.body)
    except orjson.JSONDecodeError:
        raise param_error("(root)", "request body is not valid JSON") from None


def read_form(incoming: Incoming, endpoint: Endpoint) -> dict[str, Any]:
    """A multipart form's parts as fields: a file part as its file name, the others as text read by their type."""
    properties = (endpoint.body or {}).get("properties", {})
    fields: dict[str, Any] = {}
    for name, part in form_parts(incoming.headers.get("Content-Type", ""), incoming.body).items():
        tree = properties.get(name, {})
        if tree.get("type") == "file":
            fields[name] = part.filename or name
        else:
            fields[name] = from_text(part.content.decode("utf-8", "replace"), tree)
    return fields


def refuse_json(violation: Violation, location: str) -> Answer:
    """APIv3's words: `400 PARAM_ERROR`, `<location> field <name>: <issue>` with `detail`."""
    return param_error(violation.field, violation.issue, location).answer()


def respond_json(endpoint: Endpoint, incoming: Incoming, given: Mapping[str, Any]) -> Answer:
    """The documented status and a sample of the documented answer, with the request's values where they fit."""
    tree = endpoint.response
    if tree is None:
        content = FILES.get(endpoint.produces or "")
        if content is None:
            return Answer(endpoint.status)
        return Answer(endpoint.status, content, {"Content-Type": str(endpoint.produces)})
    return Answer(endpoint.status, filled(tree, given))


def filled(tree: Schema, given: Mapping[str, Any]) -> Any:
    """A sample of `tree`, its top-level fields taken from `given` (the request's values) where they fit them."""
    body = sample(tree)
    if isinstance(body, dict):
        for name, child in tree.get("properties", {}).items():
            value = given.get(name)
            if value is not None and first_violation(value, child, full=True) is None:
                body[name] = value
    return body


@dataclass(frozen=True, slots=True)
class Api:
    """How the requests of one API are served: its wire, how it reads bodies, words a bad field and answers.

    `wire` None is the emulator's APIv3; `refuse` and `respond` are APIv3's (JSON) unless given.
    """

    wire: Wire | None
    read_body: BodyReader
    refuse: Refuser = refuse_json
    respond: Responder = respond_json


APIV3 = Api(wire=None, read_body=read_json)


class SchemaAnswers:
    """The catalogue's endpoints of the APIs in `apis`, each checked and answered from its schema."""

    def __init__(self, apis: Mapping[str, Api] | None = None) -> None:
        self.apis: dict[str, Api] = dict(apis or {"v3": APIV3})
        self._router: Router | None = None

    @property
    def router(self) -> Router:
        """Their route table, built on first use (the catalogue is read then), most specific template first."""
        if self._router is None:
            self._router = Router(self.routes())
        return self._router

    def endpoints(self) -> list[Endpoint]:
        """The catalogued endpoints this family answers."""
        return [endpoint for endpoint in catalogue().endpoints if endpoint.api in self.apis]

    def routes(self) -> list[Route]:
        """One route per endpoint, on its HTTP path, with its API's wire."""
        return [
            Route(endpoint.method, endpoint.path, self._handler(endpoint), wire=self.apis[endpoint.api].wire)
            for endpoint in sorted(self.endpoints(), key=specificity)
        ]

    def controls(self) -> tuple[Control, ...]:
        """None: the answers depend on the request only."""
        return ()

    def match(self, method: str, segments: tuple[str, ...]) -> tuple[Route, Params] | None:
        """The endpoint's route and path parameters for a request, or None when no catalogued endpoint has it."""
        return self.router.match(method, segments)

    def _handler(self, endpoint: Endpoint) -> Callable[[Incoming, Params], Answer]:
        api = self.apis[endpoint.api]

        def answer(incoming: Incoming, params: Params) -> Answer:
            try:
                given = _check_path(endpoint, params)
                given.update(_check_query(endpoint, incoming))
                body = _check_body(endpoint, incoming, api.read_body)
            except _Invalid as invalid:
                return api.refuse(invalid.violation, invalid.location)
            if isinstance(body, Mapping):
                given.update(body)
            return api.respond(endpoint, incoming, given)

        return answer


class _Invalid(Exception):
    """The first bad field of a request, raised by the checks to the handler, which answers it."""

    def __init__(self, violation: Violation, location: str) -> None:
        super().__init__(f"{location} field {violation.field}: {violation.issue}")
        self.violation = violation
        self.location = location


def _refuse(violation: Violation | None, location: str) -> None:
    if violation is not None:
        raise _Invalid(violation, location)


def _check_path(endpoint: Endpoint, params: Params) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for name, kind in endpoint.path_params:
        if name not in params:
            continue  # {empty}: the path has nothing there
        tree = {"type": kind or "string"}
        typed[name] = from_text(params[name], tree)
        _refuse(first_violation(typed[name], tree, full=True, field=name), "path")
    return typed


def _check_query(endpoint: Endpoint, incoming: Incoming) -> dict[str, Any]:
    given = {param.name: incoming.query.getall(param.name, []) for param in endpoint.query}
    _refuse(query_violation(endpoint.query, given, full=True), "query")
    return {
        param.name: from_text(",".join(texts) if param.type == "array" else texts[-1], param.schema)
        for param in endpoint.query
        if (texts := given[param.name])
    }


def _check_body(endpoint: Endpoint, incoming: Incoming, read_body: BodyReader) -> Any:
    if endpoint.body is None or incoming.method == "GET":
        return None  # a body the docs do not describe is ignored
    value = read_body(incoming, endpoint)
    if value is None:
        required = required_fields(endpoint.body)
        if required:
            _refuse(Violation("(root)", f"is required: the body must hold {', '.join(required)}"), "body")
        return None
    _refuse(first_violation(value, endpoint.body, full=True), "body")
    return value
