"""Django views on WeChat Pay: one calls the API with the sync client, one receives the notifications.

    python examples/django_app.py

Runs offline: the local emulator plays WeChat Pay (in a thread of its own), this one-file Django
project is served by a real WSGI server on 127.0.0.1, a customer rents a power bank with overnight
insurance and WeChat Pay notifies the project once the insurer confirms. In a real project, make
`wxpay` once per process (in an `AppConfig.ready()` or a module of its own) with your
credentials, run under gunicorn (`gunicorn -w 4 mysite.wsgi`), and route your HTTPS notify URL
to `notify`.
"""

from __future__ import annotations

import json
import sys

import django
from _wsgi import post_json, serve
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from wechatpay_chain import Notification
from wechatpay_chain.sync import Client, WebhookEndpoint
from wechatpay_chain.testing import EmulatorThread

orders: dict[str, str] = {}  # your models: order number -> insurance state


def on_event(notification: Notification) -> None:
    """Runs in the request's thread, like the view: the ORM works here. Raise to be notified again."""
    resource = notification.resource
    orders[resource["out_order_no"]] = resource["order_receive_state"]
    print(f"  notification {notification.event_type}: {resource['out_order_no']} {resource['order_receive_state']}")


class Views:
    """The project's views, around one client shared by every request thread."""

    def __init__(self, wxpay: Client) -> None:
        self.wxpay = wxpay
        self.notifications = WebhookEndpoint(wxpay, on_event)

    def rent(self, request: HttpRequest, out_order_no: str) -> HttpResponse:
        """The customer rents a power bank: ask WeChat Pay to insure the night."""
        customer = json.loads(request.body)
        answer = self.wxpay.v3["hire-power-bank"]["insurance-orders"].post(
            json={
                "out_order_no": out_order_no,
                "openid": customer["openid"],
                "service_id": "1",
                "notify_url": request.build_absolute_uri(reverse("notify")),  # your public HTTPS URL
            }
        )
        orders[out_order_no] = answer.json()["order_receive_state"]
        return JsonResponse({"out_order_no": out_order_no, "state": orders[out_order_no]})

    def notify(self, request: HttpRequest) -> HttpResponse:
        """WeChat Pay's notifications: verified, decrypted, handled once, answered as it expects."""
        status, body = self.notifications.respond(request.headers, request.body)
        return HttpResponse(body, status=status, content_type="application/json")


def project(wxpay: Client) -> object:
    """A one-file Django project (settings, URLs) and its WSGI application."""
    settings.configure(
        DEBUG=False,
        SECRET_KEY="example-only",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    )
    django.setup()
    views = Views(wxpay)
    global urlpatterns
    urlpatterns = [
        path("orders/<str:out_order_no>/rent", csrf_exempt(require_POST(views.rent))),
        # Signed by WeChat Pay, not by a browser form: exempt from CSRF.
        path("wxpay/notify", csrf_exempt(require_POST(views.notify)), name="notify"),
    ]
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


urlpatterns: list[object] = []


def main() -> int:
    with EmulatorThread() as emu:
        wxpay = emu.client()  # in production: Client(mchid, serial, private_key, certs, apiv3_key=…)
        emu.call(emu.emulator.insurance.set_user_qualified, "oPB20240808", True)
        with serve(project(wxpay)) as base:
            print(f"Django project on {base}, WeChat Pay (emulated) on {emu.base_url}")
            rented = post_json(f"{base}/orders/PB20240808001/rent", {"openid": "oPB20240808"})
            print(f"  POST /orders/PB20240808001/rent -> {rented}")
            emu.call(emu.emulator.insurance.insurer_confirm, "PB20240808001")  # the insurer confirms the cover
            emu.run(emu.emulator.wait_delivered("HIRE_POWER_BANK.RECEIVE_INSURANCE"))
    print(f"orders: {orders}")
    return 0 if orders == {"PB20240808001": "RECEIVED"} else 1


if __name__ == "__main__":
    sys.exit(main())
