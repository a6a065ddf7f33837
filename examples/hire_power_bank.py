"""Power-bank overnight insurance (hire-power-bank): qualification, order, the insurer confirms, query.

Runs against a local emulator by default. To call the real API set WECHATPAY_MCHID,
WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID and
WECHATPAY_PUBLIC_KEY (file path), and replace the placeholders below (see _connect.py).

    python examples/hire_power_bank.py
"""

import sys

from _connect import Connection, run, show

OPENID = "2323dfsdf342342"  # placeholder: the user's openid
SERVICE_ID = "500001"  # placeholder: your WeChat Pay Score service id
OUT_ORDER_NO = "6e8369071cd942c0476613f9d1ce9ca3"  # yours, unique


async def example(wx: Connection) -> None:
    bank = wx.client.v3.hirePowerBank
    show("qualified?", await bank.userQualifications._openid_.get(openid=OPENID), "qualified_user")
    created = await bank.insuranceOrders.post(
        json={"out_order_no": OUT_ORDER_NO, "openid": OPENID, "notify_url": wx.notify_url, "service_id": SERVICE_ID}
    )
    show("create order", created, "order_id", "order_receive_state")
    if wx.emulator is None:
        print("The insurer confirms the order; HIRE_POWER_BANK.RECEIVE_INSURANCE then comes to your notify URL.")
        return
    wx.emulator.insurance.insurer_confirm(OUT_ORDER_NO)  # the insurer's move, played by the emulator
    await wx.notification("HIRE_POWER_BANK.RECEIVE_INSURANCE", "order_receive_state", "order_end_time")
    one = bank.insuranceOrders._out_order_no_
    show("order", await one.get(out_order_no=OUT_ORDER_NO), "order_receive_state", "max_claim_count", "claimed_count")
    show("qualified?", await bank.userQualifications._openid_.get(openid=OPENID), "qualified_user")


if __name__ == "__main__":
    sys.exit(run(example))
