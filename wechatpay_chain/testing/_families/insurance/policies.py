"""The WeChat policy service (v3/inspolicymgr): the user's deduction authorizations and the insurer's policies.

An authorization is tied to an insurance-sign contract (plan_id + out_contract_code): it waits
for the contract to be signed, then for the user's grant (`user_grant`), and a policy can be
uploaded only under a granted one.
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
from ..._validation import Call, Specs, array, flag, integer, optional, param_error, text
from ._common import (
    APPID,
    CIPHER,
    ID,
    LONG,
    OPENID,
    OUT_CONTRACT_CODE,
    TEXT,
    URL,
    Context,
    instant_of,
    invalid,
    not_found,
)
from .sign._records import SIGN_FAILED, Contract, ContractBook

AUTH_INIT_SECONDS = 86_400  # an authorization never followed by a pre-sign ages out after a day
GRANTED = "INSURANCE_POLICY_MANAGEMENT.GRANTED"

# Authorization states (`auth_state`).
AUTH_INIT, AUTH_PENDING = "AUTH_STATE_INIT", "AUTH_STATE_PENDING"
AUTH_GRANTED, AUTH_DENIED, AUTH_EXPIRED = "AUTH_STATE_GRANTED", "AUTH_STATE_DENIED", "AUTH_STATE_EXPIRED"

# Policy states a PATCH may move to, by current state (DECLINED and INACTIVE are final).
POLICY_NEXT: dict[str, tuple[str, ...]] = {
    "POLICY_STATE_ISSUING": ("POLICY_STATE_ISSUING", "POLICY_STATE_APPROVED", "POLICY_STATE_DECLINED"),
    "POLICY_STATE_APPROVED": ("POLICY_STATE_APPROVED", "POLICY_STATE_INACTIVE"),
}

# -- field tables --------------------------------------------------------------------------------

AUTHORIZE = (
    text("out_insurance_no", req=True, max_len=ID),
    APPID,
    text("plan_id", req=True, max_len=ID, fmt="digits"),
    OUT_CONTRACT_CODE,
    text("insurance_name", req=True, max_len=TEXT),
    text("payee_mchid", max_len=ID, fmt="digits"),
    text("payee_appid", max_len=ID),
)


def _enum(prefix: str, *names: str) -> tuple[str, ...]:
    return tuple(prefix + name for name in names)


# Fields both POST (with these `required` flags) and PATCH (all optional) accept.
_POLICY_EDITABLE = (
    array("insured_name_list", text("name", max_len=CIPHER, fmt="base64"), req=True, min_items=1),
    text("insurance_name", max_len=TEXT),
    text("effective_time", req=True, fmt="rfc3339"),
    text("expired_time", req=True, fmt="rfc3339"),
    text("coverage_detail", req=True, max_len=LONG),
    flag("support_renewal", req=True),
    text("start_renewal_time", fmt="rfc3339"),
    text("end_renewal_time", fmt="rfc3339"),
    text(
        "policy_type",
        req=True,
        enum=_enum(
            "POLICY_TYPE_", "OTHER", "MEDICAL", "ACCIDENT", "CRITICAL", "CAR", "LIFE", "PROPERTY", "PET", "ANNUITY"
        ),
    ),
    text("car_number", max_len=ID),
    text("pet_name", max_len=TEXT),
    text("address", max_len=URL),
    text("policy_state", req=True, enum=_enum("POLICY_STATE_", "ISSUING", "APPROVED", "DECLINED", "INACTIVE")),
    text("policy_code", max_len=TEXT),
    text("plan_id", req=True, max_len=ID, fmt="digits"),
    OUT_CONTRACT_CODE,
    array("policy_periods", integer("id", minimum=1, maximum=840), req=True, min_items=1),
    flag("free_insurance", req=True),
    flag("combined_payment"),
    text("payment_method", enum=_enum("PAYMENT_METHOD_", "OTHER", "PERIOD", "LUMP_SUM")),
    text("period_premium_mode", enum=_enum("PERIOD_PREMIUM_MODE_", "EQUAL", "FIRST_DIFF", "MULTI_DIFF")),
    text(
        "payment_period",
        enum=_enum("PAYMENT_PERIOD_", "DAY", "WEEK", "BIWEEKLY", "MONTH", "QUARTER", "HALF_YEAR", "YEAR"),
    ),
    integer("first_period_amount", minimum=0),
    integer("subsequent_period_amount", minimum=0),
    text("coverage_term_type", enum=_enum("COVERAGE_TERM_TYPE_", "FIXED_DATE", "LIFETIME")),
)
POLICY_POST: Specs = (
    text("out_insurance_no", req=True, max_len=ID),
    text("insurance_company_code", req=True, max_len=ID),
    APPID,
    text("openid", req=True, max_len=OPENID),
    text("payee_mchid", max_len=ID, fmt="digits"),
    text("payee_appid", max_len=ID),
    text("payee_openid", max_len=OPENID),
    *_POLICY_EDITABLE,
)
POLICY_PATCH = tuple(optional(spec) for spec in _POLICY_EDITABLE)
PATH = {"out_insurance_no": text("out_insurance_no", req=True, max_len=ID)}

# Response field lists, in documented order.
AUTH_FIELDS = (
    "out_insurance_no",
    "appid",
    "plan_id",
    "out_contract_code",
    "insurance_name",
    "auth_state",
    "user_auth_time",
)
AUTH_NOTICE_FIELDS = ("out_insurance_no", "insurance_name", "auth_state", "user_auth_time")
POLICY_FIELDS = ("out_insurance_no", "insurance_company_code", *(spec.name for spec in _POLICY_EDITABLE))

_AUTHORIZATIONS = "v3/inspolicymgr/deduct/authorizations"
_POLICIES = "v3/inspolicymgr/deduct/policies"


@dataclass(slots=True)
class Authorization:
    """A user's authorization for policy deductions, as the merchant submitted it."""

    request: dict[str, Any]
    state: str
    submitted: float
    user_auth_time: float | None = None

    def links(self, contract: Contract) -> bool:
        """Whether the authorization is for `contract` (same plan and out_contract_code)."""
        request = self.request
        return (
            request["out_contract_code"] == contract.request["out_contract_code"]
            and int(request["plan_id"]) == contract.plan_id
        )

    def view(self, fields: tuple[str, ...] = AUTH_FIELDS) -> dict[str, Any]:
        """The authorization object."""
        view = {**self.request, "auth_state": self.state}
        if self.user_auth_time is not None:
            view["user_auth_time"] = rfc3339(self.user_auth_time)
        return {name: view[name] for name in fields if name in view}


