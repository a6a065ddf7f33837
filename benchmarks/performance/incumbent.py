"""The incumbent SDK, wechatpayv3, set up for the same merchant and server, making the same call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wechatpayv3
from wechatpayv3.async_ import AsyncWeChatPay

from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._credentials import private_pem, public_pem

from .config import order_no
from .sampling import Call


def _settings(creds: Credentials) -> dict[str, Any]:
    """wechatpayv3's constructor arguments for the same merchant, in public-key mode."""
    return {
        "wechatpay_type": wechatpayv3.WeChatPayType.NATIVE,
        "mchid": creds.mchid,
        "private_key": private_pem(creds.merchant_key).decode(),
        "cert_serial_no": creds.serial,
        "appid": "wxd678efh567hg6787",
        "apiv3_key": creds.apiv3_key,
        "public_key": public_pem(creds.public_key).decode(),
        "public_key_id": creds.public_key_id,
    }


def _point(sdk: Any, base_url: str) -> Any:
    """wechatpayv3 has no base URL setting: its gateway is a private attribute."""
    sdk._core._gate_way = base_url.rstrip("/")
    return sdk


def sync_incumbent(creds: Credentials, base_url: str) -> Any:
    """wechatpayv3's blocking client (requests), pointed at the benchmark server."""
    return _point(wechatpayv3.WeChatPay(**_settings(creds)), base_url)


def async_incumbent(creds: Credentials, base_url: str, **options: Any) -> Any:
    """wechatpayv3's asyncio client, pointed at the benchmark server; enter it with `async with`."""
    return _point(AsyncWeChatPay(**_settings(creds), **options), base_url)


def _result(code: int, text: str) -> object:
    """wechatpayv3 answers (status, text), verified; like the other clients, leave parsing to the caller."""
    if code != 200:
        raise RuntimeError(f"wechatpayv3 call failed: {code} {text[:200]}")
    return text


def incumbent_call(sdk: Any) -> Call:
    """The order query through the asyncio client."""

    async def call(i: int) -> object:
        return _result(*await sdk.query(out_trade_no=order_no(i)))

    return call


def incumbent_sync_call(sdk: Any) -> Callable[[int], object]:
    """The order query through the blocking client."""
    return lambda i: _result(*sdk.query(out_trade_no=order_no(i)))
