"""APIv2 answers: FAIL raises ApiError with WeChat Pay's fields, a bad or missing sign raises SignatureError.

Calls go through `client.chain("v2")`, dynamic for type checkers: they send partial bodies and
fields built apart, which the typed chain (`client.v2…`) would refuse.
"""

from __future__ import annotations

import pytest

from wechatpay_chain import ApiError, Client, SignatureError, XmlError
from wechatpay_chain.testing import Answer, Emulator, Incoming

APPID = "wxd678efh567hg6787"


async def test_return_code_fail_raises_api_error_with_return_msg(emulator: Emulator, client: Client) -> None:
    emulator.stub("POST", "v2/pay/orderquery", {"return_code": "FAIL", "return_msg": "系统繁忙"})
    with pytest.raises(ApiError) as caught:
        await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid})
    error = caught.value
    assert (error.code, error.message, error.return_msg, error.err_code) == ("FAIL", "系统繁忙", "系统繁忙", "")
    assert error.fields is not None and error.fields["return_code"] == "FAIL"
    assert str(error) == "APIv2 FAIL: 系统繁忙 (HTTP 200)"


async def test_result_code_fail_raises_api_error_with_err_code(emulator: Emulator, client: Client) -> None:
    with pytest.raises(ApiError) as caught:
        await client.v2.pay.closeorder.post(xml={"appid": APPID, "mch_id": client.mchid, "out_trade_no": "nope"})
    error = caught.value
    assert (error.code, error.err_code, error.err_code_des) == ("ORDERNOTEXIST", "ORDERNOTEXIST", "订单不存在")
    assert error.return_msg == "OK" and error.status == 200


async def test_a_protocol_refusal_is_worded_as_wechat_pay_words_it(emulator: Emulator, client: Client) -> None:
    with pytest.raises(ApiError) as caught:
        await client.chain("v2").pay.orderquery.post(xml={"appid": APPID})  # no mch_id
    assert caught.value.return_msg == "缺少参数mch_id"


async def test_a_tampered_answer_is_refused(emulator: Emulator, client: Client) -> None:
    emulator.fault("bad_signature", "pay/micropay", times=1)
    order = {
        "appid": APPID,
        "mch_id": client.mchid,
        "body": "goods",
        "out_trade_no": "T-bad",
        "total_fee": 1,
        "spbill_create_ip": "127.0.0.1",
        "auth_code": "134567890123456789",
    }
    with pytest.raises(SignatureError) as caught:
        await client.chain("v2").pay.micropay.post(xml=order)
    assert caught.value.check == "signature"
    assert caught.value.response is not None  # the refused answer is kept for support


async def test_an_unsigned_success_is_refused_where_the_endpoint_signs(emulator: Emulator, client: Client) -> None:
    def unsigned(incoming: Incoming) -> Answer:
        return Answer(200, b"<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code></xml>")

    emulator.stub("POST", "v2/pay/orderquery", unsigned)
    with pytest.raises(SignatureError) as caught:
        await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid})
    assert caught.value.check == "sign"
    # …and accepted where the endpoint documents no sign (red packets, transfers, risk callbacks…)
    emulator.stub("POST", "v2/mchrisk/setmchriskcallback", unsigned)
    answer = await client.chain("v2").mchrisk.setmchriskcallback.post(xml={"mch_id": client.mchid})
    assert answer.xml()["result_code"] == "SUCCESS"


async def test_a_hostile_answer_is_refused_before_it_is_read(emulator: Emulator, client: Client) -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><a>&x;</a></xml>'
    emulator.stub("POST", "v2/pay/orderquery", lambda incoming: Answer(200, hostile))
    with pytest.raises(XmlError) as caught:
        await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid})
    assert caught.value.check == "doctype"


async def test_json_fields_read_as_json_and_other_answers_pass(emulator: Emulator, client: Client) -> None:
    detail = '{"promotion_id":"109519","amount":"5","goods_detail":[{"goods_id":"a","quantity":1,"price":100}]}'
    emulator.stub("POST", "v2/pay/micropay", {"result_code": "SUCCESS", "promotion_detail": detail})
    answer = (await client.chain("v2").pay.micropay.post(xml={"mch_id": client.mchid})).xml()
    assert answer.json("promotion_detail")["goods_detail"][0]["price"] == 100
    emulator.stub("GET", "v2/appauth/getaccesstoken", lambda incoming: Answer(200, b'{"access_token": "t"}'))
    token = await client.chain("v2").appauth.getaccesstoken.get(query={"mch_id": client.mchid, "appid": APPID})
    assert token.json() == {"access_token": "t"}  # not XML: left to the caller


async def test_a_non_2xx_xml_answer_is_an_api_error(emulator: Emulator, client: Client) -> None:
    with pytest.raises(ApiError) as caught:
        await client["v2/nowhere"].post(xml={"mch_id": client.mchid})
    assert caught.value.status == 404 and "no such endpoint" in caught.value.message
