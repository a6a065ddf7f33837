"""Every catalogued APIv3 endpoint is answered by the emulator: checked against its schema, answered to fit it.

The answers are checked with jsonschema, not with the package's own validator, against the
catalogue's trees (its formats checked by the small functions of schema_checks.py).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import MultipartWriter
from aiohttp.payload import BytesPayload
from schema_checks import conforms, problems_of_each

import wechatpay_chain.testing
from wechatpay_chain import ApiError, Client, Response, SignatureError
from wechatpay_chain._catalogue.data import Endpoint, catalogue
from wechatpay_chain._catalogue.schema import required_fields
from wechatpay_chain.testing import Answer, Emulator, Incoming
from wechatpay_chain.testing._controls import Control
from wechatpay_chain.testing._families.catalogue.samples import sample
from wechatpay_chain.testing._http import path_segments
from wechatpay_chain.testing._routing import Route, Router

V3 = catalogue().api("v3")


def by_key(key: str) -> Endpoint:
    return next(endpoint for endpoint in V3 if endpoint.key == key)


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
    problems = await problems_of_each(V3, lambda endpoint: answer_problems(client, endpoint))
    assert len(V3) == 1018
    assert problems == []


def stateful(emulator: Emulator) -> list[Endpoint]:
    """The catalogued APIv3 endpoints a route of the emulator answers before the schema-only answers."""
    served = []
    for endpoint in V3:
        path = endpoint.path
        for name, value in placeholder_values(endpoint).items():
            path = path.replace(f"{{{name}}}", value)
        if emulator.router.match(endpoint.method, path_segments(path)) is not None:
            served.append(endpoint)
    return served


async def test_on_a_default_emulator_every_v3_endpoint_is_answered(emulator: Emulator, client: Client) -> None:
    families = {endpoint.key for endpoint in stateful(emulator)}
    unanswered: list[str] = []
    for endpoint in V3:
        body = None if endpoint.body is None or endpoint.method == "GET" else sample(endpoint.body)
        try:
            response = await call(client, endpoint, body)
        except ApiError as exc:  # a stateful family may refuse: an unknown contract is 404 RESOURCE_NOT_EXISTS
            if exc.code == "NOT_FOUND" or endpoint.key not in families:
                unanswered.append(f"{endpoint.key}: {exc}")
            continue
        if response.status != endpoint.status and endpoint.key not in families:
            unanswered.append(f"{endpoint.key}: {response.status}")
    assert unanswered == []


def test_emulator_md_lists_the_stateful_endpoints() -> None:
    text = (Path(wechatpay_chain.testing.__file__).with_name("EMULATOR.md")).read_text(encoding="utf-8")
    section = text.split("## Every documented endpoint", 1)[1].split("\n#", 1)[0]  # up to the next heading
    listed = set(re.findall(r"`((?:GET|POST|PUT|PATCH|DELETE) v3/[^`]+)`", section))
    served = {endpoint.key for endpoint in stateful(Emulator())}
    assert listed == served
    assert f"{len(V3) - len(served)} schema-only" in section and f"{len(served)} stateful" in section


async def test_a_stub_a_fallback_and_a_family_added_later_come_before_the_schema_answer(
    emulator: Emulator, client: Client
) -> None:
    native = client["v3/transactions/native"]  # Hong Kong's native payments: schema-only
    order = sample(by_key("POST v3/transactions/native").body or {})
    schema_answer = (await native.post(json=order)).json()
    assert conforms(schema_answer, by_key("POST v3/transactions/native").response) == []
    emulator.stub("POST", "v3/transactions/native", {"code_url": "weixin://stubbed"})
    assert (await native.post(json=order)).json() == {"code_url": "weixin://stubbed"}

    async def fallback(incoming: Incoming) -> Answer | None:
        return Answer(200, {"fallback": incoming.path}) if incoming.segments[-1] == "x" else None

    emulator.add_handler(fallback)
    assert (await client["v3/refunds/out-refund-no/{no}"].get(no="x")).json() == {
        "fallback": "/v3/refunds/out-refund-no/x"
    }

    class Refunds:
        def routes(self) -> list[Route]:
            return [Route("GET", "v3/refunds/out-refund-no/{out_refund_no}", lambda i, p: Answer(200, {"mine": 1}))]

        def controls(self) -> list[Control]:
            return []

    emulator.add_family(Refunds())
    assert (await client["v3/refunds/out-refund-no/{no}"].get(no="y")).json() == {"mine": 1}


async def test_a_schema_answer_is_deterministic_and_carries_the_request_values(client: Client) -> None:
    by_no = client["v3/transactions/out-trade-no/{out_trade_no}"]  # Hong Kong's order query: schema-only
    query = {"mchid": "1900000109", "sub_mchid": "1900000110", "sp_mchid": "1900000109"}
    first = await by_no.get(out_trade_no="ORDER-1", query=query)
    again = await by_no.get(out_trade_no="ORDER-1", query=query)
    assert first.body == again.body
    answer = first.json()
    assert (answer["out_trade_no"], answer["mchid"], answer["sub_mchid"]) == ("ORDER-1", "1900000109", "1900000110")
    assert answer["trade_state"] == "SUCCESS"  # the first value of the enumeration
    assert conforms(answer, by_key("GET v3/transactions/out-trade-no/{out_trade_no}").response) == []


@pytest.mark.parametrize(
    ("method", "template", "values", "options", "detail"),
    [
        (
            "GET",
            "v3/transactions/id/{transaction_id}",
            {"transaction_id": "1"},
            {},
            ("mchid", "query", "is required"),
        ),
        (
            "GET",
            "v3/capital/capitallhh/banks/personal-banking",
            {},
            {"query": {"limit": "ten"}},
            ("limit", "query", "must be an integer, not a string"),
        ),
        ("GET", "v3/bill/sub-merchant-fundflowbill", {}, {"query": {"bill_date": "2024/06/01"}}, None),
        (
            "POST",
            "v3/transactions/native",
            {},
            {"json": {**sample(by_key("POST v3/transactions/native").body or {}), "amount": {"currency": "HKD"}}},
            ("amount.total", "body", "is required"),
        ),
        (
            "POST",
            "v3/transactions/native",
            {},
            {"body": b"{not json"},
            ("(root)", "body", "request body is not valid JSON"),
        ),
    ],
)
async def test_a_bad_field_is_refused_400_param_error_naming_it(
    client: Client, method: str, template: str, values: dict[str, str], options: dict[str, Any], detail: Any
) -> None:
    verb: Callable[..., Awaitable[Response]] = getattr(client.chain(template), method.lower())
    with pytest.raises(ApiError) as caught:
        await verb(placeholders=values, headers={"Content-Type": "application/json"}, **options)
    assert (caught.value.status, caught.value.code) == (400, "PARAM_ERROR")
    if detail is not None:
        field, location, issue = detail
        assert caught.value.detail == {"field": field, "location": location, "issue": issue}
        assert caught.value.message == f"{location} field {field}: {issue}"


async def test_faults_apply_to_schema_answers(emulator: Emulator, client: Client) -> None:
    certificates = "v3/merchant-service/complaints-v2"
    emulator.fault("status", certificates, times=1, status=503, code="SYSTEM_ERROR")
    with pytest.raises(ApiError) as caught:
        await client.v3.merchantService.complaintsV2.get(query={"begin_date": "2024-06-01", "end_date": "2024-06-01"})
    assert caught.value.status == 503
    emulator.fault("bad_signature", certificates, times=1)
    with pytest.raises(SignatureError):
        await client.v3.merchantService.complaintsV2.get(query={"begin_date": "2024-06-01", "end_date": "2024-06-01"})


async def test_undocumented_methods_are_not_answered(client: Client) -> None:
    with pytest.raises(ApiError) as caught:
        await client["v3/transactions/native"].get()  # documented for POST only
    assert (caught.value.status, caught.value.code) == (404, "NOT_FOUND")


def test_an_emulator_reads_the_catalogue_on_its_first_schema_answer() -> None:
    probe = (
        "from wechatpay_chain.testing import Emulator\n"
        "from wechatpay_chain._catalogue.data import catalogue\n"
        "Emulator(); assert catalogue.cache_info().currsize == 0\n"
        "assert Emulator().catalogue.match('GET', ('v3', 'certificates')) is not None\n"
        "assert catalogue.cache_info().currsize == 1\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
