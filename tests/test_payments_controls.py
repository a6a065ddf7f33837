"""The payment controls over HTTP, as another language's test suite plays the payer and WeChat Pay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from shop import APPID, SUB_MCHID, jsapi_order, partner_order, refund

from wechatpay_chain import Client
from wechatpay_chain.testing import Emulator

NOWHERE = "https://merchant.test/notify"
Control = Any


@pytest.fixture
async def control(emulator: Emulator) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession() as session:

        async def call(path: str, payload: Any = None) -> tuple[int, Any]:
            async with session.post(emulator.base_url + "_emulator/" + path, json=payload) as answer:
                return answer.status, await answer.json()

        yield call


async def test_the_payer_pays_fails_and_pays_with_parameters(control: Control, client: Client) -> None:
    orders = client["v3/pay/transactions"]
    for number in ("T800001", "T800002", "T800003"):
        await orders.jsapi.post(json=jsapi_order(client.mchid, number, NOWHERE))
    status, paid = await control("payments/pay", {"out_trade_no": "T800001", "bank_type": "ICBC_DEBIT"})
    assert (status, paid["trade_state"], paid["bank_type"]) == (200, "SUCCESS", "ICBC_DEBIT")
    status, failed = await control("payments/fail", {"out_trade_no": "T800002"})
    assert (status, failed["trade_state"]) == (200, "PAYERROR")
    prepay = (await orders.jsapi.post(json=jsapi_order(client.mchid, "T800003", NOWHERE))).json()["prepay_id"]
    params = await client.jsapi_params(APPID, prepay)
    status, refused = await control("payments/pay-with", {"params": {**params, "nonceStr": "forged"}})
    assert (status, refused["code"]) == (401, "SIGN_ERROR")
    status, paid = await control("payments/pay-with", {"params": params})
    assert (status, paid["out_trade_no"], paid["trade_state"]) == (200, "T800003", "SUCCESS")
    status, again = await control("payments/pay", {"out_trade_no": "T800003"})
    assert (status, again["code"]) == (400, "ORDERPAID")


async def test_partner_and_combined_orders_over_http(control: Control, client: Client) -> None:
    await client["v3/pay/partner/transactions/jsapi"].post(json=partner_order(client.mchid, "P800001", NOWHERE))
    status, paid = await control("payments/partner/pay", {"out_trade_no": "P800001", "sub_mchid": SUB_MCHID})
    assert (status, paid["sub_mchid"], paid["trade_state"]) == (200, SUB_MCHID, "SUCCESS")
    status, missing = await control("payments/partner/fail", {"out_trade_no": "P404404"})
    assert (status, missing["code"]) == (404, "ORDER_NOT_EXIST")
    status, missing = await control("payments/combined/pay", {"combine_out_trade_no": "C404404"})
    assert (status, missing["code"]) == (404, "ORDER_NOT_EXIST")


async def test_refunds_settle_by_control_or_after_the_delay(
    emulator: Emulator, control: Control, client: Client
) -> None:
    await client["v3/pay/transactions/jsapi"].post(json=jsapi_order(client.mchid, "T800010", NOWHERE, 1_000))
    await control("payments/pay", {"out_trade_no": "T800010"})
    refunds = client["v3/refund/domestic/refunds"]
    await refunds.post(json=refund("R800010", 1_000, 100, out_trade_no="T800010"))
    status, settled = await control("payments/settle-refund", {"out_refund_no": "R800010", "status": "ABNORMAL"})
    assert (status, settled["status"]) == (200, "ABNORMAL")
    status, bad = await control("payments/settle-refund", {"out_refund_no": "R800010", "status": "DONE"})
    assert (status, bad["code"]) == (400, "PARAM_ERROR")
    assert await control("payments/set-refund-delay", {"seconds": 60}) == (200, {"refund_delay": 60})
    await refunds.post(json=refund("R800011", 1_000, 100, out_trade_no="T800010"))
    await control("clock", {"advance": 60})
    status, done = await control("payments/settle-refund", {"out_refund_no": "R800011"})
    assert (status, done["code"]) == (400, "INVALID_REQUEST")  # it has succeeded by itself
    assert emulator.payments.refunds.known("R800011").status == "SUCCESS"
    assert await control("payments/set-refund-delay", {"seconds": None}) == (200, {"refund_delay": None})
    assert await control("payments/set-balance", {"amount": 0}) == (200, {"balance": 0})
    status, short = await control("payments/set-balance", {"amount": -1})
    assert (status, short["code"]) == (400, "PARAM_ERROR")
