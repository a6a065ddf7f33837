"""APIv2: charge a payment code (micropay), poll while the customer types the password, refund over mutual TLS.

Runs against a local emulator with HTTPS by default: it plays the customer and settles the
refund, whose notification arrives at an aiohttp endpoint here with its req_info decrypted.
To call the real API set WECHATPAY_MCHID, WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY
(apiclient_key.pem), WECHATPAY_APIV2_KEY and WECHATPAY_MERCHANT_CERT (apiclient_cert.pem, or
the .p12 with WECHATPAY_MERCHANT_CERT_PASSWORD), and replace the placeholders below.

    python examples/apiv2_micropay_refund.py
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from wechatpay_chain import ApiError, Client, V2Notification, v2_handler_for
from wechatpay_chain.testing import Emulator

if TYPE_CHECKING:  # the documented fields of each call, for type checkers (see docs/endpoints.md)
    from wechatpay_chain.endpoints import V2PayMicropayPostXml as Micropay
    from wechatpay_chain.endpoints import V2PayOrderqueryPostXml as OrderQuery
    from wechatpay_chain.endpoints import V2SecapiPayRefundPostXml as Refund

APPID = "wxd678efh567hg6787"  # placeholder: your appid
AUTH_CODE = "134567890123456789"  # placeholder: the customer's payment code, as scanned
OUT_TRADE_NO = "20240601120000001"  # yours, unique
REAL_API = ("WECHATPAY_MCHID", "WECHATPAY_SERIAL", "WECHATPAY_PRIVATE_KEY", "WECHATPAY_APIV2_KEY")


async def charge(client: Client, emulator: Emulator | None) -> str:
    """Micropay; on USERPAYING, poll orderquery until the customer has typed the password."""
    order: Micropay = {
        "appid": APPID,
        "mch_id": client.mchid,
        "body": "门店-面包",
        "out_trade_no": OUT_TRADE_NO,
        "total_fee": 150_000,  # fen: above the emulator's no-password limit, so the customer types it
        "spbill_create_ip": "127.0.0.1",
        "auth_code": AUTH_CODE,
    }
    try:
        paid = (await client.v2.pay.micropay.post(xml=order)).xml()
        return str(paid["transaction_id"])
    except ApiError as exc:
        if exc.code != "USERPAYING":
            raise
        print(f"micropay: {exc.code} ({exc.err_code_des}); polling the order")
    if emulator is not None:
        emulator.payments_v2.user_pay(OUT_TRADE_NO)  # the customer types the password
    query: OrderQuery = {"appid": APPID, "mch_id": client.mchid, "out_trade_no": OUT_TRADE_NO}
    for _ in range(30):
        state = (await client.v2.pay.orderquery.post(xml=query)).xml()
        if state["trade_state"] == "SUCCESS":
            return str(state["transaction_id"])
        await asyncio.sleep(1)
    raise SystemExit(f"the order is still {state['trade_state']}: reverse it (v2/secapi/pay/reverse)")


Inbox = asyncio.Queue[V2Notification]


async def example(client: Client, emulator: Emulator | None, notify_url: str, inbox: Inbox) -> None:
    transaction_id = await charge(client, emulator)
    print(f"paid: transaction_id {transaction_id}")
    out_refund_no = f"R{OUT_TRADE_NO}"
    refund: Refund = {
        "appid": APPID,
        "mch_id": client.mchid,
        "transaction_id": transaction_id,
        "out_refund_no": out_refund_no,
        "total_fee": 150_000,
        "refund_fee": 50_000,
        "notify_url": notify_url,
    }
    made = (await client.v2.secapi.pay.refund.post(xml=refund)).xml()  # mutual TLS: the merchant certificate
    print(f"refund applied: refund_id {made['refund_id']}")
    if emulator is None:
        print("WeChat Pay notifies the refund result at your notify_url.")
        return
    emulator.payments_v2.settle_refund(out_refund_no)
    note = await asyncio.wait_for(inbox.get(), 5)
    print(f"notification {note.event_type}, req_info decrypted: {dict(note.resource)}")


@asynccontextmanager
async def receiver(client: Client, inbox: Inbox) -> AsyncIterator[str]:
    """An APIv2 notification endpoint on 127.0.0.1, as you would mount one in your own aiohttp app."""
    app = web.Application()
    app.router.add_post("/wechatpay/v2/notify", v2_handler_for(client, inbox.put))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/wechatpay/v2/notify"
    finally:
        await runner.cleanup()


def real_client() -> Client:
    env = os.environ
    missing = [name for name in (*REAL_API, "WECHATPAY_MERCHANT_CERT") if not env.get(name)]
    if missing:
        raise SystemExit(f"to call the real API set {', '.join(missing)}")
    return Client(
        env["WECHATPAY_MCHID"],
        env["WECHATPAY_SERIAL"],
        "file://" + str(Path(env["WECHATPAY_PRIVATE_KEY"]).resolve()),
        apiv2_key=env["WECHATPAY_APIV2_KEY"],
        merchant_cert=Path(env["WECHATPAY_MERCHANT_CERT"]).resolve(),
        merchant_cert_password=env.get("WECHATPAY_MERCHANT_CERT_PASSWORD") or None,
    )


async def main() -> int:
    inbox: Inbox = asyncio.Queue()
    try:
        if any(os.environ.get(name) for name in REAL_API):
            async with real_client() as client:
                await example(client, None, "https://merchant.example.com/wechatpay/v2/notify", inbox)
            return 0
        async with Emulator(tls=True) as emulator:
            client = emulator.client()  # the APIv2 key, the merchant certificate, the emulator's CA
            print(f"local emulator at {emulator.base_url}, merchant {client.mchid}")
            async with receiver(client, inbox) as url:
                await example(client, emulator, url, inbox)
    except ApiError as exc:
        print(f"WeChat Pay answered {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
