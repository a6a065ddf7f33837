"""A service provider's orders for sub-merchants, and combined payments: whole flows over signed HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from shop import SP_APPID, SUB_APPID, SUB_MCHID, partner_order, refund, shop

from wechatpay_chain import ApiError, Client, CombinedTransactionEvent, RefundEvent, TransactionEvent
from wechatpay_chain.testing import Emulator, Refusal
from wechatpay_chain.testing._time import rfc3339

NOWHERE = "https://merchant.test/notify"
COMBINE_APPID = "wxd678efh567hg6787"


async def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


# -- partner ------------------------------------------------------------------------------------


async def test_a_partner_flow_order_pay_query_refund(emulator: Emulator, client: Client) -> None:
    orders = client["v3/pay/partner/transactions"]
    async with shop(client) as inbox:
        placed = (await orders.jsapi.post(json=partner_order(client.mchid, "P400001", inbox.url))).json()
        params = await client.jsapi_params(SP_APPID, placed["prepay_id"])
        emulator.payments.pay_with(params)
        paid = await inbox.next("TRANSACTION.SUCCESS")
        query = {"sp_mchid": client.mchid, "sub_mchid": SUB_MCHID}
        order = (await orders.outTradeNo._out_trade_no_.get(out_trade_no="P400001", query=query)).json()
        by_id = await orders.id._transaction_id_.get(transaction_id=order["transaction_id"], query=query)
        body = refund("R400001", 100, 100, inbox.url, out_trade_no="P400001", sub_mchid=SUB_MCHID)
        applied = (await client["v3/refund/domestic/refunds"].post(json=body)).json()
        emulator.payments.settle_refund("R400001", sub_mchid=SUB_MCHID)
        refunded = await inbox.next("REFUND.SUCCESS")
    assert by_id.json() == order == paid.resource
    assert (order["sp_mchid"], order["sub_mchid"], order["sp_appid"], order["trade_state"]) == (
        client.mchid,
        SUB_MCHID,
        SP_APPID,
        "SUCCESS",
    )
    assert "mchid" not in order and "appid" not in order
    assert order["payer"] == {"sp_openid": "oUpF8uMuAJO_M2pxb1Q9zNjSP000"}
    event = paid.event
    assert isinstance(event, TransactionEvent) and (event.sp_mchid, event.sub_mchid) == (client.mchid, SUB_MCHID)
    assert applied["status"] == "PROCESSING"
    refund_event = refunded.event
    assert isinstance(refund_event, RefundEvent)
    assert (refund_event.mchid, refund_event.sp_mchid, refund_event.sub_mchid) == (None, client.mchid, SUB_MCHID)
    query_refund = client["v3/refund/domestic/refunds/{out_refund_no}"]
    done = (await query_refund.get(out_refund_no="R400001", query={"sub_mchid": SUB_MCHID})).json()
    assert done["status"] == "SUCCESS"
    error = await refused(query_refund.get(out_refund_no="R400001"))  # not the service provider's own refund
    assert (error.status, error.code) == (404, "RESOURCE_NOT_EXISTS")


async def test_sub_merchants_have_their_own_order_numbers(emulator: Emulator, client: Client) -> None:
    orders = client["v3/pay/partner/transactions"]
    await orders.jsapi.post(json=partner_order(client.mchid, "P400010", NOWHERE))
    other = {**partner_order(client.mchid, "P400010", NOWHERE, total=200), "sub_mchid": "1900000222"}
    await orders.jsapi.post(json=other)
    with pytest.raises(ValueError, match="give sub_mchid"):
        emulator.payments.partner.pay("P400010")
    assert emulator.payments.partner.pay("P400010", sub_mchid="1900000222")["amount"]["total"] == 200
    close = orders.outTradeNo._out_trade_no_.close
    await close.post(out_trade_no="P400010", json={"sp_mchid": client.mchid, "sub_mchid": SUB_MCHID})
    query = {"sp_mchid": client.mchid, "sub_mchid": SUB_MCHID}
    assert (await orders.outTradeNo._out_trade_no_.get(out_trade_no="P400010", query=query)).json()[
        "trade_state"
    ] == "CLOSED"


async def test_a_sub_openid_pays_through_the_sub_appid(emulator: Emulator, client: Client) -> None:
    body = {**partner_order(client.mchid, "P400020", NOWHERE), "payer": {"sub_openid": "o_sub"}}
    error = await refused(client["v3/pay/partner/transactions/jsapi"].post(json=body))
    assert error.detail == {"field": "sub_appid", "location": "body", "issue": "is required with payer.sub_openid"}
    placed = (await client["v3/pay/partner/transactions/jsapi"].post(json={**body, "sub_appid": SUB_APPID})).json()
    params = await client.jsapi_params(SUB_APPID, placed["prepay_id"])
    assert emulator.payments.pay_with(params)["payer"] == {"sub_openid": "o_sub"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payer": {}}, "payer.sp_openid"),
        ({"sp_mchid": "1900000999"}, "sp_mchid"),
        ({"sub_mchid": "abc"}, "sub_mchid"),
        ({"sp_appid": None}, "sp_appid"),
    ],
)
async def test_partner_refusals_name_the_field(client: Client, change: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in {**partner_order(client.mchid, "P400030", NOWHERE), **change}.items() if v is not None}
    error = await refused(client["v3/pay/partner/transactions/jsapi"].post(json=body))
    assert (error.code, error.detail["field"]) == ("PARAM_ERROR", field)


async def test_a_partner_query_for_another_sub_merchant_is_order_not_exist(emulator: Emulator, client: Client) -> None:
    orders = client["v3/pay/partner/transactions"]
    await orders.native.post(json={**partner_order(client.mchid, "P400040", NOWHERE), "payer": {}})
    order = emulator.payments.partner.pay("P400040", openid="o_scanner")
    assert order["payer"] == {"sp_openid": "o_scanner"} and order["trade_type"] == "NATIVE"
    query = {"sp_mchid": client.mchid, "sub_mchid": "1900000222"}
    error = await refused(orders.id._transaction_id_.get(transaction_id=order["transaction_id"], query=query))
    assert (error.status, error.code) == (404, "ORDER_NOT_EXIST")


# -- combined payments --------------------------------------------------------------------------


def combined_order(mchid: str, number: str, notify_url: str) -> dict[str, Any]:
    def sub_order(out_trade_no: str, total: int) -> dict[str, Any]:
        return {
            "mchid": mchid,
            "sub_mchid": SUB_MCHID,
            "out_trade_no": out_trade_no,
            "attach": "深圳分店",
            "description": "腾讯充值中心-QQ会员充值",
            "amount": {"total_amount": total, "currency": "CNY"},
        }

    return {
        "combine_appid": COMBINE_APPID,
        "combine_mchid": mchid,
        "combine_out_trade_no": number,
        "scene_info": {"device_id": "POS1:1", "payer_client_ip": "14.17.22.32"},
        "sub_orders": [sub_order(number + "A", 300), sub_order(number + "B", 700)],
        "combine_payer_info": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "notify_url": notify_url,
    }


async def test_a_combined_flow_pays_every_sub_order_and_refunds_one(emulator: Emulator, client: Client) -> None:
    combine = client["v3/combine-transactions"]
    async with shop(client) as inbox:
        placed = (await combine.jsapi.post(json=combined_order(client.mchid, "C500001", inbox.url))).json()
        emulator.payments.pay_with(await client.jsapi_params(COMBINE_APPID, placed["prepay_id"]))
        note = await inbox.next("TRANSACTION.SUCCESS")
        order = (await combine.outTradeNo._combine_out_trade_no_.get(combine_out_trade_no="C500001")).json()
        body = refund("R500001", 700, 700, inbox.url, out_trade_no="C500001B", sub_mchid=SUB_MCHID)
        await client["v3/refund/domestic/refunds"].post(json=body)
        emulator.payments.settle_refund("R500001", sub_mchid=SUB_MCHID)
        refunded = await inbox.next("REFUND.SUCCESS")
    assert note.resource == order
    assert [(s["out_trade_no"], s["trade_state"], s["amount"]["payer_amount"]) for s in order["sub_orders"]] == [
        ("C500001A", "SUCCESS", 300),
        ("C500001B", "SUCCESS", 700),
    ]
    event = note.event
    assert isinstance(event, CombinedTransactionEvent)
    assert event.combine_out_trade_no == "C500001" and len({s.transaction_id for s in event.sub_orders}) == 2
    assert [s.amount.total_amount for s in event.sub_orders] == [300, 700]
    assert refunded.resource["out_trade_no"] == "C500001B" and refunded.resource["sub_mchid"] == SUB_MCHID
    by_id = combine.id._combine_transaction_id_
    states = (await by_id.get(combine_transaction_id=order["combine_transaction_id"])).json()["sub_orders"]
    assert [s["trade_state"] for s in states] == ["SUCCESS", "REFUND"]


async def test_a_combined_order_closes_and_fails_as_a_whole(emulator: Emulator, client: Client) -> None:
    combine = client["v3/combine-transactions"]
    await combine.native.post(json=combined_order(client.mchid, "C500010", NOWHERE))
    close = combine.outTradeNo._combine_out_trade_no_.close
    stranger = {"combine_appid": COMBINE_APPID, "sub_orders": [{"mchid": client.mchid, "out_trade_no": "X500010"}]}
    error = await refused(close.post(combine_out_trade_no="C500010", json=stranger))
    assert (error.status, error.code) == (400, "INVALID_REQUEST")
    mine = {"combine_appid": COMBINE_APPID, "sub_orders": [{"mchid": client.mchid, "out_trade_no": "C500010A"}]}
    assert (await close.post(combine_out_trade_no="C500010", json=mine)).status == 204
    order = (await combine.outTradeNo._combine_out_trade_no_.get(combine_out_trade_no="C500010")).json()
    assert [s["trade_state"] for s in order["sub_orders"]] == ["CLOSED", "CLOSED"]
    with pytest.raises(Refusal) as paying:
        emulator.payments.combined.pay("C500010")
    assert paying.value.code == "ORDER_CLOSED"
    await combine.app.post(json={**combined_order(client.mchid, "C500011", NOWHERE), "combine_payer_info": None})
    failed = emulator.payments.combined.fail("C500011")
    assert [s["trade_state"] for s in failed["sub_orders"]] == ["PAYERROR", "PAYERROR"]


async def test_combined_refusals(client: Client) -> None:
    combine = client["v3/combine-transactions"]
    body = combined_order(client.mchid, "C500020", NOWHERE)
    twice = {**body, "sub_orders": [body["sub_orders"][0], body["sub_orders"][0]]}
    error = await refused(combine.jsapi.post(json=twice))
    assert error.detail["field"] == "sub_orders[1].out_trade_no"
    error = await refused(combine.jsapi.post(json={**body, "combine_payer_info": {}}))
    assert error.detail["field"] == "combine_payer_info.openid"
    error = await refused(combine.jsapi.post(json={**body, "sub_orders": body["sub_orders"] * 26}))
    assert error.detail == {"field": "sub_orders", "location": "body", "issue": "allows at most 50 items"}
    await combine.jsapi.post(json=body)
    reused = {**combined_order(client.mchid, "C500021", NOWHERE)}
    reused["sub_orders"][0]["out_trade_no"] = "C500020A"  # a sub-order number of the first combined order
    error = await refused(combine.jsapi.post(json=reused))
    assert (error.status, error.code) == (403, "OUT_TRADE_NO_USED")
    error = await refused(combine.outTradeNo._combine_out_trade_no_.get(combine_out_trade_no="C404404"))
    assert (error.status, error.code) == (404, "ORDER_NOT_EXIST")


async def test_a_partner_number_reused_with_other_content_and_a_paid_order_closed(
    emulator: Emulator, client: Client
) -> None:
    orders = client["v3/pay/partner/transactions"]
    body = partner_order(client.mchid, "P400050", NOWHERE)
    first = (await orders.jsapi.post(json=body)).json()
    assert (await orders.jsapi.post(json=body)).json() == first  # the same request: the same session
    error = await refused(orders.jsapi.post(json={**body, "description": "other goods"}))
    assert (error.status, error.code) == (403, "OUT_TRADE_NO_USED")
    emulator.payments.partner.pay("P400050")
    close = orders.outTradeNo._out_trade_no_.close
    error = await refused(close.post(out_trade_no="P400050", json={"sp_mchid": client.mchid, "sub_mchid": SUB_MCHID}))
    assert (error.status, error.code) == (400, "ORDERPAID")
    with pytest.raises(Refusal) as again:
        emulator.payments.partner.fail("P400050", sub_mchid=SUB_MCHID)
    assert again.value.code == "ORDERPAID"


async def test_a_combined_order_paid_cannot_close_and_one_unpaid_expires(emulator: Emulator, client: Client) -> None:
    combine = client["v3/combine-transactions"]
    close = combine.outTradeNo._combine_out_trade_no_.close
    await combine.jsapi.post(json=combined_order(client.mchid, "C500030", NOWHERE))
    emulator.payments.combined.pay("C500030")
    mine = {"combine_appid": COMBINE_APPID, "sub_orders": [{"mchid": client.mchid, "out_trade_no": "C500030A"}]}
    error = await refused(close.post(combine_out_trade_no="C500030", json=mine))
    assert (error.status, error.code) == (400, "ORDERPAID")
    other_app = {**mine, "combine_appid": "wx0000000000000000"}
    error = await refused(close.post(combine_out_trade_no="C500030", json=other_app))
    assert (error.status, error.code) == (400, "INVALID_REQUEST")
    expiring = {**combined_order(client.mchid, "C500031", NOWHERE), "time_expire": rfc3339(emulator.now() + 60)}
    await combine.jsapi.post(json=expiring)
    emulator.advance(60)
    order = (await combine.outTradeNo._combine_out_trade_no_.get(combine_out_trade_no="C500031")).json()
    assert [s["trade_state"] for s in order["sub_orders"]] == ["CLOSED", "CLOSED"]
