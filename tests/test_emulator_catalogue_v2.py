"""Every catalogued APIv2 endpoint is answered by the emulator: checked against its schema, answered to fit it.

The calls go over the emulator's HTTPS with the merchant certificate (57 endpoints need it), built
and signed by the client as a user's would be. The XML answers are read back as their documented
types (digits as integers, `true` as a boolean, nested elements as objects, `refund_id_0` as the
documented `refund_id_$n`) and checked with jsonschema, the `x-json` fields by the JSON they hold.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from schema_checks import conforms, problems_of_each

import wechatpay_chain.testing
from wechatpay_chain import ApiError, Client, Response
from wechatpay_chain._catalogue.data import Endpoint, Schema, catalogue
from wechatpay_chain._catalogue.schema import required_fields
from wechatpay_chain._v2.signing import MERCHANT_FIELDS, SIGN_TYPES
from wechatpay_chain.testing import Emulator
from wechatpay_chain.testing._families.catalogue.samples import sample
from wechatpay_chain.testing._http import path_segments
from wechatpay_chain.testing._routing import Router

if TYPE_CHECKING:
    from wechatpay_chain.endpoints import V2PayRefundqueryv2PostXml as RefundQuery
    from wechatpay_chain.endpoints import V2ToolsShorturlPostXml as ShortUrl

V2 = catalogue().api("v2")
ADDED = frozenset({"sign", "nonce_str", "sign_type"})  # what the client adds to the fields it sends
pytestmark = pytest.mark.wechatpay_emulator(tls=True)


def by_key(key: str) -> Endpoint:
    return next(endpoint for endpoint in V2 if endpoint.key == key)


def request_tree(endpoint: Endpoint) -> Schema:
    """The fields a call sends: its query for a GET, else its body."""
    if endpoint.method != "GET":
        return endpoint.body or {}
    return {
        "type": "object",
        "properties": {param.name: param.schema for param in endpoint.query},
        "required": [param.name for param in endpoint.query if param.required],
    }


def fields_for(endpoint: Endpoint, client: Client) -> dict[str, Any]:
    """The documented fields, as a user passes them: the client's merchant, no sign, text for booleans.

    Every call names its merchant (the wire requires it, as WeChat Pay does), also the one whose docs
    give its body no field (`applyment/micro/signcontract`).
    """
    fields: dict[str, Any] = (
        {} if set(MERCHANT_FIELDS) & set(request_tree(endpoint).get("properties", {})) else {"mch_id": client.mchid}
    )
    for name, value in sample(request_tree(endpoint)).items():
        if name in MERCHANT_FIELDS:
            fields[name] = client.mchid
        elif name == "sign_type" and value in SIGN_TYPES:
            fields[name] = value  # a valid one is kept; else the client chooses
        elif name not in ADDED:
            fields[name] = str(value).lower() if isinstance(value, bool) else value
    return fields


async def call(client: Client, endpoint: Endpoint, fields: dict[str, Any]) -> Response:
    if endpoint.content_type.startswith("multipart/"):
        meta = {name: value for name, value in fields.items() if name not in ("media", "media_hash")}
        return await client.upload(endpoint.template, b"\xff\xd8 a picture", filename="id.jpg", meta=meta)
    node = client.chain(endpoint.template)
    if endpoint.method == "GET":
        return await node.get(query=fields)
    query = {param.name: sample(param.schema, param.name) for param in endpoint.query} or None  # submchmanage
    return await node.post(xml=fields, query=query)


def typed(value: Any, tree: Schema) -> Any:
    """An XML value read as its documented type (the conversion a user of `response.xml()` makes)."""
    kind = tree.get("type")
    if kind == "object" or "properties" in tree:
        return typed_fields(value, tree) if isinstance(value, dict) else value
    if kind == "array":
        return [typed(item, tree.get("items", {})) for item in (value if isinstance(value, list) else [value])]
    if kind in ("integer", "number") and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def typed_fields(fields: dict[str, Any], tree: Schema) -> dict[str, Any]:
    """The fields typed, numbered ones (`refund_id_0`) under their documented name (`refund_id_$n`)."""
    properties: dict[str, Schema] = dict(tree.get("properties", {}))
    numbered = {
        re.compile(re.escape(name).replace(r"\$n", r"\d+").replace(r"\$m", r"\d+")): name
        for name in properties
        if "$" in name
    }
    out: dict[str, Any] = {}
    for name, value in fields.items():
        documented = next((doc for pattern, doc in numbered.items() if pattern.fullmatch(name)), name)
        out[documented] = typed(value, properties.get(documented, {}))
    return out


def answer_problems(endpoint: Endpoint, response: Response) -> list[str]:
    """What is wrong with the answer to a documented call."""
    tree = endpoint.response
    if tree is None:  # a page, or the authorization redirect (raised: see below)
        return [] if response.headers.get("Content-Type", "").startswith("text/html") else ["not a page"]
    if endpoint.produces == "application/json":
        return conforms(response.json(), tree)
    codes = tree.get("properties", {})
    if any(codes.get(code, {}).get("enum") == ["FAIL"] for code in ("return_code", "result_code")):
        return [] if response.body and not response.body.startswith(b"<") else ["the file is XML"]
    answer = response.xml()
    problems = conforms(typed_fields(answer, tree), tree)
    for name, child in tree.get("properties", {}).items():
        if "x-json" in child and name in answer:
            problems += [f"{name} holds {problem}" for problem in conforms(answer.json(name), child["x-json"])]
    if answer["return_code"] != "SUCCESS" or answer.get("result_code", "SUCCESS") != "SUCCESS":
        problems.append(f"not a success: {dict(answer)}")
    return problems


def droppable(endpoint: Endpoint) -> str | None:
    """A required field the caller gives (not the client's own, not the merchant id the wire checks first)."""
    if endpoint.content_type.startswith("multipart/"):
        return None  # the form's fields are the signature's and the file's
    skipped = ADDED | set(MERCHANT_FIELDS)
    return next((name for name in required_fields(request_tree(endpoint)) if name not in skipped), None)


async def problems_of(client: Client, endpoint: Endpoint) -> list[str]:
    """What is wrong with the answer to a documented call, and with the refusal of one without a required field."""
    fields = fields_for(endpoint, client)
    try:
        response = await call(client, endpoint, fields)
    except ApiError as exc:
        if endpoint.status == 302 and exc.status == 302:  # a redirect is no answer to a program
            location = exc.response.headers.get("Location", "")
            return [] if location.startswith(str(fields["redirect_uri"])) else [f"{endpoint.key}: to {location}"]
        return [f"{endpoint.key}: {exc}"]
    problems = [f"{endpoint.key} answer {problem}" for problem in answer_problems(endpoint, response)]
    missing = droppable(endpoint)
    if missing is not None:
        try:
            await call(client, endpoint, {name: value for name, value in fields.items() if name != missing})
            problems.append(f"{endpoint.key}: accepted without {missing}")
        except ApiError as exc:
            if (exc.code, exc.message) != ("LACK_PARAMS", f"缺少参数{missing}"):
                problems.append(f"{endpoint.key} without {missing}: {exc}")
    return problems


async def test_every_v2_endpoint_gets_a_documented_answer_and_refuses_a_missing_required_field(
    emulator: Emulator, client: Client
) -> None:
    emulator.router = Router()  # no stateful family: every endpoint answered from its schema
    problems = await problems_of_each(V2, lambda endpoint: problems_of(client, endpoint))
    assert len(V2) == 136
    assert problems == []
    certified = [r for r in emulator.received if r.target.partition("?")[0].removeprefix("/") in CERTIFIED]
    assert len({r.target for r in certified}) == 57  # each certificate call came with the certificate


CERTIFIED = {endpoint.path for endpoint in V2 if endpoint.cert_required}


def stateful(emulator: Emulator) -> list[Endpoint]:
    """The catalogued APIv2 endpoints a route of the emulator answers before the schema-only answers."""
    return [endpoint for endpoint in V2 if emulator.router.match(endpoint.method, path_segments(endpoint.path))]


async def test_on_a_default_emulator_the_stateful_family_answers_first_and_every_v2_endpoint_is_answered(
    emulator: Emulator, client: Client
) -> None:
    families = {endpoint.key for endpoint in stateful(emulator)}
    assert families == {f"POST v2/{path}" for path in PAYMENTS}
    unanswered: list[str] = []
    for endpoint in V2:
        try:
            await call(client, endpoint, fields_for(endpoint, client))
        except ApiError as exc:  # the payments family refuses what it does not know: ORDERNOTEXIST, …
            if endpoint.key not in families and exc.status != 302:
                unanswered.append(f"{endpoint.key}: {exc}")
    assert unanswered == []
    query = client.v2.pay.orderquery
    with pytest.raises(ApiError) as caught:  # the schema answer would be SUCCESS
        await query.post(xml={"appid": "wx1", "mch_id": client.mchid, "out_trade_no": "unknown"})
    assert caught.value.code == "ORDERNOTEXIST"


PAYMENTS = (
    "pay/unifiedorder",
    "pay/micropay",
    "pay/orderquery",
    "pay/closeorder",
    "secapi/pay/refund",
    "pay/refundquery",
    "pay/downloadbill",
    "pay/downloadfundflow",
)


def test_emulator_md_lists_the_stateful_v2_endpoints() -> None:
    text = (Path(wechatpay_chain.testing.__file__).with_name("EMULATOR.md")).read_text(encoding="utf-8")
    section = text.split("## Every documented endpoint", 1)[1].split("\n#", 1)[0]
    listed = set(re.findall(r"`((?:GET|POST) v2/[^`]+)`", section))
    served = {endpoint.key for endpoint in stateful(Emulator())}
    assert listed == served
    assert f"{len(V2) - len(served)} schema-only" in section and f"{len(served)} stateful" in section


async def test_a_schema_answer_is_signed_deterministic_and_carries_the_request_values(client: Client) -> None:
    fields: RefundQuery = {"appid": "wx1", "mch_id": client.mchid, "out_refund_no": "R-1", "nonce_str": "n1"}
    first = await client.v2.pay.refundqueryv2.post(xml=fields)  # any one of the four ids will do
    again = await client.v2.pay.refundqueryv2.post(xml=fields)
    assert first.body == again.body  # the same request, the same bytes (its sign included)
    answer = first.xml()
    assert (answer["appid"], answer["out_refund_no_0"], answer["refund_count"]) == ("wx1", "out_refund_no_0", "1")
    assert len(answer["sign"]) == 32  # MD5, as asked: the client verified it
    hmac = await client.v2.pay.refundqueryv2.post(xml={**fields, "sign_type": "HMAC-SHA256"})
    assert len(hmac.xml()["sign"]) == 64  # signed as asked
    fund = await client.v2.fund.queryautowithdrawbydate.post(
        xml={"mch_id": client.mchid, "sub_mch_id": "1", "date": "20240601"}
    )
    assert fund.xml()["sign_type"] == "HMAC-SHA256"  # where the answer names its sign type
    with pytest.raises(ApiError) as caught:  # the typed chain accepts it too: the docs ask for any one id
        await client.v2.pay.refundqueryv2.post(xml={"appid": "wx1", "mch_id": client.mchid})
    assert caught.value.code == "LACK_PARAMS"
    assert caught.value.message == "缺少参数transaction_id (or one of out_trade_no, out_refund_no, refund_id)"


def with_goods_id(number: int) -> str:
    """The `detail` of a deposit micropay, its first goods_id a number (the docs want a string)."""
    detail = orjson.loads(sample(by_key("POST v2/deposit/micropay").body or {})["detail"])
    detail["goods_detail"][0]["goods_id"] = number
    return orjson.dumps(detail).decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"total_fee": "ten"}, "total_fee参数错误: must be an integer, not a string"),
        ({"body": "x" * 200}, "body参数错误: is longer than 128 characters"),
        ({"detail": with_goods_id(1)}, "detail.goods_detail[0].goods_id参数错误: must be a string, not a number"),
        ({"detail": "[1"}, "detail参数错误: must be a JSON object, as text"),
    ],
)
async def test_a_bad_field_is_refused_param_error_naming_it(
    client: Client, fields: dict[str, Any], message: str
) -> None:
    endpoint = by_key("POST v2/deposit/micropay")
    with pytest.raises(ApiError) as caught:
        await call(client, endpoint, {**fields_for(endpoint, client), **fields})
    assert (caught.value.code, caught.value.message) == ("PARAM_ERROR", message)
    assert caught.value.fields is not None and caught.value.fields["result_code"] == "FAIL"


async def test_a_stub_comes_before_the_schema_answer(emulator: Emulator, client: Client) -> None:
    shorturl = client.v2.tools.shorturl
    fields: ShortUrl = {"appid": "wx1", "mch_id": client.mchid, "long_url": "weixin://wxpay/bizpayurl?pr=1"}
    assert (await shorturl.post(xml=fields)).xml()["short_url"] == "short_url"  # the schema-only answer
    emulator.stub("POST", "v2/tools/shorturl", {"result_code": "SUCCESS", "short_url": "weixin://wxpay/s/1"})
    assert (await shorturl.post(xml=fields)).xml()["short_url"] == "weixin://wxpay/s/1"


@pytest.mark.wechatpay_emulator(tls=False)
async def test_over_plain_http_a_certificate_call_is_refused_ca_error(client: Client) -> None:
    endpoint = by_key("POST v2/mmpaymkttransfers/sendredpack")
    with pytest.raises(ApiError) as caught:
        await call(client, endpoint, fields_for(endpoint, client))
    assert caught.value.code == "CA_ERROR" and "Emulator(tls=True)" in caught.value.err_code_des
