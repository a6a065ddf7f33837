"""The records of papay insurance-sign: signing sessions, contracts, their policy periods and deductions.

`ContractBook` keeps them with what both sets of calls (contracts, periods) share: lookups,
time-driven transitions, termination and the contract notices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...._replay import Claims
from ...._time import rfc3339
from ...._validation import param_error
from .._common import DAY, Context, amount, date_of, not_found

SESSION_SECONDS = 600  # a pre-entrust-sign session lasts 10 minutes

# Contract states (`contract_state`).
SIGNED, TERMINATED, SIGN_FAILED = "SIGNED", "TERMINATED", "SIGN_FAILED"
TO_BE_RENEWED, TERMINATE_PENDING = "TO_BE_RENEWED", "TERMINATE_PENDING"
EFFECTIVE = (SIGNED, TO_BE_RENEWED)  # states in which periods can be scheduled and deducted
TERMINABLE = (SIGNED, TO_BE_RENEWED, TERMINATE_PENDING)

# Policy-period states (`policy_period_state`).
NO_SCHEDULED, SCHEDULED, PAID, EXPIRED = "NO_SCHEDULED", "SCHEDULED", "PAID", "EXPIRED"

# Renewal, by the plan's deduction frequency: days after the last period's estimated date
# in which `renew` is accepted, and the allowed gap in days between consecutive periods.
RENEW_WINDOW = {"MONTH": (0, 29), "QUARTER": (60, 89), "YEAR": (335, 364)}
PERIOD_GAP = {"MONTH": (28, 31), "QUARTER": (89, 92), "YEAR": (365, 366)}

# WeChat Pay's own sign-contract mini-program (the documented example values).
SIGN_APPID = "wxbd687630cd02ce1d"
SIGN_PATH = "pages/PwdExemptContract/index"

SUMMARIES = {
    "SIGN": "保险商户委托代扣签约成功",
    "RENEW": "保险商户委托代续期完成",
    "TERMINATE": "保险商户委托代扣解约完成",
}

# Response field lists, in documented order.
CONTRACT_FIELDS = (
    "mchid",
    "contract_id",
    "appid",
    "plan_id",
    "out_contract_code",
    "insured_display_name",
    "contract_state",
    "contract_signed_time",
    "contract_expired_time",
    "contract_terminate_info",
    "openid",
    "out_user_code",
    "revoke_terminate_contract_redirect_url",
    "revoke_terminate_contract_redirect_appid",
)
CONTRACT_NOTICE_FIELDS = CONTRACT_FIELDS[:11]  # webhooks: no out_user_code, no revoke_*


@dataclass(slots=True)
class Period:
    """One policy period of a contract, with its schedule and deduction."""

    policy_period_id: int
    estimated_date: dt.date
    estimated_total: int
    batch: int  # 0 for the signed plan, n for the n-th renewal
    state: str = NO_SCHEDULED
    scheduled_total: int | None = None
    deduct_start: dt.date | None = None
    deduct_end: dt.date | None = None
    deduct_total: int | None = None
    deduct_date: dt.date | None = None
    pending_trade: str | None = None

    def plan_view(self) -> dict[str, Any]:
        """The period as a contract's plan lists it."""
        return {
            "policy_period_id": self.policy_period_id,
            "estimated_deduct_date": self.estimated_date.isoformat(),
            "estimated_deduct_amount": amount(self.estimated_total),
        }

    def pay_view(self) -> dict[str, Any]:
        """The period as insurance-pay shows it: state, schedule, deduction."""
        view: dict[str, Any] = {"policy_period_id": self.policy_period_id, "policy_period_state": self.state}
        if self.deduct_start is not None and self.deduct_end is not None:
            view["deduct_start_date"] = self.deduct_start.isoformat()
            view["deduct_end_date"] = self.deduct_end.isoformat()
        if self.scheduled_total is not None:
            view["scheduled_amount"] = amount(self.scheduled_total)
        if self.deduct_total is not None and self.deduct_date is not None:
            view["deduct_amount"] = amount(self.deduct_total)
            view["deduct_date"] = self.deduct_date.isoformat()
        return view

    def list_view(self) -> dict[str, Any]:
        """The period as the period list shows it."""
        return {**self.plan_view(), **self.pay_view()}

    def unschedule(self) -> None:
        """Back to NO_SCHEDULED."""
        self.state = NO_SCHEDULED
        self.scheduled_total = self.deduct_start = self.deduct_end = None


