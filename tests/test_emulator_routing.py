"""The emulator's one route table: templates, the order of stubs, families and fallbacks, refusals."""

from __future__ import annotations

import pytest

from wechatpay_chain import ApiError, Client
from wechatpay_chain.testing import Answer, Emulator, Incoming, Refusal
from wechatpay_chain.testing._routing import Route, Router, Template

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
