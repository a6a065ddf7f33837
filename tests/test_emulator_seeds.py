"""The five seed endpoints end to end through `emu.client()`, in the three calling styles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from wechatpay_chain import Chain, Client
from wechatpay_chain.testing import Emulator

BEIJING = dt.timezone(dt.timedelta(hours=8))
PLAN = 12535
APPID = "wxd678efh567hg6787"

TERMINATE = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/out-contract-code/{out_contract_code}/terminate"
RENEW = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/contract-id/{contract_id}/renew"
AUTHORIZATIONS = "v3/inspolicymgr/deduct/authorizations"
ORDERS = "v3/hire-power-bank/insurance-orders"
COMPENSATION = "v3/platsolution/ecommerce/insurance-compensation-contracts"

# The same node, reached three ways.
STYLES: dict[str, Callable[[Client, str, Callable[[Client], Any]], Chain]] = {
    "attributes": lambda client, template, attrs: attrs(client),
    "chain": lambda client, template, attrs: client.chain(template),
    "item": lambda client, template, attrs: client[template],
}


def today(emu: Emulator) -> dt.date:
    return dt.datetime.fromtimestamp(emu.now(), BEIJING).date()


def pre_sign(emu: Emulator, code: str, *, pay: bool = False, renewable: bool = False) -> dict[str, Any]:
    """A valid jsapi pre-entrust-sign body; `pay` makes it sign-and-pay with a first period due today."""
    first = today(emu) if pay else today(emu) + dt.timedelta(days=1)
    body: dict[str, Any] = {
        "appid": APPID,
        "openid": "o_" + code,
        "plan_id": PLAN,
        "out_contract_code": code,
        "insured_display_name": "张*",
        "contract_notify_url": "https://api.test.com/notify",
        "policy_start_date": first.isoformat(),
        "policy_end_date": (first + dt.timedelta(days=365)).isoformat(),
        "policy_periods": [
            {
                "policy_period_id": 1,
                "estimated_deduct_date": first.isoformat(),
                "estimated_deduct_amount": {"total": 100},
            }
        ],
        "can_auto_insure": renewable,
    }
    if pay:
        body.update(amount={"total": 100, "currency": "CNY"}, out_trade_no="t" + code, description="first period")
    return body


async def signed_contract(emu: Emulator, client: Client, code: str, **options: bool) -> dict[str, Any]:
    await client["v3/papay/insurance-sign/contracts/pre-entrust-sign/jsapi"].post(json=pre_sign(emu, code, **options))
    return emu.insurance.user_sign(code)


@pytest.mark.parametrize("style", STYLES)
async def test_terminate(emulator: Emulator, client: Client, style: str) -> None:
    code = "term" + style
    await signed_contract(emulator, client, code)
    node = STYLES[style](
        client,
        TERMINATE,
        lambda c: c.v3.papay.insuranceSign.contracts.planId._plan_id_.outContractCode._out_contract_code_.terminate,
    )
    response = await node.post(plan_id=PLAN, out_contract_code=code, json={"contract_termination_remark": "用户解约"})
    contract = response.json()
    assert response.status == 200
    assert contract["out_contract_code"] == code
    assert contract["contract_state"] == "TERMINATED"
    assert contract["contract_terminate_info"]["contract_termination_mode"] == "MCH_API_TERMINATE"
    assert contract["contract_terminate_info"]["contract_termination_remark"] == "用户解约"
    query = await client.v3.papay.insuranceSign.contracts.planId._plan_id_.outContractCode._out_contract_code_.get(
        plan_id=PLAN, out_contract_code=code
    )
    assert query.json()["contract_state"] == "TERMINATED"


@pytest.mark.parametrize("style", STYLES)
async def test_renew(emulator: Emulator, client: Client, style: str) -> None:
    code = "renew" + style
    contract = await signed_contract(emulator, client, code, pay=True, renewable=True)
    node = STYLES[style](
        client, RENEW, lambda c: c.v3.papay.insuranceSign.contracts.planId._plan_id_.contractId._contract_id_.renew
    )
    next_date = today(emulator) + dt.timedelta(days=30)
    response = await node.post(
        plan_id=PLAN,
        contract_id=contract["contract_id"],
        json={
            "appid": APPID,
            "policy_periods": [
                {
                    "policy_period_id": 2,
                    "estimated_deduct_date": next_date.isoformat(),
                    "estimated_deduct_amount": {"total": 100, "currency": "CNY"},
                }
            ],
        },
    )
    assert response.status == 204
    assert response.body == b""  # and yet signed and verified by the client
    periods = await client[
        "v3/papay/insurance-sign/policy_periods/plan-id/{plan_id}/out-contract-code/{out_contract_code}"
    ].get(plan_id=PLAN, out_contract_code=code)
    assert [p["policy_period_id"] for p in periods.json()["data"]] == [1, 2]


@pytest.mark.parametrize("style", STYLES)
async def test_authorizations(emulator: Emulator, client: Client, style: str) -> None:
    number = "auth" + style
    node = STYLES[style](client, AUTHORIZATIONS, lambda c: c.v3.inspolicymgr.deduct.authorizations)
    response = await node.post(
        json={
            "out_insurance_no": number,
            "appid": APPID,
            "plan_id": str(PLAN),
            "out_contract_code": "c" + style,
            "insurance_name": "微医保·百万医疗险",
        }
    )
    assert response.status == 200
    assert response.json()["out_insurance_no"] == number
    assert response.json()["auth_state"] == "AUTH_STATE_INIT"
    query = await client.v3.inspolicymgr.deduct.authorizations._out_insurance_no_.get(out_insurance_no=number)
    assert query.json()["auth_state"] == "AUTH_STATE_INIT"


@pytest.mark.parametrize("style", STYLES)
async def test_insurance_orders(emulator: Emulator, client: Client, style: str) -> None:
    number = "order" + style
    node = STYLES[style](client, ORDERS, lambda c: c.v3.hirePowerBank.insuranceOrders)
    response = await node.post(
        json={
            "out_order_no": number,
            "openid": "o" + style,
            "notify_url": "https://api.test.com",
            "service_id": "实例值",
        }
    )
    assert response.status == 200
    assert response.json()["out_order_no"] == number
    assert response.json()["order_receive_state"] == "RECEIVING"
    emulator.insurance.insurer_confirm(number)
    query = await client.v3.hirePowerBank.insuranceOrders._out_order_no_.get(out_order_no=number)
    assert query.json()["order_receive_state"] == "RECEIVED"


@pytest.mark.parametrize("style", STYLES)
async def test_insurance_compensation_contracts(emulator: Emulator, client: Client, style: str) -> None:
    node = STYLES[style](client, COMPENSATION, lambda c: c.v3.platsolution.ecommerce.insuranceCompensationContracts)
    response = await node.post(
        json={
            "out_apply_no": "No" + style,
            "sub_mchid": "1900000109",
            "agreement_list": [
                {
                    "agreement_code": "微信支付运营功能服务协议(平台二级商户)",
                    "agreement_version": "20240815",
                    "sign_organization": "温州名优贸易",
                    "sign_time": "2024-08-08T10:34:56+08:00",
                }
            ],
        }
    )
    assert response.status == 200
    assert response.json()["sub_mchid"] == "1900000109"
    assert response.json()["opened"] is True
    check = await client.v3.platsolution.ecommerce.insuranceCompensationContracts.subMchid._sub_mchid_.checkOpened.post(
        sub_mchid="1900000109"
    )
    assert check.json()["opened"] is True
