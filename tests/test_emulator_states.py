"""Each insurance state machine over HTTP: the legal transitions, and the refused ones with their codes.

Focused on what the wire shows; `InsuranceBook`'s own unit tests cover the rules in depth.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from test_emulator_seeds import APPID, PLAN, pre_sign, signed_contract, today

from wechatpay_chain import ApiError, Client
from wechatpay_chain.testing import Emulator, Refusal

CONTRACT = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/out-contract-code/{out_contract_code}"
RENEW = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/contract-id/{contract_id}/renew"
PERIOD = "v3/papay/insurance-pay/policy-periods/contract-id/{contract_id}/policy-period-id/{policy_period_id}"
AUTH = "v3/inspolicymgr/deduct/authorizations"
POLICIES = "v3/inspolicymgr/deduct/policies"
ORDERS = "v3/hire-power-bank/insurance-orders"


async def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


async def contract_state(client: Client, code: str) -> str:
    response = await client[CONTRACT].get(plan_id=PLAN, out_contract_code=code)
    return str(response.json()["contract_state"])


def events(emu: Emulator) -> list[tuple[str, str]]:
    """(event type, the resource's state) of each notification so far (the URL is not loopback: recorded only)."""
    state_of = ("contract_state", "auth_state", "order_receive_state")
    return [(d.event_type, next(str(d.resource[k]) for k in state_of if k in d.resource)) for d in emu.deliveries]


async def settle(emu: Emulator) -> None:
    """Let the background deliveries record their (refused) attempt."""

    async def drained() -> None:
        while emu.webhooks.pending:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(drained(), 5)  # a bound against a hung test, not a timing assertion


# -- contracts ------------------------------------------------------------------------------------


async def test_contract_sign_then_terminate(emulator: Emulator, client: Client) -> None:
    await client["v3/papay/insurance-sign/contracts/pre-entrust-sign/app"].post(json=pre_sign(emulator, "c1"))
    missing = await refused(client[CONTRACT].get(plan_id=PLAN, out_contract_code="c1"))
    assert (missing.status, missing.code) == (404, "RESOURCE_NOT_EXISTS")  # not signed by the user yet
    emulator.insurance.user_sign("c1")
    assert await contract_state(client, "c1") == "SIGNED"
    await client[CONTRACT + "/terminate"].post(
        plan_id=PLAN, out_contract_code="c1", json={"contract_termination_remark": "bye"}
    )
    assert await contract_state(client, "c1") == "TERMINATED"
    again = await refused(
        client[CONTRACT + "/terminate"].post(
            plan_id=PLAN, out_contract_code="c1", json={"contract_termination_remark": "x"}
        )
    )
    assert (again.status, again.code) == (400, "INVALID_REQUEST")
    await settle(emulator)
    assert events(emulator) == [("INSURANCE_ENTRUST.SIGN", "SIGNED"), ("INSURANCE_ENTRUST.TERMINATE", "TERMINATED")]


async def test_an_out_contract_code_is_single_use(emulator: Emulator, client: Client) -> None:
    await signed_contract(emulator, client, "c2")
    other = {**pre_sign(emulator, "c2"), "insured_display_name": "李*"}
    reuse = await refused(client["v3/papay/insurance-sign/contracts/pre-entrust-sign/h5"].post(json=other))
    assert (reuse.status, reuse.code) == (400, "INVALID_REQUEST")


async def test_a_failed_signing_is_terminal_and_silent(emulator: Emulator, client: Client) -> None:
    await client["v3/papay/insurance-sign/contracts/pre-entrust-sign/jsapi"].post(json=pre_sign(emulator, "c3"))
    emulator.insurance.user_sign("c3", success=False)
    assert await contract_state(client, "c3") == "SIGN_FAILED"
    refusal = await refused(
        client[CONTRACT + "/terminate"].post(
            plan_id=PLAN, out_contract_code="c3", json={"contract_termination_remark": "x"}
        )
    )
    assert refusal.code == "INVALID_REQUEST"
    await settle(emulator)
    assert emulator.deliveries == []


async def test_a_pending_termination_can_be_revoked(emulator: Emulator, client: Client) -> None:
    await signed_contract(emulator, client, "c4")
    emulator.insurance.wechat_terminate("c4", pending=True)
    pending = (await client[CONTRACT].get(plan_id=PLAN, out_contract_code="c4")).json()
    assert pending["contract_state"] == "TERMINATE_PENDING"
    assert pending["revoke_terminate_contract_redirect_url"]
    emulator.insurance.settle_pending_termination("c4", revoked=True)
    assert await contract_state(client, "c4") == "SIGNED"


def renewal(emu: Emulator, period_id: int = 2, total: int = 100) -> dict[str, Any]:
    day = today(emu) + dt.timedelta(days=30)
    return {
        "appid": APPID,
        "policy_periods": [
            {
                "policy_period_id": period_id,
                "estimated_deduct_date": day.isoformat(),
                "estimated_deduct_amount": {"total": total},
            }
        ],
    }


async def test_renew_is_refused_unless_the_contract_allows_it(emulator: Emulator, client: Client) -> None:
    plain = await signed_contract(emulator, client, "c5", pay=True)
    no_auto = await refused(client[RENEW].post(plan_id=PLAN, contract_id=plain["contract_id"], json=renewal(emulator)))
    assert (no_auto.status, no_auto.code) == (400, "INVALID_REQUEST")
    unpaid = await signed_contract(emulator, client, "c6", renewable=True)
    not_paid = await refused(
        client[RENEW].post(plan_id=PLAN, contract_id=unpaid["contract_id"], json=renewal(emulator))
    )
    assert "paid" in not_paid.message
    good = await signed_contract(emulator, client, "c7", pay=True, renewable=True)
    bad_id = await refused(client[RENEW].post(plan_id=PLAN, contract_id=good["contract_id"], json=renewal(emulator, 1)))
    assert (bad_id.code, bad_id.detail["field"]) == ("PARAM_ERROR", "policy_periods[0].policy_period_id")
    response = await client[RENEW].post(plan_id=PLAN, contract_id=good["contract_id"], json=renewal(emulator))
    assert response.status == 204
    unknown = await refused(client[RENEW].post(plan_id=PLAN, contract_id="999", json=renewal(emulator)))
    assert (unknown.status, unknown.code) == (404, "RESOURCE_NOT_EXISTS")


# -- policy periods -------------------------------------------------------------------------------


async def test_a_period_is_scheduled_deducted_and_paid(emulator: Emulator, client: Client) -> None:
    contract = await signed_contract(emulator, client, "c8")
    where = {"contract_id": contract["contract_id"], "policy_period_id": 1}
    assert (await client[PERIOD].get(**where)).json()["policy_period_state"] == "NO_SCHEDULED"
    schedule = {"appid": APPID, "scheduled_amount": {"total": 100}}
    wrong = await refused(
        client[PERIOD + "/schedule"].post(**where, json={**schedule, "scheduled_amount": {"total": 99}})
    )
    assert wrong.code == "INVALID_REQUEST"
    await client[PERIOD + "/schedule"].post(**where, json=schedule)
    assert (await client[PERIOD].get(**where)).json()["policy_period_state"] == "SCHEDULED"
    twice = await refused(client[PERIOD + "/schedule"].post(**where, json=schedule))
    assert twice.code == "INVALID_REQUEST"
    apply = {
        "appid": APPID,
        "out_trade_no": "trade-c8",
        "description": "period 1",
        "transaction_notify_url": "https://api.test.com/pay",
        "contract_id": contract["contract_id"],
        "policy_period_id": 1,
        "amount": {"total": 100},
    }
    early = await refused(client["v3/papay/insurance-pay/transactions/apply"].post(json=apply))
    assert (early.status, early.code) == (403, "RULE_LIMIT")  # deductions start the day after scheduling
    emulator.advance(86_400)  # a day later; the client's own clock and signatures are untouched
    await client["v3/papay/insurance-pay/transactions/apply"].post(json=apply)
    emulator.insurance.settle_deduction("trade-c8")
    paid = (await client[PERIOD].get(**where)).json()
    assert paid["policy_period_state"] == "PAID"
    assert paid["deduct_amount"]["total"] == 100


# -- authorizations and policies ------------------------------------------------------------------


def authorization(number: str, code: str) -> dict[str, str]:
    return {
        "out_insurance_no": number,
        "appid": APPID,
        "plan_id": str(PLAN),
        "out_contract_code": code,
        "insurance_name": "百万医疗险",
    }


async def auth_state(client: Client, number: str) -> str:
    return str((await client[AUTH + "/{out_insurance_no}"].get(out_insurance_no=number)).json()["auth_state"])


async def test_an_authorization_is_granted_after_signing_even_once_denied(emulator: Emulator, client: Client) -> None:
    await client[AUTH].post(json=authorization("i1", "c9"))
    assert await auth_state(client, "i1") == "AUTH_STATE_INIT"
    with pytest.raises(Refusal):
        emulator.insurance.user_grant("i1")  # nothing to grant before the contract is signed
    await signed_contract(emulator, client, "c9")
    assert await auth_state(client, "i1") == "AUTH_STATE_PENDING"
    emulator.insurance.user_grant("i1", granted=False)
    assert await auth_state(client, "i1") == "AUTH_STATE_DENIED"
    emulator.insurance.user_grant("i1")
    assert await auth_state(client, "i1") == "AUTH_STATE_GRANTED"
    again = await refused(client[AUTH].post(json={**authorization("i1", "c9"), "insurance_name": "其他"}))
    assert (again.status, again.code) == (400, "INVALID_REQUEST")
    await settle(emulator)
    assert ("INSURANCE_POLICY_MANAGEMENT.GRANTED", "AUTH_STATE_GRANTED") in events(emulator)


def policy(number: str, code: str, state: str = "POLICY_STATE_ISSUING") -> dict[str, Any]:
    return {
        "out_insurance_no": number,
        "insurance_company_code": "PICC",
        "appid": APPID,
        "openid": "o_" + code,
        "insured_name_list": ["ZW5jcnlwdGVk"],
        "effective_time": "2025-01-01T00:00:00+08:00",
        "expired_time": "2026-01-01T00:00:00+08:00",
        "coverage_detail": "all",
        "support_renewal": False,
        "policy_type": "POLICY_TYPE_MEDICAL",
        "policy_state": state,
        "plan_id": str(PLAN),
        "out_contract_code": code,
        "policy_periods": [1],
        "free_insurance": False,
    }


async def test_a_policy_needs_a_granted_authorization_and_ends_final(emulator: Emulator, client: Client) -> None:
    await client[AUTH].post(json=authorization("i2", "c10"))
    early = await refused(client[POLICIES].post(json=policy("i2", "c10")))
    assert early.code == "INVALID_REQUEST"
    await signed_contract(emulator, client, "c10")
    emulator.insurance.user_grant("i2")
    await client[POLICIES].post(json=policy("i2", "c10"))
    record = client[POLICIES + "/{out_insurance_no}"]
    await record.patch(out_insurance_no="i2", json={"policy_state": "POLICY_STATE_DECLINED"})
    assert (await record.get(out_insurance_no="i2")).json()["policy_state"] == "POLICY_STATE_DECLINED"
    final = await refused(record.patch(out_insurance_no="i2", json={"policy_state": "POLICY_STATE_APPROVED"}))
    assert final.code == "INVALID_REQUEST"
    unknown = await refused(record.get(out_insurance_no="nope"))
    assert unknown.status == 404


# -- power-bank orders and compensation -----------------------------------------------------------


async def test_an_order_is_received_once_and_blocks_the_user_meanwhile(emulator: Emulator, client: Client) -> None:
    order = {"out_order_no": "p1", "openid": "o_p", "notify_url": "https://api.test.com", "service_id": "svc"}
    qualification = client["v3/hire-power-bank/user-qualifications/{openid}"]
    assert (await qualification.get(openid="o_p")).json() == {"qualified_user": True}
    await client[ORDERS].post(json=order)
    assert (await qualification.get(openid="o_p")).json() == {"qualified_user": False}
    emulator.insurance.insurer_confirm("p1")
    assert (await client[ORDERS + "/{out_order_no}"].get(out_order_no="p1")).json()["order_receive_state"] == "RECEIVED"
    with pytest.raises(Refusal, match="RECEIVED"):
        emulator.insurance.insurer_confirm("p1")
    missing = await refused(client[ORDERS + "/{out_order_no}"].get(out_order_no="p404"))
    assert (missing.status, missing.code) == (404, "ORDER_NOT_EXIST")
    await settle(emulator)
    assert events(emulator) == [("HIRE_POWER_BANK.RECEIVE_INSURANCE", "RECEIVED")]


async def test_compensation_is_closed_until_applied(emulator: Emulator, client: Client) -> None:
    check = client["v3/platsolution/ecommerce/insurance-compensation-contracts/sub-mchid/{sub_mchid}/check-opened"]
    assert (await check.post(sub_mchid="1900000999")).json() == {"sub_mchid": "1900000999", "opened": False}


# -- request validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"out_order_no": None}, "out_order_no"),
        ({"openid": 42}, "openid"),
        ({"out_order_no": "x" * 33}, "out_order_no"),
        ({"out_order_no": "bad no!"}, "out_order_no"),
        ({"notify_url": "ftp://x"}, "notify_url"),
    ],
    ids=["missing", "type", "length", "charset", "format"],
)
async def test_a_bad_field_answers_400_param_error_naming_it(
    client: Client, change: dict[str, Any], field: str
) -> None:
    order = {"out_order_no": "v1", "openid": "o_v", "notify_url": "https://api.test.com", "service_id": "svc", **change}
    error = await refused(client[ORDERS].post(json={k: v for k, v in order.items() if v is not None}))
    assert (error.status, error.code) == (400, "PARAM_ERROR")
    assert field in error.message
