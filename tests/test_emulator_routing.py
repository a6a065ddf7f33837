"""The emulator's one route table: templates, the order of stubs, families and fallbacks, refusals."""

from __future__ import annotations

import aiohttp
import pytest

from wechatpay_chain import ApiError, Client
from wechatpay_chain.testing import Answer, Emulator, Incoming, Refusal
from wechatpay_chain.testing._routing import Params, Route, Router, Template
from wechatpay_chain.testing._wire import FaultParams

QUALIFY = "v3/hire-power-bank/user-qualifications/{openid}"


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("v3/orders/{no}", "/v3/orders/a%2Fb%20%E4%B8%AD", {"no": "a/b 中"}),
        ("/v3/orders/{no}?x=1", "/v3/orders/7", {"no": "7"}),
        ("v3/bills/{day}.{kind}", "/v3/bills/2025-03-03.csv", {"day": "2025-03-03", "kind": "csv"}),
        ("v3/orders/{no}", "/v3/orders/", None),
        ("v3/orders/{no}", "/v3/orders/1/items", None),
        ("v3/orders", "/v3/Orders", None),
    ],
)
def test_a_template_matches_decoded_segments(template: str, path: str, params: dict[str, str] | None) -> None:
    assert Template(template).match(Incoming.of("GET", path).segments) == params


def test_the_router_matches_by_method_and_order() -> None:
    def answer(text: str) -> Route:
        return Route("GET", "v3/x/{id}", lambda incoming, params: Answer(200, {text: params["id"]}))

    router = Router([answer("first"), answer("second")])
    router.add(answer("stub"), first=True)
    found = router.match("get", ("v3", "x", "1"))
    assert found is not None and found[1] == {"id": "1"}
    assert found[0].handler(Incoming.of("GET", "v3/x/1"), found[1]) == Answer(200, {"stub": "1"})
    assert router.match("POST", ("v3", "x", "1")) is None


async def test_a_stub_comes_before_the_families_and_the_latest_stub_first(emulator: Emulator, client: Client) -> None:
    assert (await client[QUALIFY].get(openid="o")).json() == {"qualified_user": True}
    emulator.stub("GET", QUALIFY, {"qualified_user": "stubbed"})
    emulator.stub("GET", QUALIFY, lambda incoming: Answer(200, {"openid": incoming.segments[-1]}))
    assert (await client[QUALIFY].get(openid="o")).json() == {"openid": "o"}


async def test_a_refusal_raised_by_any_handler_is_its_error_answer(emulator: Emulator, client: Client) -> None:
    def refuse(incoming: Incoming) -> Answer:
        raise Refusal(409, "CONFLICT", "already done", {"field": "x"})

    emulator.stub("POST", "v3/things", refuse)
    with pytest.raises(ApiError) as caught:
        await client["v3/things"].post(json={})
    assert (caught.value.status, caught.value.code, caught.value.message) == (409, "CONFLICT", "already done")
    assert caught.value.response.json()["detail"] == {"field": "x"}


async def test_fallback_handlers_answer_what_no_route_does(emulator: Emulator, client: Client) -> None:
    seen: list[str] = []

    async def fallback(incoming: Incoming) -> Answer | None:
        seen.append(incoming.path)
        if incoming.segments[-1] == "refused":
            raise Refusal(400, "INVALID_REQUEST", "no")
        return Answer(200, {"fallback": True}) if incoming.segments[-1] == "mine" else None

    emulator.add_handler(fallback)
    assert (await client["v3/mine"].get()).json() == {"fallback": True}
    await client[QUALIFY].get(openid="o")  # a route answers: the fallback is not asked
    for path, status, code in (("v3/refused", 400, "INVALID_REQUEST"), ("v3/nothing", 404, "NOT_FOUND")):
        with pytest.raises(ApiError) as caught:
            await client[path].get()
        assert (caught.value.status, caught.value.code) == (status, code)
    assert seen == ["/v3/mine", "/v3/refused", "/v3/nothing"]


class XmlWire:
    """A toy protocol in the manner of APIv2: a shared secret in a header, XML answers signed in a header."""

    def authenticate(self, incoming: Incoming) -> None:
        if incoming.headers.get("X-Secret") != "s3cret":
            raise Refusal(401, "SIGNERROR", "bad secret")

    def seal(self, incoming: Incoming, answer: Answer, faults: FaultParams) -> tuple[dict[str, str], bytes]:
        body = "".join(f"<{k}>{v}</{k}>" for k, v in answer.body.items()).encode()
        return {
            "Content-Type": "text/xml",
            "X-Sign": "tampered" if "bad_signature" in faults else "ok",
        }, b"<xml>" + body + b"</xml>"


async def test_a_route_of_another_protocol_is_authenticated_and_sealed_by_its_wire(emulator: Emulator) -> None:
    def query(incoming: Incoming, params: Params) -> Answer:
        return Answer(200, {"return_code": "SUCCESS", "id": params["id"]})

    emulator.router.add(Route("POST", "pay/orderquery/{id}", query, wire=XmlWire()))
    async with aiohttp.ClientSession() as session:
        url = emulator.base_url + "pay/orderquery/7"
        async with session.post(url, headers={"X-Secret": "s3cret"}) as answer:
            assert answer.status == 200 and answer.headers["X-Sign"] == "ok"
            assert await answer.read() == b"<xml><return_code>SUCCESS</return_code><id>7</id></xml>"
            assert "Wechatpay-Signature" not in answer.headers and "Request-ID" in answer.headers
        async with session.post(url) as refused:
            assert refused.status == 401 and b"<code>SIGNERROR</code>" in await refused.read()
        emulator.fault("bad_signature", "pay/orderquery/{id}", times=1)
        async with session.post(url, headers={"X-Secret": "s3cret"}) as faulted:
            assert faulted.headers["X-Sign"] == "tampered"
        async with session.post(emulator.base_url + "v3/elsewhere", headers={"X-Secret": "s3cret"}) as other:
            assert other.status == 401  # no route: APIv3 authentication under v3/, which this request fails
            assert (await other.json())["code"] == "SIGN_ERROR"
        async with session.post(emulator.base_url + "pay/elsewhere", headers={"X-Secret": "s3cret"}) as other:
            # no route outside v3/: APIv2's authentication, answered as APIv2 does (200, return_code FAIL)
            assert other.status == 200 and b"<return_code>FAIL</return_code>" in await other.read()
