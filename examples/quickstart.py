"""Quick start: signed, verified WeChat Pay calls, offline, against the local emulator.

python examples/quickstart.py
"""

import asyncio

from wechatpay_chain.testing import Emulator


async def main() -> None:
    async with Emulator() as emulator:
        wxpay = emulator.client()  # the real API: Client(mchid, serial, private_key, certs)
        orders = wxpay.v3.hirePowerBank.insuranceOrders
        created = await orders.post(json={"out_order_no": "PB1", "openid": "o1", "service_id": "500001"})
        print(created.status, created.json()["order_receive_state"])  # 200 RECEIVING
        emulator.insurance.insurer_confirm("PB1")  # the insurer's move, played by the emulator
        fetched = await orders._out_order_no_.get(out_order_no="PB1")
        print(fetched.status, fetched.json()["order_receive_state"])  # 200 RECEIVED


if __name__ == "__main__":
    asyncio.run(main())
