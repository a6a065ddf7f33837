"""What the typed chain accepts: documented calls, with the documented answer types."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import assert_type

from wechatpay_chain import Chain, Client, Response, XmlDict

if TYPE_CHECKING:  # the typed chain's types exist for type checkers only
    from wechatpay_chain.endpoints import V2SecapiPayRefundPostXml as V2Refund
    from wechatpay_chain.endpoints import V3PapayInsuranceSignContractsPlanIdContractIdRenewPostBody as Renewal


async def pay(client: Client, order_no: str) -> None:
    native = await client.v3.pay.transactions.native.post(
        json={
            "appid": "wxd678efh567hg6787",
            "mchid": client.mchid,
            "description": "Image形象店-深圳腾大-QQ公仔",
            "out_trade_no": order_no,
            "notify_url": "https://www.weixin.qq.com/wxpay/pay.php",
            "amount": {"total": 1, "currency": "CNY"},
            "limit_pay": ["no_credit"],
        }
    )
    assert_type(native.json()["code_url"], str)
    by_no = client.v3.pay.transactions.outTradeNo._out_trade_no_
    order = (await by_no.get(out_trade_no=order_no, query={"mchid": client.mchid})).json()
    assert_type(order["out_trade_no"], str)
    await by_no.close.post(out_trade_no=order_no, json={"mchid": client.mchid}, timeout=5)
    await client.v3.pay.transactions.id._transaction_id_.get(transaction_id=4200, query={"mchid": client.mchid})


async def python_spellings(client: Client) -> None:
    receivers = client.v3.profitsharing.receivers
    await receivers.delete_.post(json={"appid": "wx1", "type": "MERCHANT_ID", "account": "86693852"})
    found = client.v3.global_.transactions.outTradeNo._out_trade_no_
    await found.get(out_trade_no="1", query={"mchid": "1900000109", "sub_mchid": "1", "sp_mchid": "2"})
    plans = client.v3.papay.insuranceSign.policy_periods.planId._plan_id_.outContractCode._out_contract_code_
    listed = await plans.get(plan_id=12535, out_contract_code="c1", query={"limit": 10})
    assert_type(listed.json()["data"][0]["policy_period_state"], str)


async def no_body_no_schema(client: Client) -> None:
    answer = await client.v3.certificates.get()
    assert_type(answer.json()["data"][0]["serial_no"], str)
    renew = client.v3.papay.insuranceSign.contracts.planId._plan_id_.contractId._contract_id_.renew
    body: Renewal = {  # a body built apart from its call, annotated with the verb's body type
        "appid": "wx1",
        "policy_periods": [
            {"policy_period_id": 4, "estimated_deduct_date": "2025-01-01", "estimated_deduct_amount": {"total": 1}}
        ],
    }
    renewed = await renew.post(plan_id=1, contract_id="c", json=body)
    assert_type(renewed, Response)  # 204: no answer body is documented


async def string_paths_stay_dynamic(client: Client) -> None:
    assert_type(client.chain("v3/pay/transactions/native"), Chain)
    assert_type(client["v3/anything/{x}"], Chain)
    assert_type(client.v3.pay.chain("transactions/native"), Chain)
    await client["v3/anything/{x}"].post(x="1", json={"free": "form"}, body=None)
    await client.chain("v3/pay/transactions/native").post(json={"appid": "wx1"})


async def apiv2(client: Client, order_no: str) -> None:
    paid = await client.v2.pay.micropay.post(
        xml={
            "appid": "wxd678efh567hg6787",
            "mch_id": client.mchid,
            "body": "image形象店-深圳腾大-QQ公仔",
            "out_trade_no": order_no,
            "total_fee": 888,  # an int: sent as its digits
            "spbill_create_ip": "8.8.8.8",
            "auth_code": "120061098828009406",
            "detail": {"cost_price": 888, "goods_detail": [{"goods_id": "1", "quantity": 1, "price": 888}]},
            "sign_type": "HMAC-SHA256",  # may be given; sign and nonce_str are the client's
        },
        timeout=5,
    )
    assert_type(paid.xml(), XmlDict)  # text, as the wire carries it
    query = client.v2.pay.orderquery  # the docs ask for transaction_id or out_trade_no: either will do
    await query.post(xml={"appid": "wx1", "mch_id": client.mchid, "out_trade_no": order_no}, security=True)
    refund: V2Refund = {
        "appid": "wx1",
        "mch_id": client.mchid,
        "transaction_id": "4200000001",
        "out_refund_no": "R1",
        "total_fee": 888,
        "refund_fee": 888,
    }
    await client.v2.secapi.pay.refund.post(xml=refund, nonceless=False, headers={"X-Trace": "1"}, idempotent=True)
    entrust = client.v2.papay.h5entrustweb  # a GET: its signed fields are its query
    await entrust.get(
        query={
            "appid": "wx1",
            "mch_id": client.mchid,
            "plan_id": "12535",
            "contract_code": "C1",
            "request_serial": 1,
            "contract_display_account": "张三",
            "notify_url": "https://example.com/n",
            "version": "1.0",
            "timestamp": "1414488825",
            "clientip": "127.0.0.1",
        },
        base_url="https://api.mch.weixin.qq.com/",
    )
    await client["v2/pay/micropay"].post(xml={"mch_id": client.mchid})  # a string path stays dynamic
