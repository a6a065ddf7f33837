"""The payer's WeChat (`pay_with`) and the payment controls served under `/_emulator/payments/`.

`WeChatClient.pay_with(params)` does what the WeChat app does with the parameters a merchant's
page or app hands it (`jsapi_params` for `WeixinJSBridge` / `wx.requestPayment`, `app_params`
for the APP SDK): it checks their signature with the merchant's API certificate over the
documented message, that they are for a known, unexpired prepay session of an order of that
channel and appid, and then the user pays. Tampered or foreign parameters are refused with
`401 SIGN_ERROR` (支付验证签名失败), as the client refuses to show the payment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ...._hazmat import rsa_verify
from ...._payparams import APP_PACKAGE, app_message, jsapi_message
from ..._controls import Control
from ..._http import Refusal
from ..._validation import FieldSpec, integer, number, obj, param_error, text
from ._ledger import PREPAY_SECONDS, CombinedOrder, Ledger, Payable
from .combined import CombinedOrders
from .orders import DirectOrders
from .partner import PartnerOrders
from .refunds import ENDS, Refunds

JSAPI_FIELDS = ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign")
APP_FIELDS = ("appid", "partnerid", "prepayid", "package", "noncestr", "timestamp", "sign")
_PREPAY = "prepay_id="


@dataclass(frozen=True, slots=True)
class Signed:
    """Payment parameters whose signature verified: which channel, for which app and prepay session."""

    trade_type: str  # JSAPI | APP
    appid: str
    prepay_id: str
    partnerid: str | None  # APP only: the merchant the payment goes to


def read_params(params: Mapping[str, Any], merchant_key: RSAPublicKey) -> Signed:
    """Check JSAPI or APP payment parameters as the WeChat client does; Refusal naming what is wrong."""
    if "paySign" in params or "appId" in params:
        values = _strings(params, JSAPI_FIELDS)
        if values["signType"] != "RSA":
            raise param_error("params.signType", "must be RSA (APIv3 payment parameters)")
        if not values["package"].startswith(_PREPAY):
            raise param_error("params.package", f"must be {_PREPAY}<prepay_id>")
        message = jsapi_message(values["appId"], values["timeStamp"], values["nonceStr"], values["package"])
        signed = Signed("JSAPI", values["appId"], values["package"][len(_PREPAY) :], None)
        signature, stamp = values["paySign"], values["timeStamp"]
    elif "sign" in params or "prepayid" in params:
        values = _strings(params, APP_FIELDS)
        if values["package"] != APP_PACKAGE:
            raise param_error("params.package", f"must be {APP_PACKAGE}")
        message = app_message(values["appid"], values["timestamp"], values["noncestr"], values["prepayid"])
        signed = Signed("APP", values["appid"], values["prepayid"], values["partnerid"])
        signature, stamp = values["sign"], values["timestamp"]
    else:
        raise param_error("params", "are neither JSAPI (appId, …, paySign) nor APP (appid, …, sign) parameters")
    if not stamp.isdigit():
        raise param_error("params.timeStamp" if signed.trade_type == "JSAPI" else "params.timestamp", "must be digits")
    if not rsa_verify(merchant_key, message, signature):
        raise Refusal(401, "SIGN_ERROR", "支付验证签名失败: the signature does not verify with the merchant's key")
    return signed


def _strings(params: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    for name in names:
        if not isinstance(params.get(name), str) or not params[name]:
            raise param_error(f"params.{name}", "is required (a non-empty string)")
    return {name: params[name] for name in names}


class WeChatClient:
    """The payer's WeChat app: takes the payment parameters a merchant built, checks them, pays."""

    def __init__(self, ledger: Ledger, merchant_key: Callable[[], RSAPublicKey]) -> None:
        self.ledger = ledger
        self._merchant_key = merchant_key

    def pay_with(
        self, params: Mapping[str, Any], *, openid: str | None = None, bank_type: str = "OTHERS"
    ) -> dict[str, Any]:
        """Pay with JSAPI or APP parameters (`client.jsapi_params(…)`, `client.app_params(…)`); the order as queried."""
        signed = read_params(params, self._merchant_key())
        self.ledger.tick()
        target = self.ledger.by_prepay_id.get(signed.prepay_id)
        if target is None:
            raise Refusal(400, "INVALID_REQUEST", f"prepay_id {signed.prepay_id} is unknown")
        prepay = target.prepay
        assert prepay is not None  # indexed when opened
        if prepay.prepay_id != signed.prepay_id or self.ledger.clock() - prepay.issued >= PREPAY_SECONDS:
            raise Refusal(400, "INVALID_REQUEST", f"prepay_id {signed.prepay_id} has expired (valid 2 hours)")
        if target.trade_type != signed.trade_type:
            raise Refusal(
                400, "INVALID_REQUEST", f"a {target.trade_type} order is not paid with {signed.trade_type} parameters"
            )
        appids, partner = _recipients(target)
        if signed.appid not in appids:
            raise Refusal(400, "INVALID_REQUEST", f"appid {signed.appid} is not the order's ({', '.join(appids)})")
        if signed.partnerid is not None and signed.partnerid != partner:
            raise Refusal(400, "INVALID_REQUEST", f"partnerid {signed.partnerid} is not the order's merchant {partner}")
        return self.ledger.pay(target, openid=openid, bank_type=bank_type)


