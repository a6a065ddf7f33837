"""What the emulated WeChat Pay knows of a merchant's orders, and how their states move.

An `Order` is a direct merchant's order, a service provider's order for a sub-merchant, or one
sub-order of a `CombinedOrder`; the `Ledger` keeps them by merchant number, by transaction id and
by prepay id, with what every kind shares: placing (and replaying) an order, paying, failing,
closing, and the time-driven closing of unpaid orders past `time_expire`.

    NOTPAY ── pay ──> SUCCESS ── a refund succeeds ──> REFUND
       │ └─── fail ─> PAYERROR ── close ─┐
       └── close, or time_expire passes ─┴─> CLOSED
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from ..._http import Answer, Incoming, Refusal
from ..._ids import Ids
from ..._notices import Notice, Notify
from ..._routing import Params, Route
from ..._time import beijing, rfc3339
from ..._validation import Call, FieldSpec, Specs, checked

NOTPAY, SUCCESS, REFUND, CLOSED, PAYERROR = "NOTPAY", "SUCCESS", "REFUND", "CLOSED", "PAYERROR"
PAID = (SUCCESS, REFUND)
STATE_DESC = {
    NOTPAY: "订单未支付",
    SUCCESS: "支付成功",
    REFUND: "转入退款",
    CLOSED: "订单已关闭",
    PAYERROR: "支付失败，请重新下单支付",
}
PREPAY_SECONDS = 2 * 3600  # a prepay_id is valid for two hours
TRANSACTION_SUCCESS = "TRANSACTION.SUCCESS"
PAID_SUMMARY = "支付成功"

# The documented channels: the endpoint's last segment, its trade_type, and what its answer holds.
TRADE_TYPES = {"jsapi": "JSAPI", "miniprogram": "JSAPI", "app": "APP", "h5": "MWEB", "native": "NATIVE"}

# The payer field a `pay` without an order-named payer fills, by kind of order.
PAYER_KEYS = {"partner": "sp_openid"}

Owner = tuple[str, str]
"""Whose order numbers these are: (mchid, sub_mchid or "")."""


@dataclass(slots=True)
class Prepay:
    """The payment session an order answer opens: its prepay_id, when it was issued, what was answered."""

    prepay_id: str
    issued: float
    answer: dict[str, str]


@dataclass(slots=True, eq=False)
class Order:
    """One order: a direct or partner order, or a sub-order of a combined payment."""

    kind: str  # direct | partner | combined
    owner: Owner
    out_trade_no: str
    trade_type: str
    request: dict[str, Any]  # the validated request (for a sub-order: its entry of sub_orders)
    created: float
    total: int
    notify_url: str | None
    time_expire: float | None
    payer: dict[str, str]  # openid (direct), sp_openid / sub_openid (partner), as known
    fingerprint: bytes = field(repr=False)
    state: str = NOTPAY
    prepay: Prepay | None = None
    transaction_id: str | None = None
    success_time: float | None = None
    bank_type: str | None = None
    reserved: int = 0  # refunded or being refunded: refunds not closed
    refund_count: int = 0
    parent: CombinedOrder | None = field(default=None, repr=False)

    @property
    def mchid(self) -> str:
        """The merchant (a partner order: the service provider) the order belongs to."""
        return self.owner[0]

    @property
    def sub_mchid(self) -> str | None:
        """The sub-merchant, for a partner order or a sub-order that names one."""
        return self.owner[1] or None

    @property
    def refundable(self) -> int:
        """Cents that may still be refunded: the total less every refund not closed."""
        return self.total - self.reserved

    @property
    def paid_total(self) -> int:
        """What the payer paid: the total once paid, else 0."""
        return self.total if self.state in PAID else 0


@dataclass(slots=True, eq=False)
class CombinedOrder:
    """A combined payment: one prepay, one payer, sub-orders that are paid or closed together."""

    owner: Owner  # (combine_mchid, "")
    combine_out_trade_no: str
    combine_transaction_id: str
    trade_type: str
    request: dict[str, Any]
    created: float
    notify_url: str
    time_expire: float | None
    payer: dict[str, str]
    fingerprint: bytes = field(repr=False)
    sub_orders: list[Order] = field(default_factory=list, repr=False)
    prepay: Prepay | None = None
    kind: str = "combined"

    @property
    def state(self) -> str:
        """The sub-orders' state before any refund (they move together until then)."""
        states = {order.state for order in self.sub_orders}
        return SUCCESS if states <= set(PAID) else states.pop()

    @property
    def out_trade_no(self) -> str:
        """The combined order's own number (for messages)."""
        return self.combine_out_trade_no


Payable = Union[Order, CombinedOrder]  # noqa: UP007
View = Callable[[Any], dict[str, Any]]


def orders_of(target: Payable) -> list[Order]:
    """The orders a payment settles: the order itself, or every sub-order."""
    return target.sub_orders if isinstance(target, CombinedOrder) else [target]


