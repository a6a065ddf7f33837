"""Overnight power-bank insurance (v3/hire-power-bank): orders the insurer confirms, and who may order.

A new order is RECEIVING until the insurer confirms it (`insurer_confirm`: RECEIVED and the
RECEIVE_INSURANCE notice). A user holding an order still RECEIVING or covered is not qualified.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from ..._controls import Control
from ..._http import Answer
from ..._replay import Claims, fingerprint
from ..._routing import Route
from ..._time import rfc3339
from ..._validation import Call, flag, integer, number, text
from ._common import ID, OPENID, URL, Context, invalid, not_found, rule_limit

RECEIVE_INSURANCE = "HIRE_POWER_BANK.RECEIVE_INSURANCE"
ORDER = (
    text("out_order_no", req=True, max_len=ID, fmt="order_no"),
    text("openid", req=True, max_len=OPENID),
    text("notify_url", max_len=URL, fmt="url"),
    text("service_id", req=True, max_len=ID),
)
PATH = {
    spec.name: spec
    for spec in (text("out_order_no", req=True, max_len=ID, fmt="order_no"), text("openid", req=True, max_len=OPENID))
}
_ORDERS = "v3/hire-power-bank/insurance-orders"


@dataclass(slots=True)
class Order:
    """An overnight insurance order."""

    order_id: str
    request: dict[str, Any]
    receive_time: float
    state: str = "RECEIVING"  # RECEIVING | RECEIVED
    begin: float | None = None
    end: float | None = None
    max_claim_count: int = 1
    claimed_count: int = 0

    def view(self) -> dict[str, Any]:
        """The order object."""
        view: dict[str, Any] = {
            "order_id": self.order_id,
            "out_order_no": self.request["out_order_no"],
            "openid": self.request["openid"],
            "max_claim_count": self.max_claim_count,
            "claimed_count": self.claimed_count,
            "order_receive_time": rfc3339(self.receive_time),
        }
        if self.begin is not None and self.end is not None:
            view["order_begin_time"] = rfc3339(self.begin)
            view["order_end_time"] = rfc3339(self.end)
        view["order_receive_state"] = self.state
        return view


class PowerBankInsurance:
    """The hire-power-bank product: orders, qualifications, and the insurer's confirmation."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.claims = Claims()
        self.orders: dict[str, Order] = {}  # by out_order_no
        self.qualified: dict[str, bool] = {}  # forced qualifications, by openid

    def routes(self) -> list[Route]:
        """Create and query orders; query a user's qualification."""
        route = partial(self.ctx.route, "hire-power-bank", path=PATH)
        return [
            route("POST", _ORDERS, self._create, body=ORDER),
            route("GET", _ORDERS + "/{out_order_no}", self._get),
            route("GET", "v3/hire-power-bank/user-qualifications/{openid}", self._qualification),
        ]

    def controls(self) -> tuple[Control, ...]:
        """`insurance/insurer-confirm` and `insurance/set-user-qualified`."""
        return (
            Control(
                "POST",
                "insurance/insurer-confirm",
                self.insurer_confirm,
                (text("out_order_no", req=True), integer("max_claim_count"), number("begin"), number("end")),
                doc="the insurer confirms an order: RECEIVED + RECEIVE_INSURANCE notice (begin/end: Unix times)",
            ),
            Control(
                "POST",
                "insurance/set-user-qualified",
                self.set_user_qualified,
                (text("openid", req=True), flag("qualified")),
                doc="force a user's qualification; qualified null or absent: back to the computed one",
            ),
        )

    def insurer_confirm(
        self,
        out_order_no: str,
        *,
        max_claim_count: int | None = None,
        begin: float | None = None,
        end: float | None = None,
    ) -> dict[str, Any]:
        """The insurer confirms a power-bank insurance order: RECEIVED + RECEIVE_INSURANCE."""
        self.ctx.tick()
        order = self._known(out_order_no)
        if order.state != "RECEIVING":
            raise invalid(f"order is {order.state}")
        order.state = "RECEIVED"
        order.begin = self.ctx.clock() if begin is None else begin
        order.end = order.begin + 86_400 if end is None else end
        if max_claim_count is not None:
            order.max_claim_count = max_claim_count
        resource = order.view()
        url = order.request.get("notify_url")
        self.ctx.emit(url, RECEIVE_INSURANCE, "隔夜归还保险订单状态变化", "hire_power_bank", resource)
        return resource

    def set_user_qualified(self, openid: str, qualified: bool | None = None) -> None:
        """Force a user's power-bank insurance qualification (None: back to the computed one)."""
        if qualified is None:
            self.qualified.pop(openid, None)
        else:
            self.qualified[openid] = qualified

    def is_qualified(self, openid: str) -> bool:
        """Whether the user may order: no order RECEIVING or still covering them, unless forced."""
        forced = self.qualified.get(openid)
        if forced is not None:
            return forced
        now = self.ctx.clock()
        return not any(
            order.request["openid"] == openid and (order.state == "RECEIVING" or (order.end or 0.0) > now)
            for order in self.orders.values()
        )

    def _create(self, call: Call) -> Answer:
        request = call.body
        order_no = request["out_order_no"]
        if self.claims.is_replay("out_order_no", order_no, fingerprint(request)):
            return Answer(200, self.orders[order_no].view())
        if not self.is_qualified(request["openid"]):
            raise rule_limit("the user is not qualified for an overnight insurance order")
        self.claims.claim("out_order_no", order_no, fingerprint(request))
        order = Order(self.ctx.ids.next(10**19), request, self.ctx.clock())
        self.orders[order_no] = order
        return Answer(200, order.view())

    def _get(self, call: Call) -> Answer:
        return Answer(200, self._known(call.path["out_order_no"]).view())

    def _qualification(self, call: Call) -> Answer:
        return Answer(200, {"qualified_user": self.is_qualified(call.path["openid"])})

    def _known(self, out_order_no: str) -> Order:
        order = self.orders.get(out_order_no)
        if order is None:
            raise not_found(f"order {out_order_no} does not exist", "ORDER_NOT_EXIST")
        return order
