"""WeChat policy service (inspolicymgr deduct): authorization, the user grants, upload and update a policy.

The authorization is submitted before the contract's pre-sign; once the user signs it waits for
the user's grant, which arrives as a notification; then the policy can be uploaded. Runs against
a local emulator by default. To call the real API set WECHATPAY_MCHID, WECHATPAY_SERIAL,
WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY (file path),
and replace the placeholders below (see _connect.py).

    python examples/inspolicymgr_deduct.py
"""

import datetime as dt
import sys

from _connect import BEIJING, Connection, run, show

APPID = "wxd678efh567hg6787"  # placeholder: your appid
PLAN_ID = 12535  # placeholder: your insurance deduction plan (template) id
OUT_CONTRACT_CODE = "wxwtdk20200910100001"
OUT_INSURANCE_NO = "Auisihsiahishishi4hihsid123418id"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # placeholder: the user's openid under APPID


async def pre_sign(wx: Connection) -> None:
    first = wx.today() + dt.timedelta(days=1)
    signed = await wx.client.v3.papay.insuranceSign.contracts.preEntrustSign.jsapi.post(
        json={
            "appid": APPID,
            "openid": OPENID,
            "plan_id": PLAN_ID,
            "out_contract_code": OUT_CONTRACT_CODE,
            "insured_display_name": "张*",
            "contract_notify_url": wx.notify_url,
            "policy_start_date": wx.today().isoformat(),
            "policy_end_date": (first + dt.timedelta(days=364)).isoformat(),
            "policy_periods": [
                {
                    "policy_period_id": 1,
                    "estimated_deduct_date": first.isoformat(),
                    "estimated_deduct_amount": {"total": 1000, "currency": "CNY"},
                }
            ],
        }
    )
    show("pre-entrust-sign (jsapi)", signed)


async def example(wx: Connection) -> None:
    deduct = wx.client.v3.inspolicymgr.deduct
    submitted = await deduct.authorizations.post(
        json={
            "out_insurance_no": OUT_INSURANCE_NO,
            "appid": APPID,
            "plan_id": str(PLAN_ID),  # a string in inspolicymgr (a number in papay), as documented
            "out_contract_code": OUT_CONTRACT_CODE,
            "insurance_name": "微医保·百万医疗险",
        }
    )
    show("submit authorization", submitted, "auth_state")
    await pre_sign(wx)
    if wx.emulator is None:
        print("Now the user signs and grants in WeChat; the GRANTED notification comes to your notify URL.")
        return
    wx.emulator.insurance.user_sign(OUT_CONTRACT_CODE)  # the user signs: played by the emulator
    await wx.notification("INSURANCE_ENTRUST.SIGN", "contract_state")
    by_number = deduct.authorizations._out_insurance_no_
    show("authorization", await by_number.get(out_insurance_no=OUT_INSURANCE_NO), "auth_state")
    wx.emulator.insurance.user_grant(OUT_INSURANCE_NO)  # the user grants, in WeChat
    await wx.notification("INSURANCE_POLICY_MANAGEMENT.GRANTED", "auth_state", "user_auth_time")

    now = dt.datetime.fromtimestamp(wx.emulator.now(), BEIJING).replace(microsecond=0)
    uploaded = await deduct.policies.post(
        json={
            "out_insurance_no": OUT_INSURANCE_NO,
            "insurance_company_code": "PICC",
            "appid": APPID,
            "openid": OPENID,
            # Sensitive: RSA-OAEP under WeChat Pay's key; the client names that key in Wechatpay-Serial.
            "insured_name_list": [await wx.client.encrypt("张三")],
            "effective_time": now.isoformat(),
            "expired_time": (now + dt.timedelta(days=365)).isoformat(),
            "coverage_detail": "住院医疗 200万; 重疾 100万",
            "support_renewal": True,
            "policy_type": "POLICY_TYPE_MEDICAL",
            "policy_state": "POLICY_STATE_ISSUING",
            "plan_id": str(PLAN_ID),
            "out_contract_code": OUT_CONTRACT_CODE,
            "policy_periods": [1],
            "free_insurance": False,
        }
    )
    show("upload policy", uploaded, "policy_state")
    one = deduct.policies._out_insurance_no_
    issued = await one.patch(
        out_insurance_no=OUT_INSURANCE_NO,
        json={"policy_state": "POLICY_STATE_APPROVED", "policy_code": "PICC2024000001"},
    )
    show("policy issued", issued, "policy_state")
    show("policy", await one.get(out_insurance_no=OUT_INSURANCE_NO), "policy_state", "policy_code", "insurance_name")


if __name__ == "__main__":
    sys.exit(run(example))