def periods_from(items: list[dict[str, Any]], batch: int) -> dict[int, Period]:
    """Periods by id from a request's validated `policy_periods`."""
    return {
        item["policy_period_id"]: Period(
            item["policy_period_id"],
            date_of(item["estimated_deduct_date"]),
            item["estimated_deduct_amount"]["total"],
            batch,
        )
        for item in items
    }


def ordered_periods(items: list[dict[str, Any]]) -> list[tuple[int, dt.date]]:
    """(index in the request, date) by period id; ids unique and dates strictly increasing."""
    order = sorted(range(len(items)), key=lambda i: items[i]["policy_period_id"])
    result: list[tuple[int, dt.date]] = []
    for index in order:
        item, day = items[index], date_of(items[index]["estimated_deduct_date"])
        if result:
            before = items[result[-1][0]]
            if item["policy_period_id"] == before["policy_period_id"]:
                raise param_error(f"policy_periods[{index}].policy_period_id", "is repeated")
            if day <= result[-1][1]:
                raise param_error(
                    f"policy_periods[{index}].estimated_deduct_date",
                    "must be later than the date of the period with the next lower id",
                )
        result.append((index, day))
    return result


@dataclass(slots=True)
class Session:
    """A pre-entrust-sign session waiting for the user."""

    request: dict[str, Any]
    created: float
    answer: dict[str, Any]
    state: str = "OPEN"  # OPEN | SIGNED | FAILED | EXPIRED


@dataclass(slots=True)
class Contract:
    """A signed (or failed) contract: the pre-entrust-sign request and what became of it."""

    contract_id: str
    request: dict[str, Any]  # the pre-entrust-sign body
    openid: str
    state: str
    signed_time: float | None
    policy_end: dt.date
    periods: dict[int, Period]
    batch: int = 0
    terminate_info: dict[str, Any] | None = None
    pending_termination: tuple[str, str | None] | None = None  # mode, remark
    modifications: list[dt.date] = field(default_factory=list)

    @property
    def plan_id(self) -> int:
        """The plan the contract was signed under."""
        return int(self.request["plan_id"])

    @property
    def renewable(self) -> bool:
        """Signed with can_auto_insure or can_auto_reinsure."""
        return bool(self.request.get("can_auto_insure") or self.request.get("can_auto_reinsure"))

    def last_period(self) -> Period:
        """The period with the highest id."""
        return self.periods[max(self.periods)]


@dataclass(slots=True)
class Trade:
    """A deduction accepted by transactions/apply, settled by the `settle_deduction` control."""

    contract_id: str
    policy_period_id: int
    answer: dict[str, Any]
    state: str = "PENDING"  # PENDING | SUCCESS | FAILED


