"""Combined payments: `v3/combine-transactions/…`, several sub-orders paid with one password.

The combined order holds up to 50 sub-orders; the user pays them at once (one prepay session,
one payer, one TRANSACTION.SUCCESS carrying the combined order), they fail or close together, and
each sub-order is then an order of its own merchant: it has a transaction id, and it is refunded
through `v3/refund/domestic/refunds` by its `out_trade_no` (and `sub_mchid`).
"""

from __future__ import annotations

from typing import Any

from ..._http import Answer, Refusal
from ..._replay import fingerprint
from ..._time import rfc3339
from ..._validation import Call, param_error
from ._endpoints import OrderEndpoints
from ._ledger import TRADE_TYPES, CombinedOrder, Order, not_found
from ._specs import (
    COMBINE_NO_MIN,
    COMBINED_CLOSE,
    COMBINED_ORDERS,
    ORDER_NO_MIN,
    check_future,
    check_one_of,
    check_shortest,
    check_signer,
)


class CombinedOrders(OrderEndpoints[CombinedOrder]):
    """The combined payment endpoints, and what the user does to those orders (`pay`, `fail`)."""

    kind = "combined"
    base = "v3/combine-transactions"
    channels = COMBINED_ORDERS
    close_body = COMBINED_CLOSE
    id_name = "combine_transaction_id"
    number_name = "combine_out_trade_no"

    # -- the user -------------------------------------------------------------------------------

    def pay(self, combine_out_trade_no: str, *, openid: str | None = None, bank_type: str = "OTHERS") -> dict[str, Any]:
        """The user pays every sub-order at once: SUCCESS + one TRANSACTION.SUCCESS with the combined order."""
        combined = self.known(combine_out_trade_no)
        return self.ledger.pay(combined, openid=openid, bank_type=bank_type)

    def fail(self, combine_out_trade_no: str, *, bank_type: str = "OTHERS") -> dict[str, Any]:
        """The payment fails: every sub-order PAYERROR, no notification."""
        return self.ledger.fail(self.known(combine_out_trade_no), bank_type=bank_type)

    def known(self, combine_out_trade_no: str) -> CombinedOrder:
        """The merchant's combined order with this number; 404 ORDER_NOT_EXIST."""
        self.ledger.tick()
        combined = self.ledger.combined.get(((self.ledger.mchid, ""), combine_out_trade_no))
        if combined is None:
            raise not_found(f"combined order {combine_out_trade_no}")
        return combined

    # -- answers ----------------------------------------------------------------------------------

    def view(self, combined: CombinedOrder) -> dict[str, Any]:
        """The combined order as its queries answer it (and as TRANSACTION.SUCCESS carries it)."""
        request = combined.request
        view: dict[str, Any] = {
            "combine_appid": request["combine_appid"],
            "combine_mchid": combined.owner[0],
            "combine_out_trade_no": combined.combine_out_trade_no,
            "combine_transaction_id": combined.combine_transaction_id,
        }
        if "openid" in combined.payer:
            view["combine_payer_info"] = {"openid": combined.payer["openid"]}
        if "device_id" in request.get("scene_info", {}):
            view["scene_info"] = {"device_id": request["scene_info"]["device_id"]}
        view["sub_orders"] = [_sub_order_view(order, combined) for order in combined.sub_orders]
        return view

    # -- handlers ---------------------------------------------------------------------------------

    def _place(self, call: Call, *, channel: str) -> Answer:
        request = call.body
        check_signer(request["combine_mchid"], self.ledger.mchid, "combine_mchid")
        check_shortest(request, "combine_out_trade_no", COMBINE_NO_MIN)
        if channel in ("jsapi", "miniprogram"):
            check_one_of(request, "combine_payer_info", "openid", "sub_openid")
        time_expire = check_future(request, "time_expire", self.ledger.clock())
        owner = (self.ledger.mchid, "")
        print_ = fingerprint(channel, request)
        existing = self.ledger.combined.get((owner, request["combine_out_trade_no"]))
        combined = self.ledger.replayed(existing, print_)
        if combined is None:
            combined = self._new(channel, request, owner, time_expire, print_)
        return Answer(200, self.ledger.open_prepay(combined, channel))

    def _new(
        self, channel: str, request: dict[str, Any], owner: tuple[str, str], expire: float | None, print_: bytes
    ) -> CombinedOrder:
        now = self.ledger.clock()
        payer = request.get("combine_payer_info", {})
        combined = CombinedOrder(
            owner=owner,
            combine_out_trade_no=request["combine_out_trade_no"],
            combine_transaction_id=self.ledger.new_id("4200", now, 10),
            trade_type=TRADE_TYPES[channel],
            request=request,
            created=now,
            notify_url=request["notify_url"],
            time_expire=expire,
            payer={name: payer[name] for name in ("openid", "sub_openid") if name in payer},
            fingerprint=print_,
        )
        seen: set[tuple[str, str, str]] = set()
        for index, entry in enumerate(request["sub_orders"]):
            name = f"sub_orders[{index}]"
            check_signer(entry["mchid"], self.ledger.mchid, f"{name}.mchid")
            check_shortest(entry, "out_trade_no", ORDER_NO_MIN, label=f"{name}.out_trade_no")
            sub_owner = (entry["mchid"], entry.get("sub_mchid", ""))
            key = (*sub_owner, entry["out_trade_no"])
            if key in seen:
                raise param_error(f"{name}.out_trade_no", "repeats another sub-order's number")
            seen.add(key)
            if self.ledger.number_taken(sub_owner, entry["out_trade_no"]):
                raise Refusal(403, "OUT_TRADE_NO_USED", f"商户订单号重复: {entry['out_trade_no']} is used already")
            combined.sub_orders.append(
                Order(
                    kind=self.kind,
                    owner=sub_owner,
                    out_trade_no=entry["out_trade_no"],
                    trade_type=combined.trade_type,
                    request=entry,
                    created=now,
                    total=entry["amount"]["total_amount"],
                    notify_url=None,  # the combined order is notified, not each sub-order
                    time_expire=expire,
                    payer={},
                    fingerprint=print_,
                    parent=combined,
                )
            )
        return self.ledger.add_combined(combined)

    def _by_id(self, call: Call) -> Answer:
        combined = self.ledger.by_combine_id.get(call.path["combine_transaction_id"])
        if combined is None or combined.owner[0] != self.ledger.mchid:
            raise not_found(f"combined transaction {call.path['combine_transaction_id']}")
        return Answer(200, self.view(combined))

    def _by_number(self, call: Call) -> Answer:
        return Answer(200, self.view(self.known(call.path["combine_out_trade_no"])))

    def _close(self, call: Call) -> Answer:
        combined = self.known(call.path["combine_out_trade_no"])
        if call.body["combine_appid"] != combined.request["combine_appid"]:
            raise Refusal(400, "INVALID_REQUEST", "combine_appid is not the combined order's")
        ours = {(o.mchid, o.out_trade_no) for o in combined.sub_orders}
        for index, entry in enumerate(call.body["sub_orders"]):
            if (entry["mchid"], entry["out_trade_no"]) not in ours:
                message = f"sub_orders[{index}] ({entry['out_trade_no']}) is not a sub-order of this combined order"
                raise Refusal(400, "INVALID_REQUEST", message)
        self.ledger.close(combined)
        return Answer(204)


def _sub_order_view(order: Order, combined: CombinedOrder) -> dict[str, Any]:
    request = order.request
    view: dict[str, Any] = {"mchid": order.mchid}
    if order.sub_mchid:
        view["sub_mchid"] = order.sub_mchid
    if "sub_appid" in request:
        view["sub_appid"] = request["sub_appid"]
    if "sub_openid" in combined.payer:
        view["sub_openid"] = combined.payer["sub_openid"]
    view["out_trade_no"] = order.out_trade_no
    if order.transaction_id:
        view["transaction_id"] = order.transaction_id
    view.update(trade_type=order.trade_type, trade_state=order.state)
    if order.bank_type:
        view["bank_type"] = order.bank_type
    view["attach"] = request["attach"]
    if order.success_time is not None:
        view["success_time"] = rfc3339(order.success_time)
    view["amount"] = {
        "total_amount": order.total,
        "payer_amount": order.paid_total,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    return view
