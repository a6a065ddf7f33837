"""Receive WeChat Pay notifications in an aiohttp app: verified, decrypted, typed, processed once.

    python examples/notifications_aiohttp.py

Runs offline: the local emulator plays WeChat Pay and POSTs real signed, encrypted notifications
to the app. In production, build the Client with your merchant credentials and `apiv3_key`, and
serve the same route over HTTPS as your `notify_url` / `contract_notify_url`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from aiohttp import web

from wechatpay_chain import (
    Client,
    InsuranceContractEvent,
    InsurancePolicyGrantedEvent,
    Notification,
    PowerBankInsuranceEvent,
    handler_for,
)
from wechatpay_chain.testing import Emulator

NOTIFY_PATH = "/wxpay/notify"
received: list[str] = []


async def on_event(notification: Notification) -> None:
    """Your business logic. Raise to have WeChat Pay deliver the notification again later."""
    event = notification.event
    if isinstance(event, InsuranceContractEvent):
        line = f"contract {event.out_contract_code} is {event.contract_state}"
        if event.contract_terminate_info is not None:
            line += f" ({event.contract_terminate_info.contract_termination_mode})"
    elif isinstance(event, InsurancePolicyGrantedEvent):
        line = f"policy {event.out_insurance_no}: {event.auth_state} at {event.user_auth_time}"
    elif isinstance(event, PowerBankInsuranceEvent):
        line = f"power-bank order {event.out_order_no}: {event.order_receive_state}"
    else:  # GenericEvent: payments, refunds, … as a plain dict
        line = f"resource {notification.resource}"
    received.append(notification.event_type)
    print(f"  {notification.event_type:<36} {line}")


def merchant_app(client: Client) -> web.Application:
    """The merchant's web app: one route is all a notification endpoint needs."""
    app = web.Application()
    app.router.add_post(NOTIFY_PATH, handler_for(client, on_event))
    return app


async def drive(emu: Emulator, wxpay: Client, notify_url: str) -> None:
    """Play one insurance contract's life so that WeChat Pay (the emulator) notifies each step."""
    today = dt.datetime.fromtimestamp(emu.now(), dt.timezone(dt.timedelta(hours=8))).date()
    contracts = wxpay.v3.papay["insurance-sign"].contracts
    first_period = {
        "policy_period_id": 1,
        "estimated_deduct_date": (today + dt.timedelta(days=1)).isoformat(),
        "estimated_deduct_amount": {"total": 100, "currency": "CNY"},
    }
    await contracts["pre-entrust-sign"].app.post(
        json={
            "appid": "wxd678efh567hg6787",
            "plan_id": 12535,
            "out_contract_code": "C20240808001",
            "insured_display_name": "张三",
            "contract_notify_url": notify_url,
            "policy_start_date": today.isoformat(),
            "policy_end_date": (today + dt.timedelta(days=365)).isoformat(),
            "policy_periods": [first_period],
        }
    )
    emu.insurance.user_sign("C20240808001")  # the user signs in WeChat
    await emu.wait_delivered("INSURANCE_ENTRUST.SIGN")

    await wxpay.v3.inspolicymgr.deduct.authorizations.post(
        json={
            "out_insurance_no": "INS20240808001",
            "appid": "wxd678efh567hg6787",
            "plan_id": "12535",
            "out_contract_code": "C20240808001",
            "insurance_name": "百万医疗险",
        }
    )
    emu.insurance.user_grant("INS20240808001")  # the user authorises the policy service
    await emu.wait_delivered("INSURANCE_POLICY_MANAGEMENT.GRANTED")

    contract = contracts["plan-id"]._plan_id_["out-contract-code"]._out_contract_code_
    await contract.terminate.post(
        plan_id=12535, out_contract_code="C20240808001", json={"contract_termination_remark": "用户退保"}
    )
    await emu.wait_delivered("INSURANCE_ENTRUST.TERMINATE")

    emu.insurance.set_user_qualified("oPB20240808", True)
    await wxpay.v3["hire-power-bank"]["insurance-orders"].post(
        json={"out_order_no": "PB20240808001", "openid": "oPB20240808", "notify_url": notify_url, "service_id": "1"}
    )
    emu.insurance.insurer_confirm("PB20240808001")  # the insurer confirms the overnight cover
    await emu.wait_delivered("HIRE_POWER_BANK.RECEIVE_INSURANCE")


async def main() -> int:
    async with Emulator() as emu:
        wxpay = emu.client()  # in production: Client(mchid, serial, private_key, certs, apiv3_key=…)
        runner = web.AppRunner(merchant_app(wxpay))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        notify_url = f"http://127.0.0.1:{runner.addresses[0][1]}{NOTIFY_PATH}"
        print(f"merchant app listening on {notify_url}; notifications received:")
        try:
            await drive(emu, wxpay, notify_url)
        finally:
            await runner.cleanup()
    expected = 4
    print(f"{len(received)} of {expected} notifications verified, decrypted and handled")
    return 0 if len(received) == expected else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
