"""Real calls to the emulator's stateful insurance handlers, each from fresh state, for the tampering sweep.

For each of the 22 insurance endpoints, `SCENARIOS` prepares what the endpoint needs (a pre-signed
and signed contract, a granted authorization, a scheduled period, an order…) with untampered
calls and the emulator's controls, under identifiers no other scenario uses, and returns the one
call to make. So the same call can be made once untampered (the control: it must succeed) and
once under each tampering of its answer (it must be refused), against the real handlers.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from wechatpay_chain import Client
from wechatpay_chain.testing import Emulator

APPID = "wxd678efh567hg6787"
PLAN_ID = 12535
NOTIFY_URL = "https://merchant.example/notify"  # never delivered to: the sweep reads no notification
SUB_MCHID = "1900000109"
SIGN = "v3/papay/insurance-sign"
PAY = "v3/papay/insurance-pay"
BEIJING = dt.timezone(dt.timedelta(hours=8))
DAY = 24 * 3600.0
_UNIQUE = itertools.count(1)


@dataclass(frozen=True)
class Call:
    """The one call a scenario prepared: method, template, placeholder values and JSON body."""

    method: str
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    json: Any = None

    async def send(self, client: Client) -> Any:
        """Make the call; returns the response (raises as the client raises)."""
        verb = getattr(client.chain(self.template), self.method.lower())
        return await verb(json=self.json, **self.values)


Prepare = Callable[[Client, Emulator], Awaitable[Call]]


def _today(emu: Emulator) -> dt.date:
    return dt.datetime.fromtimestamp(emu.now(), BEIJING).date()


def _period(number: int, day: dt.date, total: int = 1000) -> dict[str, Any]:
    return {
        "policy_period_id": number,
        "estimated_deduct_date": day.isoformat(),
        "estimated_deduct_amount": {"total": total, "currency": "CNY"},
    }


def _contract(emu: Emulator, code: str, *, periods: int = 3, first_in: int = 1, **extra: Any) -> dict[str, Any]:
    today = _today(emu)
    return {
        "appid": APPID,
        "plan_id": PLAN_ID,
        "out_contract_code": code,
        "insured_display_name": "张*",
        "contract_notify_url": NOTIFY_URL,
        "policy_start_date": today.isoformat(),
        "policy_end_date": (today + dt.timedelta(days=365)).isoformat(),
        "policy_periods": [_period(n + 1, today + dt.timedelta(days=first_in + 30 * n)) for n in range(periods)],
        **extra,
    }


def _fresh() -> tuple[str, str]:
    """An out_contract_code and a user of their own (a user holds a few contracts at most)."""
    n = next(_UNIQUE)
    return f"TAMPER{n}", f"o-tamper-{n}"


async def _signed(client: Client, emu: Emulator, **contract: Any) -> tuple[str, str]:
    """A contract pre-signed and signed by the user: (out_contract_code, contract_id)."""
    code, openid = _fresh()
    await client.chain(f"{SIGN}/contracts/pre-entrust-sign/app").post(json=_contract(emu, code, **contract))
    return code, str(emu.insurance.user_sign(code, openid=openid)["contract_id"])


def _pre_sign(channel: str) -> Prepare:
    async def prepare(client: Client, emu: Emulator) -> Call:
        code, openid = _fresh()
        body = _contract(emu, code)
        if channel in ("jsapi", "mini-program"):
            body["openid"] = openid
        return Call("POST", f"{SIGN}/contracts/pre-entrust-sign/{channel}", json=body)

    return prepare


_BY_CODE = "plan-id/{plan_id}/out-contract-code/{out_contract_code}"


def _on_signed(method: str, template: str, body: Any = None) -> Prepare:
    """A call about a freshly signed contract, named by its plan and out_contract_code."""

    async def prepare(client: Client, emu: Emulator) -> Call:
        code, _ = await _signed(client, emu)
        return Call(method, template, {"plan_id": PLAN_ID, "out_contract_code": code}, body)

    return prepare


async def _modify(client: Client, emu: Emulator) -> Call:
    _, contract_id = await _signed(client, emu)
    third = _today(emu) + dt.timedelta(days=61)
    template = f"{SIGN}/policy-periods/plan-id/{{plan_id}}/contract-id/{{contract_id}}/modify"
    body = {"appid": APPID, "policy_periods": [_period(3, third, total=800)]}  # amounts may only go down
    return Call("POST", template, {"plan_id": PLAN_ID, "contract_id": contract_id}, body)


async def _renew(client: Client, emu: Emulator) -> Call:
    # Signed and paid at once (one period, today), renewable; renewals open days after that period.
    paid = {"amount": {"total": 1000}, "out_trade_no": f"TAMPERPAY{next(_UNIQUE)}", "description": "premium"}
    _, contract_id = await _signed(client, emu, periods=1, first_in=0, can_auto_insure=True, **paid)
    emu.advance(5 * DAY)
    today = _today(emu)
    body = {"appid": APPID, "policy_periods": [_period(2, today + dt.timedelta(days=25))]}
    template = f"{SIGN}/contracts/plan-id/{{plan_id}}/contract-id/{{contract_id}}/renew"
    return Call("POST", template, {"plan_id": PLAN_ID, "contract_id": contract_id}, body)


_PERIOD = f"{PAY}/policy-periods/contract-id/{{contract_id}}/policy-period-id/{{policy_period_id}}"


async def _schedule(client: Client, emu: Emulator) -> Call:
    _, contract_id = await _signed(client, emu)
    body = {"appid": APPID, "scheduled_amount": {"total": 1000, "currency": "CNY"}}
    return Call("POST", _PERIOD + "/schedule", {"contract_id": contract_id, "policy_period_id": 1}, body)


async def _period_get(client: Client, emu: Emulator) -> Call:
    _, contract_id = await _signed(client, emu)
    return Call("GET", _PERIOD, {"contract_id": contract_id, "policy_period_id": 1})


async def _apply(client: Client, emu: Emulator) -> Call:
    scheduled = await _schedule(client, emu)
    await scheduled.send(client)
    emu.advance(DAY)  # the deduction window opens the next day
    body = {
        "appid": APPID,
        "out_trade_no": f"TAMPERTRADE{next(_UNIQUE)}",
        "description": "百万医疗险 第1期保费",
        "transaction_notify_url": NOTIFY_URL,
        "contract_id": scheduled.values["contract_id"],
        "policy_period_id": 1,
        "amount": {"total": 1000, "currency": "CNY"},
    }
    return Call("POST", f"{PAY}/transactions/apply", json=body)


def _authorization(code: str) -> dict[str, Any]:
    return {
        "out_insurance_no": f"INS{code}",
        "appid": APPID,
        "plan_id": str(PLAN_ID),  # a string in inspolicymgr
        "out_contract_code": code,
        "insurance_name": "微医保·百万医疗险",
    }


async def _authorize(client: Client, emu: Emulator) -> Call:
    return Call("POST", "v3/inspolicymgr/deduct/authorizations", json=_authorization(f"TAMPER{next(_UNIQUE)}"))


async def _authorization_get(client: Client, emu: Emulator) -> Call:
    submitted = await _authorize(client, emu)
    await submitted.send(client)
    number = submitted.json["out_insurance_no"]
    return Call("GET", "v3/inspolicymgr/deduct/authorizations/{out_insurance_no}", {"out_insurance_no": number})


async def _granted(client: Client, emu: Emulator) -> tuple[str, str, str]:
    """An authorization the user granted for a signed contract: (out_insurance_no, out_contract_code, openid)."""
    code, openid = _fresh()
    await client.chain("v3/inspolicymgr/deduct/authorizations").post(json=_authorization(code))
    await client.chain(f"{SIGN}/contracts/pre-entrust-sign/jsapi").post(json={**_contract(emu, code), "openid": openid})
    emu.insurance.user_sign(code, openid=openid)
    emu.insurance.user_grant(f"INS{code}")
    return f"INS{code}", code, openid


async def _policy(client: Client, emu: Emulator, granted: tuple[str, str, str]) -> dict[str, Any]:
    number, code, openid = granted
    now = dt.datetime.fromtimestamp(emu.now(), BEIJING).replace(microsecond=0)
    return {
        "out_insurance_no": number,
        "insurance_company_code": "PICC",
        "appid": APPID,
        "openid": openid,
        "insured_name_list": [await client.encrypt("张三")],
        "effective_time": now.isoformat(),
        "expired_time": (now + dt.timedelta(days=365)).isoformat(),
        "coverage_detail": "住院医疗 200万",
        "support_renewal": True,
        "policy_type": "POLICY_TYPE_MEDICAL",
        "policy_state": "POLICY_STATE_ISSUING",
        "plan_id": str(PLAN_ID),
        "out_contract_code": code,
        "policy_periods": [1],
        "free_insurance": False,
    }


async def _policy_upload(client: Client, emu: Emulator) -> Call:
    granted = await _granted(client, emu)
    return Call("POST", "v3/inspolicymgr/deduct/policies", json=await _policy(client, emu, granted))


async def _uploaded(client: Client, emu: Emulator) -> str:
    upload = await _policy_upload(client, emu)
    await upload.send(client)
    return str(upload.json["out_insurance_no"])


async def _policy_get(client: Client, emu: Emulator) -> Call:
    number = await _uploaded(client, emu)
    return Call("GET", "v3/inspolicymgr/deduct/policies/{out_insurance_no}", {"out_insurance_no": number})


async def _policy_patch(client: Client, emu: Emulator) -> Call:
    number = await _uploaded(client, emu)
    issued = {"policy_state": "POLICY_STATE_APPROVED", "policy_code": f"PICC{number}"}
    return Call("PATCH", "v3/inspolicymgr/deduct/policies/{out_insurance_no}", {"out_insurance_no": number}, issued)


def _order() -> dict[str, Any]:
    n = next(_UNIQUE)  # a user of its own: one overnight order per user at a time
    return {"out_order_no": f"TAMPER{n}", "openid": f"o-tamper-{n}", "notify_url": NOTIFY_URL, "service_id": "500001"}


async def _order_create(client: Client, emu: Emulator) -> Call:
    return Call("POST", "v3/hire-power-bank/insurance-orders", json=_order())


async def _order_get(client: Client, emu: Emulator) -> Call:
    order = _order()
    await client.chain("v3/hire-power-bank/insurance-orders").post(json=order)
    where = {"out_order_no": order["out_order_no"]}
    return Call("GET", "v3/hire-power-bank/insurance-orders/{out_order_no}", where)


async def _qualification(client: Client, emu: Emulator) -> Call:
    return Call("GET", "v3/hire-power-bank/user-qualifications/{openid}", {"openid": _fresh()[1]})


_COMPENSATION = "v3/platsolution/ecommerce/insurance-compensation-contracts"


def _application() -> dict[str, Any]:
    return {
        "out_apply_no": f"TAMPER{next(_UNIQUE)}",
        "sub_mchid": SUB_MCHID,
        "agreement_list": [
            {
                "agreement_code": "微信支付运营功能服务协议(平台二级商户)",
                "agreement_version": "20240815",
                "sign_organization": "温州名优贸易",
                "sign_time": dt.datetime.now(BEIJING).replace(microsecond=0).isoformat(),
            }
        ],
    }


async def _compensation_apply(client: Client, emu: Emulator) -> Call:
    return Call("POST", _COMPENSATION, json=_application())


async def _compensation_check(client: Client, emu: Emulator) -> Call:
    await client.chain(_COMPENSATION).post(json=_application())
    return Call("POST", _COMPENSATION + "/sub-mchid/{sub_mchid}/check-opened", {"sub_mchid": SUB_MCHID})


SCENARIOS: dict[str, Prepare] = {
    f"{SIGN}/contracts/pre-entrust-sign/app": _pre_sign("app"),
    f"{SIGN}/contracts/pre-entrust-sign/h5": _pre_sign("h5"),
    f"{SIGN}/contracts/pre-entrust-sign/jsapi": _pre_sign("jsapi"),
    f"{SIGN}/contracts/pre-entrust-sign/mini-program": _pre_sign("mini-program"),
    f"{SIGN}/contracts/{_BY_CODE}": _on_signed("GET", f"{SIGN}/contracts/{_BY_CODE}"),
    f"{SIGN}/contracts/{_BY_CODE}/terminate": _on_signed(
        "POST", f"{SIGN}/contracts/{_BY_CODE}/terminate", {"contract_termination_remark": "用户解约"}
    ),
    f"{SIGN}/policy_periods/{_BY_CODE}": _on_signed("GET", f"{SIGN}/policy_periods/{_BY_CODE}"),
    f"{SIGN}/policy-periods/plan-id/{{plan_id}}/contract-id/{{contract_id}}/modify": _modify,
    f"{SIGN}/contracts/plan-id/{{plan_id}}/contract-id/{{contract_id}}/renew": _renew,
    _PERIOD + "/schedule": _schedule,
    _PERIOD: _period_get,
    f"{PAY}/transactions/apply": _apply,
    "v3/inspolicymgr/deduct/authorizations": _authorize,
    "v3/inspolicymgr/deduct/authorizations/{out_insurance_no}": _authorization_get,
    "v3/inspolicymgr/deduct/policies": _policy_upload,
    "v3/inspolicymgr/deduct/policies/{out_insurance_no}": _policy_get,
    "PATCH v3/inspolicymgr/deduct/policies/{out_insurance_no}": _policy_patch,
    "v3/hire-power-bank/insurance-orders": _order_create,
    "v3/hire-power-bank/insurance-orders/{out_order_no}": _order_get,
    "v3/hire-power-bank/user-qualifications/{openid}": _qualification,
    _COMPENSATION: _compensation_apply,
    _COMPENSATION + "/sub-mchid/{sub_mchid}/check-opened": _compensation_check,
}
"""One scenario per endpoint (the PATCH of a policy is keyed apart from its GET)."""
