"""Quick start: take a payment and refund it, offline, against the local emulator.

Place a JSAPI order, sign the payment parameters, let the user pay in the emulator, receive the
verified TRANSACTION.SUCCESS notification, refund, receive REFUND.SUCCESS.

    python examples/quickstart.py
"""

import asyncio

from aiohttp import web

from wechatpay_chain import Notification, RefundEvent, TransactionEvent, handler_for
from wechatpay_chain.testing import Emulator

APPID = "wxd678efh567hg6787"


async def main() -> None:
    async with Emulator() as emu:  # WeChat Pay on 127.0.0.1
        wxpay = emu.client()  # with real credentials: Client(mchid, serial, private_key, certs)
        received: asyncio.Queue[Notification] = asyncio.Queue()
        app = web.Application()  # your notify_url: verifies, decrypts, hands each notification over once
        app.router.add_post("/notify", handler_for(wxpay, received.put))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        notify_url = f"http://127.0.0.1:{runner.addresses[0][1]}/notify"

        placed = await wxpay.v3.pay.transactions.jsapi.post(
            json={
                "appid": APPID,
                "mchid": wxpay.mchid,
                "description": "QQ公仔",
                "out_trade_no": "T20240601001",
                "notify_url": notify_url,
                "amount": {"total": 100, "currency": "CNY"},
                "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            }
        )
        prepay_id = placed.json()["prepay_id"]
        print("order placed, prepay_id", prepay_id)
        params = await wxpay.jsapi_params(APPID, prepay_id)  # what wx.requestPayment(…) takes
        emu.payments.pay_with(params)  # the user pays in WeChat, played by the emulator
        paid = (await received.get()).event
        assert isinstance(paid, TransactionEvent)
        print("notification TRANSACTION.SUCCESS:", paid.trade_state, paid.amount.total, paid.transaction_id)

        refund = await wxpay.v3.refund.domestic.refunds.post(
            json={
                "out_trade_no": "T20240601001",
                "out_refund_no": "R20240601001",
                "notify_url": notify_url,
                "amount": {"refund": 100, "total": 100, "currency": "CNY"},
            }
        )
        applied = refund.json()
        print("refund applied:", applied["status"])  # PROCESSING
        emu.payments.settle_refund("R20240601001")  # WeChat Pay settles it, played by the emulator
        refunded = (await received.get()).event
        assert isinstance(refunded, RefundEvent)
        print("notification REFUND.SUCCESS:", refunded.refund_status, refunded.amount.refund)
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