class ContractBook:
    """The records of the insurance-sign product and the rules both its call sets share."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.claims = Claims()  # out_contract_code, and out_trade_no shared by sign-and-pay and apply
        self.sessions: dict[str, Session] = {}  # by out_contract_code
        self.contracts: dict[str, Contract] = {}  # by out_contract_code
        self.by_contract_id: dict[str, Contract] = {}
        self.trades: dict[str, Trade] = {}  # by out_trade_no
        self.frequencies: dict[int, str] = {}  # by plan_id; MONTH when absent
        self.signed: list[Callable[[Contract], None]] = []  # told of each contract the user signs
        ctx.on_tick(self.tick)

    def tick(self) -> None:
        """Expire signing sessions; expire periods and open renewal windows."""
        now, today = self.ctx.clock(), self.ctx.today()
        for session in self.sessions.values():
            if session.state == "OPEN" and now > session.created + SESSION_SECONDS:
                session.state = "EXPIRED"
        for contract in self.contracts.values():
            self.age(contract, today)

    def frequency(self, contract: Contract) -> str:
        """The deduction frequency of the contract's plan."""
        return self.frequencies.get(contract.plan_id, "MONTH")

    def age(self, contract: Contract, today: dt.date) -> None:
        """Expire unpaid periods past their window; a renewable contract waits for renewal once it opens."""
        if contract.state not in EFFECTIVE:
            return
        for period in contract.periods.values():
            if period.state in (NO_SCHEDULED, SCHEDULED) and today > period.estimated_date + 29 * DAY:
                period.state = EXPIRED
                self.drop_trade(period)
        low = RENEW_WINDOW[self.frequency(contract)][0]
        since_last = (today - contract.last_period().estimated_date).days
        if contract.state == SIGNED and contract.renewable and since_last >= low:
            contract.state = TO_BE_RENEWED

    def end(self, contract: Contract, mode: str, remark: str | None) -> None:
        """Terminate: pending deductions fail, the TERMINATE notice goes out."""
        info: dict[str, Any] = {
            "contract_termination_mode": mode,
            "contract_terminated_time": rfc3339(self.ctx.clock()),
        }
        if remark is not None:
            info["contract_termination_remark"] = remark
        contract.state, contract.terminate_info = TERMINATED, info
        for period in contract.periods.values():
            self.drop_trade(period)
        self.notice(contract, "TERMINATE")

    def drop_trade(self, period: Period) -> None:
        """Fail the deduction pending on `period`, if any."""
        if period.pending_trade is not None:
            self.trades[period.pending_trade].state = "FAILED"
            period.pending_trade = None

    def notice(self, contract: Contract, kind: str) -> None:
        """The INSURANCE_ENTRUST.<kind> notice to the contract's notify URL."""
        resource = self.view(contract, CONTRACT_NOTICE_FIELDS)
        url = contract.request["contract_notify_url"]
        self.ctx.emit(url, f"INSURANCE_ENTRUST.{kind}", SUMMARIES[kind], "insurance_entrust", resource)

    def active_contracts(self, openid: str, plan_id: int) -> int:
        """How many effective or pending-termination contracts the user holds under the plan."""
        return sum(
            c.openid == openid and c.plan_id == plan_id and c.state in TERMINABLE for c in self.contracts.values()
        )

    # -- lookups: 404 when absent --------------------------------------------------------------

    def known(self, out_contract_code: str) -> Contract:
        """The contract signed for `out_contract_code`."""
        contract = self.contracts.get(out_contract_code)
        if contract is None:
            raise not_found(f"contract {out_contract_code} does not exist")
        return contract

    def at(self, plan_id: int, out_contract_code: str) -> Contract:
        """The contract of `out_contract_code` under `plan_id`."""
        contract = self.known(out_contract_code)
        if contract.plan_id != plan_id:
            raise not_found(f"contract {out_contract_code} does not exist under plan {plan_id}")
        return contract

    def by_id(self, contract_id: str, plan_id: int | None = None) -> Contract:
        """The contract of `contract_id` (under `plan_id` when given)."""
        contract = self.by_contract_id.get(contract_id)
        if contract is None or plan_id not in (None, contract.plan_id):
            raise not_found(f"contract_id {contract_id} does not exist")
        return contract

    def period(self, contract_id: str, policy_period_id: int) -> Period:
        """One period of the contract of `contract_id`."""
        period = self.by_id(contract_id).periods.get(policy_period_id)
        if period is None:
            raise not_found(f"policy period {policy_period_id} does not exist")
        return period

    # -- the contract as the API shows it ---------------------------------------------------------

    def view(self, contract: Contract, fields: tuple[str, ...] = CONTRACT_FIELDS) -> dict[str, Any]:
        """The contract object, with the fields the docs list for this state."""
        request = contract.request
        view: dict[str, Any] = {
            "mchid": self.ctx.mchid,
            "contract_id": contract.contract_id,
            "appid": request["appid"],
            "plan_id": request["plan_id"],
            "out_contract_code": request["out_contract_code"],
            "contract_state": contract.state,
            "contract_terminate_info": contract.terminate_info,
            "openid": contract.openid,
            "out_user_code": request.get("out_user_code"),
        }
        if contract.state != SIGN_FAILED:
            view["insured_display_name"] = request["insured_display_name"]
        if contract.signed_time is not None:
            view["contract_signed_time"] = rfc3339(contract.signed_time)
            view["contract_expired_time"] = self.ctx.end_of_day(contract.policy_end)
        if contract.state == TERMINATE_PENDING:
            view["revoke_terminate_contract_redirect_url"] = SIGN_PATH
            view["revoke_terminate_contract_redirect_appid"] = SIGN_APPID
        return {name: view[name] for name in fields if view.get(name) is not None}
