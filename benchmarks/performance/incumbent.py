"""The incumbent SDK, wechatpayv3, set up for the same merchant and server, making the same calls.

Three forms: its sync client as shipped (a new TCP connection per call: it calls `requests.get`),
the same client given a `requests.Session` with a pool as wide as the widest concurrency (its fair
best), and its asyncio client (httpx).
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from typing import Any

import requests
import wechatpayv3
from requests.adapters import HTTPAdapter
from wechatpayv3 import async_

from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._credentials import private_pem, public_pem

from .config import CONCURRENCY
from .sampling import Call
from .workload import AMOUNT, APPID, DESCRIPTION, NOTIFY_URL, order_no

SyncCall = Callable[[int], object]


def _settings(creds: Credentials, kind: Any) -> dict[str, Any]:
    """wechatpayv3's constructor arguments for the same merchant, in public-key mode (`kind`: its NATIVE)."""
    return {
        "wechatpay_type": kind,
        "mchid": creds.mchid,
        "private_key": private_pem(creds.merchant_key).decode(),
        "cert_serial_no": creds.serial,
        "appid": APPID,
        "apiv3_key": creds.apiv3_key,
        "notify_url": NOTIFY_URL,
        "public_key": public_pem(creds.public_key).decode(),
        "public_key_id": creds.public_key_id,
    }


def _point(sdk: Any, base_url: str) -> Any:
    """wechatpayv3 has no base URL setting: its gateway is a private attribute."""
    sdk._core._gate_way = base_url.rstrip("/")
    return sdk


def pooled_session() -> requests.Session:
    """A requests.Session keeping as many connections as the widest concurrency measured."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=max(CONCURRENCY)))
    return session


def sync_incumbent(creds: Credentials, base_url: str, session: requests.Session | None = None) -> Any:
    """wechatpayv3's blocking client; with `session`, every request goes through it."""
    sdk = _point(wechatpayv3.WeChatPay(**_settings(creds, wechatpayv3.WeChatPayType.NATIVE)), base_url)
    if session is not None:
        # Its Core.request calls the module-level `requests.get/post`; this instance's copy of the
        # method sees the session in their place (the same code, nothing else changed).
        core = sdk._core
        request = type(core).request
        scope = {**request.__globals__, "requests": session}
        patched = types.FunctionType(request.__code__, scope, request.__name__, request.__defaults__)
        core.request = types.MethodType(patched, core)
    return sdk


def async_incumbent(creds: Credentials, base_url: str, **options: Any) -> Any:
    """wechatpayv3's asyncio client, pointed at the benchmark server; enter it with `async with`."""
    return _point(async_.AsyncWeChatPay(**_settings(creds, async_.WeChatPayType.NATIVE), **options), base_url)


def _answer(code: int, text: str) -> object:
    """wechatpayv3 answers (status, text), verified; its users parse the text."""
    if code != 200:
        raise RuntimeError(f"wechatpayv3 call failed: {code} {text[:200]}")
    return json.loads(text)


def sync_calls(sdk: Any) -> dict[str, SyncCall]:
    """The GET and the POST through the blocking client."""
    return {
        "GET": lambda i: _answer(*sdk.query(out_trade_no=order_no(i))),
        "POST": lambda i: _answer(*sdk.pay(description=DESCRIPTION, out_trade_no=order_no(i), amount=AMOUNT)),
    }


def async_calls(sdk: Any) -> dict[str, Call]:
    """The GET and the POST through the asyncio client."""

    async def get(i: int) -> object:
        return _answer(*await sdk.query(out_trade_no=order_no(i)))

    async def post(i: int) -> object:
        return _answer(*await sdk.pay(description=DESCRIPTION, out_trade_no=order_no(i), amount=AMOUNT))

    return {"GET": get, "POST": post}
