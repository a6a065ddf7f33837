"""Policy periods and deductions of insurance-sign contracts: renew, modify, list, schedule, apply.

Routes: POST .../renew (204), POST policy-periods/.../modify, GET policy_periods/... (the list),
POST and GET insurance-pay policy-periods/.../policy-period-id/{n}[/schedule], POST
insurance-pay/transactions/apply. Controls: a deduction finishes (`settle_deduction`), a plan's
frequency is set (`set_plan_frequency`).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from ...._controls import Control
from ...._http import Answer
from ...._replay import fingerprint
from ...._routing import Route
from ...._time import BEIJING
from ...._validation import Call, flag, integer, param_error, text
from .._common import DAY, Context, amount, date_of, invalid, not_found, rule_limit
from ._fields import APPLY, MODIFY, PAGE, PATH, RENEW, SCHEDULE
from ._records import (
    EFFECTIVE,
    EXPIRED,
    NO_SCHEDULED,
    PAID,
    PERIOD_GAP,
    RENEW_WINDOW,
    SCHEDULED,
    SIGNED,
    Contract,
    ContractBook,
    Period,
    Trade,
    ordered_periods,
    periods_from,
)

MAX_MODIFICATIONS = 3  # period-list modifications per contract lifetime

# Business hours (Beijing time) of the calls that have them; checked when enforce_hours=True.
HOURS = {
    "renew": (dt.time(8), dt.time(19)),
    "modify": (dt.time(8), dt.time(19)),
    "schedule": (dt.time(8), dt.time(19, 30)),
    "apply": (dt.time(8), dt.time(20)),
}

_SIGN = "v3/papay/insurance-sign"
_PAY_PERIOD = "v3/papay/insurance-pay/policy-periods/contract-id/{contract_id}/policy-period-id/{policy_period_id}"


class PeriodCalls:
    """The period and deduction endpoints and controls of insurance-sign, over the product's `ContractBook`."""

    def __init__(self, ctx: Context, book: ContractBook) -> None:
        self.ctx = ctx
        self.book = book

    def routes(self) -> list[Route]:
        """Renew, modify, the period list, schedule, the period query and apply."""
        route = partial(self.ctx.route, "insurance-sign", path=PATH)
        return [
            route(
                "POST",
                f"{_SIGN}/contracts/plan-id/{{plan_id}}/contract-id/{{contract_id}}/renew",
                self._renew,
                body=RENEW,
            ),
            route(
                "POST",
                f"{_SIGN}/policy-periods/plan-id/{{plan_id}}/contract-id/{{contract_id}}/modify",
                self._modify,
                body=MODIFY,
            ),
            route(
                "GET",
                f"{_SIGN}/policy_periods/plan-id/{{plan_id}}/out-contract-code/{{out_contract_code}}",
                self._list,
                query=PAGE,
            ),
            route("POST", _PAY_PERIOD + "/schedule", self._schedule, body=SCHEDULE),
            route("GET", _PAY_PERIOD, self._get),
            route("POST", "v3/papay/insurance-pay/transactions/apply", self._apply, body=APPLY),
        ]

    def controls(self) -> tuple[Control, ...]:
        """`insurance/settle-deduction` and `insurance/set-plan-frequency`."""
        return (
            Control(
                "POST",
                "insurance/settle-deduction",
                self.settle_deduction,
                (text("out_trade_no", req=True), flag("success")),
                doc="a deduction finishes: the period becomes PAID, or stays SCHEDULED (success=false)",
            ),
            Control(
                "POST",
                "insurance/set-plan-frequency",
                self.set_plan_frequency,
                (integer("plan_id", req=True), text("frequency", req=True, enum=tuple(RENEW_WINDOW))),
                doc="a plan's deduction frequency: MONTH, QUARTER or YEAR",
            ),
        )

    # -- controls ---------------------------------------------------------------------------------

    def settle_deduction(self, out_trade_no: str, *, success: bool = True) -> dict[str, Any]:
        """Finish an accepted deduction: the period becomes PAID, or stays SCHEDULED to retry."""
        self.ctx.tick()
        trade = self.book.trades.get(out_trade_no)
        if trade is None:
            raise not_found(f"no deduction {out_trade_no}", "ORDER_NOT_EXIST")
        if trade.state != "PENDING":
            raise invalid(f"deduction {out_trade_no} is {trade.state}")
        period = self.book.by_contract_id[trade.contract_id].periods[trade.policy_period_id]
        period.pending_trade = None
        trade.state = "SUCCESS" if success else "FAILED"
        if success:
            period.state, period.deduct_date = PAID, self.ctx.today()
            period.deduct_total = trade.answer["amount"]["total"]
        return period.pay_view()

    def set_plan_frequency(self, plan_id: int, frequency: str) -> None:
        """Declare a plan's deduction frequency (MONTH, QUARTER or YEAR; MONTH by default)."""
        if frequency not in RENEW_WINDOW:
            raise ValueError(f"frequency must be one of {sorted(RENEW_WINDOW)}")
        self.book.frequencies[plan_id] = frequency

    # -- the endpoints ---------------------------------------------------------------------------

    def _renew(self, call: Call) -> Answer:
        contract = self.book.by_id(call.path["contract_id"], call.path["plan_id"])
        self._check_call(contract, call.body, "renew")
        if not contract.renewable:
            raise invalid("contract was signed without can_auto_insure or can_auto_reinsure")
        last = contract.last_period()
        current = [p for p in contract.periods.values() if p.batch == contract.batch]
        if not any(p.state == PAID for p in current):
            raise invalid("no period of the current plan has been paid")
        if last.state == SCHEDULED:
            raise invalid(f"period {last.policy_period_id} is scheduled and still deductible")
        frequency = self.book.frequency(contract)
        low, high = RENEW_WINDOW[frequency]
        if not low <= (self.ctx.today() - last.estimated_date).days <= high:
            raise rule_limit(f"renew is accepted {low} to {high} days after the last period's estimated date")
        _check_renewal_periods(call.body["policy_periods"], last, PERIOD_GAP[frequency])
        contract.batch += 1
        contract.periods.update(periods_from(call.body["policy_periods"], contract.batch))
        contract.policy_end += contract.last_period().estimated_date - last.estimated_date
        contract.state = SIGNED
        self.book.notice(contract, "RENEW")
        return Answer(204, None)

    def _list(self, call: Call) -> Answer:
        contract = self.book.at(call.path["plan_id"], call.path["out_contract_code"])
        limit, offset = call.query.get("limit", 20), call.query.get("offset", 0)
        periods = [contract.periods[key] for key in sorted(contract.periods)]
        page = [p.list_view() for p in periods[offset : offset + limit]]
        return Answer(200, {"data": page, "limit": limit, "offset": offset, "total_count": len(periods)})

    def _modify(self, call: Call) -> Answer:
        contract = self.book.by_id(call.path["contract_id"], call.path["plan_id"])
        self._check_call(contract, call.body, "modify")
        today = self.ctx.today()
        if today in contract.modifications:
            raise rule_limit("a contract's periods can be modified once a day")
        if len(contract.modifications) >= MAX_MODIFICATIONS:
            raise rule_limit(f"a contract's periods can be modified {MAX_MODIFICATIONS} times")
        deadline = dt.datetime.combine(contract.last_period().estimated_date - DAY, dt.time(19), BEIJING)
        if self.ctx.now() >= deadline:
            raise rule_limit("modify is closed from 19:00 on the last period's schedule day")
        cancelled = None
        for period, total in _modifications(contract, call.body):
            if period.state == SCHEDULED:
                cancelled = period.policy_period_id
                self.book.drop_trade(period)
                period.unschedule()
            period.estimated_total = total
        contract.modifications.append(today)
        answer: dict[str, Any] = {"policy_periods": [contract.periods[k].plan_view() for k in sorted(contract.periods)]}
        if cancelled is not None:
            answer["cancel_scheduled_policy_period_id"] = cancelled
        return Answer(200, answer)

    def _get(self, call: Call) -> Answer:
        return Answer(200, self.book.period(call.path["contract_id"], call.path["policy_period_id"]).pay_view())

    def _schedule(self, call: Call) -> Answer:
        contract = self.book.by_id(call.path["contract_id"])
        period = self.book.period(contract.contract_id, call.path["policy_period_id"])
        self._check_call(contract, call.body, "schedule")
        if period.state != NO_SCHEDULED:
            raise invalid(f"period {period.policy_period_id} is {period.state}")
        today, day = self.ctx.today(), period.estimated_date
        if not day - DAY <= today <= day + 28 * DAY:
            raise rule_limit("a period can be scheduled from 1 day before to 28 days after its date")
        if call.body["scheduled_amount"]["total"] != period.estimated_total:
            raise invalid("scheduled_amount.total must equal the period's estimated amount")
        previous = [p for p in contract.periods.values() if p.state == SCHEDULED]
        if any(p.pending_trade for p in previous):
            raise invalid("a deduction of the scheduled period is still being processed")
        for stale in previous:  # scheduling a period voids the previous schedule
            stale.state = EXPIRED
        period.state, period.scheduled_total = SCHEDULED, period.estimated_total
        period.deduct_start, period.deduct_end = today + DAY, day + 29 * DAY
        return Answer(200, period.pay_view())

    def _apply(self, call: Call) -> Answer:
        request = call.body
        trade_no = request["out_trade_no"]
        print_ = fingerprint("apply", request)
        if self.book.claims.is_replay("out_trade_no", trade_no, print_):
            return Answer(200, self.book.trades[trade_no].answer)
        contract = self.book.by_id(request["contract_id"])
        period = self.book.period(contract.contract_id, request["policy_period_id"])
        self._check_call(contract, request, "apply")
        if period.state != SCHEDULED:
            raise invalid(f"period {period.policy_period_id} is {period.state}")
        if period.pending_trade is not None:
            raise invalid(f"deduction {period.pending_trade} of this period is in progress")
        assert period.deduct_start is not None and period.deduct_end is not None
        if not period.deduct_start <= self.ctx.today() <= period.deduct_end:
            raise rule_limit(f"deductions are accepted from {period.deduct_start} to {period.deduct_end}")
        if request["amount"]["total"] != period.scheduled_total:
            raise invalid("amount.total must equal the scheduled amount")
        self.book.claims.claim("out_trade_no", trade_no, print_)
        answer = {"out_trade_no": trade_no, "amount": amount(request["amount"]["total"])}
        self.book.trades[trade_no] = Trade(contract.contract_id, period.policy_period_id, answer)
        period.pending_trade = trade_no
        return Answer(200, answer)

    def _check_call(self, contract: Contract, body: dict[str, Any], action: str) -> None:
        """Checks shared by renew, modify, schedule and apply."""
        if body["appid"] != contract.request["appid"]:
            raise invalid("appid does not match the contract's appid")
        if self.ctx.enforce_hours:
            start, end = HOURS[action]
            if not start <= self.ctx.now().time() <= end:
                raise rule_limit(f"{action} is accepted from {start:%H:%M} to {end:%H:%M}")
        if contract.state not in EFFECTIVE:
            raise invalid(f"contract is {contract.state}; {action} needs {' or '.join(EFFECTIVE)}")


