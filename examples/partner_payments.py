"""A service provider's payments (v3/pay/partner/transactions) for a sub-merchant, and their refund.

The service provider places a JSAPI order for its sub-merchant, the user pays with the parameters
signed for the service provider's appid, the notification names both merchants, and the refund
names the sub-merchant.

Runs against a local emulator by default. To call the real API set WECHATPAY_MCHID (the service
provider's), WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY (file path), WECHATPAY_PUBLIC_KEY_ID and
WECHATPAY_PUBLIC_KEY (file path), and replace the placeholders below (see _connect.py).

    python examples/partner_payments.py
"""

import sys
from typing import TYPE_CHECKING

from _connect import Connection, run, show

if TYPE_CHECKING:  # the documented query, to annotate one built before the call (type checkers only)
    from wechatpay_chain.endpoints import V3PayPartnerTransactionsOutTradeNoGetQuery as OrderQuery

SP_APPID = "wx8888888888888888"  # placeholder: the service provider's appid
SUB_MCHID = "1900000111"  # placeholder: your sub-merchant's mchid
SP_OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"  # placeholder: the payer's openid under SP_APPID
OUT_TRADE_NO = "1217752501201407033233368030"  # the sub-merchant's, unique
OUT_REFUND_NO = "1217752501201407033233368031"  # the sub-merchant's, unique


async def example(wx: Connection) -> None:
    orders = wx.client.v3.pay.partner.transactions
    order = await orders.jsapi.post(
        json={
            "sp_appid": SP_APPID,
            "sp_mchid": wx.client.mchid,
            "sub_mchid": SUB_MCHID,
            "description": "Image形象店-深圳腾大-QQ公仔",
            "out_trade_no": OUT_TRADE_NO,
            "notify_url": wx.notify_url,
            "amount": {"total": 2_000, "currency": "CNY"},
            "payer": {"sp_openid": SP_OPENID},
        }
    )
    placed = show("partner JSAPI order", order)
    params = await wx.client.jsapi_params(SP_APPID, placed["prepay_id"])
    if wx.emulator is None:
        print("The user pays in WeChat; TRANSACTION.SUCCESS then comes to your notify URL.")
        return
    wx.emulator.payments.pay_with(params)  # the user pays; WeChat checks paySign first
    await wx.notification("TRANSACTION.SUCCESS", "sp_mchid", "sub_mchid", "out_trade_no", "trade_state")
    one = orders.outTradeNo._out_trade_no_
    query: OrderQuery = {"sp_mchid": wx.client.mchid, "sub_mchid": SUB_MCHID}
    show("query", await one.get(out_trade_no=OUT_TRADE_NO, query=query), "trade_state", "transaction_id")
    refund = await wx.client.v3.refund.domestic.refunds.post(
        json={
            "sub_mchid": SUB_MCHID,
            "out_trade_no": OUT_TRADE_NO,
            "out_refund_no": OUT_REFUND_NO,
            "notify_url": wx.notify_url,
            "amount": {"refund": 2_000, "total": 2_000, "currency": "CNY"},
        }
    )
    show("refund", refund, "status")
    wx.emulator.payments.settle_refund(OUT_REFUND_NO, sub_mchid=SUB_MCHID)  # WeChat Pay's move
    await wx.notification("REFUND.SUCCESS", "sp_mchid", "sub_mchid", "out_refund_no", "refund_status")
    show("query", await one.get(out_trade_no=OUT_TRADE_NO, query=query), "trade_state")


if __name__ == "__main__":
    sys.exit(run(example))
