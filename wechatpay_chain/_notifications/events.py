"""Typed events for the payment, refund and insurance notifications; other event types arrive as a `GenericEvent`.

Field names and types follow the decrypted `resource` of WeChat Pay's webhook pages. Amounts are
ints (cents). The payment and refund events parse their times into aware datetimes; the insurance
events keep the RFC 3339 strings WeChat Pay sends. Every event keeps the whole decrypted resource
in `resource`, so a field WeChat Pay adds later is never lost (`extra` lists those the class does
not type). An event whose resource lacks a documented required field (or carries one of the
wrong type) falls back to `GenericEvent` with a warning instead of being rejected, so a schema
change on WeChat Pay's side never loses a notification.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from .._config import LOGGER_NAME

logger = logging.getLogger(LOGGER_NAME)

INSURANCE_ENTRUST_SIGN = "INSURANCE_ENTRUST.SIGN"
INSURANCE_ENTRUST_RENEW = "INSURANCE_ENTRUST.RENEW"
INSURANCE_ENTRUST_TERMINATE = "INSURANCE_ENTRUST.TERMINATE"
INSURANCE_POLICY_MANAGEMENT_GRANTED = "INSURANCE_POLICY_MANAGEMENT.GRANTED"
HIRE_POWER_BANK_RECEIVE_INSURANCE = "HIRE_POWER_BANK.RECEIVE_INSURANCE"
TRANSACTION_SUCCESS = "TRANSACTION.SUCCESS"
REFUND_SUCCESS = "REFUND.SUCCESS"
REFUND_ABNORMAL = "REFUND.ABNORMAL"
REFUND_CLOSED = "REFUND.CLOSED"


@dataclass(frozen=True, slots=True)
class ContractTerminateInfo:
    """How and when an insurance auto-deduct contract ended (present when `contract_state` is TERMINATED)."""

    contract_termination_mode: str  # USER_TERMINATE | MCH_API_TERMINATE | API | WEPAY_WEB_TERMINATE | …
    contract_terminated_time: str
    contract_termination_remark: str | None = None


@dataclass(frozen=True, slots=True)
class InsuranceContractEvent:
    """INSURANCE_ENTRUST.SIGN, .RENEW or .TERMINATE: an insurance auto-deduct contract's new state."""

    event_type: str
    mchid: str
    contract_id: str
    appid: str
    plan_id: int
    out_contract_code: str
    insured_display_name: str
    contract_state: str  # SIGNED | TERMINATED
    contract_signed_time: str
    contract_expired_time: str
    openid: str
    contract_terminate_info: ContractTerminateInfo | None = None
    resource: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class InsurancePolicyGrantedEvent:
    """INSURANCE_POLICY_MANAGEMENT.GRANTED: the user authorised the merchant's policy service."""

    event_type: str
    out_insurance_no: str
    insurance_name: str
    auth_state: str  # AUTH_STATE_GRANTED in practice
    user_auth_time: str
    resource: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class PowerBankInsuranceEvent:
    """HIRE_POWER_BANK.RECEIVE_INSURANCE: a power-bank overnight insurance order changed state."""

    event_type: str
    order_id: str
    out_order_no: str
    openid: str
    max_claim_count: int
    claimed_count: int
    order_receive_time: str
    order_receive_state: str  # RECEIVING | RECEIVED
    order_begin_time: str | None = None
    order_end_time: str | None = None
    resource: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class _Typed:
    """What the payment and refund events share: the fields WeChat Pay sent that the class does not type."""

    __slots__ = ()

    @property
    def extra(self) -> dict[str, Any]:
        """The resource's fields this class has no attribute for (new fields WeChat Pay added), as sent."""
        resource: dict[str, Any] = getattr(self, "resource")  # noqa: B009 (a dataclass field of the subclass)
        known = {item.name for item in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {name: value for name, value in resource.items() if name not in known}


@dataclass(frozen=True, slots=True)
class TransactionAmount:
    """An order's amount, in cents: what the order was for and what the payer paid."""

    total: int
    payer_total: int | None = None
    currency: str | None = None  # CNY
    payer_currency: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionPayer:
    """Who paid: `openid` for a direct merchant, `sp_openid` / `sub_openid` for a service provider's order."""

    openid: str | None = None
    sp_openid: str | None = None
    sub_openid: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionEvent(_Typed):
    """TRANSACTION.SUCCESS: an order was paid (direct merchant: `appid`/`mchid`; partner: `sp_*`/`sub_*`)."""

    event_type: str
    out_trade_no: str
    transaction_id: str
    trade_type: str  # JSAPI | NATIVE | APP | MWEB | MICROPAY | FACEPAY
    trade_state: str  # SUCCESS
    success_time: dt.datetime
    amount: TransactionAmount
    trade_state_desc: str | None = None
    appid: str | None = None
    mchid: str | None = None
    sp_appid: str | None = None
    sp_mchid: str | None = None
    sub_appid: str | None = None
    sub_mchid: str | None = None
    bank_type: str | None = None
    attach: str | None = None
    payer: TransactionPayer | None = None
    resource: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CombinedSubOrderAmount:
    """A sub-order's amount, in cents."""

    total_amount: int
    payer_amount: int | None = None
    currency: str | None = None
    payer_currency: str | None = None


@dataclass(frozen=True, slots=True)
class CombinedSubOrder:
    """One sub-order of a combined payment, as its notification lists it."""

    mchid: str
    out_trade_no: str
    trade_state: str
    amount: CombinedSubOrderAmount
    transaction_id: str | None = None
    trade_type: str | None = None
    sub_mchid: str | None = None
    sub_appid: str | None = None
    sub_openid: str | None = None
    bank_type: str | None = None
    attach: str | None = None
    success_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class CombinedPayer:
    """Who paid a combined order."""

    openid: str | None = None


@dataclass(frozen=True, slots=True)
class CombinedTransactionEvent(_Typed):
    """TRANSACTION.SUCCESS for a combined payment (`v3/combine-transactions/…`): the order and its sub-orders."""

    event_type: str
    combine_appid: str
    combine_mchid: str
    combine_out_trade_no: str
    sub_orders: tuple[CombinedSubOrder, ...]
    combine_transaction_id: str | None = None
    combine_payer_info: CombinedPayer | None = None
    resource: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RefundAmount:
    """A refund's amounts, in cents: the order's `total`, the `refund`, and the payer's share of each."""

    total: int
    refund: int
    payer_total: int
    payer_refund: int


@dataclass(frozen=True, slots=True)
class RefundEvent(_Typed):
    """REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED: a refund ended (partners: `sp_mchid`/`sub_mchid`)."""

    event_type: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str
    refund_status: str  # SUCCESS | ABNORMAL | CLOSED
    amount: RefundAmount
    mchid: str | None = None
    sp_mchid: str | None = None
    sub_mchid: str | None = None
    success_time: dt.datetime | None = None  # when refund_status is SUCCESS
    user_received_account: str | None = None  # e.g. 支付用户零钱, or the card the money went back to
    resource: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class GenericEvent:
    """Any other event type (payments, refunds, …): the decrypted resource as a dict."""

    event_type: str
    resource: dict[str, Any] = field(default_factory=dict)


Event = Union[  # noqa: UP007
    TransactionEvent,
    CombinedTransactionEvent,
    RefundEvent,
    InsuranceContractEvent,
    InsurancePolicyGrantedEvent,
    PowerBankInsuranceEvent,
    GenericEvent,
]
TypedEvent = Union[  # noqa: UP007
    TransactionEvent,
    CombinedTransactionEvent,
    RefundEvent,
    InsuranceContractEvent,
    InsurancePolicyGrantedEvent,
    PowerBankInsuranceEvent,
]

EVENT_CLASSES: Mapping[str, type[TypedEvent]] = {
    TRANSACTION_SUCCESS: TransactionEvent,
    REFUND_SUCCESS: RefundEvent,
    REFUND_ABNORMAL: RefundEvent,
    REFUND_CLOSED: RefundEvent,
    INSURANCE_ENTRUST_SIGN: InsuranceContractEvent,
    INSURANCE_ENTRUST_RENEW: InsuranceContractEvent,
    INSURANCE_ENTRUST_TERMINATE: InsuranceContractEvent,
    INSURANCE_POLICY_MANAGEMENT_GRANTED: InsurancePolicyGrantedEvent,
    HIRE_POWER_BANK_RECEIVE_INSURANCE: PowerBankInsuranceEvent,
}

# Filled by the resource itself or by event_for, never read from the resource's fields.
_ENVELOPE_FIELDS = frozenset({"event_type", "resource"})


class _Mismatch(Exception):
    """A resource does not have the documented shape of its event type."""


def event_for(event_type: str, resource: Mapping[str, Any]) -> Event:
    """The typed event for a decrypted resource, or a GenericEvent for other or ill-shaped resources."""
    cls = _class_for(event_type, resource)
    if cls is None:
        return GenericEvent(event_type, dict(resource))
    try:
        return cls(event_type=event_type, resource=dict(resource), **_fields(cls, resource))
    except _Mismatch as exc:
        logger.warning(
            "%s resource does not match its documented fields (%s); delivered as GenericEvent", event_type, exc
        )
        return GenericEvent(event_type, dict(resource))


def _class_for(event_type: str, resource: Mapping[str, Any]) -> type[TypedEvent] | None:
    # A combined payment's TRANSACTION.SUCCESS carries the combined order, not one order.
    if event_type == TRANSACTION_SUCCESS and "combine_out_trade_no" in resource:
        return CombinedTransactionEvent
    return EVENT_CLASSES.get(event_type)


Convert = Callable[[str, Any], Any]
"""One field's value (given its name, for the message) as its annotation wants it; _Mismatch when it cannot be."""


def _fields(cls: type, resource: Mapping[str, Any]) -> dict[str, Any]:
    """The dataclass's fields taken from the resource, checked against their annotations."""
    return {name: convert(name, resource.get(name)) for name, convert in _plan(cls)}


_PLANS: dict[type, list[tuple[str, Convert]]] = {}


def _plan(cls: type) -> list[tuple[str, Convert]]:
    """Each field of `cls` read from a resource, with its converter: worked out once per class, not per event."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        fields = [item.name for item in dataclasses.fields(cls) if item.name not in _ENVELOPE_FIELDS]
        plan = _PLANS[cls] = [(name, _converter(hints[name])) for name in fields]
    return plan


def _converter(hint: Any) -> Convert:
    """The converter for a field annotated `hint` (`X | None` lets a missing value through as None)."""
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    if base is str:  # most fields: one test, no second function
        if optional:
            return lambda name, value: value if value is None or isinstance(value, str) else _wrong(name, value)
        return lambda name, value: value if isinstance(value, str) else _wrong(name, value)
    convert = _base_converter(base)

    def field_value(name: str, value: Any) -> Any:
        if value is None:
            if optional:
                return None
            raise _Mismatch(f"{name} is missing")
        return convert(name, value)

    return field_value


def _base_converter(base: Any) -> Convert:
    if base is int:
        return _integer
    if base is dt.datetime:
        return _instant
    if dataclasses.is_dataclass(base) and isinstance(base, type):
        return lambda name, value: base(**_fields(base, value)) if isinstance(value, Mapping) else _wrong(name, value)
    if typing.get_origin(base) is tuple:
        item = _converter(typing.get_args(base)[0])
        return lambda name, value: (
            tuple(item(f"{name}[{i}]", element) for i, element in enumerate(value))
            if isinstance(value, list)
            else _wrong(name, value)
        )
    return _wrong  # no other annotation is read from a resource


def _wrong(name: str, value: Any) -> Any:
    raise _Mismatch(f"{name} is missing" if value is None else f"{name} is a {type(value).__name__}")


# A numeric string is taken when it is plain ASCII digits of a size WeChat Pay's numbers have:
# str.isdigit() also admits "²" and "①", which int() refuses, and int() refuses more than 4,300 digits.
_NUMERAL = re.compile(r"[0-9]{1,19}")


def _integer(name: str, value: Any) -> int:
    # JSON numbers arrive as int; tolerate numeric strings, never booleans.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _NUMERAL.fullmatch(value):
        return int(value)
    raise _Mismatch(f"{name} is not an integer")


def _instant(name: str, value: Any) -> dt.datetime:
    # RFC 3339 with an offset, as WeChat Pay writes times: 2024-08-08T10:34:56+08:00 (or Z).
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "Zz" else value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise _Mismatch(f"{name} is not an RFC 3339 time with an offset")