def _check_renewal_periods(items: list[dict[str, Any]], last: Period, gap: tuple[int, int]) -> None:
    previous = last.estimated_date
    for index, day in ordered_periods(items):
        item = items[index]
        where = f"policy_periods[{index}]"
        if item["policy_period_id"] <= last.policy_period_id:
            raise param_error(f"{where}.policy_period_id", f"must be above {last.policy_period_id}")
        if not gap[0] <= (day - previous).days <= gap[1]:
            raise param_error(
                f"{where}.estimated_deduct_date", f"must follow the previous period by {gap[0]} to {gap[1]} days"
            )
        if abs(item["estimated_deduct_amount"]["total"] - last.estimated_total) * 2 > last.estimated_total:
            raise param_error(
                f"{where}.estimated_deduct_amount.total", "may differ by at most 50% from the last period's amount"
            )
        previous = day


def _modifications(contract: Contract, body: dict[str, Any]) -> list[tuple[Period, int]]:
    """Check a modify request; return the periods whose amount changes, with the new one."""
    changes: list[tuple[Period, int]] = []
    for index, item in enumerate(body["policy_periods"]):
        where = f"policy_periods[{index}]"
        period = contract.periods.get(item["policy_period_id"])
        if period is None:
            raise param_error(f"{where}.policy_period_id", "is not a period of the contract")
        if date_of(item["estimated_deduct_date"]) != period.estimated_date:
            raise param_error(f"{where}.estimated_deduct_date", "must equal the current one")
        total = item["estimated_deduct_amount"]["total"]
        if total == period.estimated_total:
            continue
        if period.state not in (NO_SCHEDULED, SCHEDULED):
            raise invalid(f"period {period.policy_period_id} is {period.state}")
        if total > period.estimated_total:
            raise param_error(f"{where}.estimated_deduct_amount.total", "may only decrease")
        if period.state == SCHEDULED and not body.get("allow_cancel_scheduled"):
            raise invalid(f"period {period.policy_period_id} is scheduled; set allow_cancel_scheduled")
        changes.append((period, total))
    if not changes:
        raise param_error("policy_periods", "changes no amount")
    if len({total for _, total in changes}) > 1:
        raise param_error("policy_periods", "may set only one new amount per request")
    return changes
