"""Typed events for the insurance notifications; every other event type arrives as a `GenericEvent`.

Field names and types follow the decrypted `resource` of WeChat Pay's webhook pages. Times stay the
RFC 3339 strings WeChat Pay sends. An event whose resource lacks a documented required field (or
carries one of the wrong type) falls back to `GenericEvent` with a warning instead of being
rejected, so a schema change on WeChat Pay's side never loses a notification.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from .._config import LOGGER_NAME

logger = logging.getLogger(LOGGER_NAME)

INSURANCE_ENTRUST_SIGN = "INSURANCE_ENTRUST.SIGN"
INSURANCE_ENTRUST_RENEW = "INSURANCE_ENTRUST.RENEW"
INSURANCE_ENTRUST_TERMINATE = "INSURANCE_ENTRUST.TERMINATE"
INSURANCE_POLICY_MANAGEMENT_GRANTED = "INSURANCE_POLICY_MANAGEMENT.GRANTED"
HIRE_POWER_BANK_RECEIVE_INSURANCE = "HIRE_POWER_BANK.RECEIVE_INSURANCE"


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


@dataclass(frozen=True, slots=True)
class GenericEvent:
    """Any other event type (payments, refunds, …): the decrypted resource as a dict."""

    event_type: str
    resource: dict[str, Any] = field(default_factory=dict)


Event = Union[InsuranceContractEvent, InsurancePolicyGrantedEvent, PowerBankInsuranceEvent, GenericEvent]  # noqa: UP007

EVENT_CLASSES: Mapping[str, type[InsuranceContractEvent | InsurancePolicyGrantedEvent | PowerBankInsuranceEvent]] = {
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
    cls = EVENT_CLASSES.get(event_type)
    if cls is None:
        return GenericEvent(event_type, dict(resource))
    try:
        return cls(event_type=event_type, resource=dict(resource), **_fields(cls, resource))
    except _Mismatch as exc:
        logger.warning(
            "%s resource does not match its documented fields (%s); delivered as GenericEvent", event_type, exc
        )
        return GenericEvent(event_type, dict(resource))


def _fields(cls: type, resource: Mapping[str, Any]) -> dict[str, Any]:
    """The dataclass's fields taken from the resource, checked against their annotations."""
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name in _ENVELOPE_FIELDS:
            continue
        values[item.name] = _coerce(item.name, hints[item.name], resource.get(item.name))
    return values


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """One field's value as its annotation wants it; _Mismatch when it cannot be."""
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    if value is None:
        if optional:
            return None
        raise _Mismatch(f"{name} is missing")
    if base is str and isinstance(value, str):
        return value
    if base is int:
        return _integer(name, value)
    if dataclasses.is_dataclass(base) and isinstance(base, type) and isinstance(value, Mapping):
        return base(**_fields(base, value))
    raise _Mismatch(f"{name} is a {type(value).__name__}")


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


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints
