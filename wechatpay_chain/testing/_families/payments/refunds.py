"""Refunds: `v3/refund/domestic/refunds` (apply, query) and `…/{refund_id}/apply-abnormal-refund`.

A refund is PROCESSING until WeChat Pay settles it (`settle_refund`, or by itself `refund_delay`
seconds later on the emulated clock):

    PROCESSING ──> SUCCESS   the money is back with the payer; the order turns REFUND
               ├─> ABNORMAL  the payer's account cannot take it: apply-abnormal-refund sends it
               │             to a bank card, and the refund is PROCESSING again
               └─> CLOSED    the money stays with the merchant and may be refunded again

Each end is notified to the refund's notify_url: REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED.
An order is refunded at most 50 times, within a year of its payment, never beyond what it was
paid less the refunds not closed; `out_refund_no` is single-use like an order number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..._http import Answer, Incoming, Refusal
from ..._notices import Notice
from ..._replay import fingerprint
from ..._routing import Route
from ..._time import rfc3339
from ..._validation import Call, param_error
from ._ledger import PAID, REFUND, Ledger, Order, Owner
from ._specs import ABNORMAL_REFUND, PATH, REFUND_QUERY, REFUND_REQUEST, check_one_of

PROCESSING, SUCCESS, ABNORMAL, CLOSED = "PROCESSING", "SUCCESS", "ABNORMAL", "CLOSED"
ENDS = (SUCCESS, ABNORMAL, CLOSED)
SUMMARIES = {SUCCESS: "退款成功", ABNORMAL: "退款异常", CLOSED: "退款关闭"}
MAX_REFUNDS = 50  # per order
REFUND_WINDOW = 365 * 86_400  # an order can be refunded for a year after its payment
BALANCE_ACCOUNT = "支付用户零钱"  # the payer's WeChat balance, where refunds go unless diverted
MERCHANT_CARD = "商户银行卡"
_BASE = "v3/refund/domestic/refunds"

Decrypt = Callable[[str, str], str]
"""`decrypt(serial, ciphertext)`: a field the merchant encrypted for the key `serial` names; ValueError if it cannot."""


@dataclass(slots=True)
class Refund:
    """One refund of an order."""

    refund_id: str
    out_refund_no: str
    owner: Owner  # whose refund numbers these are: (mchid, sub_mchid or "")
    order: Order
    request: dict[str, Any]
    amount: int
    created: float
    fingerprint: bytes = field(repr=False)
    status: str = PROCESSING
    success_time: float | None = None
    settle_at: float | None = None  # when it settles by itself (SUCCESS), if it does
    received_account: str = BALANCE_ACCOUNT

    @property
    def notify_url(self) -> str | None:
        """Where its end is notified (no notification without one)."""
        url: str | None = self.request.get("notify_url")
        return url


class Refunds:
    """The refund endpoints, what WeChat Pay does to refunds (`settle_refund`), and their time transitions."""

    def __init__(self, ledger: Ledger, decrypt: Decrypt) -> None:
        self.ledger = ledger
        self.decrypt = decrypt
        self.refunds: dict[tuple[Owner, str], Refund] = {}
        self.refund_delay: float | None = None
        """Seconds (emulated clock) after which a PROCESSING refund succeeds by itself; None: only `settle_refund`."""
        ledger.on_tick(self._settle_due)

    def routes(self) -> list[Route]:
        """Apply, query, and apply for an abnormal refund."""
        route = partial(self.ledger.route, path=PATH)
        return [
            route("POST", _BASE, self._apply, body=REFUND_REQUEST),
            route("GET", _BASE + "/{out_refund_no}", self._query, query=REFUND_QUERY),
            route("POST", _BASE + "/{refund_id}/apply-abnormal-refund", self._abnormal, body=ABNORMAL_REFUND),
        ]

    def __iter__(self) -> Iterator[Refund]:
        return iter(self.refunds.values())

    # -- what WeChat Pay does -------------------------------------------------------------------

    def settle_refund(
        self, out_refund_no: str, status: str = SUCCESS, *, sub_mchid: str | None = None
    ) -> dict[str, Any]:
        """A PROCESSING refund ends: SUCCESS, ABNORMAL or CLOSED, notified; returns the refund as queried."""
        if status not in ENDS:
            raise ValueError(f"status must be one of {', '.join(ENDS)}, not {status!r}")
        self.ledger.tick()
        refund = self.known(out_refund_no, sub_mchid)
        if refund.status != PROCESSING:
            raise Refusal(400, "INVALID_REQUEST", f"refund {out_refund_no} is {refund.status}, not PROCESSING")
        self._end(refund, status)
        return self.view(refund)

    def known(self, out_refund_no: str, sub_mchid: str | None = None) -> Refund:
        """The refund with this number (of `sub_mchid`); 404 RESOURCE_NOT_EXISTS."""
        refund = self.refunds.get(((self.ledger.mchid, sub_mchid or ""), out_refund_no))
        if refund is None:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", f"退款单不存在: refund {out_refund_no} does not exist")
        return refund

    def next_due(self) -> float | None:
        """When the next refund settles by itself, if any does."""
        due = [r.settle_at for r in self.refunds.values() if r.status == PROCESSING and r.settle_at is not None]
        return min(due, default=None)

    # -- answers ----------------------------------------------------------------------------------

    def view(self, refund: Refund) -> dict[str, Any]:
        """The refund as apply and query answer it."""
        order = refund.order
        view: dict[str, Any] = {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": refund.received_account,
        }
        if refund.success_time is not None:
            view["success_time"] = rfc3339(refund.success_time)
        view.update(
            create_time=rfc3339(refund.created),
            status=refund.status,
            funds_account=refund.request.get("funds_account", "UNSETTLED"),
        )
        asked = refund.request["amount"]
        view["amount"] = {
            "total": order.total,
            "refund": refund.amount,
            **({"from": asked["from"]} if "from" in asked else {}),
            "payer_total": order.total,
            "payer_refund": refund.amount,
            "settlement_refund": refund.amount,
            "settlement_total": order.total,
            "discount_refund": 0,
            "currency": "CNY",
        }
        view["promotion_detail"] = []
        return view

    def notice(self, refund: Refund) -> dict[str, Any]:
        """The resource of the REFUND.* notification."""
        order = refund.order
        merchant = {"sp_mchid": order.mchid, "sub_mchid": order.owner[1]} if order.owner[1] else {"mchid": order.mchid}
        resource: dict[str, Any] = {
            **merchant,
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "refund_status": refund.status,
        }
        if refund.success_time is not None:
            resource["success_time"] = rfc3339(refund.success_time)
        resource["user_received_account"] = refund.received_account
        resource["amount"] = {
            "total": order.total,
            "refund": refund.amount,
            "payer_total": order.total,
            "payer_refund": refund.amount,
        }
        return resource

    # -- handlers ---------------------------------------------------------------------------------

    def _apply(self, call: Call) -> Answer:
        request = call.body
        owner = (self.ledger.mchid, request.get("sub_mchid", ""))
        print_ = fingerprint(request)
        existing = self.refunds.get((owner, request["out_refund_no"]))
        if existing is not None:
            if existing.fingerprint != print_:
                message = f"out_refund_no {request['out_refund_no']} was already used with different content"
                raise Refusal(400, "INVALID_REQUEST", message)
            return Answer(200, self.view(existing))
        check_one_of(request, "", "transaction_id", "out_trade_no")
        order = self._order_of(request, owner)
        amount = request["amount"]
        self._check_refundable(order, amount)
        self.ledger.debit(order.owner, amount["refund"])
        now = self.ledger.clock()
        refund = Refund(
            refund_id=self.ledger.new_id("50", now, 11),
            out_refund_no=request["out_refund_no"],
            owner=owner,
            order=order,
            request=request,
            amount=amount["refund"],
            created=now,
            fingerprint=print_,
        )
        order.reserved += refund.amount
        order.refund_count += 1
        self.refunds[owner, refund.out_refund_no] = refund
        self._schedule(refund)
        return Answer(200, self.view(refund))

    def _order_of(self, request: dict[str, Any], owner: Owner) -> Order:
        if "transaction_id" in request:
            order = self.ledger.by_transaction_id.get(request["transaction_id"])
            if order is not None and "out_trade_no" in request and request["out_trade_no"] != order.out_trade_no:
                raise Refusal(400, "INVALID_REQUEST", "transaction_id and out_trade_no name different orders")
        else:
            order = self.ledger.orders.get((owner, request["out_trade_no"]))
        if order is None or order.owner != owner:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "订单不存在: no such order of this merchant")
        return order

    def _check_refundable(self, order: Order, amount: dict[str, Any]) -> None:
        if order.state not in PAID:
            raise Refusal(400, "INVALID_REQUEST", f"order {order.out_trade_no} is {order.state}: nothing was paid")
        assert order.success_time is not None  # set when paid
        if self.ledger.clock() - order.success_time > REFUND_WINDOW:
            raise Refusal(400, "INVALID_REQUEST", "交易时间超过一年的订单无法提交退款: paid more than a year ago")
        if amount["total"] != order.total:
            raise Refusal(400, "INVALID_REQUEST", f"amount.total {amount['total']} is not the order's {order.total}")
        if "from" in amount and sum(part["amount"] for part in amount["from"]) != amount["refund"]:
            raise param_error("amount.from", "the amounts must add up to amount.refund")
        if amount["refund"] > order.refundable:
            message = f"申请退款金额超过订单可退金额: {amount['refund']} asked, {order.refundable} refundable"
            raise Refusal(400, "INVALID_REQUEST", message)
        if order.refund_count >= MAX_REFUNDS:
            raise Refusal(400, "INVALID_REQUEST", f"an order is refunded at most {MAX_REFUNDS} times")

    def _query(self, call: Call) -> Answer:
        return Answer(200, self.view(self.known(call.path["out_refund_no"], call.query.get("sub_mchid"))))

    def _abnormal(self, call: Call) -> Answer:
        request = call.body
        refund = self.known(request["out_refund_no"], request.get("sub_mchid"))
        if refund.refund_id != call.path["refund_id"]:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", f"退款单不存在: refund_id {call.path['refund_id']} is not its")
        if refund.status != ABNORMAL:
            raise Refusal(400, "INVALID_REQUEST", f"refund {refund.out_refund_no} is {refund.status}, not ABNORMAL")
        if request["type"] == "USER_BANK_CARD":
            account = self._card(request, call.incoming)
            refund.received_account = f"{request['bank_type']} ****{account[-4:]}"
        else:
            refund.received_account = MERCHANT_CARD
        refund.status = PROCESSING
        self._schedule(refund)
        return Answer(200, self.view(refund))

    def _card(self, request: dict[str, Any], incoming: Incoming) -> str:
        for name in ("bank_type", "bank_account", "real_name"):
            if name not in request:
                raise param_error(name, "is required when type is USER_BANK_CARD")
        serial = incoming.headers.get("Wechatpay-Serial")
        if not serial:
            raise param_error(
                "Wechatpay-Serial", "names the key bank_account and real_name are encrypted for", "header"
            )
        plain = {}
        for name in ("bank_account", "real_name"):
            try:
                plain[name] = self.decrypt(serial, request[name])
            except ValueError as exc:
                raise param_error(name, f"does not decrypt: {exc}") from None
        return plain["bank_account"]

    # -- time ---------------------------------------------------------------------------------------

    def _schedule(self, refund: Refund) -> None:
        if self.refund_delay is not None:
            refund.settle_at = self.ledger.clock() + self.refund_delay
            self.ledger.wake_at(refund.settle_at)

    def _settle_due(self) -> None:
        now = self.ledger.clock()
        for refund in list(self.refunds.values()):
            if refund.status == PROCESSING and refund.settle_at is not None and refund.settle_at <= now:
                self._end(refund, SUCCESS)

    def _end(self, refund: Refund, status: str) -> None:
        order = refund.order
        refund.status, refund.settle_at = status, None
        if status == SUCCESS:
            refund.success_time = self.ledger.clock()
            order.state = REFUND
        elif status == CLOSED:
            order.reserved -= refund.amount
            self.ledger.credit(order.owner, refund.amount)
        if refund.notify_url:
            notice = Notice(refund.notify_url, f"REFUND.{status}", SUMMARIES[status], "refund", self.notice(refund))
            self.ledger.notify(notice)
