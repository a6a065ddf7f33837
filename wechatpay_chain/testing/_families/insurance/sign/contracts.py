"""Insurance-sign contracts: pre-entrust-sign in four channels, query, merchant termination; the user's side.

Routes: POST pre-entrust-sign/{app,h5,jsapi,mini-program}, GET and POST .../terminate by
out_contract_code. Controls: the user signs (`user_sign`), WeChat Pay or the user terminates
(`wechat_terminate`), a pending termination settles (`settle_pending_termination`).
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from ...._controls import Control
from ...._http import Answer
from ...._replay import fingerprint
from ...._routing import Route
from ...._validation import Call, flag, param_error, text
from .._common import DAY, Context, date_of, invalid, not_found, rule_limit
from ._fields import PATH, PRE_SIGN, TERMINATE
from ._records import (
    EFFECTIVE,
    PAID,
    SIGN_APPID,
    SIGN_FAILED,
    SIGN_PATH,
    SIGNED,
    TERMINABLE,
    TERMINATE_PENDING,
    Contract,
    ContractBook,
    Session,
    ordered_periods,
    periods_from,
)

MAX_CONTRACTS_PER_USER = 10  # per WeChat user and plan_id
OUTSIDE_TERMINATIONS = ("USER_TERMINATE", "WEPAY_WEB_TERMINATE", "CUSTOMER_SERVICE_TERMINATE", "SYSTEM_TERMINATE")
_SIGN = "v3/papay/insurance-sign/contracts"
_BY_CODE = _SIGN + "/plan-id/{plan_id}/out-contract-code/{out_contract_code}"


class ContractCalls:
    """The contract endpoints and controls of insurance-sign, over the product's `ContractBook`."""

    def __init__(self, ctx: Context, book: ContractBook) -> None:
        self.ctx = ctx
        self.book = book

    def routes(self) -> list[Route]:
        """Pre-sign in each channel, the query and the merchant's termination."""
        route = partial(self.ctx.route, "insurance-sign", path=PATH)
        pre_signs = [
            route("POST", f"{_SIGN}/pre-entrust-sign/{channel}", partial(self._pre_sign, channel), body=specs)
            for channel, specs in PRE_SIGN.items()
        ]
        return [
            route("POST", _BY_CODE + "/terminate", self._terminate, body=TERMINATE),
            route("GET", _BY_CODE, self._get),
            *pre_signs,
        ]

    def controls(self) -> tuple[Control, ...]:
        """`insurance/user-sign`, `insurance/wechat-terminate`, `insurance/settle-pending-termination`."""
        code = text("out_contract_code", req=True)
        return (
            Control(
                "POST",
                "insurance/user-sign",
                self.user_sign,
                (code, text("openid"), flag("success")),
                doc="the user completes a pre-signed contract (success=false: SIGN_FAILED)",
            ),
            Control(
                "POST",
                "insurance/wechat-terminate",
                self.wechat_terminate,
                (code, text("mode", enum=OUTSIDE_TERMINATIONS), text("remark"), flag("pending")),
                doc="termination outside the merchant API; pending=true opens TERMINATE_PENDING",
            ),
            Control(
                "POST",
                "insurance/settle-pending-termination",
                self.settle_pending_termination,
                (code, flag("revoked")),
                doc="end TERMINATE_PENDING: terminated, or back to SIGNED when revoked",
            ),
        )

    # -- controls: the user and WeChat Pay -------------------------------------------------------

    def user_sign(self, out_contract_code: str, *, openid: str | None = None, success: bool = True) -> dict[str, Any]:
        """The user completes a pre-signed contract; success=False leaves it SIGN_FAILED."""
        self.ctx.tick()
        session = self.book.sessions.get(out_contract_code)
        if session is None:
            raise not_found(f"no pre-entrust-sign session for {out_contract_code}")
        if session.state != "OPEN":
            raise invalid(f"the signing session is {session.state}")
        request = session.request
        if openid is not None and request.get("openid", openid) != openid:
            raise invalid("the session was made for another openid")
        user = openid or request.get("openid") or f"o_{out_contract_code}"
        if success and self.book.active_contracts(user, request["plan_id"]) >= MAX_CONTRACTS_PER_USER:
            raise rule_limit(f"the user already has {MAX_CONTRACTS_PER_USER} contracts")
        contract = Contract(
            contract_id=self.ctx.ids.next(200000000000000000),
            request=request,
            openid=user,
            state=SIGNED if success else SIGN_FAILED,
            signed_time=self.ctx.clock() if success else None,
            policy_end=date_of(request["policy_end_date"]),
            periods=periods_from(request["policy_periods"], 0),
        )
        session.state = "SIGNED" if success else "FAILED"
        self.book.contracts[out_contract_code] = contract
        self.book.by_contract_id[contract.contract_id] = contract
        if success:  # a failure expires linked authorizations through tick()
            self._after_sign(contract)
        return self.book.view(contract)

    def _after_sign(self, contract: Contract) -> None:
        paid = contract.request.get("amount")
        if paid is not None:  # sign-and-pay: the first payment settles the first period
            first = contract.periods[min(contract.periods)]
            first.state, first.deduct_total, first.deduct_date = PAID, paid["total"], self.ctx.today()
        for told in self.book.signed:
            told(contract)
        self.book.notice(contract, "SIGN")

    def wechat_terminate(
        self, out_contract_code: str, *, mode: str = "USER_TERMINATE", remark: str | None = None, pending: bool = False
    ) -> dict[str, Any]:
        """Terminate a contract outside the merchant API; pending=True opens the revocable window."""
        if mode not in OUTSIDE_TERMINATIONS:
            raise ValueError(f"mode must be one of {OUTSIDE_TERMINATIONS}")
        self.ctx.tick()
        contract = self.book.known(out_contract_code)
        if contract.state not in (EFFECTIVE if pending else TERMINABLE):
            raise invalid(f"contract is {contract.state}")
        if pending:
            contract.state = TERMINATE_PENDING
            contract.pending_termination = (mode, remark)
        else:
            self.book.end(contract, mode, remark)
        return self.book.view(contract)

    def settle_pending_termination(self, out_contract_code: str, *, revoked: bool = False) -> dict[str, Any]:
        """End a TERMINATE_PENDING contract's window: terminated, or back to SIGNED if revoked."""
        self.ctx.tick()
        contract = self.book.known(out_contract_code)
        if contract.pending_termination is None or contract.state != TERMINATE_PENDING:
            raise invalid(f"contract is {contract.state}, not {TERMINATE_PENDING}")
        mode, remark = contract.pending_termination
        contract.pending_termination = None
        if revoked:
            contract.state = SIGNED
            self.book.age(contract, self.ctx.today())
        else:
            self.book.end(contract, mode, remark)
        return self.book.view(contract)

    # -- the endpoints ---------------------------------------------------------------------------

    def _pre_sign(self, channel: str, call: Call) -> Answer:
        request, claims = call.body, self.book.claims
        code = request["out_contract_code"]
        print_ = fingerprint(channel, request)
        if claims.is_replay("out_contract_code", code, print_):
            session = self.book.sessions.get(code)
            if session is not None and session.state == "OPEN":
                return Answer(200, session.answer)
            raise invalid(f"out_contract_code {code} has already been used")
        self._check_pre_sign(request)
        trade = request.get("out_trade_no")
        if trade is not None:
            claims.is_replay("out_trade_no", trade, print_)
            claims.claim("out_trade_no", trade, print_)
        claims.claim("out_contract_code", code, print_)
        answer = _pre_sign_answer(channel, f"pe{self.ctx.ids.next():0>27}")
        self.book.sessions[code] = Session(request, self.ctx.clock(), answer)
        return Answer(200, answer)

    def _check_pre_sign(self, request: dict[str, Any]) -> None:
        start, end = date_of(request["policy_start_date"]), date_of(request["policy_end_date"])
        if end < start:
            raise param_error("policy_end_date", "must not be before policy_start_date")
        if request.get("can_auto_insure") and request.get("can_auto_reinsure"):
            raise param_error("can_auto_reinsure", "cannot be true with can_auto_insure")
        paying = "amount" in request
        for name in ("out_trade_no", "description"):
            if paying and name not in request:
                raise param_error(name, "is required when amount is given (sign-and-pay)")
        if "out_trade_no" in request and not paying:
            raise param_error("amount", "is required when out_trade_no is given")
        today = self.ctx.today()
        for rank, (index, day) in enumerate(ordered_periods(request["policy_periods"])):
            where = f"policy_periods[{index}].estimated_deduct_date"
            if day < today + (DAY if rank or not paying else dt.timedelta()):
                raise param_error(where, "must be after the day of the request")
            if day > end:
                raise param_error(where, "must not be after policy_end_date")

    def _get(self, call: Call) -> Answer:
        contract = self.book.at(call.path["plan_id"], call.path["out_contract_code"])
        return Answer(200, self.book.view(contract))

    def _terminate(self, call: Call) -> Answer:
        contract = self.book.at(call.path["plan_id"], call.path["out_contract_code"])
        if contract.state not in TERMINABLE:
            raise invalid(f"contract is {contract.state}; only an effective one can be terminated")
        self.book.end(contract, "MCH_API_TERMINATE", call.body["contract_termination_remark"])
        return Answer(200, self.book.view(contract))


def _pre_sign_answer(channel: str, session_id: str) -> dict[str, Any]:
    if channel == "app":
        return {"pre_entrustweb_id": session_id}
    if channel == "mini-program":
        return {"pre_entrustweb_id": session_id, "redirect_appid": SIGN_APPID, "redirect_path": SIGN_PATH}
    url = f"https://payapp.weixin.qq.com/papay/insurance-sign/{channel}"
    return {"redirect_url": f"{url}?pre_entrustweb_id={session_id}"}
