"""The rows a trade bill lists for a day: that day's emulated payments and refunds, in WeChat Pay's columns.

A paid order is a row on the day it was paid (trade state SUCCESS); a refund is a row on the day
it was applied for (trade state REFUND, with the refund's columns and its current status), so a
refund applied on a later day lists on that day. Rows are in time order. The fee is 0.60 % of
each amount, rounded to the cent, and a refund returns the fee of the amount it refunds.
`bill_type` ALL lists both kinds, SUCCESS the payments, REFUND the refunds; the kinds of bill
about recharge coupons and special orders list none, as the emulator has none.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..._time import beijing
from ..bills import Rows, csv_line, fee_of, yuan
from ._ledger import PAID, Order
from .refunds import Refund

RATE = "0.60%"
PAYMENTS = ("ALL", "SUCCESS")
REFUNDS = ("ALL", "REFUND")


def trade_rows(
    orders: Iterable[Order], refunds: Iterable[Refund], date: str, bill_type: str, sub_mchid: str | None
) -> Rows:
    """The rows of `date` (Beijing, YYYY-MM-DD) for a trade bill of `bill_type`, of one sub-merchant if given."""
    lines: list[tuple[float, bytes]] = []
    settled = refunded = fee = ordered = applied = 0
    mine = [o for o in orders if sub_mchid in (None, o.owner[1])]
    if bill_type in PAYMENTS:
        for order in mine:
            if order.state in PAID and order.success_time is not None and _day(order.success_time) == date:
                lines.append((order.success_time, _payment(order)))
                settled += order.total
                ordered += order.total
                fee += fee_of(order.total)
    if bill_type in REFUNDS:
        for refund in refunds:
            if refund.order in mine and _day(refund.created) == date:
                lines.append((refund.created, _refund(refund)))
                refunded += refund.amount
                applied += refund.amount
                fee -= fee_of(refund.amount)
    lines.sort(key=lambda pair: pair[0])
    return Rows(tuple(line for _, line in lines), settled, refunded, fee, ordered, applied)


def _day(timestamp: float) -> str:
    return beijing(timestamp).date().isoformat()


def _columns(order: Order, when: float, state: str) -> list[str]:
    """交易时间 … 代金券金额: the order's columns every row starts with."""
    request = order.request
    parent = order.parent.request if order.parent is not None else {}
    appid = request.get("appid") or request.get("sp_appid") or parent.get("combine_appid", "")
    payer = order.payer or (order.parent.payer if order.parent is not None else {})
    return [
        f"{beijing(when):%Y-%m-%d %H:%M:%S}",
        appid,
        order.mchid,
        order.owner[1] or "0",
        request.get("scene_info", parent.get("scene_info", {})).get("device_id", ""),
        order.transaction_id or "",
        order.out_trade_no,
        next(iter(payer.values()), ""),
        order.trade_type,
        state,
        order.bank_type or "",
        "CNY",
    ]


def _payment(order: Order) -> bytes:
    assert order.success_time is not None  # only paid orders are listed
    total = yuan(order.total)
    return csv_line(
        *_columns(order, order.success_time, "SUCCESS"),
        total,  # 应结订单总金额
        "0.00",  # 代金券金额
        "0",  # 微信退款单号
        "0",  # 商户退款单号
        "0.00",  # 退款金额
        "0.00",  # 充值券退款金额
        "",  # 退款类型
        "",  # 退款状态
        order.request["description"],
        order.request.get("attach", ""),
        yuan(fee_of(order.total)),
        RATE,
        total,  # 订单金额
        "0.00",  # 申请退款金额
        "",  # 费率备注
    ).encode()


def _refund(refund: Refund) -> bytes:
    order = refund.order
    amount = yuan(refund.amount)
    return csv_line(
        *_columns(order, refund.created, "REFUND"),
        "0.00",  # 应结订单总金额: the payment's own row has it
        "0.00",  # 代金券金额
        refund.refund_id,
        refund.out_refund_no,
        amount,  # 退款金额
        "0.00",  # 充值券退款金额
        "ORIGINAL",  # 退款类型: back the way it was paid
        refund.status,
        order.request["description"],
        order.request.get("attach", ""),
        yuan(-fee_of(refund.amount)),
        RATE,
        "0.00",  # 订单金额
        amount,  # 申请退款金额
        "",
    ).encode()
