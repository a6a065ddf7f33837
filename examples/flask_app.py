"""A Flask app on WeChat Pay: a view that calls the API with the sync client, a view that receives notifications.

    python examples/flask_app.py

Runs offline: the local emulator plays WeChat Pay (in a thread of its own, see `EmulatorThread`),
the app is served by a real WSGI server on 127.0.0.1, a customer signs an insurance contract and
WeChat Pay notifies the app. In production, make `wxpay` with your credentials, run the app
under gunicorn (`gunicorn -w 4 flask_app:app`) and serve `/wxpay/notify` over HTTPS as your
notify URL; with several workers, pass `seen_ids=RedisSeenIds(…)` so a notification delivered to
two of them is handled once (docs/production.md).
"""

from __future__ import annotations

import datetime as dt
import sys

from _wsgi import post_json, serve
from flask import Flask, Response, request, url_for

from wechatpay_chain import Notification
from wechatpay_chain.sync import Client, WebhookEndpoint
from wechatpay_chain.testing import EmulatorThread

APPID = "wxd678efh567hg6787"
PLAN_ID = 12535
BEIJING = dt.timezone(dt.timedelta(hours=8))  # WeChat Pay's dates are Beijing dates, whatever the server's zone
contracts: dict[str, str] = {}  # your database: contract code -> state


def on_event(notification: Notification) -> None:
    """Runs in the request's thread, like any view: use your ORM here. Raise to be notified again."""
    resource = notification.resource
    contracts[resource["out_contract_code"]] = resource["contract_state"]
    print(f"  notification {notification.event_type}: {resource['out_contract_code']} {resource['contract_state']}")


def create_app(wxpay: Client) -> Flask:
    """The merchant's app: the calls and the notification endpoint share one client."""
    app = Flask(__name__)
    notifications = WebhookEndpoint(wxpay, on_event)

    @app.post("/contracts/<code>")
    def start_contract(code: str) -> dict[str, object]:
        today = dt.datetime.now(BEIJING).date()
        answer = (
            wxpay.v3.papay["insurance-sign"]
            .contracts["pre-entrust-sign"]
            .app.post(
                json={
                    "appid": APPID,
                    "plan_id": PLAN_ID,
                    "out_contract_code": code,
                    "insured_display_name": request.get_json()["name"],
                    "contract_notify_url": url_for("notify", _external=True),  # your public HTTPS URL
                    "policy_start_date": today.isoformat(),
                    "policy_end_date": (today + dt.timedelta(days=365)).isoformat(),
                    "policy_periods": [
                        {
                            "policy_period_id": 1,
                            "estimated_deduct_date": (today + dt.timedelta(days=1)).isoformat(),
                            "estimated_deduct_amount": {"total": 100, "currency": "CNY"},
                        }
                    ],
                }
            )
        )
        contracts[code] = "PENDING"
        return {"pre_entrustweb_id": answer.json()["pre_entrustweb_id"]}  # what the mini-program opens

    @app.post("/wxpay/notify")
    def notify() -> Response:
        status, body = notifications.respond(request.headers, request.get_data())
        return Response(body, status=status, content_type="application/json")

    return app


def main() -> int:
    with EmulatorThread() as emu:
        wxpay = emu.client()  # in production: Client(mchid, serial, private_key, certs, apiv3_key=…)
        with serve(create_app(wxpay)) as base:
            print(f"Flask app on {base}, WeChat Pay (emulated) on {emu.base_url}")
            started = post_json(f"{base}/contracts/C20240808001", {"name": "张三"})
            print(f"  POST /contracts/C20240808001 -> {started}")
            emu.call(emu.emulator.insurance.user_sign, "C20240808001")  # the customer signs in WeChat
            emu.run(emu.emulator.wait_delivered("INSURANCE_ENTRUST.SIGN"))
    print(f"contracts: {contracts}")
    return 0 if contracts == {"C20240808001": "SIGNED"} else 1


if __name__ == "__main__":
    sys.exit(main())
