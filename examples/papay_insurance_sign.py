"""Insurance auto-renew contracts (papay insurance-sign): pre-sign, the user signs, query, modify, terminate.

Runs against a local emulator by default. To call the real API set WECHATPAY_MCHID,
WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID and
WECHATPAY_PUBLIC_KEY (file path), and replace the placeholders below (see _connect.py).

    python examples/papay_insurance_sign.py
"""

import datetime as dt
import sys
from typing import Any

from _connect import Connection, run, show

APPID = "wxd678efh567hg6787"  # placeholder: your appid
PLAN_ID = 12535  # placeholder: your insurance deduction plan (template) id
OUT_CONTRACT_CODE = "wxwtdk20200910100000"  # yours, unique forever: letters and digits
PREMIUM = 1000  # cents per period


async def example(wx: Connection) -> None:
    sign = wx.client.v3.papay.insuranceSign
    today = wx.today()
    days = [today + dt.timedelta(days=1 + 30 * n) for n in range(3)]
    # Bodies written in the call are checked by type checkers against the documented fields.
    pre_signed = await sign.contracts.preEntrustSign.miniProgram.post(
        json={
            "appid": APPID,
            "plan_id": PLAN_ID,
            "out_contract_code": OUT_CONTRACT_CODE,
            "insured_display_name": "张*",
            "contract_notify_url": wx.notify_url,
            "policy_start_date": today.isoformat(),
            "policy_end_date": (today + dt.timedelta(days=364)).isoformat(),
            "policy_periods": [
                {
                    "policy_period_id": n,
                    "estimated_deduct_date": day.isoformat(),
                    "estimated_deduct_amount": {"total": PREMIUM, "currency": "CNY"},
                }
                for n, day in enumerate(days, 1)
            ],
        }
    )
    show("pre-entrust-sign (mini-program)", pre_signed)
    if wx.emulator is None:
        print("Now the user signs in WeChat (the mini-program above); run the queries below once signed.")
        return
    wx.emulator.insurance.user_sign(OUT_CONTRACT_CODE)  # the user signs: played by the emulator
    signed = await wx.notification("INSURANCE_ENTRUST.SIGN", "contract_id", "contract_state")
    contract_id = signed.resource["contract_id"]

    contract = sign.contracts.planId._plan_id_.outContractCode._out_contract_code_
    where: dict[str, Any] = {"plan_id": PLAN_ID, "out_contract_code": OUT_CONTRACT_CODE}
    show("contract", await contract.get(**where), "contract_id", "contract_state", "contract_expired_time")
    periods = sign.policy_periods.planId._plan_id_.outContractCode._out_contract_code_  # literal underscore
    listed = await periods.get(**where, query={"limit": 10, "offset": 0})
    for item in show("policy periods", listed, "total_count")["data"]:
        print(f"  period {item['policy_period_id']} {item['estimated_deduct_date']} {item['policy_period_state']}")

    modify = sign.policyPeriods.planId._plan_id_.contractId._contract_id_.modify
    modified = await modify.post(
        plan_id=PLAN_ID,
        contract_id=contract_id,
        json={
            "appid": APPID,
            "policy_periods": [
                {
                    "policy_period_id": 3,
                    "estimated_deduct_date": days[2].isoformat(),
                    "estimated_deduct_amount": {"total": 800, "currency": "CNY"},  # amounts may only go down
                }
            ],
        },
    )
    amounts = [p["estimated_deduct_amount"]["total"] for p in modified.json()["policy_periods"]]
    print(f"modify period 3: {modified.status}, amounts now {amounts}")

    terminated = await contract.terminate.post(**where, json={"contract_termination_remark": "用户解约"})
    show("terminate", terminated, "contract_state", "contract_terminate_info")
    await wx.notification("INSURANCE_ENTRUST.TERMINATE", "contract_state")


if __name__ == "__main__":
    sys.exit(run(example))
