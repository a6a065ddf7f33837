"""A service provider's orders for its sub-merchants: `v3/pay/partner/transactions/…`.

The same states and rules as a direct merchant's orders (`orders.py`); the order belongs to the
`sub_mchid`, whose order numbers are its own, and the service provider (`sp_mchid`) signs every
call. JSAPI and mini-program orders name their payer by `sp_openid` (under `sp_appid`) or
`sub_openid` (under `sub_appid`).
"""

from __future__ import annotations

from typing import Any

from ..._http import Answer
from ..._replay import fingerprint
from ..._validation import Call, param_error
from ._endpoints import OrderEndpoints
from ._ledger import TRADE_TYPES, Order, not_found, order_view
from ._specs import (
    ORDER_NO_MIN,
    PARTNER_ORDERS,
    PARTNER_QUERY,
    check_future,
    check_one_of,
    check_shortest,
    check_signer,
)


class PartnerOrders(OrderEndpoints[Order]):
    """The partner order endpoints, and what the user does to those orders (`pay`, `fail`)."""

    kind = "partner"
    base = "v3/pay/partner/transactions"
    channels = PARTNER_ORDERS
    query = PARTNER_QUERY
    close_body = PARTNER_QUERY

    # -- the user -------------------------------------------------------------------------------

    def pay(
        self, out_trade_no: str, *, sub_mchid: str | None = None, openid: str | None = None, bank_type: str = "OTHERS"
    ) -> dict[str, Any]:
        """The user pays a sub-merchant's order: SUCCESS + TRANSACTION.SUCCESS; `openid` is the `sp_openid`."""
        order = self.known(out_trade_no, sub_mchid)
        return self.ledger.pay(order, openid=openid, bank_type=bank_type)

    def fail(self, out_trade_no: str, *, sub_mchid: str | None = None, bank_type: str = "OTHERS") -> dict[str, Any]:
        """The user's payment of a sub-merchant's order fails: PAYERROR, no notification."""
        return self.ledger.fail(self.known(out_trade_no, sub_mchid), bank_type=bank_type)

    def known(self, out_trade_no: str, sub_mchid: str | None = None) -> Order:
        """The partner order with this number (of `sub_mchid`; needed only when two sub-merchants use it)."""
        self.ledger.tick()
        found = [
            order
            for (owner, number), order in self.ledger.orders.items()
            if number == out_trade_no and order.kind == self.kind and sub_mchid in (None, owner[1])
        ]
        if not found:
            raise not_found(f"order {out_trade_no}" + (f" of sub_mchid {sub_mchid}" if sub_mchid else ""))
        if len(found) > 1:
            raise ValueError(f"sub-merchants {', '.join(o.owner[1] for o in found)} use {out_trade_no}: give sub_mchid")
        return found[0]

    # -- answers ----------------------------------------------------------------------------------

    def view(self, order: Order) -> dict[str, Any]:
        """The order as the partner queries answer it (and as TRANSACTION.SUCCESS carries it)."""
        request = order.request
        merchant = {"sp_appid": request["sp_appid"], "sp_mchid": order.mchid}
        if "sub_appid" in request:
            merchant["sub_appid"] = request["sub_appid"]
        merchant["sub_mchid"] = order.owner[1]
        return order_view(order, merchant)

    # -- handlers ---------------------------------------------------------------------------------

    def _place(self, call: Call, *, channel: str) -> Answer:
        request = call.body
        check_signer(request["sp_mchid"], self.ledger.mchid, "sp_mchid")
        check_shortest(request, "out_trade_no", ORDER_NO_MIN)
        payer = request.get("payer", {})
        if channel in ("jsapi", "miniprogram"):
            check_one_of(request, "payer", "sp_openid", "sub_openid")
            if "sub_openid" in payer and "sub_appid" not in request:
                raise param_error("sub_appid", "is required with payer.sub_openid")
        time_expire = check_future(request, "time_expire", self.ledger.clock())
        owner = (self.ledger.mchid, request["sub_mchid"])
        print_ = fingerprint(channel, request)
        order = self.ledger.replayed(self.ledger.orders.get((owner, request["out_trade_no"])), print_)
        if order is None:
            order = Order(
                kind=self.kind,
                owner=owner,
                out_trade_no=request["out_trade_no"],
                trade_type=TRADE_TYPES[channel],
                request=request,
                created=self.ledger.clock(),
                total=request["amount"]["total"],
                notify_url=request.get("notify_url"),
                time_expire=time_expire,
                payer={name: payer[name] for name in ("sp_openid", "sub_openid") if name in payer},
                fingerprint=print_,
            )
            self.ledger.add(order)
        return Answer(200, self.ledger.open_prepay(order, channel))

    def _owned(self, call: Call, location: str) -> str:
        where = call.query if location == "query" else call.body
        check_signer(where["sp_mchid"], self.ledger.mchid, "sp_mchid", location)
        sub_mchid: str = where["sub_mchid"]
        return sub_mchid

    def _by_id(self, call: Call) -> Answer:
        sub_mchid = self._owned(call, "query")
        order = self.ledger.by_transaction_id.get(call.path["transaction_id"])
        if order is None or order.kind != self.kind or order.owner[1] != sub_mchid:
            raise not_found(f"transaction {call.path['transaction_id']} of sub_mchid {sub_mchid}")
        return Answer(200, self.view(order))

    def _by_number(self, call: Call) -> Answer:
        sub_mchid = self._owned(call, "query")
        return Answer(200, self.view(self.known(call.path["out_trade_no"], sub_mchid)))

    def _close(self, call: Call) -> Answer:
        sub_mchid = self._owned(call, "body")
        self.ledger.close(self.known(call.path["out_trade_no"], sub_mchid))
        return Answer(204)
