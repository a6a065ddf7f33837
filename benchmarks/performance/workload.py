"""The two calls every client makes, identical in every SDK: a GET and a POST with a JSON body.

- GET: query an order, `v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`.
- POST: create a Native order, `v3/pay/transactions/native`, with a JSON body of about 300 bytes.

Each call asks about another order; the caller reads the verified answer's JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wechatpay_chain.endpoints import V3PayTransactionsNativePostBody as NativeOrder

APPID = "wxd678efh567hg6787"
NOTIFY_URL = "https://www.weixin.qq.com/wxpay/pay.php"
DESCRIPTION = "Image形象店-深圳腾大-QQ公仔"
AMOUNT: dict[str, Any] = {"total": 100, "currency": "CNY"}

QUERY_TEMPLATE = "v3/pay/transactions/out-trade-no/{out_trade_no}"
NATIVE_PATH = "v3/pay/transactions/native"


def order_no(i: int) -> str:
    """The out_trade_no of call `i`."""
    return f"BENCH{i:012d}"


def native_order(mchid: str, i: int) -> NativeOrder:
    """The JSON body of POST call `i` (the fields wechatpayv3's `pay()` sends, in its order)."""
    return {
        "notify_url": NOTIFY_URL,
        "description": DESCRIPTION,
        "out_trade_no": order_no(i),
        "amount": {"total": AMOUNT["total"], "currency": AMOUNT["currency"]},
        "appid": APPID,
        "mchid": mchid,
    }
