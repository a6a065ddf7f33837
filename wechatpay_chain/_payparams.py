"""Client-side payment parameters: what a JSAPI page, a mini-program or an APP needs to pay a prepay_id.

Each is signed with `sign`, the client's current signer (so a signer that keeps the key in an HSM
signs these too): base64 RSA-SHA256 over the fields, each followed by `\\n`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from . import _hazmat
from ._errors import ConfigurationError
from ._types import Clock

Sign = Callable[[bytes], Awaitable[str]]
"""`await sign(message)`: the base64 signature of `message` with the merchant's key."""

_PREPAY_PREFIX = "prepay_id="
APP_PACKAGE = "Sign=WXPay"


def jsapi_message(appid: str, timestamp: str, nonce: str, package: str) -> bytes:
    """`appId\\ntimeStamp\\nnonceStr\\npackage\\n`, the message `paySign` covers."""
    return f"{appid}\n{timestamp}\n{nonce}\n{package}\n".encode()


def app_message(appid: str, timestamp: str, nonce: str, prepay_id: str) -> bytes:
    """`appid\\ntimestamp\\nnoncestr\\nprepayid\\n`, the message the APP `sign` covers."""
    return f"{appid}\n{timestamp}\n{nonce}\n{prepay_id}\n".encode()


async def jsapi_params(
    sign: Sign,
    appid: str,
    prepay_id: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    clock: Clock = time.time,
) -> dict[str, str]:
    """The JSAPI / mini-program parameters (`appId, timeStamp, nonceStr, package, signType, paySign`).

    Pass them to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` or `wx.requestPayment(…)`.
    """
    appid, prepay_id = _required(appid=appid, prepay_id=prepay_id)
    bare = prepay_id.removeprefix(_PREPAY_PREFIX)  # accept the id or the whole package
    package = _PREPAY_PREFIX + bare
    stamp, nonce_str = _stamp(timestamp, clock), nonce or _hazmat.nonce()
    signature = await sign(jsapi_message(appid, stamp, nonce_str, package))
    return {
        "appId": appid,
        "timeStamp": stamp,
        "nonceStr": nonce_str,
        "package": package,
        "signType": "RSA",
        "paySign": signature,
    }


async def app_params(
    sign: Sign,
    appid: str,
    prepay_id: str,
    *,
    partnerid: str,
    timestamp: int | None = None,
    nonce: str | None = None,
    clock: Clock = time.time,
) -> dict[str, str]:
    """The APP parameters (`appid, partnerid, prepayid, package, noncestr, timestamp, sign`).

    `partnerid` is the merchant's mchid (a service provider passes the sub-merchant's).
    """
    appid, prepay_id, partnerid = _required(appid=appid, prepay_id=prepay_id, partnerid=partnerid)
    prepay_id = prepay_id.removeprefix(_PREPAY_PREFIX)
    stamp, nonce_str = _stamp(timestamp, clock), nonce or _hazmat.nonce()
    signature = await sign(app_message(appid, stamp, nonce_str, prepay_id))
    return {
        "appid": appid,
        "partnerid": partnerid,
        "prepayid": prepay_id,
        "package": APP_PACKAGE,
        "noncestr": nonce_str,
        "timestamp": stamp,
        "sign": signature,
    }


def _required(**values: str) -> tuple[str, ...]:
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{name} must be a non-empty str, got {value!r}")
    return tuple(values.values())


def _stamp(timestamp: int | None, clock: Clock) -> str:
    if timestamp is None:
        return str(int(clock()))
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp <= 0:
        raise ConfigurationError(f"timestamp must be Unix seconds (a positive int), got {timestamp!r}")
    return str(timestamp)