def not_found(what: str) -> Refusal:
    """404 ORDER_NOT_EXIST, as the order queries answer."""
    return Refusal(404, "ORDER_NOT_EXIST", f"订单不存在: {what} does not exist")


class Ledger:
    """Every order of the merchant, their indexes, and the moves that every kind of order shares."""

    def __init__(self, *, clock: Callable[[], float], notify: Notify, ids: Ids, mchid: str) -> None:
        self.clock = clock
        self.notify = notify
        self.ids = ids
        self.mchid = mchid  # the merchant that signs requests (a service provider: sp_mchid)
        self.orders: dict[tuple[Owner, str], Order] = {}
        self.combined: dict[tuple[Owner, str], CombinedOrder] = {}
        self.by_transaction_id: dict[str, Order] = {}
        self.by_combine_id: dict[str, CombinedOrder] = {}
        self.by_prepay_id: dict[str, Payable] = {}
        self.balances: dict[Owner, int] = {}  # funds available for refunds, where a test set them
        self.views: dict[str, View] = {}  # each kind's query answer (also its notification resource)
        self._due: list[Callable[[], None]] = []
        self.wake_at: Callable[[float], None] = lambda when: None  # asks to be ticked at `when`

    # -- time -------------------------------------------------------------------------------

    def on_tick(self, transitions: Callable[[], None]) -> None:
        """Have `tick` apply more time-driven transitions (refunds settling by themselves)."""
        self._due.append(transitions)

    def tick(self) -> None:
        """Close unpaid orders past their time_expire, then apply the other transitions due."""
        now = self.clock()
        for target in self._payables():
            if target.time_expire is not None and target.time_expire <= now and target.state == NOTPAY:
                for order in orders_of(target):
                    order.state = CLOSED
        for transitions in self._due:
            transitions()

    def _payables(self) -> Iterator[Payable]:
        yield from (order for order in self.orders.values() if order.parent is None)
        yield from self.combined.values()

    # -- routes -----------------------------------------------------------------------------

    def route(
        self,
        method: str,
        template: str,
        run: Callable[[Call], Answer],
        *,
        path: Mapping[str, FieldSpec],
        query: Specs = (),
        body: Specs | None = None,
    ) -> Route:
        """An endpoint whose requests first apply the transitions due, then are validated."""
        validated = checked(run, path=path, query=query, body=body)

        def handler(incoming: Incoming, params: Params) -> Answer:
            self.tick()
            return validated(incoming, params)

        return Route(method, template, handler)

    # -- placing orders -----------------------------------------------------------------------

    def replayed(self, existing: Payable | None, fingerprint: bytes) -> Payable | None:
        """The unpaid order an identical request placed before; refusals for another body or a settled order."""
        if existing is None:
            return None
        if existing.fingerprint != fingerprint:
            raise Refusal(
                403, "OUT_TRADE_NO_USED", f"商户订单号重复: {existing.out_trade_no} was placed with other content"
            )
        self.check_payable(existing)
        return existing

    def check_payable(self, target: Payable) -> None:
        """Refuse to pay (or place again) an order that is paid, closed or failed."""
        state = target.state
        if state in PAID:
            raise Refusal(400, "ORDERPAID", f"该订单已支付: {target.out_trade_no} is paid")
        if state == CLOSED:
            raise Refusal(400, "ORDER_CLOSED", f"订单已关闭: {target.out_trade_no} is closed")
        if state == PAYERROR:
            raise Refusal(400, "INVALID_REQUEST", f"{target.out_trade_no}: the payment failed; place a new order")

    def open_prepay(self, target: Payable, channel: str) -> dict[str, str]:
        """The create answer: the current prepay session's, or a new one once the old has expired."""
        now = self.clock()
        if target.prepay is None or now - target.prepay.issued >= PREPAY_SECONDS:
            prepay_id = "wx" + beijing(now).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)
            target.prepay = Prepay(prepay_id, now, _answer(channel, prepay_id))
            self.by_prepay_id[prepay_id] = target
        return target.prepay.answer

    def add(self, order: Order) -> Order:
        """Keep a new order under its number."""
        self.orders[order.owner, order.out_trade_no] = order
        return order

    def add_combined(self, combined: CombinedOrder) -> CombinedOrder:
        """Keep a new combined order, and each sub-order under its own number."""
        self.combined[combined.owner, combined.combine_out_trade_no] = combined
        self.by_combine_id[combined.combine_transaction_id] = combined
        for order in combined.sub_orders:
            self.add(order)
        return combined

    def number_taken(self, owner: Owner, out_trade_no: str) -> bool:
        """Whether an order (of any kind) already uses this number."""
        return (owner, out_trade_no) in self.orders

    # -- what the user and WeChat Pay do -------------------------------------------------------

    def pay(self, target: Payable, *, openid: str | None, bank_type: str) -> dict[str, Any]:
        """The user pays: SUCCESS, a transaction id, and TRANSACTION.SUCCESS to the notify_url.

        `openid` is the payer (a partner order: its `sp_openid`); an order placed for another
        payer refuses it, and one placed for nobody takes it (`o_<out_trade_no>` when None).
        """
        self.tick()
        self.check_payable(target)
        key = PAYER_KEYS.get(target.kind, "openid")
        named = target.payer.get(key) or next(iter(target.payer.values()), None)
        if openid is not None and named is not None and openid != named:
            raise Refusal(400, "OPENID_MISMATCH", f"the order was placed for {named}, not {openid}")
        if not target.payer:
            target.payer[key] = openid or f"o_{target.out_trade_no}"
        now = self.clock()
        for order in orders_of(target):
            self._settle(order, SUCCESS, bank_type, now)
            self.credit(order.owner, order.total)
        resource = self.views[target.kind](target)
        if target.notify_url:
            self.notify(Notice(target.notify_url, TRANSACTION_SUCCESS, PAID_SUMMARY, "transaction", resource))
        return resource

    def fail(self, target: Payable, *, bank_type: str) -> dict[str, Any]:
        """The payment fails (bank refused, limits): PAYERROR, and no notification."""
        self.tick()
        self.check_payable(target)
        now = self.clock()
        for order in orders_of(target):
            self._settle(order, PAYERROR, bank_type, now)
        return self.views[target.kind](target)

    def close(self, target: Payable) -> None:
        """The merchant closes an unpaid (or failed) order; closing a closed one changes nothing."""
        if target.state in PAID:
            raise Refusal(400, "ORDERPAID", f"该订单已支付: {target.out_trade_no} is paid and cannot be closed")
        for order in orders_of(target):
            order.state = CLOSED

    def _settle(self, order: Order, state: str, bank_type: str, now: float) -> None:
        order.state = state
        order.bank_type = bank_type
        order.transaction_id = self.new_id("4200", now, 10)
        self.by_transaction_id[order.transaction_id] = order
        if state == SUCCESS:
            order.success_time = now

    # -- funds --------------------------------------------------------------------------------

    def set_balance(self, owner: Owner, amount: int | None) -> None:
        """Track the funds available for refunds (None: no limit but each order's own)."""
        if amount is None:
            self.balances.pop(owner, None)
        else:
            self.balances[owner] = amount

    def credit(self, owner: Owner, amount: int) -> None:
        """Funds come in (a payment, a closed refund), where funds are tracked."""
        if owner in self.balances:
            self.balances[owner] += amount

    def debit(self, owner: Owner, amount: int) -> None:
        """Funds go out for a refund; 403 NOT_ENOUGH when the tracked balance is short."""
        if owner in self.balances:
            if self.balances[owner] < amount:
                raise Refusal(403, "NOT_ENOUGH", f"基本账户余额不足: {self.balances[owner]} available, {amount} asked")
            self.balances[owner] -= amount

    # -- ids --------------------------------------------------------------------------------

    def new_id(self, prefix: str, now: float, digits: int) -> str:
        """An id like WeChat Pay's: prefix, a unique number, the Beijing date, random digits."""
        return f"{prefix}{int(self.ids.next()):06d}{beijing(now):%Y%m%d}{secrets.randbelow(10**digits):0{digits}d}"

    def day_of(self, timestamp: float) -> dt.date:
        """The Beijing date of a Unix time."""
        return beijing(timestamp).date()


