"""The request fields of the payment endpoints, from the endpoint catalogue, as validator specs.

Names, types, `required` and enums follow the catalogue (WeChat Pay's API as documented); the
lengths are the `string(n)` of WeChat Pay's pages, and the few rules the catalogue cannot say
(one payer id of two, an order number's shortest length) are checked by `check_*` below.
EMULATOR.md lists each such choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._time import parse_rfc3339
from ..._validation import FieldSpec, Specs, array, flag, integer, obj, optional, param_error, text

ID, OPENID, DESCRIPTION, TEXT, URL, IP, CIPHER = 32, 128, 127, 128, 256, 45, 2048
ORDER_NO_MIN = 6  # out_trade_no is string[6,32]; combine_out_trade_no string[2,32]
COMBINE_NO_MIN = 2
MAX_SUB_ORDERS = 50

CURRENCY = ("CNY",)
LIMIT_PAY = ("no_balance", "no_credit", "no_debit", "balance_only")
IDENTITY_TYPES = (
    "IDCARD",
    "HONGKONG_MACAO",
    "HONGKONG_MACAO_RESIDENT",
    "TAIWAN_RESIDENT",
    "FOREIGN_RESIDENT",
    "OVERSEA_PASSPORT",
    "PHONE_NUMBER",
)
BANK_TYPES = (
    "CMB_DEBIT",
    "COMM_DEBIT",
    "ABC_DEBIT",
    "CCB_DEBIT",
    "ICBC_DEBIT",
    "BOC_DEBIT",
    "PAB_DEBIT",
    "SPDB_DEBIT",
    "CITIC_DEBIT",
    "CEB_DEBIT",
    "CMBC_DEBIT",
    "CIB_DEBIT",
    "GDB_DEBIT",
    "PSBC_DEBIT",
    "NBCB_DEBIT",
)

# -- pieces every order request shares ----------------------------------------------------------

OUT_TRADE_NO = text("out_trade_no", req=True, max_len=ID, fmt="order_no")
AMOUNT = obj("amount", integer("total", req=True, minimum=1), text("currency", enum=CURRENCY), req=True)
GOODS = obj(
    "goods_detail",
    text("merchant_goods_id", req=True, max_len=ID),
    text("wechatpay_goods_id", max_len=ID),
    text("goods_name", max_len=URL),
    integer("quantity", req=True, minimum=1),
    integer("unit_price", req=True, minimum=0),
)
DETAIL = obj("detail", integer("cost_price", minimum=0), text("invoice_id", max_len=ID), array("goods_detail", GOODS))
STORE = obj(
    "store_info",
    text("id", max_len=ID),
    text("name", req=True, max_len=URL),
    text("area_code", req=True, max_len=ID),
    text("address", req=True, max_len=512),
)
SCENE = obj("scene_info", text("payer_client_ip", max_len=IP), text("device_id", max_len=ID), STORE)
H5_INFO = obj(
    "h5_info",
    text("type", max_len=ID),
    text("app_name", max_len=64),
    text("app_url", max_len=URL),
    text("bundle_id", max_len=URL),
    text("package_name", max_len=URL),
)
H5_SCENE = obj(
    "scene_info", text("payer_client_ip", max_len=IP), text("device_id", max_len=ID), STORE, H5_INFO, req=True
)
SETTLE = obj("settle_info", flag("profit_sharing"))
LIMITS = array("limit_pay", text("limit_pay", enum=LIMIT_PAY))
IDENTITY = obj(
    "identity",
    text("type", req=True, enum=IDENTITY_TYPES),
    text("number", req=True, max_len=CIPHER, fmt="base64"),
    text("name", req=True, max_len=CIPHER, fmt="base64"),
)
SUBSIDY = obj("subsidy_info")  # installment subsidies: taken as given
COMMON = (
    text("description", req=True, max_len=DESCRIPTION),
    OUT_TRADE_NO,
    text("time_expire", max_len=64, fmt="rfc3339"),
    text("attach", max_len=TEXT),
    text("notify_url", req=True, max_len=URL, fmt="url"),
    text("goods_tag", max_len=ID),
    flag("support_fapiao"),
    AMOUNT,
    DETAIL,
    SETTLE,
    LIMITS,
)

# -- direct merchant: v3/pay/transactions/{jsapi,app,h5,native} ---------------------------------

DIRECT = (text("appid", req=True, max_len=ID), text("mchid", req=True, max_len=ID), *COMMON)
DIRECT_ORDERS: dict[str, Specs] = {
    "jsapi": (*DIRECT, obj("payer", text("openid", req=True, max_len=OPENID), IDENTITY, req=True), SCENE, SUBSIDY),
    "app": (*DIRECT, obj("payer", IDENTITY), SCENE, SUBSIDY),
    "h5": (*DIRECT, obj("payer", IDENTITY), H5_SCENE),
    "native": (*DIRECT, obj("payer", IDENTITY), SCENE),
}

# -- service provider: v3/pay/partner/transactions/{jsapi,miniprogram,app,h5,native} -----------

PARTNER = (
    text("sp_appid", req=True, max_len=ID),
    text("sp_mchid", req=True, max_len=ID),
    text("sub_appid", max_len=ID),
    text("sub_mchid", req=True, max_len=ID, fmt="digits"),
    *COMMON,
)
PARTNER_PAYER = obj("payer", text("sp_openid", max_len=OPENID), text("sub_openid", max_len=OPENID), IDENTITY, req=True)
PARTNER_ORDERS: dict[str, Specs] = {
    "jsapi": (*PARTNER, PARTNER_PAYER, SCENE),
    # The mini-program variant documents notify_url as optional: without it no notification is sent.
    "miniprogram": (*(optional(s) if s.name == "notify_url" else s for s in PARTNER), PARTNER_PAYER, SCENE),
    "app": (*PARTNER, obj("payer", IDENTITY), SCENE),
    "h5": (*PARTNER, obj("payer", IDENTITY), H5_SCENE),
    "native": (*PARTNER, obj("payer", IDENTITY), SCENE),
}

# -- combined payments: v3/combine-transactions/{jsapi,miniprogram,app,h5,native} ---------------


def _sub_order(*, sub_mchid: bool) -> FieldSpec:
    return obj(
        "sub_orders",
        text("mchid", req=True, max_len=ID),
        text("sub_mchid", req=sub_mchid, max_len=ID, fmt="digits"),
        text("sub_appid", max_len=ID),
        text("out_trade_no", req=True, max_len=ID, fmt="order_no"),
        text("attach", req=True, max_len=TEXT),
        text("description", req=True, max_len=DESCRIPTION),
        text("detail", max_len=6000),
        text("goods_tag", max_len=ID),
        obj(
            "amount",
            integer("total_amount", req=True, minimum=1),
            text("currency", req=True, enum=CURRENCY),
            req=True,
        ),
        flag("profit_sharing"),
        obj("settle_info", flag("profit_sharing"), integer("subsidy_amount", minimum=0)),
    )


def _combined(*, sub_mchid: bool, payer: bool, scene: FieldSpec) -> Specs:
    return (
        text("combine_appid", req=True, max_len=ID),
        text("combine_mchid", req=True, max_len=ID),
        text("combine_out_trade_no", req=True, max_len=ID, fmt="order_no"),
        obj(
            "combine_payer_info",
            text("openid", max_len=OPENID),
            text("sub_openid", max_len=OPENID),
            IDENTITY,
            req=payer,
        ),
        scene,
        array("sub_orders", _sub_order(sub_mchid=sub_mchid), req=True, min_items=1, max_items=MAX_SUB_ORDERS),
        text("time_start", max_len=64, fmt="rfc3339"),
        text("time_expire", max_len=64, fmt="rfc3339"),
        text("notify_url", req=True, max_len=URL, fmt="url"),
        array("limit_pay", text("limit_pay", enum=("no_balance", "no_debit", "balance_only"))),
        SUBSIDY,
    )


COMBINED_SCENE = obj("scene_info", text("device_id", max_len=ID), text("payer_client_ip", req=True, max_len=IP))
COMBINED_H5_SCENE = obj(
    "scene_info",
    text("device_id", req=True, max_len=ID),
    text("payer_client_ip", req=True, max_len=IP),
    obj(
        "h5_info",
        text("type", req=True, max_len=ID),
        text("app_name", max_len=64),
        text("app_url", max_len=URL),
        text("bundle_id", max_len=URL),
        text("package_name", max_len=URL),
        req=True,
    ),
    req=True,
)
COMBINED_ORDERS: dict[str, Specs] = {
    "jsapi": _combined(sub_mchid=True, payer=True, scene=COMBINED_SCENE),
    "miniprogram": _combined(sub_mchid=True, payer=True, scene=COMBINED_SCENE),
    "app": _combined(sub_mchid=False, payer=False, scene=COMBINED_SCENE),
    "h5": _combined(sub_mchid=True, payer=False, scene=COMBINED_H5_SCENE),
    "native": _combined(sub_mchid=True, payer=False, scene=COMBINED_SCENE),
}
COMBINED_CLOSE = (
    text("combine_appid", req=True, max_len=ID),
    array(
        "sub_orders",
        obj(
            "sub_orders",
            text("mchid", req=True, max_len=ID),
            text("out_trade_no", req=True, max_len=ID, fmt="order_no"),
            text("sub_mchid", max_len=ID),
            text("sub_appid", max_len=ID),
        ),
        req=True,
        min_items=1,
        max_items=MAX_SUB_ORDERS,
    ),
)

# -- refunds: v3/refund/domestic/refunds -------------------------------------------------------

REFUND_REQUEST = (
    text("sub_mchid", max_len=ID, fmt="digits"),
    text("transaction_id", max_len=ID, fmt="digits"),
    text("out_trade_no", max_len=ID, fmt="order_no"),
    text("out_refund_no", req=True, max_len=64, fmt="refund_no"),
    text("reason", max_len=80),
    text("notify_url", max_len=URL, fmt="url"),
    text("funds_account", enum=("AVAILABLE",)),
    obj(
        "amount",
        integer("refund", req=True, minimum=1),
        array(
            "from",
            obj(
                "from",
                text("account", req=True, enum=("AVAILABLE", "UNAVAILABLE")),
                integer("amount", req=True, minimum=1),
            ),
        ),
        integer("total", req=True, minimum=1),
        text("currency", req=True, enum=CURRENCY),
        req=True,
    ),
    array(
        "goods_detail",
        obj(
            "goods_detail",
            text("merchant_goods_id", req=True, max_len=ID),
            text("wechatpay_goods_id", max_len=ID),
            text("goods_name", max_len=URL),
            integer("unit_price", req=True, minimum=0),
            integer("refund_amount", req=True, minimum=0),
            integer("refund_quantity", req=True, minimum=1),
        ),
    ),
)
ABNORMAL_REFUND = (
    text("out_refund_no", req=True, max_len=64, fmt="refund_no"),
    text("sub_mchid", max_len=ID, fmt="digits"),
    text("type", req=True, enum=("USER_BANK_CARD", "MERCHANT_BANK_CARD")),
    text("bank_type", enum=BANK_TYPES),
    text("bank_account", max_len=CIPHER, fmt="base64"),
    text("real_name", max_len=CIPHER, fmt="base64"),
)

# -- path and query -------------------------------------------------------------------------------

PATH: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        OUT_TRADE_NO,
        text("transaction_id", req=True, max_len=ID, fmt="digits"),
        text("combine_out_trade_no", req=True, max_len=ID, fmt="order_no"),
        text("combine_transaction_id", req=True, max_len=ID, fmt="digits"),
        text("out_refund_no", req=True, max_len=64, fmt="refund_no"),
        text("refund_id", req=True, max_len=ID, fmt="digits"),
    )
}
MCHID_QUERY = (text("mchid", req=True, max_len=ID),)
PARTNER_QUERY = (text("sp_mchid", req=True, max_len=ID), text("sub_mchid", req=True, max_len=ID, fmt="digits"))
REFUND_QUERY = (text("sub_mchid", max_len=ID, fmt="digits"),)

# -- the rules a field spec cannot say ----------------------------------------------------------


def check_shortest(body: Mapping[str, Any], name: str, shortest: int, *, label: str | None = None) -> None:
    """PARAM_ERROR (naming the field `label`, else `name`) when a string field is shorter than its minimum."""
    value = body.get(name)
    if isinstance(value, str) and len(value) < shortest:
        raise param_error(label or name, f"is shorter than {shortest} characters")


def check_one_of(body: Mapping[str, Any], where: str, *names: str) -> None:
    """PARAM_ERROR unless the object at `where` (or the body, for "") holds at least one of `names`."""
    holder = body.get(where, {}) if where else body
    if not any(holder.get(name) for name in names):
        prefix = f"{where}." if where else ""
        raise param_error(prefix + names[0], f"{' or '.join(prefix + n for n in names)} is required")


def check_future(body: Mapping[str, Any], name: str, now: float) -> float | None:
    """The RFC 3339 field `name` as Unix seconds, PARAM_ERROR when it is not after `now`; None when absent."""
    value = body.get(name)
    if value is None:
        return None
    moment = parse_rfc3339(value)
    assert moment is not None  # validated by its spec
    if moment.timestamp() <= now:
        raise param_error(name, "must be later than now")
    return moment.timestamp()


def check_signer(value: str, signer: str, name: str, location: str = "body") -> None:
    """PARAM_ERROR when a merchant id field is not the merchant that signed the request."""
    if value != signer:
        raise param_error(name, f"must be the mchid that signs the request ({signer}), not {value}", location)
