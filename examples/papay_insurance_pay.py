"""Insurance premium deduction (papay insurance-pay): schedule a period, deduct it, see it PAID.

Runs against a local emulator by default. To call the real API set WECHATPAY_MCHID,
WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID and
WECHATPAY_PUBLIC_KEY (file path), put a signed contract's id in CONTRACT_ID and your appid
below (see _connect.py).

    python examples/papay_insurance_pay.py
"""

import datetime as dt
import sys
from typing import Any

from _connect import Connection, run, show

APPID = "wxd678efh567hg6787"  # placeholder: your appid
PLAN_ID = 12535  # placeholder: your insurance deduction plan (template) id
CONTRACT_ID = ""  # against the real API: a signed contract's contract_id
OUT_TRADE_NO = "1217752501201407033233368018"  # yours, unique forever
PREMIUM = 1000  # cents


async def signed_contract(wx: Connection) -> str:
    """A contract signed by a user; with the emulator, one made on the spot."""
    if wx.emulator is None:
        if not CONTRACT_ID:
            raise SystemExit("against the real API, put a signed contract's contract_id in CONTRACT_ID first")
        return CONTRACT_ID
    first = wx.today() + dt.timedelta(days=1)
    await wx.client.v3.papay.insuranceSign.contracts.preEntrustSign.app.post(
        json={
            "appid": APPID,
            "plan_id": PLAN_ID,
            "out_contract_code": "PAYDEMO1",
            "insured_display_name": "张*",
            "contract_notify_url": wx.notify_url,
            "policy_start_date": wx.today().isoformat(),
            "policy_end_date": (first + dt.timedelta(days=364)).isoformat(),
            "policy_periods": [
                {
                    "policy_period_id": 1,
                    "estimated_deduct_date": first.isoformat(),
                    "estimated_deduct_amount": {"total": PREMIUM, "currency": "CNY"},
                }
            ],
        }
    )
    wx.emulator.insurance.user_sign("PAYDEMO1")  # the user signs: played by the emulator
    signed = await wx.notification("INSURANCE_ENTRUST.SIGN", "contract_id", "contract_state")
    return str(signed.resource["contract_id"])


async def example(wx: Connection) -> None:
    contract_id = await signed_contract(wx)
    period = wx.client.v3.papay.insurancePay.policyPeriods.contractId._contract_id_.policyPeriodId._policy_period_id_
    where: dict[str, Any] = {"contract_id": contract_id, "policy_period_id": 1}
    show(
        "schedule period 1",
        await period.schedule.post(
            **where, json={"appid": APPID, "scheduled_amount": {"total": PREMIUM, "currency": "CNY"}}
        ),
        "policy_period_state",
        "deduct_start_date",
        "deduct_end_date",
    )
    show("period 1", await period.get(**where), "policy_period_state")
    if wx.emulator is None:
        print("Deductions are accepted from deduct_start_date: run transactions/apply then.")
        return
    wx.emulator.advance(24 * 3600)  # tomorrow: the deduction window opens

    applied = await wx.client.v3.papay.insurancePay.transactions.apply.post(
        json={
            "appid": APPID,
            "out_trade_no": OUT_TRADE_NO,
            "description": "百万医疗险 第1期保费",
            "transaction_notify_url": wx.notify_url,
            "contract_id": contract_id,
            "policy_period_id": 1,
            "amount": {"total": PREMIUM, "currency": "CNY"},
        }
    )
    show("apply (asynchronous deduction)", applied)
    wx.emulator.insurance.settle_deduction(OUT_TRADE_NO)  # WeChat Pay completes the deduction
    show("period 1", await period.get(**where), "policy_period_state", "deduct_amount", "deduct_date")


if __name__ == "__main__":
    sys.exit(run(example))
