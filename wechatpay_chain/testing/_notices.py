"""What a family asks the emulator to notify: a `Notice`, delivered as a signed, encrypted webhook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Notice:
    """A webhook the real WeChat Pay would send now, with its decrypted resource."""

    notify_url: str
    event_type: str
    summary: str
    original_type: str  # also the AEAD associated data
    resource: Mapping[str, Any]


Notify = Callable[[Notice], object]
"""Where a family hands its notices (any result is ignored): the emulator delivers them, a test may collect them."""


# What WeChat Pay sends with the event types a test most often sends by hand (`emu.notify`).
SUMMARIES = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}
ORIGINAL_TYPES = {"TRANSACTION": "transaction", "REFUND": "refund"}


def notice_for(
    url: str,
    event_type: str,
    resource: Mapping[str, Any],
    *,
    summary: str | None = None,
    original_type: str | None = None,
) -> Notice:
    """A notice of any event type; `summary` and `original_type` default to WeChat Pay's for it.

    Unknown event types get an empty summary and, as original_type, their prefix in lower case
    (`INSURANCE_ENTRUST.SIGN` -> `insurance_entrust`).
    """
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("event_type must be a non-empty string such as TRANSACTION.SUCCESS")
    prefix = event_type.partition(".")[0]
    return Notice(
        url,
        event_type,
        SUMMARIES.get(event_type, "") if summary is None else summary,
        ORIGINAL_TYPES.get(prefix, prefix.lower()) if original_type is None else original_type,
        dict(resource),
    )
