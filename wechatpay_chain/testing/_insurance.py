"""State machines of WeChat Pay's 22 insurance endpoints, the domain layer of the local emulator.

Plain Python, no I/O: the emulator's HTTP server authenticates a request, hands it to
`InsuranceBook.handle`, signs the `Reply` it gets back and delivers every `Notice` the book
emits. Tests play the user, the insurer and time through the book's control methods and the
`clock` they pass in. Behaviour chosen where WeChat Pay's documentation is silent is listed in
`EMULATOR.md` next to this file.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = [
    "BEIJING",
    "FieldSpec",
    "InsuranceBook",
    "InsuranceError",
    "Notice",
    "Reply",
    "rfc3339",
    "validate",
]

BEIJING = dt.timezone(dt.timedelta(hours=8))
"""WeChat Pay's time zone: every timestamp and business-hours window is in UTC+08:00."""

DAY = dt.timedelta(days=1)
SESSION_SECONDS = 600  # a pre-entrust-sign session lasts 10 minutes
AUTH_INIT_SECONDS = 86_400  # an authorization never followed by a pre-sign ages out after a day
MAX_CONTRACTS_PER_USER = 10  # per WeChat user and plan_id
MAX_MODIFICATIONS = 3  # period-list modifications per contract lifetime

# Contract states (`contract_state`).
SIGNED, TERMINATED, SIGN_FAILED = "SIGNED", "TERMINATED", "SIGN_FAILED"
TO_BE_RENEWED, TERMINATE_PENDING = "TO_BE_RENEWED", "TERMINATE_PENDING"
EFFECTIVE = (SIGNED, TO_BE_RENEWED)  # states in which periods can be scheduled and deducted
TERMINABLE = (SIGNED, TO_BE_RENEWED, TERMINATE_PENDING)
OUTSIDE_TERMINATIONS = (
    "USER_TERMINATE",
    "WEPAY_WEB_TERMINATE",
    "CUSTOMER_SERVICE_TERMINATE",
    "SYSTEM_TERMINATE",
)

# Policy-period states (`policy_period_state`).
NO_SCHEDULED, SCHEDULED, PAID, EXPIRED = "NO_SCHEDULED", "SCHEDULED", "PAID", "EXPIRED"

# Authorization states (`auth_state`).
AUTH_INIT, AUTH_PENDING = "AUTH_STATE_INIT", "AUTH_STATE_PENDING"
AUTH_GRANTED, AUTH_DENIED, AUTH_EXPIRED = (
    "AUTH_STATE_GRANTED",
    "AUTH_STATE_DENIED",
    "AUTH_STATE_EXPIRED",
)

# Policy states a PATCH may move to, by current state (DECLINED and INACTIVE are final).
POLICY_NEXT: dict[str, tuple[str, ...]] = {
    "POLICY_STATE_ISSUING": (
        "POLICY_STATE_ISSUING",
        "POLICY_STATE_APPROVED",
        "POLICY_STATE_DECLINED",
    ),
    "POLICY_STATE_APPROVED": ("POLICY_STATE_APPROVED", "POLICY_STATE_INACTIVE"),
}

# Renewal, by the plan's deduction frequency: days after the last period's estimated date
# in which `renew` is accepted, and the allowed gap in days between consecutive periods.
RENEW_WINDOW = {"MONTH": (0, 29), "QUARTER": (60, 89), "YEAR": (335, 364)}
PERIOD_GAP = {"MONTH": (28, 31), "QUARTER": (89, 92), "YEAR": (365, 366)}

# Business hours (Beijing time) of the calls that have them; checked when enforce_hours=True.
HOURS = {
    "renew": (dt.time(8), dt.time(19)),
    "modify": (dt.time(8), dt.time(19)),
    "schedule": (dt.time(8), dt.time(19, 30)),
    "apply": (dt.time(8), dt.time(20)),
}

SUMMARIES = {
    "INSURANCE_ENTRUST.SIGN": "保险商户委托代扣签约成功",
    "INSURANCE_ENTRUST.RENEW": "保险商户委托代续期完成",
    "INSURANCE_ENTRUST.TERMINATE": "保险商户委托代扣解约完成",
    "INSURANCE_POLICY_MANAGEMENT.GRANTED": "微信保单服务用户授权成功",
    "HIRE_POWER_BANK.RECEIVE_INSURANCE": "隔夜归还保险订单状态变化",
}

# WeChat Pay's own sign-contract mini-program (the documented example values).
SIGN_APPID = "wxbd687630cd02ce1d"
SIGN_PATH = "pages/PwdExemptContract/index"

# Products a merchant may lack, and the code WeChat Pay answers then.
PRODUCT_DENIED = {
    "insurance-sign": "NO_AUTH",
    "inspolicymgr": "NO_AUTH",
    "hire-power-bank": "NOAUTH",
    "insurance-compensation": "NO_AUTH",
}


# ---------------------------------------------------------------------------------------------
# Answers, notices, errors


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer of the emulated API: status and JSON body (None for 204)."""

    status: int
    body: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Notice:
    """A webhook the real WeChat Pay would send now, with its decrypted resource."""

    notify_url: str
    event_type: str
    summary: str
    original_type: str
    resource: dict[str, Any]


class InsuranceError(Exception):
    """A refusal in WeChat Pay style; `handle` answers it, controls let it propagate."""

    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def reply(self) -> Reply:
        """Return the error as the JSON answer WeChat Pay gives."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return Reply(self.status, body)


def _param_error(name: str, issue: str, location: str = "body") -> InsuranceError:
    detail = {"field": name, "location": location, "issue": issue}
    return InsuranceError(400, "PARAM_ERROR", f"{location} field {name}: {issue}", detail)


def _invalid(message: str) -> InsuranceError:
    return InsuranceError(400, "INVALID_REQUEST", message)


def _rule_limit(message: str) -> InsuranceError:
    return InsuranceError(403, "RULE_LIMIT", message)


def _not_found(message: str, code: str = "RESOURCE_NOT_EXISTS") -> InsuranceError:
    return InsuranceError(404, code, message)


# ---------------------------------------------------------------------------------------------
# Times and formats


def rfc3339(ts: float) -> str:
    """Format Unix seconds as RFC 3339 in Beijing time, e.g. 2020-09-10T13:29:35+08:00."""
    return dt.datetime.fromtimestamp(ts, BEIJING).replace(microsecond=0).isoformat()


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
_ALNUM = re.compile(r"[0-9A-Za-z]+")
_ORDER_NO = re.compile(r"[0-9A-Za-z_\-|*]+")
_URL = re.compile(r"https?://[^\s/]+\S*")


def _parse_date(text: str) -> dt.date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _parse_time(text: str) -> dt.datetime | None:
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    offset = "+00:00" if match[2].upper() == "Z" else match[2]
    try:
        return dt.datetime.fromisoformat(match[1] + offset)
    except ValueError:
        return None


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "date": (lambda s: _parse_date(s) is not None, "must be a date YYYY-MM-DD"),
    "rfc3339": (lambda s: _parse_time(s) is not None, "must be an RFC 3339 time with offset"),
    "url": (lambda s: _URL.fullmatch(s) is not None, "must be an http(s) URL"),
    "base64": (_is_base64, "must be base64"),
    "digits": (lambda s: _DIGITS.fullmatch(s) is not None, "must be digits"),
    "alnum": (lambda s: _ALNUM.fullmatch(s) is not None, "must be letters and digits only"),
    "order_no": (
        lambda s: _ORDER_NO.fullmatch(s) is not None,
        "must match [0-9A-Za-z_-|*]",
    ),
}


def _date(value: Any) -> dt.date:
    parsed = _parse_date(value)
    assert parsed is not None  # validated by the field spec
    return parsed


def _instant(value: Any) -> dt.datetime:
    parsed = _parse_time(value)
    assert parsed is not None  # validated by the field spec
    return parsed


def _amount(total: int) -> dict[str, Any]:
    return {"total": total, "currency": "CNY"}


def _fingerprint(*parts: Any) -> bytes:
    return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)


# ---------------------------------------------------------------------------------------------
# The table-driven validator


