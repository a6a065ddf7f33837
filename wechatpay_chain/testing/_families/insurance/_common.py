"""What the four insurance products share: the merchant's options, the clock, ids, notices, the product gate.

Every insurance request passes the same gate, in this order: a withdrawn product answers 403
before anything else, then time-driven transitions of every product are applied (`tick`), then
path, query and body are validated, then `appid_hint` is checked, then the handler runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from ..._http import Answer, Incoming, Refusal
from ..._ids import Ids
from ..._notices import Notice, Notify
from ..._routing import Params, Route
from ..._time import BEIJING, beijing, parse_date, parse_rfc3339
from ..._validation import Call, FieldSpec, Specs, checked, integer, text

DAY = dt.timedelta(days=1)

# Products a merchant may lack, and the code WeChat Pay answers then.
PRODUCT_DENIED = {
    "insurance-sign": "NO_AUTH",
    "inspolicymgr": "NO_AUTH",
    "hire-power-bank": "NOAUTH",
    "insurance-compensation": "NO_AUTH",
}

# Field lengths where the reference gives none (EMULATOR.md lists which field takes which).
ID, OPENID, TEXT, URL, LONG, CIPHER = 32, 128, 128, 256, 1024, 2048
APPID = text("appid", req=True, max_len=ID)
AMOUNT_FIELDS = (integer("total", req=True, minimum=1), text("currency", enum=("CNY",)))
OUT_CONTRACT_CODE = text("out_contract_code", req=True, max_len=ID, fmt="alnum")


def invalid(message: str) -> Refusal:
    """400 INVALID_REQUEST: well-formed, but in conflict with the current state."""
    return Refusal(400, "INVALID_REQUEST", message)


def rule_limit(message: str) -> Refusal:
    """403 RULE_LIMIT: a quota, a date window or hours of day."""
    return Refusal(403, "RULE_LIMIT", message)


def not_found(message: str, code: str = "RESOURCE_NOT_EXISTS") -> Refusal:
    """404: an unknown resource."""
    return Refusal(404, code, message)


def amount(total: int) -> dict[str, Any]:
    """An amount object in cents."""
    return {"total": total, "currency": "CNY"}


def date_of(value: str) -> dt.date:
    """A date field already validated by its spec."""
    parsed = parse_date(value)
    assert parsed is not None  # validated by the field spec
    return parsed


def instant_of(value: str) -> dt.datetime:
    """An RFC 3339 field already validated by its spec."""
    parsed = parse_rfc3339(value)
    assert parsed is not None  # validated by the field spec
    return parsed


class Context:
    """The merchant's insurance options and what the products share, live (the emulator may change them)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        notify: Notify,
        mchid: str,
        ids: Ids,
        appid_hint: str | None = None,
        enforce_hours: bool = False,
        compensation_delay: float = 0.0,
    ) -> None:
        self.clock = clock
        self.notify = notify
        self.mchid = mchid
        self.ids = ids
        self.appid_hint = appid_hint
        self.enforce_hours = enforce_hours
        self.compensation_delay = compensation_delay
        self.withdrawn: set[str] = set()
        self._due: list[Callable[[], None]] = []  # each product's time transitions, in product order

    # -- time -------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """Business time in Beijing."""
        return beijing(self.clock())

    def today(self) -> dt.date:
        """Today in Beijing."""
        return self.now().date()

    def on_tick(self, transitions: Callable[[], None]) -> None:
        """Have `tick` apply a product's time-driven transitions."""
        self._due.append(transitions)

    def tick(self) -> None:
        """Apply every transition that time has made due (done before each request and control)."""
        for transitions in self._due:
            transitions()

    def end_of_day(self, day: dt.date) -> str:
        """23:59:59 of `day` in Beijing, RFC 3339."""
        return dt.datetime.combine(day, dt.time(23, 59, 59), BEIJING).isoformat()

    # -- notices and products -----------------------------------------------------------------

    def emit(self, url: str | None, event: str, summary: str, original: str, resource: dict[str, Any]) -> None:
        """Notify `resource` to `url` (nothing is sent when no URL is known)."""
        if url:
            self.notify(Notice(url, event, summary, original, resource))

    def set_product_enabled(self, product: str, enabled: bool) -> None:
        """Enable or withdraw one product; calls to a withdrawn one answer 403."""
        if product not in PRODUCT_DENIED:
            raise ValueError(f"product must be one of {sorted(PRODUCT_DENIED)}")
        if enabled:
            self.withdrawn.discard(product)
        else:
            self.withdrawn.add(product)

    def route(
        self,
        product: str,
        method: str,
        template: str,
        run: Callable[[Call], Answer],
        *,
        path: Mapping[str, FieldSpec],
        body: Specs | None = None,
        query: Specs = (),
    ) -> Route:
        """An endpoint of `product` behind the insurance gate (see the module's docstring)."""

        def hinted(call: Call) -> Answer:
            appid = call.body.get("appid")
            if self.appid_hint is not None and appid is not None and appid != self.appid_hint:
                raise Refusal(400, "APPID_MCHID_NOT_MATCH", f"appid {appid} is not bound to mchid {self.mchid}")
            return run(call)

        validated = checked(hinted, path=path, query=query, body=body)

        def gated(incoming: Incoming, params: Params) -> Answer:
            if product in self.withdrawn:
                raise Refusal(403, PRODUCT_DENIED[product], f"merchant has not enabled {product}")
            self.tick()
            return validated(incoming, params)

        return Route(method, template, gated)
