"""APIv2 (XML) in the schema-only answers: the `Api` that serves every catalogued v2 endpoint (`apiv2(wire)`).

A request has passed the APIv2 wire (merchant, nonce, sign type, sign, the certificate where it is
needed) before it gets here. Its fields (the XML body, read by the package's safe reader; a GET's
query; an upload's form) are read as their documented types, an empty element counting as absent,
and checked against the endpoint's schema, `x-json` fields by the JSON they hold. The first bad
field is refused in the words of the stateful v2 family and the wire: `result_code` FAIL with
`LACK_PARAMS` / `缺少参数<name>`, or `PARAM_ERROR` / `<name>参数错误: <issue>`, a field inside an
`x-json` string named as a path (`detail.goods_detail[0].goods_id`).

A call that passes gets the documented answer as the wire writes it (signed with the request's sign
type, except where the answer documents no `sign`): `return_code` and `result_code` SUCCESS, the
`*_msg` fields "OK", the error fields left out unless the docs require them, `sign_type` the
request's, the request's values where they fit, every other documented field a sample
(`samples.py`). Fields the docs number (`refund_id_$n`, `coupon_id_$n_$m`) come once, as
`refund_id_0` (their `*_count` 1); objects are nested elements, booleans `true`. The few answers
that are not XML keep their form: a redirect (`appauth/authindex`), JSON (`appauth/getaccesstoken`),
a page (`papay/entrustweb`), and a text file where the documented XML is only the refusal (the
sandbox bill, `billcommentsp/batchquerycomment`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from ...._catalogue.data import Endpoint, Schema
from ...._catalogue.schema import Violation, from_text
from ...._v2.signing import MD5
from ...._v2.xml import XmlDict
from ..._apiv2 import ApiV2, bad_param, lack_params, request_fields
from ..._http import Answer, Incoming
from . import FILES, Api, filled, read_form

SUCCESS = "SUCCESS"
MESSAGES = frozenset({"return_msg", "result_msg", "retmsg", "ret_msg"})  # "OK" in a SUCCESS answer
ERRORS = frozenset({"err_code", "err_code_des", "error_code", "error_code_des", "err_param"})
SIGNATURE = frozenset({"sign", "nonce_str", "sign_type"})  # the request's are not answered back
PAGE = b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>emulated</title></head><body></body></html>"
_INDEX = re.compile(r"_\$[nm]")


def apiv2(wire: ApiV2) -> Api:
    """The schema-only answers' entry for APIv2: `SchemaAnswers({"v3": APIV3, "v2": apiv2(emu.apiv2)})`."""
    return Api(wire=wire, read_body=read_xml, refuse=refuse_xml, respond=respond_xml)


def read_xml(incoming: Incoming, endpoint: Endpoint) -> dict[str, Any]:
    """A v2 request's fields as their documented types: from its XML body, or an upload's form."""
    if endpoint.content_type.startswith("multipart/"):
        return read_form(incoming, endpoint)
    properties: Mapping[str, Schema] = (endpoint.body or {}).get("properties", {})
    return {
        name: from_text(text, properties.get(name, {}))
        for name, text in request_fields(incoming).items()
        if text != ""  # WeChat Pay reads an empty element as an absent one (and signs neither)
    }


def refuse_xml(violation: Violation, location: str) -> Answer:
    """APIv2's words for a bad field, wherever it stands: LACK_PARAMS for a missing one, else PARAM_ERROR."""
    if violation.issue == "is required":
        return lack_params(violation.field)
    if violation.issue.startswith("is required"):  # one of a few, or empty
        return lack_params(f"{violation.field} ({violation.issue.removeprefix('is required').lstrip(' ,')})")
    return bad_param(violation.field, violation.issue)


def respond_xml(endpoint: Endpoint, incoming: Incoming, given: Mapping[str, Any]) -> Answer:
    """The documented answer: XML fields for the wire to write and sign, or the redirect, JSON, page or file."""
    tree = endpoint.response
    values = {name: value for name, value in given.items() if name not in SIGNATURE}
    if tree is None:
        if endpoint.status == 302:
            return Answer(302, b"", {"Location": _redirect(values)})
        return Answer(endpoint.status, PAGE, {"Content-Type": "text/html; charset=utf-8"})
    if endpoint.produces == "application/json":
        body = orjson.dumps(_successful(filled(tree, values), tree))
        return Answer(endpoint.status, body, {"Content-Type": "application/json"})
    if _refusal_only(tree):
        return Answer(endpoint.status, FILES["text/plain"], {"Content-Type": "text/plain; charset=utf-8"})
    tree = _first_of_numbered(tree)
    fields = _successful(filled(tree, values), tree)
    if "sign_type" in fields:
        fields["sign_type"] = request_fields(incoming).get("sign_type", MD5)  # the type the wire signs with
    fields.pop("sign", None)  # the wire's, where the endpoint signs its answers
    return Answer(endpoint.status, {name: _xml(value) for name, value in fields.items()})


def _successful(fields: dict[str, Any], tree: Schema) -> dict[str, Any]:
    """A sample made a success: the codes SUCCESS, the messages OK, optional error fields left out."""
    required = set(tree.get("required", ()))
    properties: Mapping[str, Schema] = tree.get("properties", {})
    for name in list(fields):
        if name in ERRORS and name not in required:
            del fields[name]
        elif name in MESSAGES and properties.get(name, {}).get("type") == "string":
            fields[name] = "OK"
        elif name.endswith("_code") and SUCCESS in properties.get(name, {}).get("enum", ()):
            fields[name] = SUCCESS
        elif re.search(r"_count(_0)*$", name) and properties.get(name, {}).get("type") == "integer":
            fields[name] = 1  # as many as the numbered fields the answer holds
    return fields


def _refusal_only(tree: Schema) -> bool:
    """Whether the documented XML can only refuse (its code is FAIL only): the success is a file."""
    properties = tree.get("properties", {})
    return any(properties.get(code, {}).get("enum") == ["FAIL"] for code in ("return_code", "result_code"))


def _first_of_numbered(tree: Schema) -> Schema:
    """The tree with its numbered fields named as the first of them: `refund_id_$n` -> `refund_id_0`."""
    properties: Mapping[str, Schema] = tree.get("properties", {})
    if not any(_INDEX.search(name) for name in properties):
        return tree
    return {
        **tree,
        "properties": {_INDEX.sub("_0", name): child for name, child in properties.items()},
        "required": [_INDEX.sub("_0", name) for name in tree.get("required", ())],
    }


def _xml(value: Any) -> Any:
    """A sample value as XML holds it: an object as nested elements, a boolean as `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return XmlDict({name: _xml(item) for name, item in value.items()})
    if isinstance(value, list):
        return [_xml(item) for item in value]
    return value


def _redirect(values: Mapping[str, Any]) -> str:
    """Where an authorization page sends the user back: `redirect_uri` with a code and the caller's state."""
    target = str(values.get("redirect_uri", "https://example.com/redirect_uri"))
    query = urlencode({"code": "code", "state": str(values.get("state", ""))})
    return f"{target}{'&' if '?' in target else '?'}{query}"