Kind = Literal["string", "integer", "boolean", "object", "array"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One request field: JSON kind, presence and limits; arrays apply limits per element."""

    name: str
    kind: Kind
    required: bool = False
    max_len: int | None = None
    enum: tuple[str, ...] = ()
    fmt: str | None = None  # a key of FORMATS
    minimum: int | None = None
    maximum: int | None = None
    fields: tuple[FieldSpec, ...] = ()  # members of an object, or of each object in an array
    item: Kind | None = None  # element kind of an array
    min_items: int = 0
    max_items: int | None = None


def validate(value: Any, specs: tuple[FieldSpec, ...], location: str = "body") -> dict[str, Any]:
    """Check a JSON object against specs; return it cleaned (known, non-null fields only)."""
    return _check_object(value, specs, "", location)


def _check_object(value: Any, specs: tuple[FieldSpec, ...], prefix: str, location: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _param_error(prefix or "(root)", "must be a JSON object", location)
    clean: dict[str, Any] = {}
    for spec in specs:
        name = f"{prefix}.{spec.name}" if prefix else spec.name
        if value.get(spec.name) is None:
            if spec.required:
                raise _param_error(name, "is required", location)
            continue
        clean[spec.name] = _check(value[spec.name], spec, name, location)
    return clean


def _check(value: Any, spec: FieldSpec, name: str, location: str) -> Any:
    if spec.kind == "object":
        return _check_object(value, spec.fields, name, location)
    if spec.kind == "array":
        return _check_array(value, spec, name, location)
    if spec.kind == "boolean":
        if not isinstance(value, bool):
            raise _param_error(name, "must be a boolean", location)
        return value
    if spec.kind == "integer":
        return _check_integer(value, spec, name, location)
    return _check_string(value, spec, name, location)


def _check_array(value: Any, spec: FieldSpec, name: str, location: str) -> list[Any]:
    if not isinstance(value, list):
        raise _param_error(name, "must be an array", location)
    if len(value) < spec.min_items:
        raise _param_error(name, f"needs at least {spec.min_items} item(s)", location)
    if spec.max_items is not None and len(value) > spec.max_items:
        raise _param_error(name, f"allows at most {spec.max_items} items", location)
    element = dataclasses.replace(spec, kind=spec.item or "string", item=None)
    return [_check(item, element, f"{name}[{i}]", location) for i, item in enumerate(value)]


def _check_integer(value: Any, spec: FieldSpec, name: str, location: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _param_error(name, "must be an integer", location)
    if spec.minimum is not None and value < spec.minimum:
        raise _param_error(name, f"must be >= {spec.minimum}", location)
    if spec.maximum is not None and value > spec.maximum:
        raise _param_error(name, f"must be <= {spec.maximum}", location)
    return value


def _check_string(value: Any, spec: FieldSpec, name: str, location: str) -> str:
    if not isinstance(value, str):
        raise _param_error(name, "must be a string", location)
    if not value and spec.required:
        raise _param_error(name, "must not be empty", location)
    if spec.max_len is not None and len(value) > spec.max_len:
        raise _param_error(name, f"is longer than {spec.max_len} characters", location)
    if spec.enum and value not in spec.enum:
        raise _param_error(name, f"must be one of {', '.join(spec.enum)}", location)
    if spec.fmt is not None and value:
        test, issue = FORMATS[spec.fmt]
        if not test(value):
            raise _param_error(name, issue, location)
    return value


def _read_strings(raw: Mapping[str, str], specs: tuple[FieldSpec, ...], location: str) -> dict[str, Any]:
    """Type path or query strings by their specs, then validate them like a body."""
    typed: dict[str, Any] = {}
    for spec in specs:
        text = raw.get(spec.name)
        if text is None:
            continue
        if spec.kind == "integer":
            if not _DIGITS.fullmatch(text):
                raise _param_error(spec.name, "must be an integer", location)
            typed[spec.name] = int(text)
        else:
            typed[spec.name] = text
    return validate(typed, specs, location)


# Spec builders keep the tables below one line per field.
def _text(
    name: str,
    *,
    req: bool = False,
    max_len: int | None = None,
    enum: tuple[str, ...] = (),
    fmt: str | None = None,
) -> FieldSpec:
    return FieldSpec(name, "string", req, max_len, enum, fmt)


def _int(name: str, *, req: bool = False, minimum: int | None = None, maximum: int | None = None) -> FieldSpec:
    return FieldSpec(name, "integer", req, minimum=minimum, maximum=maximum)


def _flag(name: str, *, req: bool = False) -> FieldSpec:
    return FieldSpec(name, "boolean", req)


def _obj(name: str, *fields: FieldSpec, req: bool = False) -> FieldSpec:
    return FieldSpec(name, "object", req, fields=fields)


def _list(
    name: str, item: FieldSpec, *, req: bool = False, min_items: int = 0, max_items: int | None = None
) -> FieldSpec:
    """Array of elements shaped like `item` (an object spec's fields, or a scalar's limits)."""
    return dataclasses.replace(
        item,
        name=name,
        kind="array",
        required=req,
        item=item.kind,
        min_items=min_items,
        max_items=max_items,
    )


# ---------------------------------------------------------------------------------------------
# Field tables (Part 2 of the reference); lengths marked in EMULATOR.md where chosen

ID, OPENID, TEXT, URL, LONG, CIPHER = 32, 128, 128, 256, 1024, 2048
_APPID = _text("appid", req=True, max_len=ID)
_AMOUNT = (_int("total", req=True, minimum=1), _text("currency", enum=("CNY",)))
_PERIOD_ID = _int("policy_period_id", req=True, minimum=1, maximum=840)
_PERIOD = _obj(
    "period",
    _PERIOD_ID,
    _text("estimated_deduct_date", req=True, fmt="date"),
    _obj("estimated_deduct_amount", *_AMOUNT, req=True),
)
_COVERAGE = _obj(
    "policy_coverage_detail",
    _text("policy_amount", max_len=ID),
    _list("policy_clauses", _obj("clause", _text("clause_name", max_len=TEXT), _text("clause_quota", max_len=TEXT))),
)
_OUT_CONTRACT_CODE = _text("out_contract_code", req=True, max_len=ID, fmt="alnum")
_OUT_TRADE_NO = _text("out_trade_no", max_len=ID, fmt="order_no")


def _pre_sign_spec(*extra_period: FieldSpec, jump: bool = False) -> tuple[FieldSpec, ...]:
    period = dataclasses.replace(_PERIOD, fields=_PERIOD.fields + extra_period)
    jump_control = (_obj("jump_control", _text("jump_appid", max_len=ID)),) if jump else ()
    return (
        _APPID,
        _text("openid", max_len=OPENID),
        _int("plan_id", req=True, minimum=1),
        _OUT_CONTRACT_CODE,
        _text("insured_display_name", req=True, max_len=TEXT),
        _text("contract_notify_url", req=True, max_len=URL, fmt="url"),
        _text("policy_start_date", req=True, fmt="date"),
        _text("policy_end_date", req=True, fmt="date"),
        _list("policy_periods", period, req=True, min_items=1, max_items=12),
        _obj("amount", *_AMOUNT),
        _OUT_TRADE_NO,
        _text("description", max_len=127),
        _text("transaction_notify_url", max_len=URL, fmt="url"),
        _text("out_user_code", max_len=ID),
        _text("goods_tag", max_len=ID),
        _text("attach", max_len=TEXT),
        _flag("can_auto_insure"),
        _flag("can_auto_reinsure"),
        _obj(
            "real_identity",
            _text("real_name", req=True, max_len=CIPHER, fmt="base64"),
            _text("id_card_number", req=True, max_len=CIPHER, fmt="base64"),
            _text("identity_type", enum=("ID_CARD",)),
        ),
        *jump_control,
        _int("combined_deduct_period_count", minimum=1),
    )


PRE_SIGN_APP = _pre_sign_spec()
PRE_SIGN_H5 = _pre_sign_spec(_COVERAGE, jump=True)
PRE_SIGN_JSAPI = _pre_sign_spec(_COVERAGE)
PRE_SIGN_MINI_PROGRAM = PRE_SIGN_JSAPI
TERMINATE = (_text("contract_termination_remark", req=True, max_len=URL),)
RENEW = (_APPID, _list("policy_periods", _PERIOD, req=True, min_items=1, max_items=12))
MODIFY = (
    _APPID,
    _list("policy_periods", _PERIOD, req=True, min_items=1),
    _flag("allow_cancel_scheduled"),
)
SCHEDULE = (_APPID, _obj("scheduled_amount", *_AMOUNT, req=True))
APPLY = (
    _APPID,
    dataclasses.replace(_OUT_TRADE_NO, required=True),
    _text("description", req=True, max_len=127),
    _text("transaction_notify_url", req=True, max_len=URL, fmt="url"),
    _text("contract_id", req=True, max_len=ID),
    _PERIOD_ID,
    _obj("amount", *_AMOUNT, req=True),
    _text("goods_tag", max_len=ID),
    _text("attach", max_len=TEXT),
)
PAGE = (_int("limit", minimum=1, maximum=100), _int("offset", minimum=0))
AUTHORIZE = (
    _text("out_insurance_no", req=True, max_len=ID),
    _APPID,
    _text("plan_id", req=True, max_len=ID, fmt="digits"),
    _OUT_CONTRACT_CODE,
    _text("insurance_name", req=True, max_len=TEXT),
    _text("payee_mchid", max_len=ID, fmt="digits"),
    _text("payee_appid", max_len=ID),
)
_POLICY_TYPES = tuple(
    f"POLICY_TYPE_{t}"
    for t in ("OTHER", "MEDICAL", "ACCIDENT", "CRITICAL", "CAR", "LIFE", "PROPERTY", "PET", "ANNUITY")
)
_POLICY_STATES = tuple(f"POLICY_STATE_{s}" for s in ("ISSUING", "APPROVED", "DECLINED", "INACTIVE"))
_PAYMENT_PERIODS = tuple(
    f"PAYMENT_PERIOD_{p}" for p in ("DAY", "WEEK", "BIWEEKLY", "MONTH", "QUARTER", "HALF_YEAR", "YEAR")
)
# Fields both POST (with these `required` flags) and PATCH (all optional) accept.
_POLICY_EDITABLE = (
    _list("insured_name_list", _text("name", max_len=CIPHER, fmt="base64"), req=True, min_items=1),
    _text("insurance_name", max_len=TEXT),
    _text("effective_time", req=True, fmt="rfc3339"),
    _text("expired_time", req=True, fmt="rfc3339"),
    _text("coverage_detail", req=True, max_len=LONG),
    _flag("support_renewal", req=True),
    _text("start_renewal_time", fmt="rfc3339"),
    _text("end_renewal_time", fmt="rfc3339"),
    _text("policy_type", req=True, enum=_POLICY_TYPES),
    _text("car_number", max_len=ID),
    _text("pet_name", max_len=TEXT),
    _text("address", max_len=URL),
    _text("policy_state", req=True, enum=_POLICY_STATES),
    _text("policy_code", max_len=TEXT),
    _text("plan_id", req=True, max_len=ID, fmt="digits"),
    _OUT_CONTRACT_CODE,
    _list("policy_periods", _int("id", minimum=1, maximum=840), req=True, min_items=1),
    _flag("free_insurance", req=True),
    _flag("combined_payment"),
    _text("payment_method", enum=tuple(f"PAYMENT_METHOD_{m}" for m in ("OTHER", "PERIOD", "LUMP_SUM"))),
    _text("period_premium_mode", enum=tuple(f"PERIOD_PREMIUM_MODE_{m}" for m in ("EQUAL", "FIRST_DIFF", "MULTI_DIFF"))),
    _text("payment_period", enum=_PAYMENT_PERIODS),
    _int("first_period_amount", minimum=0),
    _int("subsequent_period_amount", minimum=0),
    _text("coverage_term_type", enum=tuple(f"COVERAGE_TERM_TYPE_{t}" for t in ("FIXED_DATE", "LIFETIME"))),
)
POLICY_POST = (
    _text("out_insurance_no", req=True, max_len=ID),
    _text("insurance_company_code", req=True, max_len=ID),
    _APPID,
    _text("openid", req=True, max_len=OPENID),
    _text("payee_mchid", max_len=ID, fmt="digits"),
    _text("payee_appid", max_len=ID),
    _text("payee_openid", max_len=OPENID),
    *_POLICY_EDITABLE,
)
POLICY_PATCH = tuple(dataclasses.replace(f, required=False) for f in _POLICY_EDITABLE)
ORDER = (
    _text("out_order_no", req=True, max_len=ID, fmt="order_no"),
    _text("openid", req=True, max_len=OPENID),
    _text("notify_url", max_len=URL, fmt="url"),
    _text("service_id", req=True, max_len=ID),
)
COMPENSATION = (
    _text("out_apply_no", req=True, max_len=ID),
    _text("sub_mchid", req=True, max_len=ID, fmt="digits"),
    _list(
        "agreement_list",
        _obj(
            "agreement",
            _text("agreement_code", req=True, max_len=TEXT),
            _text("agreement_version", req=True, max_len=ID),
            _text("sign_organization", req=True, max_len=TEXT),
            _text("sign_time", req=True, fmt="rfc3339"),
        ),
        req=True,
        min_items=1,
    ),
)
PATH_PARAMS = {
    spec.name: spec
    for spec in (
        _int("plan_id", req=True, minimum=1),
        _OUT_CONTRACT_CODE,
        _text("contract_id", req=True, max_len=ID),
        _PERIOD_ID,
        _text("out_insurance_no", req=True, max_len=ID),
        _text("out_order_no", req=True, max_len=ID, fmt="order_no"),
        _text("openid", req=True, max_len=OPENID),
        _text("sub_mchid", req=True, max_len=ID, fmt="digits"),
    )
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
POLICY_FIELDS = ("out_insurance_no", "insurance_company_code", *(f.name for f in _POLICY_EDITABLE))


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(slots=True)
class _Period:
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
        return {
            "policy_period_id": self.policy_period_id,
            "estimated_deduct_date": self.estimated_date.isoformat(),
            "estimated_deduct_amount": _amount(self.estimated_total),
        }

    def pay_view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "policy_period_id": self.policy_period_id,
            "policy_period_state": self.state,
        }
        if self.deduct_start is not None and self.deduct_end is not None:
            view["deduct_start_date"] = self.deduct_start.isoformat()
            view["deduct_end_date"] = self.deduct_end.isoformat()
        if self.scheduled_total is not None:
            view["scheduled_amount"] = _amount(self.scheduled_total)
        if self.deduct_total is not None and self.deduct_date is not None:
            view["deduct_amount"] = _amount(self.deduct_total)
            view["deduct_date"] = self.deduct_date.isoformat()
        return view

    def list_view(self) -> dict[str, Any]:
        return {**self.plan_view(), **self.pay_view()}

    def unschedule(self) -> None:
        self.state = NO_SCHEDULED
        self.scheduled_total = self.deduct_start = self.deduct_end = None


def _periods_from(items: list[dict[str, Any]], batch: int) -> dict[int, _Period]:
    return {
        item["policy_period_id"]: _Period(
            item["policy_period_id"],
            _date(item["estimated_deduct_date"]),
            item["estimated_deduct_amount"]["total"],
            batch,
        )
        for item in items
    }


@dataclass(slots=True)
class _Session:
    """A pre-entrust-sign session waiting for the user."""

    request: dict[str, Any]
    created: float
    answer: dict[str, Any]
    state: str = "OPEN"  # OPEN | SIGNED | FAILED | EXPIRED


@dataclass(slots=True)
class _Contract:
    contract_id: str
    request: dict[str, Any]  # the pre-entrust-sign body
    openid: str
    state: str
    signed_time: float | None
    policy_end: dt.date
    periods: dict[int, _Period]
    batch: int = 0
    terminate_info: dict[str, Any] | None = None
    pending_termination: tuple[str, str | None] | None = None  # mode, remark
    modifications: list[dt.date] = field(default_factory=list)

    @property
    def plan_id(self) -> int:
        return int(self.request["plan_id"])

    @property
    def renewable(self) -> bool:
        return bool(self.request.get("can_auto_insure") or self.request.get("can_auto_reinsure"))

    def last_period(self) -> _Period:
        return self.periods[max(self.periods)]


@dataclass(slots=True)
class _Trade:
    contract_id: str
    policy_period_id: int
    answer: dict[str, Any]
    state: str = "PENDING"  # PENDING | SUCCESS | FAILED


@dataclass(slots=True)
class _Authorization:
    request: dict[str, Any]
    state: str
    submitted: float
    user_auth_time: float | None = None


@dataclass(slots=True)
class _Order:
    order_id: str
    request: dict[str, Any]
    receive_time: float
    state: str = "RECEIVING"  # RECEIVING | RECEIVED
    begin: float | None = None
    end: float | None = None
    max_claim_count: int = 1
    claimed_count: int = 0


@dataclass(slots=True)
class _Opening:
    applied: float
    success: float | None = None


@dataclass(frozen=True, slots=True)
class _Call:
    path: dict[str, Any]
    query: dict[str, Any]
    body: dict[str, Any]
    variant: str


# ---------------------------------------------------------------------------------------------
# The book


class InsuranceBook:
    """State of the insurance products of the merchants served by one emulator."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        notify: Callable[[Notice], None],
        mchid: str,
        appid_hint: str | None = None,
        enforce_hours: bool = False,
        compensation_delay: float = 0.0,
    ) -> None:
        self._clock = clock
        self._notify = notify
        self.mchid = mchid
        self.appid_hint = appid_hint
        self.enforce_hours = enforce_hours
        self.compensation_delay = compensation_delay
        self._serial = 0
        self._claims: dict[tuple[str, str], bytes] = {}
        self._sessions: dict[str, _Session] = {}  # by out_contract_code
        self._contracts: dict[str, _Contract] = {}  # by out_contract_code
        self._by_contract_id: dict[str, _Contract] = {}
        self._trades: dict[str, _Trade] = {}
        self._auths: dict[str, _Authorization] = {}
        self._policies: dict[str, dict[str, Any]] = {}
        self._orders: dict[str, _Order] = {}
        self._qualified: dict[str, bool] = {}
        self._openings: dict[str, _Opening] = {}
        self._frequencies: dict[int, str] = {}
        self._disabled: set[str] = set()

    # -- the API --------------------------------------------------------------------------

    def handle(self, method: str, segments: tuple[str, ...], query: Mapping[str, str], body: bytes) -> Reply | None:
        """Answer one authenticated request; None when the path is not one of the 22 endpoints."""
        found = _match(method, segments)
        if found is None:
            return None
        route, raw_path = found
        try:
            if route.product in self._disabled:
                code = PRODUCT_DENIED[route.product]
                raise InsuranceError(403, code, f"merchant has not enabled {route.product}")
            self.tick()
            call = _Call(
                _read_strings(raw_path, route.path_specs, "path"),
                _read_strings(query, route.query, "query"),
                self._read_body(route.body, body),
                route.variant,
            )
            return route.run(self, call)
        except InsuranceError as error:
            return error.reply()

    def _read_body(self, specs: tuple[FieldSpec, ...] | None, raw: bytes) -> dict[str, Any]:
        if specs is None:
            return {}  # GET, and the body-less POST check-opened: any body is ignored
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _param_error("(root)", "request body is not valid JSON") from None
        clean = validate(document, specs)
        appid = clean.get("appid")
        if self.appid_hint is not None and appid is not None and appid != self.appid_hint:
            raise InsuranceError(400, "APPID_MCHID_NOT_MATCH", f"appid {appid} is not bound to mchid {self.mchid}")
        return clean

    # -- controls: time, configuration ----------------------------------------------------

    def tick(self) -> None:
        """Apply every transition that time has made due (done before each request and control)."""
        now, today = self._clock(), self._today()
        for session in self._sessions.values():
            if session.state == "OPEN" and now > session.created + SESSION_SECONDS:
                session.state = "EXPIRED"
        for contract in self._contracts.values():
            self._age_contract(contract, today)
        for auth in self._auths.values():
            if auth.state == AUTH_INIT and self._auth_lapsed(auth, now):
                auth.state = AUTH_EXPIRED
        for opening in self._openings.values():
            due = opening.applied + self.compensation_delay
            if opening.success is None and now >= due:
                opening.success = due

    def set_plan_frequency(self, plan_id: int, frequency: str) -> None:
        """Declare a plan's deduction frequency (MONTH, QUARTER or YEAR; MONTH by default)."""
        if frequency not in RENEW_WINDOW:
            raise ValueError(f"frequency must be one of {sorted(RENEW_WINDOW)}")
        self._frequencies[plan_id] = frequency

    def set_product_enabled(self, product: str, enabled: bool) -> None:
        """Enable or withdraw one product family; calls to a withdrawn one answer 403."""
        if product not in PRODUCT_DENIED:
            raise ValueError(f"product must be one of {sorted(PRODUCT_DENIED)}")
        if enabled:
            self._disabled.discard(product)
        else:
            self._disabled.add(product)

    def set_user_qualified(self, openid: str, qualified: bool | None) -> None:
        """Force a user's power-bank insurance qualification (None: back to the computed one)."""
        if qualified is None:
            self._qualified.pop(openid, None)
        else:
            self._qualified[openid] = qualified

    # -- controls: the user, WeChat Pay, the insurer --------------------------------------

    def user_sign(self, out_contract_code: str, *, openid: str | None = None, success: bool = True) -> dict[str, Any]:
        """The user completes a pre-signed contract; success=False leaves it SIGN_FAILED."""
        self.tick()
        session = self._sessions.get(out_contract_code)
        if session is None:
            raise _not_found(f"no pre-entrust-sign session for {out_contract_code}")
        if session.state != "OPEN":
            raise _invalid(f"the signing session is {session.state}")
        request = session.request
        if openid is not None and request.get("openid", openid) != openid:
            raise _invalid("the session was made for another openid")
        user = openid or request.get("openid") or f"o_{out_contract_code}"
        if success and self._active_contracts(user, request["plan_id"]) >= MAX_CONTRACTS_PER_USER:
            raise _rule_limit(f"the user already has {MAX_CONTRACTS_PER_USER} contracts")
        contract = _Contract(
            contract_id=self._next_id(200000000000000000),
            request=request,
            openid=user,
            state=SIGNED if success else SIGN_FAILED,
            signed_time=self._clock() if success else None,
            policy_end=_date(request["policy_end_date"]),
            periods=_periods_from(request["policy_periods"], 0),
        )
        session.state = "SIGNED" if success else "FAILED"
        self._contracts[out_contract_code] = contract
        self._by_contract_id[contract.contract_id] = contract
        if success:  # a failure expires linked authorizations through tick()
            self._after_sign(contract)
        return self._contract_view(contract)

    def _after_sign(self, contract: _Contract) -> None:
        paid = contract.request.get("amount")
        if paid is not None:  # sign-and-pay: the first payment settles the first period
            first = contract.periods[min(contract.periods)]
            first.state, first.deduct_total, first.deduct_date = PAID, paid["total"], self._today()
        self._settle_auths(contract, AUTH_INIT, AUTH_PENDING)
        self._contract_notice(contract, "SIGN")

    def wechat_terminate(
        self,
        out_contract_code: str,
        *,
        mode: str = "USER_TERMINATE",
        remark: str | None = None,
        pending: bool = False,
    ) -> dict[str, Any]:
        """Terminate a contract outside the merchant API; pending=True opens the revocable window."""
        if mode not in OUTSIDE_TERMINATIONS:
            raise ValueError(f"mode must be one of {OUTSIDE_TERMINATIONS}")
        self.tick()
        contract = self._known_contract(out_contract_code)
        allowed = EFFECTIVE if pending else TERMINABLE
        if contract.state not in allowed:
            raise _invalid(f"contract is {contract.state}")
        if pending:
            contract.state = TERMINATE_PENDING
            contract.pending_termination = (mode, remark)
        else:
            self._end_contract(contract, mode, remark)
        return self._contract_view(contract)

    def settle_pending_termination(self, out_contract_code: str, *, revoked: bool = False) -> dict[str, Any]:
        """End a TERMINATE_PENDING contract's window: terminated, or back to SIGNED if revoked."""
        self.tick()
        contract = self._known_contract(out_contract_code)
        if contract.pending_termination is None or contract.state != TERMINATE_PENDING:
            raise _invalid(f"contract is {contract.state}, not {TERMINATE_PENDING}")
        mode, remark = contract.pending_termination
        contract.pending_termination = None
        if revoked:
            contract.state = SIGNED
            self._age_contract(contract, self._today())
        else:
            self._end_contract(contract, mode, remark)
        return self._contract_view(contract)

    def settle_deduction(self, out_trade_no: str, *, success: bool = True) -> dict[str, Any]:
        """Finish an accepted deduction: the period becomes PAID, or stays SCHEDULED to retry."""
        self.tick()
        trade = self._trades.get(out_trade_no)
        if trade is None:
            raise _not_found(f"no deduction {out_trade_no}", "ORDER_NOT_EXIST")
        if trade.state != "PENDING":
            raise _invalid(f"deduction {out_trade_no} is {trade.state}")
        period = self._by_contract_id[trade.contract_id].periods[trade.policy_period_id]
        period.pending_trade = None
        trade.state = "SUCCESS" if success else "FAILED"
        if success:
            period.state, period.deduct_date = PAID, self._today()
            period.deduct_total = trade.answer["amount"]["total"]
        return period.pay_view()

    def user_grant(self, out_insurance_no: str, *, granted: bool = True) -> dict[str, Any]:
        """The user grants (GRANTED webhook) or denies a pending policy authorization."""
        self.tick()
        auth = self._known_auth(out_insurance_no)
        allowed = (AUTH_PENDING, AUTH_DENIED) if granted else (AUTH_PENDING,)
        if auth.state not in allowed:
            raise _invalid(f"authorization is {auth.state}")
        if not granted:
            auth.state = AUTH_DENIED
            return self._auth_view(auth)
        auth.state, auth.user_auth_time = AUTH_GRANTED, self._clock()
        contract = self._contracts.get(auth.request["out_contract_code"])
        url = contract.request["contract_notify_url"] if contract is not None else None
        resource = self._auth_view(auth, AUTH_NOTICE_FIELDS)
        self._emit(url, "INSURANCE_POLICY_MANAGEMENT.GRANTED", "insurance_policy_management", resource)
        return self._auth_view(auth)

    def insurer_confirm(
        self,
        out_order_no: str,
        *,
        max_claim_count: int | None = None,
        begin: float | None = None,
        end: float | None = None,
    ) -> dict[str, Any]:
        """The insurer confirms a power-bank insurance order: RECEIVED + RECEIVE_INSURANCE."""
        self.tick()
        order = self._known_order(out_order_no)
        if order.state != "RECEIVING":
            raise _invalid(f"order is {order.state}")
        order.state = "RECEIVED"
        order.begin = self._clock() if begin is None else begin
        order.end = order.begin + 86_400 if end is None else end
        if max_claim_count is not None:
            order.max_claim_count = max_claim_count
        resource = self._order_view(order)
        self._emit(order.request.get("notify_url"), "HIRE_POWER_BANK.RECEIVE_INSURANCE", "hire_power_bank", resource)
        return resource

    def open_compensation(self, sub_mchid: str) -> dict[str, Any]:
        """Complete a pending insurance-compensation opening now."""
        self.tick()
        opening = self._openings.get(sub_mchid)
        if opening is None:
            raise _not_found(f"no opening applied for sub_mchid {sub_mchid}")
        if opening.success is None:
            opening.success = self._clock()
        return self._opening_view(sub_mchid)

    # -- insurance-sign: contracts --------------------------------------------------------

    def _pre_sign(self, call: _Call) -> Reply:
        request = call.body
        code = request["out_contract_code"]
        fingerprint = _fingerprint(call.variant, request)
        if self._is_replay("out_contract_code", code, fingerprint):
            session = self._sessions.get(code)
            if session is not None and session.state == "OPEN":
                return Reply(200, session.answer)
            raise _invalid(f"out_contract_code {code} has already been used")
        self._check_pre_sign(request)
        trade = request.get("out_trade_no")
        if trade is not None:
            self._is_replay("out_trade_no", trade, fingerprint)
            self._claims["out_trade_no", trade] = fingerprint
        self._claims["out_contract_code", code] = fingerprint
        answer = self._pre_sign_answer(call.variant, f"pe{self._next_id(0):0>27}")
        self._sessions[code] = _Session(request, self._clock(), answer)
        return Reply(200, answer)

    def _check_pre_sign(self, request: dict[str, Any]) -> None:
        start, end = _date(request["policy_start_date"]), _date(request["policy_end_date"])
        if end < start:
            raise _param_error("policy_end_date", "must not be before policy_start_date")
        if request.get("can_auto_insure") and request.get("can_auto_reinsure"):
            raise _param_error("can_auto_reinsure", "cannot be true with can_auto_insure")
        paying = "amount" in request
        for name in ("out_trade_no", "description"):
            if paying and name not in request:
                raise _param_error(name, "is required when amount is given (sign-and-pay)")
        if "out_trade_no" in request and not paying:
            raise _param_error("amount", "is required when out_trade_no is given")
        today = self._today()
        for rank, (index, day) in enumerate(_ordered_periods(request["policy_periods"])):
            where = f"policy_periods[{index}].estimated_deduct_date"
            if day < today + (DAY if rank or not paying else dt.timedelta()):
                raise _param_error(where, "must be after the day of the request")
            if day > end:
                raise _param_error(where, "must not be after policy_end_date")

    @staticmethod
    def _pre_sign_answer(channel: str, session_id: str) -> dict[str, Any]:
        if channel == "app":
            return {"pre_entrustweb_id": session_id}
        if channel == "mini-program":
            return {
                "pre_entrustweb_id": session_id,
                "redirect_appid": SIGN_APPID,
                "redirect_path": SIGN_PATH,
            }
        url = f"https://payapp.weixin.qq.com/papay/insurance-sign/{channel}"
        return {"redirect_url": f"{url}?pre_entrustweb_id={session_id}"}

    def _get_contract(self, call: _Call) -> Reply:
        contract = self._contract_at(call.path["plan_id"], call.path["out_contract_code"])
        return Reply(200, self._contract_view(contract))

    def _terminate(self, call: _Call) -> Reply:
        contract = self._contract_at(call.path["plan_id"], call.path["out_contract_code"])
        if contract.state not in TERMINABLE:
            raise _invalid(f"contract is {contract.state}; only an effective one can be terminated")
        remark = call.body["contract_termination_remark"]
        self._end_contract(contract, "MCH_API_TERMINATE", remark)
        return Reply(200, self._contract_view(contract))

    def _renew(self, call: _Call) -> Reply:
        contract = self._contract_by_id(call.path["contract_id"], call.path["plan_id"])
        self._check_period_call(contract, call.body, "renew")
        if not contract.renewable:
            raise _invalid("contract was signed without can_auto_insure or can_auto_reinsure")
        last = contract.last_period()
        current = [p for p in contract.periods.values() if p.batch == contract.batch]
        if not any(p.state == PAID for p in current):
            raise _invalid("no period of the current plan has been paid")
        if last.state == SCHEDULED:
            raise _invalid(f"period {last.policy_period_id} is scheduled and still deductible")
        frequency = self._frequencies.get(contract.plan_id, "MONTH")
        low, high = RENEW_WINDOW[frequency]
        if not low <= (self._today() - last.estimated_date).days <= high:
            raise _rule_limit(f"renew is accepted {low} to {high} days after the last period's estimated date")
        self._check_renewal_periods(call.body["policy_periods"], last, PERIOD_GAP[frequency])
        contract.batch += 1
        added = _periods_from(call.body["policy_periods"], contract.batch)
        contract.periods.update(added)
        contract.policy_end += contract.last_period().estimated_date - last.estimated_date
        contract.state = SIGNED
        self._contract_notice(contract, "RENEW")
        return Reply(204, None)

    @staticmethod
    def _check_renewal_periods(items: list[dict[str, Any]], last: _Period, gap: tuple[int, int]) -> None:
        previous = last.estimated_date
        for index, day in _ordered_periods(items):
            item = items[index]
            where = f"policy_periods[{index}]"
            if item["policy_period_id"] <= last.policy_period_id:
                raise _param_error(f"{where}.policy_period_id", f"must be above {last.policy_period_id}")
            if not gap[0] <= (day - previous).days <= gap[1]:
                raise _param_error(
                    f"{where}.estimated_deduct_date",
                    f"must follow the previous period by {gap[0]} to {gap[1]} days",
                )
            if abs(item["estimated_deduct_amount"]["total"] - last.estimated_total) * 2 > (last.estimated_total):
                raise _param_error(
                    f"{where}.estimated_deduct_amount.total",
                    "may differ by at most 50% from the last period's amount",
                )
            previous = day

    # -- insurance-sign / insurance-pay: periods ------------------------------------------

    def _list_periods(self, call: _Call) -> Reply:
        contract = self._contract_at(call.path["plan_id"], call.path["out_contract_code"])
        limit, offset = call.query.get("limit", 20), call.query.get("offset", 0)
        periods = [contract.periods[key] for key in sorted(contract.periods)]
        return Reply(
            200,
            {
                "data": [p.list_view() for p in periods[offset : offset + limit]],
                "limit": limit,
                "offset": offset,
                "total_count": len(periods),
            },
        )

    def _modify(self, call: _Call) -> Reply:
        contract = self._contract_by_id(call.path["contract_id"], call.path["plan_id"])
        self._check_period_call(contract, call.body, "modify")
        today = self._today()
        if today in contract.modifications:
            raise _rule_limit("a contract's periods can be modified once a day")
        if len(contract.modifications) >= MAX_MODIFICATIONS:
            raise _rule_limit(f"a contract's periods can be modified {MAX_MODIFICATIONS} times")
        deadline = dt.datetime.combine(contract.last_period().estimated_date - DAY, dt.time(19), BEIJING)
        if self._now() >= deadline:
            raise _rule_limit("modify is closed from 19:00 on the last period's schedule day")
        changes = self._modifications(contract, call.body)
        cancelled = None
        for period, total in changes:
            if period.state == SCHEDULED:
                cancelled = period.policy_period_id
                self._drop_trade(period)
                period.unschedule()
            period.estimated_total = total
        contract.modifications.append(today)
        answer: dict[str, Any] = {"policy_periods": [contract.periods[k].plan_view() for k in sorted(contract.periods)]}
        if cancelled is not None:
            answer["cancel_scheduled_policy_period_id"] = cancelled
        return Reply(200, answer)

    @staticmethod
    def _modifications(contract: _Contract, body: dict[str, Any]) -> list[tuple[_Period, int]]:
        """Check a modify request; return the periods whose amount changes, with the new one."""
        changes: list[tuple[_Period, int]] = []
        for index, item in enumerate(body["policy_periods"]):
            where = f"policy_periods[{index}]"
            period = contract.periods.get(item["policy_period_id"])
            if period is None:
                raise _param_error(f"{where}.policy_period_id", "is not a period of the contract")
            if _date(item["estimated_deduct_date"]) != period.estimated_date:
                raise _param_error(f"{where}.estimated_deduct_date", "must equal the current one")
            total = item["estimated_deduct_amount"]["total"]
            if total == period.estimated_total:
                continue
            if period.state not in (NO_SCHEDULED, SCHEDULED):
                raise _invalid(f"period {period.policy_period_id} is {period.state}")
            if total > period.estimated_total:
                raise _param_error(f"{where}.estimated_deduct_amount.total", "may only decrease")
            if period.state == SCHEDULED and not body.get("allow_cancel_scheduled"):
                raise _invalid(f"period {period.policy_period_id} is scheduled; set allow_cancel_scheduled")
            changes.append((period, total))
        if not changes:
            raise _param_error("policy_periods", "changes no amount")
        if len({total for _, total in changes}) > 1:
            raise _param_error("policy_periods", "may set only one new amount per request")
        return changes

    def _get_period(self, call: _Call) -> Reply:
        period = self._period(call.path["contract_id"], call.path["policy_period_id"])
        return Reply(200, period.pay_view())

    def _schedule(self, call: _Call) -> Reply:
        contract = self._contract_by_id(call.path["contract_id"])
        period = self._period(contract.contract_id, call.path["policy_period_id"])
        self._check_period_call(contract, call.body, "schedule")
        if period.state != NO_SCHEDULED:
            raise _invalid(f"period {period.policy_period_id} is {period.state}")
        today, day = self._today(), period.estimated_date
        if not day - DAY <= today <= day + 28 * DAY:
            raise _rule_limit("a period can be scheduled from 1 day before to 28 days after its date")
        if call.body["scheduled_amount"]["total"] != period.estimated_total:
            raise _invalid("scheduled_amount.total must equal the period's estimated amount")
        previous = [p for p in contract.periods.values() if p.state == SCHEDULED]
        if any(p.pending_trade for p in previous):
            raise _invalid("a deduction of the scheduled period is still being processed")
        for stale in previous:  # scheduling a period voids the previous schedule
            stale.state = EXPIRED
        period.state, period.scheduled_total = SCHEDULED, period.estimated_total
        period.deduct_start, period.deduct_end = today + DAY, day + 29 * DAY
        return Reply(200, period.pay_view())

    def _apply(self, call: _Call) -> Reply:
        request = call.body
        trade_no = request["out_trade_no"]
        if self._is_replay("out_trade_no", trade_no, _fingerprint("apply", request)):
            return Reply(200, self._trades[trade_no].answer)
        contract = self._contract_by_id(request["contract_id"])
        period = self._period(contract.contract_id, request["policy_period_id"])
        self._check_period_call(contract, request, "apply")
        if period.state != SCHEDULED:
            raise _invalid(f"period {period.policy_period_id} is {period.state}")
        if period.pending_trade is not None:
            raise _invalid(f"deduction {period.pending_trade} of this period is in progress")
        assert period.deduct_start is not None and period.deduct_end is not None
        if not period.deduct_start <= self._today() <= period.deduct_end:
            raise _rule_limit(f"deductions are accepted from {period.deduct_start} to {period.deduct_end}")
        if request["amount"]["total"] != period.scheduled_total:
            raise _invalid("amount.total must equal the scheduled amount")
        self._claims["out_trade_no", trade_no] = _fingerprint("apply", request)
        answer = {"out_trade_no": trade_no, "amount": _amount(request["amount"]["total"])}
        self._trades[trade_no] = _Trade(contract.contract_id, period.policy_period_id, answer)
        period.pending_trade = trade_no
        return Reply(200, answer)

    def _check_period_call(self, contract: _Contract, body: dict[str, Any], action: str) -> None:
        """Checks shared by renew, modify, schedule and apply."""
        if body["appid"] != contract.request["appid"]:
            raise _invalid("appid does not match the contract's appid")
        if self.enforce_hours:
            start, end = HOURS[action]
            if not start <= self._now().time() <= end:
                raise _rule_limit(f"{action} is accepted from {start:%H:%M} to {end:%H:%M}")
        allowed = (SIGNED, TO_BE_RENEWED)
        if contract.state not in allowed:
            raise _invalid(f"contract is {contract.state}; {action} needs {' or '.join(allowed)}")

    # -- inspolicymgr: authorizations and policies -----------------------------------------

    def _authorize(self, call: _Call) -> Reply:
        request = call.body
        number = request["out_insurance_no"]
        if self._is_replay("out_insurance_no", number, _fingerprint(request)):
            return Reply(200, self._auth_view(self._auths[number]))
        self._claims["out_insurance_no", number] = _fingerprint(request)
        contract = self._contracts.get(request["out_contract_code"])
        state = AUTH_INIT
        if contract is not None and contract.plan_id == int(request["plan_id"]):
            state = AUTH_EXPIRED if contract.state == SIGN_FAILED else AUTH_PENDING
        auth = self._auths[number] = _Authorization(request, state, self._clock())
        return Reply(200, self._auth_view(auth))

    def _get_authorization(self, call: _Call) -> Reply:
        return Reply(200, self._auth_view(self._known_auth(call.path["out_insurance_no"])))

    def _upload_policy(self, call: _Call) -> Reply:
        request = call.body
        _check_policy_times(request)
        number = request["out_insurance_no"]
        fingerprint = _fingerprint("policy", request)
        if self._is_replay("policy", number, fingerprint):
            return Reply(200, self._policy_view(self._policies[number]))
        auth = self._known_auth(number)
        if auth.state != AUTH_GRANTED:
            raise _invalid(f"the user's authorization is {auth.state}, not {AUTH_GRANTED}")
        for name in ("plan_id", "out_contract_code"):
            if request[name] != auth.request[name]:
                raise _invalid(f"{name} does not match the authorization")
        record = {"insurance_name": auth.request["insurance_name"], **request}
        self._claims["policy", number] = fingerprint
        self._policies[number] = record
        return Reply(200, self._policy_view(record))

    def _get_policy(self, call: _Call) -> Reply:
        return Reply(200, self._policy_view(self._known_policy(call.path["out_insurance_no"])))

    def _patch_policy(self, call: _Call) -> Reply:
        record = self._known_policy(call.path["out_insurance_no"])
        state = record["policy_state"]
        if state not in POLICY_NEXT:
            raise _invalid(f"a policy in {state} can no longer be updated")
        target = call.body.get("policy_state", state)
        if target not in POLICY_NEXT[state]:
            raise _invalid(f"a policy in {state} cannot move to {target}")
        merged = {**record, **call.body}
        _check_policy_times(merged)
        record.update(merged)
        return Reply(200, self._policy_view(record))

    # -- hire-power-bank -------------------------------------------------------------------

    def _create_order(self, call: _Call) -> Reply:
        request = call.body
        number = request["out_order_no"]
        if self._is_replay("out_order_no", number, _fingerprint(request)):
            return Reply(200, self._order_view(self._orders[number]))
        if not self._is_qualified(request["openid"]):
            raise _rule_limit("the user is not qualified for an overnight insurance order")
        self._claims["out_order_no", number] = _fingerprint(request)
        order = _Order(f"{self._next_id(10**19)}", request, self._clock())
        self._orders[number] = order
        return Reply(200, self._order_view(order))

    def _get_order(self, call: _Call) -> Reply:
        return Reply(200, self._order_view(self._known_order(call.path["out_order_no"])))

    def _qualification(self, call: _Call) -> Reply:
        return Reply(200, {"qualified_user": self._is_qualified(call.path["openid"])})

    def _is_qualified(self, openid: str) -> bool:
        forced = self._qualified.get(openid)
        if forced is not None:
            return forced
        now = self._clock()
        return not any(
            order.request["openid"] == openid and (order.state == "RECEIVING" or (order.end or 0.0) > now)
            for order in self._orders.values()
        )

    # -- platsolution insurance compensation -----------------------------------------------

    def _apply_compensation(self, call: _Call) -> Reply:
        request = call.body
        sub_mchid = request["sub_mchid"]
        number = request["out_apply_no"]
        if not self._is_replay("out_apply_no", number, _fingerprint(request)):
            self._claims["out_apply_no", number] = _fingerprint(request)
            self._openings.setdefault(sub_mchid, _Opening(self._clock()))
            self.tick()
        return Reply(200, self._opening_view(sub_mchid))

    def _check_opened(self, call: _Call) -> Reply:
        return Reply(200, self._opening_view(call.path["sub_mchid"]))

    # -- shared helpers --------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), BEIJING)

    def _today(self) -> dt.date:
        return self._now().date()

    def _next_id(self, base: int) -> str:
        self._serial += 1
        return str(base + self._serial)

    def _is_replay(self, kind: str, key: str, fingerprint: bytes) -> bool:
        """True when `key` was used with the same content; raise when used with other content."""
        seen = self._claims.get((kind, key))
        if seen is None:
            return False
        if seen != fingerprint:
            raise _invalid(f"{kind} {key} was already used with different content")
        return True

    def _emit(self, url: str | None, event: str, original: str, resource: dict[str, Any]) -> None:
        if url:
            self._notify(Notice(url, event, SUMMARIES[event], original, resource))

    def _contract_notice(self, contract: _Contract, kind: str) -> None:
        resource = self._contract_view(contract, CONTRACT_NOTICE_FIELDS)
        self._emit(contract.request["contract_notify_url"], f"INSURANCE_ENTRUST.{kind}", "insurance_entrust", resource)

    def _end_contract(self, contract: _Contract, mode: str, remark: str | None) -> None:
        info: dict[str, Any] = {
            "contract_termination_mode": mode,
            "contract_terminated_time": rfc3339(self._clock()),
        }
        if remark is not None:
            info["contract_termination_remark"] = remark
        contract.state, contract.terminate_info = TERMINATED, info
        for period in contract.periods.values():
            self._drop_trade(period)
        self._contract_notice(contract, "TERMINATE")

    def _drop_trade(self, period: _Period) -> None:
        if period.pending_trade is not None:
            self._trades[period.pending_trade].state = "FAILED"
            period.pending_trade = None

    def _age_contract(self, contract: _Contract, today: dt.date) -> None:
        if contract.state not in EFFECTIVE:
            return
        for period in contract.periods.values():
            if period.state in (NO_SCHEDULED, SCHEDULED) and today > period.estimated_date + 29 * DAY:
                period.state = EXPIRED
                self._drop_trade(period)
        low = RENEW_WINDOW[self._frequencies.get(contract.plan_id, "MONTH")][0]
        since_last = (today - contract.last_period().estimated_date).days
        if contract.state == SIGNED and contract.renewable and since_last >= low:
            contract.state = TO_BE_RENEWED

    def _active_contracts(self, openid: str, plan_id: int) -> int:
        return sum(
            c.openid == openid and c.plan_id == plan_id and c.state in TERMINABLE for c in self._contracts.values()
        )

    def _settle_auths(self, contract: _Contract, old: str, new: str) -> None:
        for auth in self._auths.values():
            if auth.state == old and self._links(auth, contract):
                auth.state = new

    @staticmethod
    def _links(auth: _Authorization, contract: _Contract) -> bool:
        request = auth.request
        return (
            request["out_contract_code"] == contract.request["out_contract_code"]
            and int(request["plan_id"]) == contract.plan_id
        )

    def _auth_lapsed(self, auth: _Authorization, now: float) -> bool:
        session = self._sessions.get(auth.request["out_contract_code"])
        if session is None or session.request["plan_id"] != int(auth.request["plan_id"]):
            return now > auth.submitted + AUTH_INIT_SECONDS
        return session.state in ("EXPIRED", "FAILED")

    def _known_contract(self, out_contract_code: str) -> _Contract:
        contract = self._contracts.get(out_contract_code)
        if contract is None:
            raise _not_found(f"contract {out_contract_code} does not exist")
        return contract

    def _contract_at(self, plan_id: int, out_contract_code: str) -> _Contract:
        contract = self._known_contract(out_contract_code)
        if contract.plan_id != plan_id:
            raise _not_found(f"contract {out_contract_code} does not exist under plan {plan_id}")
        return contract

    def _contract_by_id(self, contract_id: str, plan_id: int | None = None) -> _Contract:
        contract = self._by_contract_id.get(contract_id)
        if contract is None or plan_id not in (None, contract.plan_id):
            raise _not_found(f"contract_id {contract_id} does not exist")
        return contract

    def _period(self, contract_id: str, policy_period_id: int) -> _Period:
        period = self._contract_by_id(contract_id).periods.get(policy_period_id)
        if period is None:
            raise _not_found(f"policy period {policy_period_id} does not exist")
        return period

    def _known_auth(self, out_insurance_no: str) -> _Authorization:
        auth = self._auths.get(out_insurance_no)
        if auth is None:
            raise _not_found(f"authorization {out_insurance_no} does not exist")
        return auth

    def _known_policy(self, out_insurance_no: str) -> dict[str, Any]:
        record = self._policies.get(out_insurance_no)
        if record is None:
            raise _not_found(f"policy {out_insurance_no} does not exist")
        return record

    def _known_order(self, out_order_no: str) -> _Order:
        order = self._orders.get(out_order_no)
        if order is None:
            raise _not_found(f"order {out_order_no} does not exist", "ORDER_NOT_EXIST")
        return order

    # -- views -------------------------------------------------------------------------------

    def _contract_view(self, contract: _Contract, fields: tuple[str, ...] = CONTRACT_FIELDS) -> dict[str, Any]:
        request = contract.request
        view: dict[str, Any] = {
            "mchid": self.mchid,
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
            expiry = dt.datetime.combine(contract.policy_end, dt.time(23, 59, 59), BEIJING)
            view["contract_expired_time"] = expiry.isoformat()
        if contract.state == TERMINATE_PENDING:
            view["revoke_terminate_contract_redirect_url"] = SIGN_PATH
            view["revoke_terminate_contract_redirect_appid"] = SIGN_APPID
        return {name: view[name] for name in fields if view.get(name) is not None}

    @staticmethod
    def _auth_view(auth: _Authorization, fields: tuple[str, ...] = AUTH_FIELDS) -> dict[str, Any]:
        view = {**auth.request, "auth_state": auth.state}
        if auth.user_auth_time is not None:
            view["user_auth_time"] = rfc3339(auth.user_auth_time)
        return {name: view[name] for name in fields if name in view}

    @staticmethod
    def _policy_view(record: dict[str, Any]) -> dict[str, Any]:
        return {name: record[name] for name in POLICY_FIELDS if name in record}

    @staticmethod
    def _order_view(order: _Order) -> dict[str, Any]:
        view: dict[str, Any] = {
            "order_id": order.order_id,
            "out_order_no": order.request["out_order_no"],
            "openid": order.request["openid"],
            "max_claim_count": order.max_claim_count,
            "claimed_count": order.claimed_count,
            "order_receive_time": rfc3339(order.receive_time),
        }
        if order.begin is not None and order.end is not None:
            view["order_begin_time"] = rfc3339(order.begin)
            view["order_end_time"] = rfc3339(order.end)
        view["order_receive_state"] = order.state
        return view

    def _opening_view(self, sub_mchid: str) -> dict[str, Any]:
        opening = self._openings.get(sub_mchid)
        if opening is None or opening.success is None:
            return {"sub_mchid": sub_mchid, "opened": False}
        return {"sub_mchid": sub_mchid, "opened": True, "success_time": rfc3339(opening.success)}


def _ordered_periods(items: list[dict[str, Any]]) -> list[tuple[int, dt.date]]:
    """(index in the request, date) by period id; ids unique and dates strictly increasing."""
    order = sorted(range(len(items)), key=lambda i: items[i]["policy_period_id"])
    result: list[tuple[int, dt.date]] = []
    for index in order:
        item, day = items[index], _date(items[index]["estimated_deduct_date"])
        if result:
            before = items[result[-1][0]]
            if item["policy_period_id"] == before["policy_period_id"]:
                raise _param_error(f"policy_periods[{index}].policy_period_id", "is repeated")
            if day <= result[-1][1]:
                raise _param_error(
                    f"policy_periods[{index}].estimated_deduct_date",
                    "must be later than the date of the period with the next lower id",
                )
        result.append((index, day))
    return result


def _check_policy_times(record: dict[str, Any]) -> None:
    for start, end in (
        ("effective_time", "expired_time"),
        ("start_renewal_time", "end_renewal_time"),
    ):
        if start in record and end in record and _instant(record[end]) < _instant(record[start]):
            raise _param_error(end, f"must not be before {start}")


# ---------------------------------------------------------------------------------------------
# Routing


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    template: tuple[str, ...]
    run: Callable[[InsuranceBook, _Call], Reply]
    product: str
    body: tuple[FieldSpec, ...] | None = None
    query: tuple[FieldSpec, ...] = ()
    variant: str = ""

    @property
    def path_specs(self) -> tuple[FieldSpec, ...]:
        return tuple(PATH_PARAMS[s[1:-1]] for s in self.template if s.startswith("{"))


def _route(
    method: str,
    template: str,
    run: Callable[[InsuranceBook, _Call], Reply],
    body: tuple[FieldSpec, ...] | None = None,
    **extra: Any,
) -> _Route:
    parts = tuple(template.split("/"))
    families = {
        "papay": "insurance-sign",
        "inspolicymgr": "inspolicymgr",
        "hire-power-bank": "hire-power-bank",
        "platsolution": "insurance-compensation",
    }
    return _Route(method, parts, run, families[parts[1]], body, **extra)


_SIGN = "v3/papay/insurance-sign"
_CONTRACT = f"{_SIGN}/contracts/plan-id/{{plan_id}}"
_PAY_PERIOD = "v3/papay/insurance-pay/policy-periods/contract-id/{contract_id}"
_POLICIES = "v3/inspolicymgr/deduct/policies"
_COMPENSATION = "v3/platsolution/ecommerce/insurance-compensation-contracts"
_Book = InsuranceBook
ROUTES = (
    _route("POST", f"{_CONTRACT}/out-contract-code/{{out_contract_code}}/terminate", _Book._terminate, TERMINATE),
    _route("POST", f"{_CONTRACT}/contract-id/{{contract_id}}/renew", _Book._renew, RENEW),
    _route("GET", f"{_CONTRACT}/out-contract-code/{{out_contract_code}}", _Book._get_contract),
    _route("POST", f"{_SIGN}/contracts/pre-entrust-sign/app", _Book._pre_sign, PRE_SIGN_APP, variant="app"),
    _route("POST", f"{_SIGN}/contracts/pre-entrust-sign/h5", _Book._pre_sign, PRE_SIGN_H5, variant="h5"),
    _route("POST", f"{_SIGN}/contracts/pre-entrust-sign/jsapi", _Book._pre_sign, PRE_SIGN_JSAPI, variant="jsapi"),
    _route(
        "POST",
        f"{_SIGN}/contracts/pre-entrust-sign/mini-program",
        _Book._pre_sign,
        PRE_SIGN_MINI_PROGRAM,
        variant="mini-program",
    ),
    _route(
        "POST", f"{_SIGN}/policy-periods/plan-id/{{plan_id}}/contract-id/{{contract_id}}/modify", _Book._modify, MODIFY
    ),
    _route(
        "GET",
        f"{_SIGN}/policy_periods/plan-id/{{plan_id}}/out-contract-code/{{out_contract_code}}",
        _Book._list_periods,
        query=PAGE,
    ),
    _route("POST", f"{_PAY_PERIOD}/policy-period-id/{{policy_period_id}}/schedule", _Book._schedule, SCHEDULE),
    _route("GET", f"{_PAY_PERIOD}/policy-period-id/{{policy_period_id}}", _Book._get_period),
    _route("POST", "v3/papay/insurance-pay/transactions/apply", _Book._apply, APPLY),
    _route("POST", "v3/inspolicymgr/deduct/authorizations", _Book._authorize, AUTHORIZE),
    _route("GET", "v3/inspolicymgr/deduct/authorizations/{out_insurance_no}", _Book._get_authorization),
    _route("POST", _POLICIES, _Book._upload_policy, POLICY_POST),
    _route("GET", f"{_POLICIES}/{{out_insurance_no}}", _Book._get_policy),
    _route("PATCH", f"{_POLICIES}/{{out_insurance_no}}", _Book._patch_policy, POLICY_PATCH),
    _route("POST", "v3/hire-power-bank/insurance-orders", _Book._create_order, ORDER),
    _route("GET", "v3/hire-power-bank/insurance-orders/{out_order_no}", _Book._get_order),
    _route("GET", "v3/hire-power-bank/user-qualifications/{openid}", _Book._qualification),
    _route("POST", _COMPENSATION, _Book._apply_compensation, COMPENSATION),
    _route("POST", f"{_COMPENSATION}/sub-mchid/{{sub_mchid}}/check-opened", _Book._check_opened),
)
del _Book


def _match(method: str, segments: tuple[str, ...]) -> tuple[_Route, dict[str, str]] | None:
    if segments and segments[0] == "":
        segments = segments[1:]
    for route in ROUTES:
        if route.method != method.upper() or len(route.template) != len(segments):
            continue
        params: dict[str, str] = {}
        for want, got in zip(route.template, segments, strict=True):
            if want.startswith("{") and got:
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return route, params
    return None
