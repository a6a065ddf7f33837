"""Every catalogued APIv3 endpoint is answered by the emulator: checked against its schema, answered to fit it.

The answers are checked with jsonschema, not with the package's own validator, against the
catalogue's trees (its formats checked by the small functions below).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import orjson
from aiohttp import MultipartWriter
from aiohttp.payload import BytesPayload

from wechatpay_chain import ApiError, Client, Response
from wechatpay_chain._catalogue.data import Endpoint, catalogue
from wechatpay_chain._catalogue.schema import required_fields
from wechatpay_chain.testing import Emulator
from wechatpay_chain.testing._families.catalogue.samples import sample
from wechatpay_chain.testing._routing import Router

V3 = catalogue().api("v3")
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


def placeholder_values(endpoint: Endpoint) -> dict[str, str]:
    """A value for each placeholder of the HTTP path ({empty} stands for nothing), typed as documented."""
    path = endpoint.path
    return {
        name: str(sample({"type": kind or "string"}, name))
        for name, kind in endpoint.path_params
        if f"{{{name}}}" in path
    }


def call_options(endpoint: Endpoint, body: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"query": {q.name: sample(q.schema, q.name) for q in endpoint.query}}
    if body is not None:
        options["json"] = body
    return options


async def upload(client: Client, endpoint: Endpoint, values: dict[str, str], fields: dict[str, Any]) -> Response:
    """A multipart call as the docs describe it (any part names): `meta` signed, files and other fields as parts."""
    tree = endpoint.body or {}
    meta = str(fields.get("meta", "{}")).encode()
    form = MultipartWriter("form-data")
    for name, value in fields.items():
        kind = tree["properties"].get(name, {}).get("type")
        part = BytesPayload(b"\x89PNG emulated" if kind == "file" else str(value).encode())
        if kind == "file":
            part.set_content_disposition("form-data", name=name, filename="a.png")
        else:
            part.set_content_disposition("form-data", name=name)
        form.append_payload(part)
    request = client.build_request("POST", endpoint.path, values, {})
    headers = request.headers.copy()
    headers["Content-Type"] = form.content_type
    return await client.execute(dataclasses.replace(request, body=meta, payload=form, headers=headers))


async def call(client: Client, endpoint: Endpoint, body: Any) -> Response:
    values = placeholder_values(endpoint)
    if endpoint.content_type.startswith("multipart/"):
        return await upload(client, endpoint, values, body or {})
    node = client.chain(endpoint.path)
    verb: Callable[..., Awaitable[Response]] = getattr(node, endpoint.method.lower())
    return await verb(placeholders=values, **call_options(endpoint, body))


async def answer_problems(client: Client, endpoint: Endpoint) -> list[str]:
    """What is wrong with the answer to a documented call, and with the refusal of a call without a required field."""
    body: dict[str, Any] | None = None if endpoint.body is None or endpoint.method == "GET" else sample(endpoint.body)
    try:
        response = await call(client, endpoint, body)
    except ApiError as exc:
        return [f"{endpoint.key}: {exc}"]
    problems = [] if response.status == endpoint.status else [f"{endpoint.key}: status {response.status}"]
    if endpoint.response is not None:
        problems += [f"{endpoint.key} answer {p}" for p in conforms(response.json(), endpoint.response)]
    elif endpoint.produces is None and response.body:
        problems.append(f"{endpoint.key}: a body where none is documented")
    # An upload's signature covers its meta part: one without it fails authentication first.
    required = [name for name in required_fields(endpoint.body) if name != "meta"]
    if body is not None and required:
        missing = required[0]
        try:
            await call(client, endpoint, {k: v for k, v in body.items() if k != missing})
            problems.append(f"{endpoint.key}: accepted without {missing}")
        except ApiError as exc:
            if (exc.status, exc.code, exc.detail) != (
                400,
                "PARAM_ERROR",
                {"field": missing, "location": "body", "issue": "is required"},
            ):
                problems.append(f"{endpoint.key} without {missing}: {exc}")
    return problems


async def test_every_v3_endpoint_gets_a_documented_answer_and_refuses_a_missing_required_field(
    emulator: Emulator, client: Client
) -> None:
    emulator.router = Router()  # no stateful family: every endpoint answered from its schema
    problems: list[str] = []
    for start in range(0, len(V3), 8):
        batch = V3[start : start + 8]
        for found in await asyncio.gather(*(answer_problems(client, endpoint) for endpoint in batch)):
            problems += found
    assert len(V3) == 1018
    assert problems == []
