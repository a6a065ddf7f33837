"""Insurance compensation for a platform's sub-merchant (platsolution ecommerce): open it, poll until opened.

Runs against a local emulator by default. To call the real API (as a platform service provider)
set WECHATPAY_MCHID, WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID
and WECHATPAY_PUBLIC_KEY (file path), and replace the placeholders below (see _connect.py).

    python examples/platsolution_compensation.py
"""

import asyncio
import datetime as dt
import sys

from _connect import BEIJING, Connection, run, show

SUB_MCHID = "1900000109"  # placeholder: the insurer's sub-merchant id
OUT_APPLY_NO = "No123456"  # yours; the same number asks again without opening twice
POLLS, POLL_SECONDS = 10, 3.0


async def example(wx: Connection) -> None:
    contracts = wx.client.v3.platsolution.ecommerce.insuranceCompensationContracts
    if wx.emulator is not None:
        wx.emulator.insurance.compensation_delay = 60.0  # the emulated opening takes a minute
    signed_at = dt.datetime.now(BEIJING).replace(microsecond=0).isoformat()
    applied = await contracts.post(
        json={
            "out_apply_no": OUT_APPLY_NO,
            "sub_mchid": SUB_MCHID,
            "agreement_list": [
                {
                    "agreement_code": "微信支付运营功能服务协议(平台二级商户)",
                    "agreement_version": "20240815",
                    "sign_organization": "温州名优贸易",
                    "sign_time": signed_at,
                }
            ],
        }
    )
    state = show("apply", applied, "opened", "success_time")
    check = contracts.subMchid._sub_mchid_.checkOpened  # a POST without a body
    for _ in range(POLLS):
        if state["opened"]:
            break
        if wx.emulator is not None:
            wx.emulator.advance(POLL_SECONDS * 10)  # emulated time flies; real polling waits
        else:
            await asyncio.sleep(POLL_SECONDS)
        state = show("check-opened", await check.post(sub_mchid=SUB_MCHID), "opened", "success_time")
    print("opened" if state["opened"] else "not opened yet: check again later")


if __name__ == "__main__":
    sys.exit(run(example))
