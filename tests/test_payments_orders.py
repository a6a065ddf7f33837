"""A direct merchant's orders in the emulator: every state, every refusal, over signed HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from shop import APPID, jsapi_order, shop

from wechatpay_chain import ApiError, Client, TransactionEvent
from wechatpay_chain.testing import Emulator, Refusal
from wechatpay_chain.testing._time import rfc3339

NOWHERE = "https://merchant.test/notify"  # never reached: no test here waits for it
ORDERS = "v3/pay/transactions"


async def place(client: Client, body: dict[str, Any], channel: str = "jsapi") -> dict[str, Any]:
    answer: dict[str, Any] = (await client[f"{ORDERS}/{channel}"].post(json=body)).json()
    return answer


async def query(client: Client, out_trade_no: str) -> dict[str, Any]:
    node = client["v3/pay/transactions/out-trade-no/{out_trade_no}"]
    answer: dict[str, Any] = (await node.get(out_trade_no=out_trade_no, query={"mchid": client.mchid})).json()
    return answer


async def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


# -- placing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "extra", "answer", "trade_type"),
    [
        ("jsapi", {}, "prepay_id", "JSAPI"),
        ("app", {"payer": None}, "prepay_id", "APP"),
        (
            "h5",
            {"payer": None, "scene_info": {"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}}},
            "h5_url",
            "MWEB",
        ),
        ("native", {"payer": None}, "code_url", "NATIVE"),
    ],
)
async def test_each_channel_answers_its_field_and_the_order_is_notpay(
    client: Client, channel: str, extra: dict[str, Any], answer: str, trade_type: str
) -> None:
    body = {k: v for k, v in {**jsapi_order(client.mchid, "T100001", NOWHERE), **extra}.items() if v is not None}
    placed = await place(client, body, channel)
    assert list(placed) == [answer]
    if answer == "prepay_id":
        assert placed[answer].startswith("wx") and len(placed[answer]) == 36
    order = await query(client, "T100001")
    assert (order["trade_type"], order["trade_state"], order["trade_state_desc"]) == (
        trade_type,
        "NOTPAY",
        "订单未支付",
    )
    assert order["amount"] == {"total": 100, "payer_total": 0, "currency": "CNY", "payer_currency": "CNY"}
    assert "transaction_id" not in order and "success_time" not in order


async def test_the_same_request_again_answers_the_same_prepay_id(client: Client) -> None:
    body = jsapi_order(client.mchid, "T100002", NOWHERE)
    first, again = await place(client, body), await place(client, dict(reversed(body.items())))
    assert first == again  # key order is not content


async def test_the_same_number_with_another_body_is_out_trade_no_used(client: Client) -> None:
    await place(client, jsapi_order(client.mchid, "T100003", NOWHERE))
    error = await refused(place(client, jsapi_order(client.mchid, "T100003", NOWHERE, total=101)))
    assert (error.status, error.code) == (403, "OUT_TRADE_NO_USED")
    error = await refused(place(client, {**jsapi_order(client.mchid, "T100003", NOWHERE), "payer": None}, "native"))
    assert error.code == "OUT_TRADE_NO_USED"  # another channel is other content too


async def test_an_expired_prepay_session_is_renewed_by_the_same_request(emulator: Emulator, client: Client) -> None:
    body = jsapi_order(client.mchid, "T100004", NOWHERE)
    first = await place(client, body)
    emulator.advance(2 * 3600)
    second = await place(client, body)
    assert second["prepay_id"] != first["prepay_id"]
    stale = await client.jsapi_params(APPID, first["prepay_id"])
    with pytest.raises(Refusal, match="has expired"):
        emulator.payments.pay_with(stale)
    emulator.payments.pay_with(await client.jsapi_params(APPID, second["prepay_id"]))
    assert (await query(client, "T100004"))["trade_state"] == "SUCCESS"


# -- paying -------------------------------------------------------------------------------------


async def test_the_user_pays_and_the_shop_gets_a_verified_transaction_success(
    emulator: Emulator, client: Client
) -> None:
    async with shop(client) as inbox:
        await place(client, jsapi_order(client.mchid, "T100010", inbox.url, attach="cart 7"))
        paid = emulator.payments.pay("T100010")
        note = await inbox.next("TRANSACTION.SUCCESS")
    order = await query(client, "T100010")
    assert order == paid  # the control answers the order as the query does
    assert order["trade_state"] == "SUCCESS" and order["trade_state_desc"] == "支付成功"
    assert order["amount"]["payer_total"] == 100 and order["attach"] == "cart 7"
    assert len(order["transaction_id"]) == 28 and order["transaction_id"].startswith("4200")
    assert note.resource == order and note.original_type == "transaction" and note.summary == "支付成功"
    event = note.event
    assert isinstance(event, TransactionEvent)
    assert (event.out_trade_no, event.transaction_id, event.amount.total) == ("T100010", order["transaction_id"], 100)
    assert rfc3339(event.success_time.timestamp()) == order["success_time"]
    by_id = client["v3/pay/transactions/id/{transaction_id}"]
    assert (await by_id.get(transaction_id=order["transaction_id"], query={"mchid": client.mchid})).json() == order


async def test_a_paid_order_refuses_to_be_paid_placed_or_closed_again(emulator: Emulator, client: Client) -> None:
    body = jsapi_order(client.mchid, "T100011", NOWHERE)
    await place(client, body)
    emulator.payments.pay("T100011")
    with pytest.raises(Refusal) as again:
        emulator.payments.pay("T100011")
    assert (again.value.status, again.value.code) == (400, "ORDERPAID")
    assert (await refused(place(client, body))).code == "ORDERPAID"
    close = client["v3/pay/transactions/out-trade-no/{out_trade_no}/close"]
    error = await refused(close.post(out_trade_no="T100011", json={"mchid": client.mchid}))
    assert (error.status, error.code) == (400, "ORDERPAID")


async def test_a_failed_payment_is_payerror_without_a_notification(emulator: Emulator, client: Client) -> None:
    async with shop(client) as inbox:
        await place(client, jsapi_order(client.mchid, "T100012", inbox.url))
        failed = emulator.payments.fail("T100012")
    assert (failed["trade_state"], (await query(client, "T100012"))["trade_state"]) == ("PAYERROR", "PAYERROR")
    assert inbox.received == [] and emulator.webhooks.pending == 0
    with pytest.raises(Refusal) as again:
        emulator.payments.pay("T100012")
    assert again.value.code == "INVALID_REQUEST"
    close = client["v3/pay/transactions/out-trade-no/{out_trade_no}/close"]
    await close.post(out_trade_no="T100012", json={"mchid": client.mchid})
    assert (await query(client, "T100012"))["trade_state"] == "CLOSED"


async def test_a_payment_for_another_openid_than_the_order_names_is_refused(emulator: Emulator, client: Client) -> None:
    await place(client, jsapi_order(client.mchid, "T100013", NOWHERE))
    with pytest.raises(Refusal) as caught:
        emulator.payments.pay("T100013", openid="o_someone_else")
    assert caught.value.code == "OPENID_MISMATCH"


async def test_an_order_without_a_payer_takes_the_one_who_pays(emulator: Emulator, client: Client) -> None:
    body = {**jsapi_order(client.mchid, "T100014", NOWHERE), "payer": None}
    await place(client, {k: v for k, v in body.items() if v is not None}, "native")
    assert emulator.payments.pay("T100014", openid="o_scanner", bank_type="CMB_DEBIT")["payer"] == {
        "openid": "o_scanner"
    }
    assert (await query(client, "T100014"))["bank_type"] == "CMB_DEBIT"


# -- closing ------------------------------------------------------------------------------------


async def test_closing_answers_204_and_a_closed_order_stays_closed(emulator: Emulator, client: Client) -> None:
    body = jsapi_order(client.mchid, "T100020", NOWHERE)
    await place(client, body)
    close = client["v3/pay/transactions/out-trade-no/{out_trade_no}/close"]
    closed = await close.post(out_trade_no="T100020", json={"mchid": client.mchid})
    assert (closed.status, closed.body) == (204, b"")
    assert (await query(client, "T100020"))["trade_state"] == "CLOSED"
    assert (await close.post(out_trade_no="T100020", json={"mchid": client.mchid})).status == 204
    assert (await refused(place(client, body))).code == "ORDER_CLOSED"
    with pytest.raises(Refusal) as paying:
        emulator.payments.pay("T100020")
    assert (paying.value.status, paying.value.code) == (400, "ORDER_CLOSED")


async def test_time_expire_closes_an_unpaid_order_on_the_emulated_clock(emulator: Emulator, client: Client) -> None:
    expire = rfc3339(emulator.now() + 600)
    await place(client, jsapi_order(client.mchid, "T100021", NOWHERE, time_expire=expire))
    emulator.advance(599)
    assert (await query(client, "T100021"))["trade_state"] == "NOTPAY"
    emulator.advance(1)
    order = await query(client, "T100021")
    assert (order["trade_state"], order["time_expire"]) == ("CLOSED", expire)
    with pytest.raises(Refusal, match="closed"):
        emulator.payments.pay("T100021")


async def test_a_time_expire_already_past_is_a_param_error(emulator: Emulator, client: Client) -> None:
    body = jsapi_order(client.mchid, "T100022", NOWHERE, time_expire=rfc3339(emulator.now() - 1))
    error = await refused(place(client, body))
    assert (error.status, error.code, error.detail) == (
        400,
        "PARAM_ERROR",
        {"field": "time_expire", "location": "body", "issue": "must be later than now"},
    )


# -- unknown orders and bad requests ------------------------------------------------------------


async def test_unknown_orders_are_order_not_exist(emulator: Emulator, client: Client) -> None:
    error = await refused(query(client, "T404404"))
    assert (error.status, error.code) == (404, "ORDER_NOT_EXIST")
    by_id = client["v3/pay/transactions/id/{transaction_id}"]
    error = await refused(by_id.get(transaction_id="4200000000000000000000000001", query={"mchid": client.mchid}))
    assert error.code == "ORDER_NOT_EXIST"
    with pytest.raises(Refusal) as caught:
        emulator.payments.pay("T404404")
    assert (caught.value.status, caught.value.code) == (404, "ORDER_NOT_EXIST")


@pytest.mark.parametrize(
    ("change", "field", "issue"),
    [
        ({"payer": None}, "payer", "is required"),
        ({"payer": {}}, "payer.openid", "is required"),
        ({"amount": {"total": 0}}, "amount.total", "must be >= 1"),
        ({"amount": {"total": 1.5}}, "amount.total", "must be an integer"),
        ({"amount": {"total": 100, "currency": "USD"}}, "amount.currency", "must be one of CNY"),
        ({"out_trade_no": "T1"}, "out_trade_no", "is shorter than 6 characters"),
        ({"out_trade_no": "T10000#"}, "out_trade_no", "must match [0-9A-Za-z_-|*]"),
        ({"description": "x" * 128}, "description", "is longer than 127 characters"),
        ({"notify_url": "ftp://merchant.test/n"}, "notify_url", "must be an http(s) URL"),
        ({"mchid": "1900000999"}, "mchid", "must be the mchid that signs the request (1900000109), not 1900000999"),
        ({"time_expire": "tomorrow"}, "time_expire", "must be an RFC 3339 time with offset"),
    ],
)
async def test_a_bad_field_is_a_param_error_naming_it(
    client: Client, change: dict[str, Any], field: str, issue: str
) -> None:
    body = {k: v for k, v in {**jsapi_order(client.mchid, "T100030", NOWHERE), **change}.items() if v is not None}
    error = await refused(place(client, body))
    assert (error.status, error.code) == (400, "PARAM_ERROR")
    assert error.detail == {"field": field, "location": "body", "issue": issue}


async def test_a_query_for_another_mchid_is_a_param_error(client: Client) -> None:
    node = client["v3/pay/transactions/out-trade-no/{out_trade_no}"]
    error = await refused(node.get(out_trade_no="T100031", query={"mchid": "1900000999"}))
    assert (error.code, error.detail["field"], error.detail["location"]) == ("PARAM_ERROR", "mchid", "query")
    error = await refused(node.get(out_trade_no="T100031"))
    assert error.detail == {"field": "mchid", "location": "query", "issue": "is required"}


async def test_a_refused_request_uses_up_no_number(client: Client) -> None:
    bad = {**jsapi_order(client.mchid, "T100032", NOWHERE), "amount": {"total": 0}}
    await refused(place(client, bad))
    assert "prepay_id" in await place(client, jsapi_order(client.mchid, "T100032", NOWHERE))
