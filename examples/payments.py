"""Everyday payments (v3/pay/transactions): a JSAPI order the user pays, a Native order closed unpaid.

Place a JSAPI order, sign the parameters the page hands to `wx.requestPayment`, let the user pay
(the emulator plays them), receive TRANSACTION.SUCCESS, query the order; then place a Native
order (a QR code) nobody pays and close it.

Runs against a local emulator by default. To call the real API set WECHATPAY_MCHID,
WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID and
WECHATPAY_PUBLIC_KEY (file path), and replace the placeholders below (see _connect.py).

    python examples/payments.py
"""

import sys

from _connect import Connection, run, show

APPID = "wxd678efh567hg6787"  # placeholder: your appid (公众号 / 小程序)
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # placeholder: the payer's openid under APPID
PAID = "1217752501201407033233368018"  # yours, unique: the order the user pays
UNPAID = "1217752501201407033233368019"  # yours, unique: the order nobody pays


async def example(wx: Connection) -> None:
    orders = wx.client.v3.pay.transactions
    one = orders.outTradeNo._out_trade_no_
    mchid = wx.client.mchid
    jsapi = await orders.jsapi.post(
        json={
            "appid": APPID,
            "mchid": mchid,
            "description": "Image形象店-深圳腾大-QQ公仔",
            "out_trade_no": PAID,
            "notify_url": wx.notify_url,
            "amount": {"total": 100, "currency": "CNY"},
            "payer": {"openid": OPENID},
        }
    )
    placed = show("JSAPI order", jsapi)
    params = await wx.client.jsapi_params(APPID, placed["prepay_id"])
    print("for wx.requestPayment:", {k: v for k, v in params.items() if k != "paySign"}, "+ paySign")
    if wx.emulator is None:
        print("The user pays in WeChat; TRANSACTION.SUCCESS then comes to your notify URL.")
    else:
        wx.emulator.payments.pay_with(params)  # the user pays; WeChat checks paySign first
        await wx.notification("TRANSACTION.SUCCESS", "out_trade_no", "trade_state", "transaction_id")
    paid = await one.get(out_trade_no=PAID, query={"mchid": mchid})
    show("query", paid, "trade_state", "transaction_id", "amount")

    native = await orders.native.post(
        json={
            "appid": APPID,
            "mchid": mchid,
            "description": "Image形象店-深圳腾大-QQ公仔",
            "out_trade_no": UNPAID,
            "notify_url": wx.notify_url,
            "amount": {"total": 100, "currency": "CNY"},
        }
    )
    show("Native order", native, "code_url")
    show("close", await one.close.post(out_trade_no=UNPAID, json={"mchid": mchid}))
    show("query", await one.get(out_trade_no=UNPAID, query={"mchid": mchid}), "trade_state", "trade_state_desc")


if __name__ == "__main__":
    sys.exit(run(example))
