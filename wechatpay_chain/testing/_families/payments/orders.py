"""A direct merchant's orders: `v3/pay/transactions/{jsapi,app,h5,native}`, their queries and closing.

An order is NOTPAY until the user pays (`pay`, or `pay_with` the parameters a merchant built),
the payment fails (`fail`), the merchant closes it, or its `time_expire` passes. Its number is
single-use: the same request again answers the same prepay session while the order is unpaid,
other content is `403 OUT_TRADE_NO_USED`.
"""

from __future__ import annotations

from typing import Any

from ..._http import Answer
from ..._replay import fingerprint
from ..._validation import Call
from ._endpoints import OrderEndpoints
from ._ledger import TRADE_TYPES, Order, not_found, order_view
from ._specs import DIRECT_ORDERS, MCHID_QUERY, ORDER_NO_MIN, check_future, check_shortest, check_signer


class DirectOrders(OrderEndpoints[Order]):
    """The direct merchant's order endpoints, and what the user does to its orders (`pay`, `fail`)."""

    kind = "direct"
    base = "v3/pay/transactions"
    channels = DIRECT_ORDERS
    query = MCHID_QUERY
    close_body = MCHID_QUERY

    # -- the user -------------------------------------------------------------------------------

    def pay(self, out_trade_no: str, *, openid: str | None = None, bank_type: str = "OTHERS") -> dict[str, Any]:
        """The user pays the order: SUCCESS + TRANSACTION.SUCCESS; returns the order as queried."""
        return self.ledger.pay(self.known(out_trade_no), openid=openid, bank_type=bank_type)

    def fail(self, out_trade_no: str, *, bank_type: str = "OTHERS") -> dict[str, Any]:
        """The user's payment fails: PAYERROR (no notification); returns the order as queried."""
        return self.ledger.fail(self.known(out_trade_no), bank_type=bank_type)

    def known(self, out_trade_no: str) -> Order:
        """The merchant's order with this number; 404 ORDER_NOT_EXIST."""
        self.ledger.tick()
        order = self.ledger.orders.get(((self.ledger.mchid, ""), out_trade_no))
        if order is None or order.kind != self.kind:
            raise not_found(f"order {out_trade_no}")
        return order

    # -- answers ----------------------------------------------------------------------------------

    def view(self, order: Order) -> dict[str, Any]:
        """The order as the queries answer it (and as TRANSACTION.SUCCESS carries it)."""
        return order_view(order, {"appid": order.request["appid"], "mchid": order.mchid})

    # -- handlers ---------------------------------------------------------------------------------

    def _place(self, call: Call, *, channel: str) -> Answer:
        request = call.body
        check_signer(request["mchid"], self.ledger.mchid, "mchid")
        check_shortest(request, "out_trade_no", ORDER_NO_MIN)
        time_expire = check_future(request, "time_expire", self.ledger.clock())
        owner = (self.ledger.mchid, "")
        print_ = fingerprint(channel, request)
        order = self.ledger.replayed(self.ledger.orders.get((owner, request["out_trade_no"])), print_)
        if order is None:
            payer = request.get("payer", {})
            order = Order(
                kind=self.kind,
                owner=owner,
                out_trade_no=request["out_trade_no"],
                trade_type=TRADE_TYPES[channel],
                request=request,
                created=self.ledger.clock(),
                total=request["amount"]["total"],
                notify_url=request["notify_url"],
                time_expire=time_expire,
                payer={"openid": payer["openid"]} if "openid" in payer else {},
                fingerprint=print_,
            )
            self.ledger.add(order)
        return Answer(200, self.ledger.open_prepay(order, channel))

    def _by_id(self, call: Call) -> Answer:
        check_signer(call.query["mchid"], self.ledger.mchid, "mchid", "query")
        order = self.ledger.by_transaction_id.get(call.path["transaction_id"])
        if order is None or order.kind != self.kind:
            raise not_found(f"transaction {call.path['transaction_id']}")
        return Answer(200, self.view(order))

    def _by_number(self, call: Call) -> Answer:
        check_signer(call.query["mchid"], self.ledger.mchid, "mchid", "query")
        return Answer(200, self.view(self.known(call.path["out_trade_no"])))

    def _close(self, call: Call) -> Answer:
        check_signer(call.body["mchid"], self.ledger.mchid, "mchid")
        self.ledger.close(self.known(call.path["out_trade_no"]))
        return Answer(204)
