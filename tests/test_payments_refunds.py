"""Refunds in the emulator: amounts, numbers, every end (notified), abnormal refunds, refunds that settle alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from shop import jsapi_order, refund, shop

from wechatpay_chain import ApiError, Client, RefundEvent
from wechatpay_chain.testing import Emulator, Refusal

NOWHERE = "https://merchant.test/notify"
REFUNDS = "v3/refund/domestic/refunds"


async def paid_order(emulator: Emulator, client: Client, out_trade_no: str, total: int = 1000) -> dict[str, Any]:
    await client["v3/pay/transactions/jsapi"].post(json=jsapi_order(client.mchid, out_trade_no, NOWHERE, total))
    return emulator.payments.pay(out_trade_no)


async def apply(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = (await client[REFUNDS].post(json=body)).json()
    return answer


async def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


async def order_state(client: Client, out_trade_no: str) -> str:
    node = client["v3/pay/transactions/out-trade-no/{out_trade_no}"]
    state: str = (await node.get(out_trade_no=out_trade_no, query={"mchid": client.mchid})).json()["trade_state"]
    return state


# -- applying -----------------------------------------------------------------------------------


async def test_partial_refunds_up_to_what_was_paid(emulator: Emulator, client: Client) -> None:
    order = await paid_order(emulator, client, "T200001")
    first = await apply(client, refund("R200001", 1000, 600, out_trade_no="T200001"))
    assert (first["status"], first["amount"]["refund"], first["amount"]["total"]) == ("PROCESSING", 600, 1000)
    assert first["transaction_id"] == order["transaction_id"] and first["user_received_account"] == "支付用户零钱"
    second = await apply(client, refund("R200002", 1000, 400, transaction_id=order["transaction_id"]))
    assert second["out_trade_no"] == "T200001" and second["refund_id"] != first["refund_id"]
    error = await refused(apply(client, refund("R200003", 1000, 1, out_trade_no="T200001")))
    assert (error.status, error.code) == (400, "INVALID_REQUEST")
    assert "申请退款金额超过订单可退金额" in error.message
    assert await order_state(client, "T200001") == "SUCCESS"  # nothing refunded yet: both PROCESSING


async def test_a_refund_beyond_the_rest_is_refused_and_a_closed_refund_frees_its_amount(
    emulator: Emulator, client: Client
) -> None:
    await paid_order(emulator, client, "T200010")
    await apply(client, refund("R200010", 1000, 700, out_trade_no="T200010"))
    assert (await refused(apply(client, refund("R200011", 1000, 301, out_trade_no="T200010")))).code == (
        "INVALID_REQUEST"
    )
    assert emulator.payments.settle_refund("R200010", "CLOSED")["status"] == "CLOSED"
    assert (await apply(client, refund("R200011", 1000, 1000, out_trade_no="T200010")))["status"] == "PROCESSING"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (refund("R200020", 999, 100, out_trade_no="T200020"), 400, "INVALID_REQUEST"),  # not the order's total
        (refund("R200020", 1000, 100, out_trade_no="T404404"), 404, "RESOURCE_NOT_EXISTS"),
        (refund("R200020", 1000, 100, transaction_id="4200000000000000000000000001"), 404, "RESOURCE_NOT_EXISTS"),
        (refund("R200020", 1000, 100, out_trade_no="T200020", sub_mchid="1900000111"), 404, "RESOURCE_NOT_EXISTS"),
        (refund("R200020", 1000, 100), 400, "PARAM_ERROR"),  # neither transaction_id nor out_trade_no
        (refund("R200020", 1000, 0, out_trade_no="T200020"), 400, "PARAM_ERROR"),
        (
            {**refund("R200020", 1000, 100, out_trade_no="T200020"), "amount": {"refund": 100, "total": 1000}},
            400,
            "PARAM_ERROR",
        ),
        (refund("R2000#20", 1000, 100, out_trade_no="T200020"), 400, "PARAM_ERROR"),
    ],
    ids=["total", "unknown-number", "unknown-id", "other-sub-mchid", "no-order", "zero", "no-currency", "bad-number"],
)
async def test_refusals(emulator: Emulator, client: Client, body: dict[str, Any], status: int, code: str) -> None:
    await paid_order(emulator, client, "T200020")
    error = await refused(apply(client, body))
    assert (error.status, error.code) == (status, code)


async def test_an_unpaid_order_has_nothing_to_refund(client: Client) -> None:
    await client["v3/pay/transactions/jsapi"].post(json=jsapi_order(client.mchid, "T200030", NOWHERE))
    error = await refused(apply(client, refund("R200030", 100, 100, out_trade_no="T200030")))
    assert (error.status, error.code) == (400, "INVALID_REQUEST") and "NOTPAY" in error.message


async def test_a_refund_number_is_single_use(emulator: Emulator, client: Client) -> None:
    await paid_order(emulator, client, "T200040")
    body = refund("R200040", 1000, 100, out_trade_no="T200040")
    first = await apply(client, body)
    assert await apply(client, body) == first  # the same request: the same refund, refunded once
    error = await refused(apply(client, {**body, "amount": {"refund": 200, "total": 1000, "currency": "CNY"}}))
    assert (error.status, error.code) == (400, "INVALID_REQUEST")
    query = client["v3/refund/domestic/refunds/{out_refund_no}"]
    assert (await query.get(out_refund_no="R200040")).json() == first


async def test_a_refund_from_amounts_must_add_up(emulator: Emulator, client: Client) -> None:
    await paid_order(emulator, client, "T200050")
    body = refund("R200050", 1000, 100, out_trade_no="T200050")
    body["amount"]["from"] = [{"account": "AVAILABLE", "amount": 60}, {"account": "UNAVAILABLE", "amount": 30}]
    error = await refused(apply(client, body))
    assert error.detail == {
        "field": "amount.from",
        "location": "body",
        "issue": "the amounts must add up to amount.refund",
    }
    body["amount"]["from"][1]["amount"] = 40
    assert (await apply(client, body))["amount"]["from"] == body["amount"]["from"]


async def test_an_order_is_refunded_for_a_year(emulator: Emulator, client: Client) -> None:
    await paid_order(emulator, client, "T200060")
    emulator.advance(365 * 86_400 + 1)
    error = await refused(apply(client, refund("R200060", 1000, 1, out_trade_no="T200060")))
    assert error.code == "INVALID_REQUEST" and "一年" in error.message


async def test_an_order_is_refunded_at_most_fifty_times(emulator: Emulator, client: Client) -> None:
    await paid_order(emulator, client, "T200070")
    for n in range(50):
        await apply(client, refund(f"R2000{n:03d}", 1000, 1, out_trade_no="T200070"))
    error = await refused(apply(client, refund("R2000050", 1000, 1, out_trade_no="T200070")))
    assert error.code == "INVALID_REQUEST" and "50" in error.message


async def test_a_merchant_short_of_funds_gets_not_enough(emulator: Emulator, client: Client) -> None:
    assert emulator.payments.set_balance(0) == {"balance": 0}
    await paid_order(emulator, client, "T200080")  # payments add to the funds: 1000
    await apply(client, refund("R200080", 1000, 600, out_trade_no="T200080"))  # 400 left
    assert emulator.payments.set_balance(100) == {"balance": 100}  # the rest was withdrawn
    error = await refused(apply(client, refund("R200081", 1000, 400, out_trade_no="T200080")))
    assert (error.status, error.code) == (403, "NOT_ENOUGH")
    emulator.payments.settle_refund("R200080", "CLOSED")  # a closed refund's 600 come back: 700
    assert (await apply(client, refund("R200081", 1000, 700, out_trade_no="T200080")))["status"] == "PROCESSING"
    assert (await refused(apply(client, refund("R200082", 1000, 1, out_trade_no="T200080")))).code == "NOT_ENOUGH"
    assert emulator.payments.set_balance(None) == {"balance": None}  # no limit again, as by default
    assert (await apply(client, refund("R200082", 1000, 1, out_trade_no="T200080")))["status"] == "PROCESSING"


# -- the ends, notified ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["SUCCESS", "ABNORMAL", "CLOSED"])
async def test_each_end_is_notified_as_a_typed_refund_event(emulator: Emulator, client: Client, status: str) -> None:
    async with shop(client) as inbox:
        order = await paid_order(emulator, client, "T200100")
        applied = await apply(client, refund("R200100", 1000, 250, inbox.url, out_trade_no="T200100"))
        settled = emulator.payments.settle_refund("R200100", status)
        note = await inbox.next(f"REFUND.{status}")
    assert settled["status"] == status
    assert note.original_type == "refund"
    assert note.summary == {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
    event = note.event
    assert isinstance(event, RefundEvent)
    assert (event.mchid, event.sp_mchid, event.sub_mchid) == (client.mchid, None, None)
    assert (event.out_trade_no, event.transaction_id) == ("T200100", order["transaction_id"])
    assert (event.out_refund_no, event.refund_id, event.refund_status) == ("R200100", applied["refund_id"], status)
    assert (event.amount.total, event.amount.refund, event.amount.payer_total, event.amount.payer_refund) == (
        1000,
        250,
        1000,
        250,
    )
    assert (event.success_time is not None) == (status == "SUCCESS")
    assert event.user_received_account == "支付用户零钱"
    assert await order_state(client, "T200100") == ("REFUND" if status == "SUCCESS" else "SUCCESS")


async def test_only_a_processing_refund_can_be_settled(emulator: Emulator, client: Client) -> None:
    await paid_order(emulator, client, "T200110")
    await apply(client, refund("R200110", 1000, 100, out_trade_no="T200110"))
    emulator.payments.settle_refund("R200110")
    with pytest.raises(Refusal) as caught:
        emulator.payments.settle_refund("R200110", "CLOSED")
    assert (caught.value.status, caught.value.code) == (400, "INVALID_REQUEST")
    with pytest.raises(Refusal) as unknown:
        emulator.payments.settle_refund("R404404")
    assert (unknown.value.status, unknown.value.code) == (404, "RESOURCE_NOT_EXISTS")
    with pytest.raises(ValueError, match="status must be one of SUCCESS, ABNORMAL, CLOSED"):
        emulator.payments.settle_refund("R200110", "DONE")


async def test_an_abnormal_refund_goes_to_the_users_bank_card(emulator: Emulator, client: Client) -> None:
    async with shop(client) as inbox:
        await paid_order(emulator, client, "T200120")
        applied = await apply(client, refund("R200120", 1000, 1000, inbox.url, out_trade_no="T200120"))
        emulator.payments.settle_refund("R200120", "ABNORMAL")
        node = client["v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund"]
        body = {
            "out_refund_no": "R200120",
            "type": "USER_BANK_CARD",
            "bank_type": "ICBC_DEBIT",
            "bank_account": await client.encrypt("6222020202021234"),
            "real_name": await client.encrypt("张三"),
        }
        again = (await node.post(refund_id=applied["refund_id"], json=body)).json()
        assert (again["status"], again["user_received_account"]) == ("PROCESSING", "ICBC_DEBIT ****1234")
        emulator.payments.settle_refund("R200120")
        note = await inbox.next("REFUND.SUCCESS")
    assert note.resource["user_received_account"] == "ICBC_DEBIT ****1234"


async def test_apply_abnormal_refund_refusals(emulator: Emulator, client: Client) -> None:
    await paid_order(emulator, client, "T200130")
    applied = await apply(client, refund("R200130", 1000, 100, out_trade_no="T200130"))
    node = client["v3/refund/domestic/refunds/{refund_id}/apply-abnormal-refund"]
    card = {"out_refund_no": "R200130", "type": "MERCHANT_BANK_CARD"}
    error = await refused(node.post(refund_id=applied["refund_id"], json=card))
    assert (error.code, "PROCESSING" in error.message) == ("INVALID_REQUEST", True)  # not ABNORMAL
    emulator.payments.settle_refund("R200130", "ABNORMAL")
    error = await refused(node.post(refund_id="50000000000000000000000000001", json=card))
    assert (error.status, error.code) == (404, "RESOURCE_NOT_EXISTS")
    user = {**card, "type": "USER_BANK_CARD", "bank_type": "ICBC_DEBIT"}
    error = await refused(node.post(refund_id=applied["refund_id"], json=user))
    assert error.detail["field"] == "bank_account"
    forged = {**user, "bank_account": "bm90IGVuY3J5cHRlZA==", "real_name": "bm90IGVuY3J5cHRlZA=="}
    error = await refused(
        node.post(refund_id=applied["refund_id"], json=forged, headers={"Wechatpay-Serial": "PUB_KEY_ID_0"})
    )
    assert (error.code, error.detail["field"]) == ("PARAM_ERROR", "bank_account")
    merchant = (await node.post(refund_id=applied["refund_id"], json=card)).json()
    assert (merchant["status"], merchant["user_received_account"]) == ("PROCESSING", "商户银行卡")


# -- refunds that settle by themselves ------------------------------------------------------------


async def test_with_a_refund_delay_refunds_succeed_on_the_emulated_clock(emulator: Emulator, client: Client) -> None:
    emulator.payments.refund_delay = 3600
    async with shop(client) as inbox:
        await paid_order(emulator, client, "T200140")
        await apply(client, refund("R200140", 1000, 100, inbox.url, out_trade_no="T200140"))
        emulator.advance(3599)
        assert (await apply(client, refund("R200140", 1000, 100, inbox.url, out_trade_no="T200140")))["status"] == (
            "PROCESSING"
        )
        emulator.advance(1)  # due now: settled at once, notified without waiting for a request
        note = await inbox.next("REFUND.SUCCESS")
    assert note.resource["out_refund_no"] == "R200140"


async def test_a_short_refund_delay_settles_in_real_time(emulator: Emulator, client: Client) -> None:
    emulator.payments.refund_delay = 0.05
    async with shop(client) as inbox:
        await paid_order(emulator, client, "T200150")
        await apply(client, refund("R200150", 1000, 100, inbox.url, out_trade_no="T200150"))
        note = await inbox.next("REFUND.SUCCESS")  # nobody calls anything: the emulator's timer settles it
    assert note.event.refund_status == "SUCCESS"  # type: ignore[union-attr]
    await asyncio.sleep(0)
    assert emulator.payments.refunds.next_due() is None


async def test_without_a_delay_refunds_wait_for_settle_refund(emulator: Emulator, client: Client) -> None:
    await paid_order(emulator, client, "T200160")
    await apply(client, refund("R200160", 1000, 100, out_trade_no="T200160"))
    emulator.advance(30 * 86_400)
    query = client["v3/refund/domestic/refunds/{out_refund_no}"]
    assert (await query.get(out_refund_no="R200160")).json()["status"] == "PROCESSING"
