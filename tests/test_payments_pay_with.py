"""`pay_with`: the payer's WeChat checks the parameters a merchant built, as the WeChat client does."""

from __future__ import annotations

from typing import Any

import pytest
from shop import APPID, jsapi_order

from wechatpay_chain import Client
from wechatpay_chain._hazmat import rsa_sign
from wechatpay_chain._payparams import jsapi_params
from wechatpay_chain.testing import Credentials, Emulator, Refusal

NOWHERE = "https://merchant.test/notify"


async def placed(client: Client, out_trade_no: str, channel: str = "jsapi") -> str:
    body = jsapi_order(client.mchid, out_trade_no, NOWHERE)
    if channel != "jsapi":
        body.pop("payer")
    prepay_id: str = (await client[f"v3/pay/transactions/{channel}"].post(json=body)).json()["prepay_id"]
    return prepay_id


def refusal(emulator: Emulator, params: Any) -> Refusal:
    with pytest.raises(Refusal) as caught:
        emulator.payments.pay_with(params)
    return caught.value


async def test_good_jsapi_parameters_pay(emulator: Emulator, client: Client) -> None:
    params = await client.jsapi_params(APPID, await placed(client, "T600001"))
    order = emulator.payments.pay_with(params, bank_type="CMB_CREDIT")
    assert (order["trade_state"], order["bank_type"]) == ("SUCCESS", "CMB_CREDIT")


async def test_good_app_parameters_pay(emulator: Emulator, client: Client) -> None:
    params = await client.app_params(APPID, await placed(client, "T600002", "app"))
    order = emulator.payments.pay_with(params, openid="o_app_user")
    assert (order["trade_type"], order["payer"]) == ("APP", {"openid": "o_app_user"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("paySign", None),  # replaced below by a signature over other fields
        ("timeStamp", "1700000000"),
        ("nonceStr", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"),
        ("appId", "wx0000000000000000"),
    ],
)
async def test_tampered_jsapi_parameters_are_refused(
    emulator: Emulator, client: Client, field: str, value: str | None
) -> None:
    params = await client.jsapi_params(APPID, await placed(client, "T600003"))
    if value is None:
        value = (await client.jsapi_params(APPID, await placed(client, "T600004")))["paySign"]
    error = refusal(emulator, {**params, field: value})
    assert (error.status, error.code) == (401, "SIGN_ERROR")
    assert "支付验证签名失败" in error.message
    assert emulator.payments.orders.known("T600003").state == "NOTPAY"  # nothing was paid


async def test_tampered_app_parameters_are_refused(emulator: Emulator, client: Client) -> None:
    params = await client.app_params(APPID, await placed(client, "T600005", "app"))
    assert refusal(emulator, {**params, "noncestr": "x" + params["noncestr"][1:]}).code == "SIGN_ERROR"


async def test_parameters_signed_by_another_merchant_are_refused(emulator: Emulator, client: Client) -> None:
    stranger = Credentials.generate("1900000999").merchant_key

    async def sign(message: bytes) -> str:
        return rsa_sign(stranger, message)

    params = await jsapi_params(sign, APPID, await placed(client, "T600006"))
    assert refusal(emulator, params).code == "SIGN_ERROR"


async def test_well_signed_parameters_for_the_wrong_order_are_refused(emulator: Emulator, client: Client) -> None:
    jsapi_prepay = await placed(client, "T600007")
    app_prepay = await placed(client, "T600008", "app")
    cases = [
        (await client.jsapi_params(APPID, "wx20240101000000unknownprepayid00000"), "is unknown"),
        (await client.app_params(APPID, jsapi_prepay), "not paid with APP"),
        (await client.jsapi_params(APPID, app_prepay), "not paid with JSAPI"),
        (await client.jsapi_params("wx0000000000000000", jsapi_prepay), "is not the order's"),
        (await client.app_params(APPID, app_prepay, partnerid="1900000999"), "is not the order's merchant"),
    ]
    for params, message in cases:
        error = refusal(emulator, params)
        assert (error.status, error.code) == (400, "INVALID_REQUEST")
        assert message in error.message


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params"),
        ({"appId": APPID}, "params.timeStamp"),
        (
            {
                "appId": APPID,
                "timeStamp": "1",
                "nonceStr": "n",
                "package": "prepay_id=x",
                "signType": "MD5",
                "paySign": "x",
            },
            "params.signType",
        ),
        (
            {"appId": APPID, "timeStamp": "1", "nonceStr": "n", "package": "wx1", "signType": "RSA", "paySign": "x"},
            "params.package",
        ),
        (
            {
                "appId": APPID,
                "timeStamp": "now",
                "nonceStr": "n",
                "package": "prepay_id=x",
                "signType": "RSA",
                "paySign": "x",
            },
            "params.timeStamp",
        ),
    ],
)
def test_malformed_parameters_are_a_param_error(emulator: Emulator, params: dict[str, str], field: str) -> None:
    error = refusal(emulator, params)
    assert (error.status, error.code, error.detail["field"]) == (400, "PARAM_ERROR", field)