def _recipients(target: Payable) -> tuple[tuple[str, ...], str]:
    """The appids an order may be paid from, and the merchant an APP payment names (partnerid)."""
    request = target.request
    if isinstance(target, CombinedOrder):
        return (request["combine_appid"],), target.owner[0]
    if target.kind == "partner":
        appids = tuple(request[name] for name in ("sp_appid", "sub_appid") if name in request)
        return appids, target.owner[1]
    return (request["appid"],), target.mchid


def payment_controls(
    orders: DirectOrders,
    partner: PartnerOrders,
    combined: CombinedOrders,
    refunds: Refunds,
    client: WeChatClient,
    *,
    set_refund_delay: Callable[..., Any],
    set_balance: Callable[..., Any],
) -> tuple[Control, ...]:
    """The HTTP controls of the payments family (the same functions as `emu.payments.*`), all POST."""
    payer = (text("openid", max_len=128), text("bank_type", max_len=32))
    bank = payer[1:]
    order, sub = text("out_trade_no", req=True), text("sub_mchid")
    combined_order = text("combine_out_trade_no", req=True)
    table: tuple[tuple[str, Callable[..., Any], tuple[FieldSpec, ...], str], ...] = (
        ("pay", orders.pay, (order, *payer), "the user pays a direct order: SUCCESS + TRANSACTION.SUCCESS"),
        (
            "pay-with",
            client.pay_with,
            (obj("params", req=True), *payer),
            "the user's WeChat checks JSAPI or APP parameters and pays",
        ),
        ("fail", orders.fail, (order, *bank), "the user's payment of a direct order fails: PAYERROR"),
        (
            "partner/pay",
            partner.pay,
            (order, sub, *payer),
            "the user pays a sub-merchant's order (openid: the sp_openid)",
        ),
        ("partner/fail", partner.fail, (order, sub, *bank), "the user's payment of a sub-merchant's order fails"),
        (
            "combined/pay",
            combined.pay,
            (combined_order, *payer),
            "the user pays every sub-order: one TRANSACTION.SUCCESS",
        ),
        ("combined/fail", combined.fail, (combined_order, *bank), "the payment of a combined order fails: PAYERROR"),
        (
            "settle-refund",
            refunds.settle_refund,
            (text("out_refund_no", req=True), text("status", enum=ENDS), sub),
            "WeChat Pay ends a PROCESSING refund: SUCCESS (default), ABNORMAL or CLOSED, notified",
        ),
        (
            "set-refund-delay",
            set_refund_delay,
            (number("seconds", minimum=0),),
            "refunds applied from now on succeed by themselves after this many seconds; null: never",
        ),
        (
            "set-balance",
            set_balance,
            (integer("amount", minimum=0), sub),
            "the funds available for refunds (cents; beyond them 403 NOT_ENOUGH); null: no limit",
        ),
    )
    return tuple(Control("POST", f"payments/{path}", run, params, doc=doc) for path, run, params, doc in table)
