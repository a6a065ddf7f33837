"""The chain: attribute mapping, the three calling styles, strict placeholder expansion."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wechatpay_chain import Chain, Client, TemplateError
from wechatpay_chain._chain.nodes import segment
from wechatpay_chain.testing import Answer, Emulator

SEED = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/out-contract-code/{out_contract_code}/terminate"


def test_three_styles_give_the_same_node(client: Client) -> None:
    by_attr = client.v3.papay.insuranceSign.contracts.planId._plan_id_.outContractCode._out_contract_code_.terminate
    assert str(by_attr) == SEED
    assert by_attr == client.chain(SEED) == client[SEED]
    assert isinstance(by_attr, Chain)


def test_mixed_styles(client: Client) -> None:
    assert str(client.v3["pay/transactions"].native) == "v3/pay/transactions/native"
    assert str(client["v3"].pay.chain("transactions/{id}")) == "v3/pay/transactions/{id}"
    assert str(client["/v3/pay/"]["/transactions"]) == "v3/pay/transactions"


def test_string_forms_are_literal(client: Client) -> None:
    assert str(client["v3/pay/transactions/out-trade-no/ABCdef"]) == "v3/pay/transactions/out-trade-no/ABCdef"
    assert str(client.v3.chain("policy_periods")) == "v3/policy_periods"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("insuranceSign", "insurance-sign"),
        ("complaintsV2", "complaints-v2"),
        ("h5PreEntrustSign", "h5-pre-entrust-sign"),
        ("Foo", "foo"),
        ("applyment4sub", "applyment4sub"),
        ("policy_periods", "policy_periods"),
        ("_plan_id_", "{plan_id}"),
        ("global_", "global"),
        ("delete_", "delete"),
        ("chain_", "chain"),
        ("post_", "post"),
    ],
)
def test_attribute_mapping(name: str, expected: str) -> None:
    assert segment(name) == expected


def test_keywords_and_verbs_as_segments(client: Client) -> None:
    assert str(client.v3.global_.refunds) == "v3/global/refunds"
    assert str(client.v3.profitsharing.receivers.delete_) == "v3/profitsharing/receivers/delete"
    assert callable(client.v3.profitsharing.receivers.delete)  # type: ignore[attr-defined]  # not documented there


@pytest.mark.parametrize("name", ["_private", "__dunder__", "__wrapped__", "_"])
def test_private_names_are_not_segments(client: Client, name: str) -> None:
    with pytest.raises(AttributeError):
        getattr(client.v3, name)


def test_only_verbs_and_chain_are_public() -> None:
    public = {n for n in dir(Chain) if not n.startswith("_")}
    assert public == {"get", "post", "put", "patch", "delete", "chain"}


def test_repeated_access_reuses_the_node(client: Client) -> None:
    first = client.v3.pay.transactions
    assert client.v3.pay.transactions is first


def test_nodes_are_read_only(client: Client) -> None:
    with pytest.raises(AttributeError):
        client.v3.pay = 1  # type: ignore[assignment]


camel = st.from_regex(r"[a-z][a-z0-9]{0,6}(?:[A-Z][a-z0-9]{1,6}){0,4}", fullmatch=True)


@given(camel)
def test_camel_case_maps_to_kebab_case(name: str) -> None:
    mapped = segment(name)
    assert mapped == re.sub(r"[A-Z]", lambda m: "-" + m.group().lower(), name)
    assert mapped == mapped.lower()
    assert segment(name + "_") == mapped  # one trailing underscore is dropped


@given(st.from_regex(r"[a-z][a-z0-9_]{0,20}[a-z0-9]", fullmatch=True))
def test_placeholder_names_keep_their_spelling(name: str) -> None:
    assert segment(f"_{name}_") == "{" + name + "}"


VALUES = st.one_of(st.text(min_size=1), st.integers()).filter(lambda v: str(v) not in ("", ".", ".."))


@given(VALUES, VALUES)
def test_no_value_escapes_its_segment(offline_client: Client, a: str | int, b: str | int) -> None:
    request = offline_client.build_request("GET", "v3/x/{a}/y/{b}", {"a": a, "b": b}, {})
    segments = request.target.split("/")
    assert "?" not in request.target and "#" not in request.target
    assert segments[:3] == ["", "v3", "x"] and segments[4] == "y" and len(segments) == 6
    assert unquote(segments[3]) == str(a) and unquote(segments[5]) == str(b)


async def test_slips_raise_before_any_io(emulator: Emulator, client: Client) -> None:
    node = client.v3.offlinefacemch.organizations._organization_id_.users.userId._user_id_.terminateContract
    cases = [
        ({"organization_id": "1", "use_id": "2"}, ["{user_id}", "'use_id'", "did you mean 'user_id'"]),
        ({"organization_id": "1"}, ["missing {user_id}"]),
        ({"organization_id": "1", "user_id": ""}, ["{user_id}", "empty"]),
        ({"organization_id": "1", "user_id": None}, ["{user_id}", "NoneType"]),
        ({"organization_id": "1", "user_id": ".."}, ["{user_id}", "'..'"]),
        ({"organization_id": "1", "user_id": True}, ["{user_id}", "bool"]),
    ]
    for values, fragments in cases:
        with pytest.raises(TemplateError) as caught:
            await node.post(**values)  # type: ignore[arg-type]
        message = str(caught.value)
        assert str(node) in message
        for fragment in fragments:
            assert fragment in message
        assert isinstance(caught.value, ValueError)
    assert not emulator.received


async def test_unknown_keyword_on_a_template_without_placeholders(client: Client) -> None:
    with pytest.raises(TemplateError, match="unknown keyword 'plan_id'"):
        await client.v3.pay.transactions.native.post(plan_id="1")  # type: ignore[call-arg]


@pytest.mark.parametrize("template", ["v3/a/{b", "v3/a/b}", "v3/{}/x", "v3/{a}/{a}", "v3/a#frag"])
async def test_malformed_templates(client: Client, template: str) -> None:
    with pytest.raises(TemplateError):
        await client[template].get(a="1", b="1")


async def test_inline_query_merges_with_query(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/list", {"ok": True})
    query: dict[str, int | str] = {"offset": 20, "state": "启用"}  # mypy infers a mixed literal as dict[str, object]
    response = await client["v3/list?limit=10&offset=0"].get(query=query)
    assert response.request.target == "/v3/list?limit=10&offset=20&state=%E5%90%AF%E7%94%A8"
    assert emulator.received[-1].target == response.request.target


async def test_per_call_base_url(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/global/x", {"ok": True})
    other = Client(
        client.mchid,
        client.serial,
        emulator.credentials.merchant_key,
        emulator.certs(),
        base_url="https://example.invalid/",
    )
    try:
        response = await other["v3/global/x"].get(base_url=emulator.base_url)
        assert response.json() == {"ok": True}
    finally:
        await other.close()


async def test_placeholder_values_reach_the_server_encoded(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/orders/{no}", lambda incoming: Answer(200, {"no": incoming.segments[-1]}))
    response = await client["v3/orders/{no}"].get(no="A/B?C#D 中")
    assert response.json() == {"no": "A/B?C#D 中"}
    assert response.request.target == "/v3/orders/A%2FB%3FC%23D%20%E4%B8%AD"


# -- placeholders and options ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["json", "query", "body", "headers", "base_url", "timeout", "idempotent"])
async def test_a_placeholder_named_like_an_option_is_refused_with_the_way_around(
    emulator: Emulator, client: Client, name: str
) -> None:
    node = client[f"v3/things/{{{name}}}"]
    with pytest.raises(TemplateError) as caught:
        await node.get()
    assert f"{{{name}}}" in str(caught.value) and f"placeholders={{{name!r}" in str(caught.value)
    emulator.stub("GET", "v3/things/{x}", lambda incoming: Answer(200, {"x": incoming.segments[-1]}))
    response = await node.get(placeholders={name: "A1"})
    assert response.json() == {"x": "A1"} and not [r for r in emulator.received if r.target.endswith("{")]


async def test_an_option_and_a_clashing_placeholder_work_together(emulator: Emulator, client: Client) -> None:
    emulator.stub(
        "POST", "v3/things/{x}", lambda incoming: Answer(200, {"x": incoming.segments[-1], **incoming.json()})
    )
    response = await client["v3/things/{json}"].post(json={"a": 1}, placeholders={"json": "J"})
    assert response.json() == {"x": "J", "a": 1}


@pytest.mark.parametrize("name", ["method", "file", "to", "source", "self", "args", "values"])
async def test_any_other_placeholder_name_is_an_ordinary_keyword(offline_client: Client, name: str) -> None:
    request = offline_client.build_request("GET", f"v3/things/{{{name}}}", {name: "v"}, {})
    assert request.target == "/v3/things/v"
    node = offline_client[f"v3/things/{{{name}}}"]
    with pytest.raises(TemplateError, match=f"missing {{{name}}}"):
        await node.get()  # parsed before any I/O; a keyword of that name would fill it


async def test_method_is_a_placeholder_like_any_other(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/things/{x}", lambda incoming: Answer(200, {"x": incoming.segments[-1]}))
    assert (await client["v3/things/{method}"].get(method="m")).json() == {"x": "m"}


async def test_positional_arguments_are_refused_clearly(client: Client) -> None:
    with pytest.raises(TypeError, match=r"get\(\) takes keyword arguments only"):
        await client["v3/pay/transactions/native"].get("1")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="placeholders= takes a mapping"):
        await client["v3/pay/transactions/native"].get(placeholders="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="both as keywords and in placeholders"):
        await client["v3/x/{a}"].get(a="1", placeholders={"a": "2"})


@pytest.mark.parametrize(
    "template", ["v3/files{/seg}", "v3/x/{id:3}", "v3/x{?q}", "v3/x/{list*}", "v3/x/{+p}", "v3/x/{a.b}"]
)
async def test_rfc6570_operators_are_refused_not_sent_as_another_url(
    emulator: Emulator, client: Client, template: str
) -> None:
    with pytest.raises(TemplateError, match="RFC 6570"):
        await client[template].get(seg="x", id="12345", q="1", list="a", p="b", placeholders={"a.b": "c"})
    assert not emulator.received


@pytest.mark.parametrize("path", ["v3/../../x", "v3/./pay", "v3/pay/..", "../v3/pay", "v3/pay/%2e%2e/x", "v3/%2E/x"])
async def test_dot_segments_in_string_paths_are_refused(emulator: Emulator, client: Client, path: str) -> None:
    with pytest.raises(TemplateError, match=r"'\.' and '\.\.' segments"):
        await client.chain(path).get()
    assert not emulator.received


@pytest.mark.parametrize(
    "url", ["https://api.mch.weixin.qq.com/v3/pay/x", "http://127.0.0.1/v3/x", "//evil.example/v3/x"]
)
def test_absolute_urls_are_refused_where_a_path_is_expected(client: Client, url: str) -> None:
    for make in (client.chain, client.__getitem__, client.v3.chain):
        with pytest.raises(TemplateError, match="absolute URL") as caught:
            make(url)
        assert "base_url=" in str(caught.value)


async def test_verbs_on_nodes_that_are_no_endpoint_are_refused(emulator: Emulator, client: Client) -> None:
    # The typed chain has no verb on these nodes, so a type checker refuses them too.
    root_calls = (client.post(), client.get())  # type: ignore[attr-defined]
    roots = (client.v3.get(), client.v2.post())  # type: ignore[attr-defined]
    for call in (*root_calls, *roots, client.chain("v3/").get()):
        with pytest.raises(TemplateError, match="is no endpoint"):
            await call
    assert not emulator.received


async def test_an_inline_query_is_encoded_and_signed_as_sent(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/pay/q", lambda incoming: Answer(200, {"target": incoming.target}))
    for template, target in [
        ("v3/pay/q?a=b c", "/v3/pay/q?a=b%20c"),
        ("v3/pay/q?a=1\r\nb=2", "/v3/pay/q?a=1%0D%0Ab=2"),
        ("v3/pay/q?a=%41&b=50%", "/v3/pay/q?a=%41&b=50%25"),
        ("v3/pay/q?名=值", "/v3/pay/q?%E5%90%8D=%E5%80%BC"),
    ]:
        response = await client[template].get()  # the emulator checks the signature over what it received
        assert response.request.target == target == response.json()["target"]


async def test_a_lone_surrogate_is_a_template_error(client: Client) -> None:
    with pytest.raises(TemplateError, match="lone surrogate"):
        await client["v3/x/{a}"].get(a="\ud800")
    with pytest.raises(TemplateError, match="lone surrogate"):
        await client["v3/x/y"].get(query={"q": "\udfff"})
