"""Request field tables of papay insurance-sign and insurance-pay (Part 2 of the reference)."""

from __future__ import annotations

import dataclasses

from ...._validation import FieldSpec, Specs, array, flag, integer, obj, text
from .._common import AMOUNT_FIELDS, APPID, CIPHER, ID, OPENID, OUT_CONTRACT_CODE, TEXT, URL

PERIOD_ID = integer("policy_period_id", req=True, minimum=1, maximum=840)
PERIOD = obj(
    "period",
    PERIOD_ID,
    text("estimated_deduct_date", req=True, fmt="date"),
    obj("estimated_deduct_amount", *AMOUNT_FIELDS, req=True),
)
_COVERAGE = obj(
    "policy_coverage_detail",
    text("policy_amount", max_len=ID),
    array("policy_clauses", obj("clause", text("clause_name", max_len=TEXT), text("clause_quota", max_len=TEXT))),
)
_OUT_TRADE_NO = text("out_trade_no", max_len=ID, fmt="order_no")


def _pre_sign(*extra_period: FieldSpec, jump: bool = False) -> Specs:
    period = dataclasses.replace(PERIOD, fields=PERIOD.fields + extra_period)
    jump_control = (obj("jump_control", text("jump_appid", max_len=ID)),) if jump else ()
    return (
        APPID,
        text("openid", max_len=OPENID),
        integer("plan_id", req=True, minimum=1),
        OUT_CONTRACT_CODE,
        text("insured_display_name", req=True, max_len=TEXT),
        text("contract_notify_url", req=True, max_len=URL, fmt="url"),
        text("policy_start_date", req=True, fmt="date"),
        text("policy_end_date", req=True, fmt="date"),
        array("policy_periods", period, req=True, min_items=1, max_items=12),
        obj("amount", *AMOUNT_FIELDS),
        _OUT_TRADE_NO,
        text("description", max_len=127),
        text("transaction_notify_url", max_len=URL, fmt="url"),
        text("out_user_code", max_len=ID),
        text("goods_tag", max_len=ID),
        text("attach", max_len=TEXT),
        flag("can_auto_insure"),
        flag("can_auto_reinsure"),
        obj(
            "real_identity",
            text("real_name", req=True, max_len=CIPHER, fmt="base64"),
            text("id_card_number", req=True, max_len=CIPHER, fmt="base64"),
            text("identity_type", enum=("ID_CARD",)),
        ),
        *jump_control,
        integer("combined_deduct_period_count", minimum=1),
    )


# Each pre-entrust-sign channel's body.
PRE_SIGN = {
    "app": _pre_sign(),
    "h5": _pre_sign(_COVERAGE, jump=True),
    "jsapi": _pre_sign(_COVERAGE),
    "mini-program": _pre_sign(_COVERAGE),
}
TERMINATE = (text("contract_termination_remark", req=True, max_len=URL),)
RENEW = (APPID, array("policy_periods", PERIOD, req=True, min_items=1, max_items=12))
MODIFY = (APPID, array("policy_periods", PERIOD, req=True, min_items=1), flag("allow_cancel_scheduled"))
SCHEDULE = (APPID, obj("scheduled_amount", *AMOUNT_FIELDS, req=True))
APPLY = (
    APPID,
    dataclasses.replace(_OUT_TRADE_NO, required=True),
    text("description", req=True, max_len=127),
    text("transaction_notify_url", req=True, max_len=URL, fmt="url"),
    text("contract_id", req=True, max_len=ID),
    PERIOD_ID,
    obj("amount", *AMOUNT_FIELDS, req=True),
    text("goods_tag", max_len=ID),
    text("attach", max_len=TEXT),
)
PAGE = (integer("limit", minimum=1, maximum=100), integer("offset", minimum=0))
PATH = {
    spec.name: spec
    for spec in (
        integer("plan_id", req=True, minimum=1),
        OUT_CONTRACT_CODE,
        text("contract_id", req=True, max_len=ID),
        PERIOD_ID,
    )
}
