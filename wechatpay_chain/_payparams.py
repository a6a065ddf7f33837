"""Client-side payment parameters: what a JSAPI page, a mini-program or an APP needs to pay a prepay_id.

Each is signed with the merchant key through the client's `Signer` (so a Signer that keeps the
key in an HSM signs these too): base64 RSA-SHA256 over the fields, each followed by `\\n`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import _hazmat
from ._errors import ConfigurationError

if TYPE_CHECKING:
    from ._client import Client

_PREPAY_PREFIX = "prepay_id="
APP_PACKAGE = "Sign=WXPay"


def jsapi_message(appid: str, timestamp: str, nonce: str, package: str) -> bytes:
    """`appId\\ntimeStamp\\nnonceStr\\npackage\\n`, the message `paySign` covers."""
    return f"{appid}\n{timestamp}\n{nonce}\n{package}\n".encode()


def app_message(appid: str, timestamp: str, nonce: str, prepay_id: str) -> bytes:
    """`appid\\ntimestamp\\nnoncestr\\nprepayid\\n`, the message the APP `sign` covers."""
    return f"{appid}\n{timestamp}\n{nonce}\n{prepay_id}\n".encode()


async def jsapi_params(
    client: Client,
    appid: str,
    prepay_id: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The JSAPI / mini-program parameters (`appId, timeStamp, nonceStr, package, signType, paySign`).

    Pass them to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` or `wx.requestPayment(…)`.
    """
    appid, prepay_id = _required(appid=appid, prepay_id=prepay_id)
    bare = prepay_id.removeprefix(_PREPAY_PREFIX)  # accept the id or the whole package
    package = _PREPAY_PREFIX + bare
    stamp, nonce_str = _stamp(timestamp), nonce or _hazmat.nonce()
    signature = await client.signer.sign(jsapi_message(appid, stamp, nonce_str, package))
    return {
        "appId": appid,
        "timeStamp": stamp,
        "nonceStr": nonce_str,
        "package": package,
        "signType": "RSA",
        "paySign": signature,
    }


async def app_params(
    client: Client,
    appid: str,
    prepay_id: str,
    *,
    partnerid: str | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The APP parameters (`appid, partnerid, prepayid, package, noncestr, timestamp, sign`).

    `partnerid` defaults to the client's mchid (a service provider passes the sub-merchant's).
    """
    appid, prepay_id = _required(appid=appid, prepay_id=prepay_id)
    prepay_id = prepay_id.removeprefix(_PREPAY_PREFIX)
    stamp, nonce_str = _stamp(timestamp), nonce or _hazmat.nonce()
    signature = await client.signer.sign(app_message(appid, stamp, nonce_str, prepay_id))
    return {
        "appid": appid,
        "partnerid": partnerid or client.mchid,
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


def _stamp(timestamp: int | None) -> str:
    if timestamp is None:
        return str(int(time.time()))
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp <= 0:
        raise ConfigurationError(f"timestamp must be Unix seconds (a positive int), got {timestamp!r}")
    return str(timestamp)