def _answer(channel: str, prepay_id: str) -> dict[str, str]:
    if channel == "h5":
        package = str(secrets.randbelow(10**10))
        return {
            "h5_url": f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}&package={package}"
        }
    if channel == "native":
        return {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(8)[:10]}"}
    return {"prepay_id": prepay_id}


def order_view(order: Order, merchant: dict[str, Any]) -> dict[str, Any]:
    """An order as its query answers it (and TRANSACTION.SUCCESS carries it): the merchant's ids, then the order."""
    request = order.request
    view = {**merchant, "out_trade_no": order.out_trade_no}
    if order.transaction_id:
        view["transaction_id"] = order.transaction_id
    view.update(trade_type=order.trade_type, trade_state=order.state, trade_state_desc=STATE_DESC[order.state])
    if order.bank_type:
        view["bank_type"] = order.bank_type
    if "attach" in request:
        view["attach"] = request["attach"]
    if order.success_time is not None:
        view["success_time"] = rfc3339(order.success_time)
    if order.payer:
        view["payer"] = dict(order.payer)
    view["amount"] = {"total": order.total, "payer_total": order.paid_total, "currency": "CNY", "payer_currency": "CNY"}
    view["description"] = request["description"]
    if "notify_url" in request:
        view["notify_url"] = request["notify_url"]
    if "time_expire" in request:
        view["time_expire"] = request["time_expire"]
    if "device_id" in request.get("scene_info", {}):
        view["scene_info"] = {"device_id": request["scene_info"]["device_id"]}
    return view
