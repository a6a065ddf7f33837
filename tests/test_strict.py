"""Strict mode: every call checked against the catalogue before any I/O, over the whole conformance corpus."""

from __future__ import annotations

from typing import Any

import pytest
from test_corpus import OPTION_KEYS
from test_corpus import ROWS as CORPUS

from wechatpay_chain import ApiError, Client, ConfigurationError, SchemaError, TemplateError
from wechatpay_chain._catalogue.data import Endpoint, catalogue
from wechatpay_chain._catalogue.schema import required_fields
from wechatpay_chain.testing import Credentials, Emulator
from wechatpay_chain.testing._families.catalogue.samples import sample

DOCUMENTED = {endpoint.key: endpoint for endpoint in catalogue().endpoints}
DOCUMENTED.update({f"{e.method} {e.corpus_template}": e for e in catalogue().endpoints if e.corpus_template})
V2_SIGNATURE_FIELDS = {"sign", "nonce_str"}
WRONG = {"string": 1, "integer": "1", "number": "1", "boolean": "true", "object": "x", "array": "x"}


@pytest.fixture(scope="module")
def strict(credentials: Credentials) -> Client:
    """A strict client that is never used for I/O."""
    key = {credentials.public_key_id: credentials.public_key.public_key()}
    return Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        key,
        strict=True,
        apiv2_key=credentials.apiv2_key,
        merchant_cert=credentials.merchant_certificate,
    )


