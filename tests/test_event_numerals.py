"""A field that does not parse never costs a notification: the handler gets the generic event, and it is logged.

WeChat Pay answers every failed delivery with a redelivery; a resource whose int field holds a
numeral `int()` refuses must not turn into a 500 on every one of them.
"""

from __future__ import annotations

import logging

import pytest
from test_notifications import CONTRACT, ORDER, signed

from wechatpay_chain import Client, GenericEvent, InsuranceContractEvent, Notification, WebhookEndpoint
from wechatpay_chain.testing import Credentials

ODD_NUMERALS = {
    "superscript two": "²",
    "circled one": "①",
    "5,000 digits": "1" * 5000,
    "Arabic-Indic digits": "١٢٣",
    "plus sign": "+1",
    "leading space": " 1",
    "underscore": "1_000",
    "decimal point": "1.0",
}

# Notifications here are signed with the platform certificate, which a transition-mode emulator has.
pytestmark = pytest.mark.wechatpay_emulator(key_mode="transition")


@pytest.mark.parametrize("numeral", ODD_NUMERALS.values(), ids=ODD_NUMERALS.keys())
@pytest.mark.parametrize(
    ("event_type", "resource", "field"),
    [
        ("INSURANCE_ENTRUST.SIGN", CONTRACT, "plan_id"),
        ("HIRE_POWER_BANK.RECEIVE_INSURANCE", ORDER, "max_claim_count"),
    ],
    ids=["contract plan_id", "power bank max_claim_count"],
)
async def test_an_odd_numeral_arrives_as_a_generic_event_and_is_logged(
    client: Client,
    credentials: Credentials,
    caplog: pytest.LogCaptureFixture,
    numeral: str,
    event_type: str,
    resource: dict[str, object],
    field: str,
) -> None:
    seen: list[Notification] = []
    odd = {**resource, field: numeral}
    headers, body = signed(credentials, event_type, odd)
    with caplog.at_level(logging.WARNING, "wechatpay_chain"):
        status, _ = await WebhookEndpoint(client, seen.append).respond(headers, body)
    assert status == 204
    (notification,) = seen
    assert isinstance(notification.event, GenericEvent)
    assert notification.event.resource == odd
    assert [r for r in caplog.records if field in r.getMessage() and "GenericEvent" in r.getMessage()]


async def test_a_plain_numeric_string_still_makes_the_typed_event(client: Client, credentials: Credentials) -> None:
    seen: list[Notification] = []
    headers, body = signed(credentials, "INSURANCE_ENTRUST.SIGN", {**CONTRACT, "plan_id": "12535"})
    assert (await WebhookEndpoint(client, seen.append).respond(headers, body))[0] == 204
    event = seen[0].event
    assert isinstance(event, InsuranceContractEvent) and event.plan_id == 12535