class PolicyService:
    """The inspolicymgr product: authorizations, policies, and the user's grant."""

    def __init__(self, ctx: Context, contracts: ContractBook) -> None:
        self.ctx = ctx
        self._contracts = contracts
        self.claims = Claims()  # out_insurance_no, once for authorizations and once for policies
        self.authorizations: dict[str, Authorization] = {}  # by out_insurance_no
        self.policies: dict[str, dict[str, Any]] = {}  # by out_insurance_no
        contracts.signed.append(self._contract_signed)
        ctx.on_tick(self.tick)

    def routes(self) -> list[Route]:
        """The five inspolicymgr endpoints."""
        route = partial(self.ctx.route, "inspolicymgr", path=PATH)
        return [
            route("POST", _AUTHORIZATIONS, self._authorize, body=AUTHORIZE),
            route("GET", _AUTHORIZATIONS + "/{out_insurance_no}", self._get_authorization),
            route("POST", _POLICIES, self._upload_policy, body=POLICY_POST),
            route("GET", _POLICIES + "/{out_insurance_no}", self._get_policy),
            route("PATCH", _POLICIES + "/{out_insurance_no}", self._patch_policy, body=POLICY_PATCH),
        ]

    def controls(self) -> tuple[Control, ...]:
        """`insurance/user-grant` and `insurance/user-deny`."""
        number = text("out_insurance_no", req=True)
        return (
            Control(
                "POST",
                "insurance/user-grant",
                self.user_grant,
                (number, flag("granted")),
                doc="the user grants (GRANTED notice) or, with granted=false, denies an authorization",
            ),
            Control(
                "POST",
                "insurance/user-deny",
                self.user_grant,
                (number,),
                preset={"granted": False},
                doc="the user denies an authorization (user-grant with granted=false)",
            ),
        )

    def tick(self) -> None:
        """An authorization whose contract was never signed expires."""
        now = self.ctx.clock()
        for auth in self.authorizations.values():
            if auth.state == AUTH_INIT and self._lapsed(auth, now):
                auth.state = AUTH_EXPIRED

    def user_grant(self, out_insurance_no: str, *, granted: bool = True) -> dict[str, Any]:
        """The user grants (GRANTED webhook) or denies a pending policy authorization."""
        self.ctx.tick()
        auth = self._known_authorization(out_insurance_no)
        allowed = (AUTH_PENDING, AUTH_DENIED) if granted else (AUTH_PENDING,)
        if auth.state not in allowed:
            raise invalid(f"authorization is {auth.state}")
        if not granted:
            auth.state = AUTH_DENIED
            return auth.view()
        auth.state, auth.user_auth_time = AUTH_GRANTED, self.ctx.clock()
        # The authorization has no notify URL: the notice goes to its contract's.
        contract = self._contracts.contracts.get(auth.request["out_contract_code"])
        url = contract.request["contract_notify_url"] if contract is not None else None
        summary = "微信保单服务用户授权成功"
        self.ctx.emit(url, GRANTED, summary, "insurance_policy_management", auth.view(AUTH_NOTICE_FIELDS))
        return auth.view()

    def _contract_signed(self, contract: Contract) -> None:
        for auth in self.authorizations.values():
            if auth.state == AUTH_INIT and auth.links(contract):
                auth.state = AUTH_PENDING

    def _lapsed(self, auth: Authorization, now: float) -> bool:
        session = self._contracts.sessions.get(auth.request["out_contract_code"])
        if session is None or session.request["plan_id"] != int(auth.request["plan_id"]):
            return now > auth.submitted + AUTH_INIT_SECONDS
        return session.state in ("EXPIRED", "FAILED")

    # -- the endpoints ---------------------------------------------------------------------------

    def _authorize(self, call: Call) -> Answer:
        request = call.body
        number = request["out_insurance_no"]
        if self.claims.is_replay("out_insurance_no", number, fingerprint(request)):
            return Answer(200, self.authorizations[number].view())
        self.claims.claim("out_insurance_no", number, fingerprint(request))
        contract = self._contracts.contracts.get(request["out_contract_code"])
        state = AUTH_INIT
        if contract is not None and contract.plan_id == int(request["plan_id"]):
            state = AUTH_EXPIRED if contract.state == SIGN_FAILED else AUTH_PENDING
        auth = self.authorizations[number] = Authorization(request, state, self.ctx.clock())
        return Answer(200, auth.view())

    def _get_authorization(self, call: Call) -> Answer:
        return Answer(200, self._known_authorization(call.path["out_insurance_no"]).view())

    def _upload_policy(self, call: Call) -> Answer:
        request = call.body
        _check_policy_times(request)
        number = request["out_insurance_no"]
        print_ = fingerprint("policy", request)
        if self.claims.is_replay("policy", number, print_):
            return Answer(200, _policy_view(self.policies[number]))
        auth = self._known_authorization(number)
        if auth.state != AUTH_GRANTED:
            raise invalid(f"the user's authorization is {auth.state}, not {AUTH_GRANTED}")
        for name in ("plan_id", "out_contract_code"):
            if request[name] != auth.request[name]:
                raise invalid(f"{name} does not match the authorization")
        record = {"insurance_name": auth.request["insurance_name"], **request}
        self.claims.claim("policy", number, print_)
        self.policies[number] = record
        return Answer(200, _policy_view(record))

    def _get_policy(self, call: Call) -> Answer:
        return Answer(200, _policy_view(self._known_policy(call.path["out_insurance_no"])))

    def _patch_policy(self, call: Call) -> Answer:
        record = self._known_policy(call.path["out_insurance_no"])
        state = record["policy_state"]
        if state not in POLICY_NEXT:
            raise invalid(f"a policy in {state} can no longer be updated")
        target = call.body.get("policy_state", state)
        if target not in POLICY_NEXT[state]:
            raise invalid(f"a policy in {state} cannot move to {target}")
        merged = {**record, **call.body}
        _check_policy_times(merged)
        record.update(merged)
        return Answer(200, _policy_view(record))

    def _known_authorization(self, out_insurance_no: str) -> Authorization:
        auth = self.authorizations.get(out_insurance_no)
        if auth is None:
            raise not_found(f"authorization {out_insurance_no} does not exist")
        return auth

    def _known_policy(self, out_insurance_no: str) -> dict[str, Any]:
        record = self.policies.get(out_insurance_no)
        if record is None:
            raise not_found(f"policy {out_insurance_no} does not exist")
        return record


def _policy_view(record: dict[str, Any]) -> dict[str, Any]:
    return {name: record[name] for name in POLICY_FIELDS if name in record}


def _check_policy_times(record: dict[str, Any]) -> None:
    for start, end in (("effective_time", "expired_time"), ("start_renewal_time", "end_renewal_time")):
        if start in record and end in record and instant_of(record[end]) < instant_of(record[start]):
            raise param_error(end, f"must not be before {start}")