def documented_call(row: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(template, placeholder values, options) of the call the row's documentation describes, done right."""
    endpoint = DOCUMENTED[f"{row['method']} {row['template']}"]
    template, values = row["template"], {name: str(sample({"type": "string"}, name)) for name in row["placeholders"]}
    if endpoint.corpus_template == template:  # the slip's placeholder stands for the documented literal
        values = {row["placeholders"][0]: endpoint.template.rsplit("/", 1)[1]}
    elif "" in endpoint.segments:  # {empty}: the path ends in '/'
        template, values = endpoint.path, {}
    # APIv2's signature fields are the client's to add (its APIv2 signer), never the caller's.
    query = {q.name: sample(q.schema, q.name) for q in endpoint.query if q.name not in V2_SIGNATURE_FIELDS}
    options: dict[str, Any] = {"query": query}
    if endpoint.api == "v3" and endpoint.body is not None and endpoint.content_type == "application/json":
        options["json"] = sample(endpoint.body)
    return template, values, options


def test_every_corpus_endpoint_is_documented_and_passes_strict_mode(strict: Client) -> None:
    refused = {}
    for row in CORPUS:
        template, values, options = documented_call(row)
        try:
            strict.build_request(row["method"], template, values, options)
        except (TemplateError, ConfigurationError) as exc:
            refused[f"{row['method']} {row['template']}"] = str(exc)
    assert len(CORPUS) == 1143
    assert refused == {}


def doc_slips() -> list[dict[str, Any]]:
    """The corpus rows whose documented example passes other values than the template's placeholders."""
    return [
        row
        for row in CORPUS
        if {a for a in row["example_args"] if a not in OPTION_KEYS} != set(row["placeholders"])
        or DOCUMENTED[f"{row['method']} {row['template']}"].corpus_template
    ]


@pytest.mark.parametrize("row", doc_slips(), ids=lambda row: f"{row['method']} {row['template']}")
def test_a_doc_slip_is_refused_with_a_hint(strict: Client, row: dict[str, Any]) -> None:
    values = {a: "V" for a in row["example_args"] if a not in OPTION_KEYS}
    with pytest.raises(TemplateError) as caught:
        strict.build_request(row["method"], row["template"], values, {})
    message = str(caught.value)
    endpoint = DOCUMENTED[f"{row['method']} {row['template']}"]
    missing = set(row["placeholders"]) - set(values)
    if endpoint.corpus_template:
        assert f"call client.chain({endpoint.template!r})" in message
    elif "empty" in missing:
        assert f"call client.chain({endpoint.path!r})" in message
    else:
        assert all(f"{{{name}}}" in message for name in missing)
        assert all(f"unknown keyword {name!r}" in message for name in set(values) - set(row["placeholders"]))


def test_the_slips_are_those_the_corpus_lists() -> None:
    # 8 examples with other values than the placeholders, 3 templates spelt unlike the docs' paths.
    assert len(doc_slips()) == 11


def test_an_undocumented_template_is_refused_naming_the_closest(strict: Client) -> None:
    with pytest.raises(TemplateError, match="is not a documented endpoint") as caught:
        strict.build_request("POST", "v3/pay/transaction/native", {}, {})
    assert "POST v3/pay/transactions/native" in str(caught.value)


def test_an_undocumented_method_is_refused_naming_the_documented_ones(strict: Client) -> None:
    with pytest.raises(TemplateError, match=r"no GET for it, only POST v3/pay/transactions/native"):
        strict.build_request("GET", "v3/pay/transactions/native", {}, {})


def test_values_may_stand_in_the_path_and_placeholders_may_be_renamed(strict: Client) -> None:
    for template, values in (("v3/pay/transactions/id/4200000001", {}), ("v3/pay/transactions/id/{id}", {"id": "1"})):
        request = strict.build_request("GET", template, values, {"query": {"mchid": "1900000109"}})
        assert request.target.startswith("/v3/pay/transactions/id/")


def native_order() -> Any:
    """A documented native-payment order: a sample of its schema, with the values the payments family checks."""
    tree = DOCUMENTED["POST v3/pay/transactions/native"].body
    assert tree is not None
    checked = {"mchid": "1900000109", "notify_url": "https://www.weixin.qq.com/wxpay/pay.php"}
    order = {**sample(tree), **checked, "amount": {"total": 100, "currency": "CNY"}}
    order.pop("time_expire", None)  # the sample's fixed time is in the past
    return order


@pytest.mark.parametrize(
    ("body", "field", "issue"),
    [
        ({"amount": {"total": "100"}}, "amount.total", "must be an integer, not a string"),
        ({"amount": {}}, "amount.total", "is required"),
        ({"amount": {"total": 1}, "time_expire": "2024-06-01 10:00:00"}, "time_expire", "must be an RFC 3339 time"),
        ({"amount": {"total": 1}, "limit_pay": ["no_cash"]}, "limit_pay[0]", "must be one of no_balance"),
        ({"amount": {"total": 1}, "appid": ""}, "appid", "is required and must not be empty"),
    ],
)
def test_a_body_field_is_named_as_a_path(strict: Client, body: dict[str, Any], field: str, issue: str) -> None:
    order = {**native_order(), **body}
    with pytest.raises(SchemaError) as caught:
        strict.build_request("POST", "v3/pay/transactions/native", {}, {"json": order})
    assert (caught.value.field, caught.value.location) == (field, "body")
    assert issue in caught.value.issue and f"body field {field}: {issue}" in str(caught.value)


def v3_with_required_body() -> list[Endpoint]:
    return [
        e
        for e in catalogue().api("v3")
        if e.content_type == "application/json" and e.method != "GET" and required_fields(e.body)
    ]


def test_every_required_field_is_checked_for_presence_and_type(strict: Client) -> None:
    unnoticed = []
    for endpoint in v3_with_required_body():
        assert endpoint.body is not None
        values = {name: "1" for name, _ in endpoint.path_params if f"{{{name}}}" in endpoint.path}
        body = sample(endpoint.body)
        query = {q.name: sample(q.schema, q.name) for q in endpoint.query}
        for name in required_fields(endpoint.body):
            kind = endpoint.body["properties"][name].get("type", "string")
            for broken, issue in (({**body, name: None}, "is required"), ({**body, name: WRONG[kind]}, "must be")):
                try:
                    strict.build_request(endpoint.method, endpoint.path, values, {"json": broken, "query": query})
                    unnoticed.append(f"{endpoint.key}: {name} {issue}")
                except SchemaError as exc:
                    if exc.field != name or not exc.issue.startswith(issue):
                        unnoticed.append(f"{endpoint.key}: {name} {issue}, got {exc}")
    assert len(v3_with_required_body()) > 500
    assert unnoticed == []


def test_a_required_query_parameter_is_checked(strict: Client) -> None:
    template = "v3/pay/transactions/out-trade-no/{out_trade_no}"
    for query, issue in ((None, "is required"), ({"mchid": ""}, "is required")):
        with pytest.raises(SchemaError, match=f"query field mchid: {issue}"):
            strict.build_request("GET", template, {"out_trade_no": "1"}, {"query": query})
    with pytest.raises(SchemaError, match="query field limit: must be a number"):
        periods = "v3/papay/insurance-sign/policy_periods/plan-id/{plan_id}/out-contract-code/{out_contract_code}"
        strict.build_request("GET", periods, {"plan_id": 1, "out_contract_code": "c"}, {"query": {"limit": "ten"}})


def test_uploads_and_bodiless_gets_are_told_apart(strict: Client) -> None:
    with pytest.raises(ConfigurationError, match=r"is an upload: send it with client\.upload"):
        strict.build_request("POST", "v3/merchant/media/upload", {}, {"json": {"filename": "a.png"}})
    strict.build_request("POST", "v3/merchant/media/upload", {}, {})  # what client.upload() builds
    with pytest.raises(SchemaError, match="not documented for a GET: pass its parameters as query="):
        strict.build_request("GET", "v3/certificates", {}, {"json": {"a": 1}})


def test_strict_mode_is_off_by_default(offline_client: Client) -> None:
    offline_client.build_request("GET", "v3/not/documented", {}, {"json": {"anything": 1}})


async def test_a_strict_client_refuses_before_anything_is_signed_or_sent(emulator: Emulator) -> None:
    client = emulator.client(strict=True)
    with pytest.raises(SchemaError, match=r"amount\.total"):
        await client.v3.pay.transactions.native.post(
            json={
                "appid": "wx1",
                "mchid": "1",
                "description": "d",
                "out_trade_no": "o",
                "notify_url": "https://example.com/n",
                "amount": {"total": "1"},  # type: ignore[typeddict-item]  # strict mode's catch when unchecked
            }
        )
    with pytest.raises(TemplateError, match="not a documented endpoint"):
        await client.chain("v3/pay/transaction/native").post(json={})
    assert not emulator.received
    answer = await client.v3.pay.transactions.native.post(json=native_order())
    assert answer.json()["code_url"] and len(emulator.received) == 1
    with pytest.raises(ApiError):
        await emulator.client()["v3/pay/transactions/native"].post(json={"appid": "wx1"})  # lenient: sent, refused
