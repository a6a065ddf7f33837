"""The notification parser: every check, the AEAD vectors, replay protection and typed events."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from typing import Any

import orjson
import pytest

from wechatpay_chain import (
    Client,
    ConfigurationError,
    ContractTerminateInfo,
    DuplicateNotificationError,
    GenericEvent,
    InsuranceContractEvent,
    InsurancePolicyGrantedEvent,
    MemorySeenIds,
    NotificationError,
    NotificationParser,
    PowerBankInsuranceEvent,
    SeenIds,
    parse_notification,
)
from wechatpay_chain._hazmat import aead_decrypt, aead_encrypt
from wechatpay_chain.testing import Credentials, Emulator
from wechatpay_chain.testing._auth import sign_answer

CONTRACT = {
    "mchid": "1900000109",
    "contract_id": "200000000000000001",
    "appid": "wxd678efh567hg6787",
    "plan_id": 12535,
    "out_contract_code": "C20240808001",
    "insured_display_name": "张三",
    "contract_state": "SIGNED",
    "contract_signed_time": "2024-08-08T10:34:56+08:00",
    "contract_expired_time": "2025-08-08T10:34:56+08:00",
    "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
}
TERMINATED = {
    **CONTRACT,
    "contract_state": "TERMINATED",
    "contract_terminate_info": {
        "contract_termination_mode": "MCH_API_TERMINATE",
        "contract_terminated_time": "2024-09-01T09:00:00+08:00",
        "contract_termination_remark": "用户退保",
    },
}
GRANTED = {
    "out_insurance_no": "INS20240808001",
    "insurance_name": "百万医疗险",
    "auth_state": "AUTH_STATE_GRANTED",
    "user_auth_time": "2024-08-08T10:40:00+08:00",
}
ORDER = {
    "order_id": "10000000000000000001",
    "out_order_no": "PB20240808001",
    "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    "max_claim_count": 1,
    "claimed_count": 0,
    "order_receive_time": "2024-08-08T22:00:00+08:00",
    "order_receive_state": "RECEIVED",
    "order_begin_time": "2024-08-08T22:00:00+08:00",
    "order_end_time": "2024-08-09T22:00:00+08:00",
}
# The parser is checked with notifications signed by either key: the merchant here has both.
pytestmark = pytest.mark.wechatpay_emulator(key_mode="transition")
EVENTS: dict[str, tuple[str, dict[str, Any], type]] = {
    "INSURANCE_ENTRUST.SIGN": ("insurance_entrust", CONTRACT, InsuranceContractEvent),
    "INSURANCE_ENTRUST.RENEW": ("insurance_entrust", CONTRACT, InsuranceContractEvent),
    "INSURANCE_ENTRUST.TERMINATE": ("insurance_entrust", TERMINATED, InsuranceContractEvent),
    "INSURANCE_POLICY_MANAGEMENT.GRANTED": ("insurance_policy_management", GRANTED, InsurancePolicyGrantedEvent),
    "HIRE_POWER_BANK.RECEIVE_INSURANCE": ("hire_power_bank", ORDER, PowerBankInsuranceEvent),
}


def signed(
    credentials: Credentials,
    event_type: str = "INSURANCE_ENTRUST.SIGN",
    resource: dict[str, Any] | None = None,
    *,
    now: float | None = None,
    public_key: bool = False,
    notification_id: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """A notification signed by the emulated platform (its newest certificate, or its public key)."""
    original_type, sample, _ = EVENTS.get(event_type, ("transaction", {"out_trade_no": "T1"}, GenericEvent))
    return credentials.notification(
        event_type,
        sample if resource is None else resource,
        original_type=original_type,
        summary="summary",
        public_key=public_key,
        now=now,
        notification_id=notification_id,
    )


def resigned(credentials: Credentials, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Fresh valid signature headers over `body` (to test the checks that follow the signature)."""
    platform = credentials.platform[-1]
    return sign_answer(platform.key, platform.serial, body, int(time.time() if now is None else now))


def with_resource(credentials: Credentials, **changes: Any) -> tuple[dict[str, str], bytes]:
    """A validly signed notification whose envelope's resource was changed before signing."""
    _, body = signed(credentials)
    envelope = orjson.loads(body)
    envelope["resource"].update(changes)
    body = orjson.dumps(envelope)
    return resigned(credentials, body), body


async def rejected(client: Client, headers: dict[str, str], body: bytes) -> NotificationError:
    with pytest.raises(NotificationError) as caught:
        await parse_notification(client, headers, body)
    return caught.value


# -- the happy path -----------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(EVENTS))
async def test_each_insurance_event_parses_into_its_typed_event(
    client: Client, credentials: Credentials, event_type: str
) -> None:
    original_type, resource, kind = EVENTS[event_type]
    headers, body = signed(credentials, event_type)
    notification = await parse_notification(client, headers, body)
    assert notification.event_type == event_type
    assert notification.original_type == original_type
    assert notification.resource == resource
    assert notification.resource_type == "encrypt-resource"
    assert notification.serial == credentials.platform_serial
    assert notification.body == body
    assert notification.envelope == orjson.loads(body)
    assert notification.id == orjson.loads(body)["id"]
    assert type(notification.event) is kind
    assert notification.event.event_type == event_type
    assert notification.event.resource == resource


async def test_typed_fields_follow_the_webhook_pages(client: Client, credentials: Credentials) -> None:
    terminated = (await parse_notification(client, *signed(credentials, "INSURANCE_ENTRUST.TERMINATE"))).event
    assert isinstance(terminated, InsuranceContractEvent)
    assert terminated.plan_id == 12535
    assert terminated.contract_state == "TERMINATED"
    assert terminated.contract_terminate_info == ContractTerminateInfo(
        "MCH_API_TERMINATE", "2024-09-01T09:00:00+08:00", "用户退保"
    )
    signed_event = (await parse_notification(client, *signed(credentials, "INSURANCE_ENTRUST.SIGN"))).event
    assert isinstance(signed_event, InsuranceContractEvent)
    assert signed_event.contract_terminate_info is None
    granted = (await parse_notification(client, *signed(credentials, "INSURANCE_POLICY_MANAGEMENT.GRANTED"))).event
    assert isinstance(granted, InsurancePolicyGrantedEvent)
    assert (granted.out_insurance_no, granted.auth_state) == ("INS20240808001", "AUTH_STATE_GRANTED")
    order = (await parse_notification(client, *signed(credentials, "HIRE_POWER_BANK.RECEIVE_INSURANCE"))).event
    assert isinstance(order, PowerBankInsuranceEvent)
    assert (order.max_claim_count, order.claimed_count, order.order_end_time) == (1, 0, "2024-08-09T22:00:00+08:00")


async def test_other_event_types_arrive_as_generic_events(client: Client, credentials: Credentials) -> None:
    resource = {"out_trade_no": "T1", "trade_state": "SUCCESS", "amount": {"total": 1}}
    notification = await parse_notification(client, *signed(credentials, "TRANSACTION.SUCCESS", resource))
    assert notification.event == GenericEvent("TRANSACTION.SUCCESS", resource)


async def test_an_ill_shaped_insurance_resource_falls_back_to_generic_with_a_warning(
    client: Client, credentials: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    resource = {k: v for k, v in CONTRACT.items() if k != "contract_id"}
    with caplog.at_level(logging.WARNING, logger="wechatpay_chain"):
        notification = await parse_notification(client, *signed(credentials, "INSURANCE_ENTRUST.SIGN", resource))
    assert notification.event == GenericEvent("INSURANCE_ENTRUST.SIGN", resource)
    assert "contract_id is missing" in caplog.text


async def test_a_notification_signed_with_the_public_key_parses(client: Client, credentials: Credentials) -> None:
    notification = await parse_notification(client, *signed(credentials, public_key=True))
    assert notification.serial == credentials.public_key_id


async def test_headers_may_be_lower_case_or_raw_asgi_pairs(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    lower = {name.lower(): value for name, value in headers.items()}
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    assert (await parse_notification(client, lower, body)).resource == CONTRACT
    assert (await parse_notification(client, raw, body)).resource == CONTRACT


# -- each check ---------------------------------------------------------------------------


async def test_a_tampered_body_is_rejected(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    error = await rejected(client, headers, body.replace(b'"summary"', b'"summarY"'))
    assert (error.check, error.status) == ("signature", 401)


async def test_a_reserialised_body_is_rejected(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    reformatted = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2)
    assert (await rejected(client, headers, reformatted)).check == "signature"


async def test_an_unknown_serial_is_rejected(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    headers["Wechatpay-Serial"] = "0123456789ABCDEF0123456789ABCDEF01234567"
    error = await rejected(client, headers, body)
    assert (error.check, error.status) == ("serial", 401)


async def test_a_signature_by_another_held_key_is_rejected(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    headers["Wechatpay-Serial"] = credentials.public_key_id  # held, but it did not sign this
    assert (await rejected(client, headers, body)).check == "signature"


@pytest.mark.parametrize("skew", [-301, 301, -3600])
async def test_a_timestamp_outside_five_minutes_is_rejected(
    client: Client, credentials: Credentials, skew: int
) -> None:
    headers, body = signed(credentials, now=time.time() + skew)
    error = await rejected(client, headers, body)
    assert (error.check, error.status) == ("timestamp", 401)


@pytest.mark.parametrize("skew", [-290, 290])
async def test_a_timestamp_inside_five_minutes_is_accepted(client: Client, credentials: Credentials, skew: int) -> None:
    assert (await parse_notification(client, *signed(credentials, now=time.time() + skew))).resource == CONTRACT


async def test_an_unsupported_signature_type_is_rejected(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    assert (await rejected(client, headers, body)).check == "signature-type"


@pytest.mark.parametrize("name", ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"])
async def test_a_missing_header_is_rejected(client: Client, credentials: Credentials, name: str) -> None:
    headers, body = signed(credentials)
    del headers[name]
    error = await rejected(client, headers, body)
    assert error.check == "headers"
    assert name in str(error)


async def test_a_bad_aead_tag_is_rejected(client: Client, credentials: Credentials) -> None:
    _, body = signed(credentials)
    sealed = bytearray(base64.b64decode(orjson.loads(body)["resource"]["ciphertext"]))
    sealed[-1] ^= 1  # the last byte of the 16-byte tag
    headers, body = with_resource(credentials, ciphertext=base64.b64encode(sealed).decode())
    error = await rejected(client, headers, body)
    assert (error.check, error.status) == ("decrypt", 500)
    assert error.notification_id == orjson.loads(body)["id"]


async def test_changed_associated_data_breaks_the_tag(client: Client, credentials: Credentials) -> None:
    assert (await rejected(client, *with_resource(credentials, associated_data="transaction"))).check == "decrypt"


async def test_a_wrong_apiv3_key_is_a_decrypt_failure(emulator: Emulator, credentials: Credentials) -> None:
    other = emulator.client(apiv3_key="x" * 32)
    error = await rejected(other, *signed(credentials))
    assert error.check == "decrypt"
    assert "x" * 32 not in str(error)


async def test_an_unsupported_algorithm_is_rejected(client: Client, credentials: Credentials) -> None:
    error = await rejected(client, *with_resource(credentials, algorithm="AEAD_SM4_GCM"))
    assert (error.check, error.status) == ("algorithm", 400)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"event_type": "X", "resource": {}}', b'{"id": "1", "event_type": "X"}'],
)
async def test_a_malformed_envelope_is_rejected(client: Client, credentials: Credentials, body: bytes) -> None:
    assert (await rejected(client, resigned(credentials, body), body)).check == "envelope"


async def test_a_resource_that_is_not_a_json_object_is_rejected(client: Client, credentials: Credentials) -> None:
    nonce = "abcdefghijkl"
    ciphertext = aead_encrypt(credentials.apiv3_key.encode(), nonce, "transaction", b"[1]")
    headers, body = with_resource(credentials, nonce=nonce, associated_data="transaction", ciphertext=ciphertext)
    assert (await rejected(client, headers, body)).check == "resource"


async def test_a_decoded_body_is_refused_before_any_check(client: Client, credentials: Credentials) -> None:
    headers, body = signed(credentials)
    with pytest.raises(ConfigurationError, match="raw request body as bytes"):
        await parse_notification(client, headers, body.decode())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="raw request body as bytes"):
        await parse_notification(client, headers, orjson.loads(body))


async def test_a_client_without_apiv3_key_cannot_parse(emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="apiv3_key"):
        NotificationParser(emulator.client(apiv3_key=None))


# -- the published AES-GCM vectors --------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "nonce", "aad", "ciphertext", "plaintext"),
    [
        ("0123456789abcdef0123456789abcdef", "0123456789abcdef", "world", "APoZlYpivU3HjbAiB4CvW1rAFr8J", b"hello"),
        ("0123456789abcdef0123456789abcdef", "0123456789abcdef", "", "GvpmmdtYwexXIPhySs9Tlg==", b""),
        (
            "testAPIv3Key0000",
            "wCq51qZv4Yfg",
            "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8",
            "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC",
            b"Hello World",
        ),
    ],
    ids=["aes256", "aes256-empty", "aes128"],
)
def test_published_aead_vectors(key: str, nonce: str, aad: str, ciphertext: str, plaintext: bytes) -> None:
    assert aead_decrypt(key.encode(), nonce, aad, ciphertext) == plaintext
    assert aead_encrypt(key.encode(), nonce, aad, plaintext) == ciphertext
    with pytest.raises(ValueError, match="authentication failed"):
        aead_decrypt(key.encode(), nonce, aad + "x", ciphertext)


async def test_the_parser_decrypts_the_published_vector(emulator: Emulator, credentials: Credentials) -> None:
    client = emulator.client(apiv3_key="0123456789abcdef0123456789abcdef")
    vector = {"nonce": "0123456789abcdef", "associated_data": "world", "ciphertext": "APoZlYpivU3HjbAiB4CvW1rAFr8J"}
    # "hello" decrypts, then is refused for not being a JSON object: the AEAD step passed.
    assert (await rejected(client, *with_resource(credentials, **vector))).check == "resource"
    vector["ciphertext"] = "APoZlYpivU3HjbAiB4CvW1rAFr8K"
    assert (await rejected(client, *with_resource(credentials, **vector))).check == "decrypt"


# -- replay protection --------------------------------------------------------------------


async def test_a_processed_id_is_reported_as_a_duplicate(client: Client, credentials: Credentials) -> None:
    parser = NotificationParser(client)
    headers, body = signed(credentials)
    first = await parser.parse(headers, body)
    async with parser.processing(first):
        pass
    again = await parser.parse(headers, body)  # still genuine: parse itself does not judge replays
    with pytest.raises(DuplicateNotificationError) as caught:
        async with parser.processing(again):
            pytest.fail("a duplicate must not be processed")
    assert (caught.value.notification_id, caught.value.check, caught.value.status) == (first.id, "replay", 204)
    assert caught.value.event_type == "INSURANCE_ENTRUST.SIGN"


async def test_a_redelivery_with_new_signature_headers_is_still_a_duplicate(
    client: Client, credentials: Credentials
) -> None:
    parser = NotificationParser(client)
    headers, body = signed(credentials)
    async with parser.processing(await parser.parse(headers, body)):
        pass
    retry = await parser.parse(resigned(credentials, body), body)
    with pytest.raises(DuplicateNotificationError):
        async with parser.processing(retry):
            pass


async def test_a_failed_block_leaves_the_id_unprocessed(client: Client, credentials: Credentials) -> None:
    parser = NotificationParser(client)
    notification = await parser.parse(*signed(credentials))
    with pytest.raises(RuntimeError):
        async with parser.processing(notification):
            raise RuntimeError("the database is down")
    ran = []
    async with parser.processing(notification):
        ran.append(notification.id)
    assert ran == [notification.id]


async def test_a_concurrent_delivery_of_the_same_id_is_refused_while_in_flight(
    client: Client, credentials: Credentials
) -> None:
    parser = NotificationParser(client)
    notification = await parser.parse(*signed(credentials))
    async with parser.processing(notification):
        with pytest.raises(NotificationError) as caught:
            async with parser.processing(notification):
                pytest.fail("processed twice at once")
        assert (caught.value.check, caught.value.status) == ("in-flight", 503)
    with pytest.raises(DuplicateNotificationError):
        async with parser.processing(notification):
            pass


async def test_without_a_store_only_concurrent_duplicates_are_stopped(client: Client, credentials: Credentials) -> None:
    parser = NotificationParser(client, seen_ids=False)
    notification = await parser.parse(*signed(credentials))
    runs = 0
    for _ in range(2):
        async with parser.processing(notification):
            runs += 1
    assert runs == 2


async def test_a_custom_store_is_used(client: Client, credentials: Credentials) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        async def seen(self, notification_id: str) -> bool:
            self.calls.append(("seen", notification_id))
            return False

        async def add(self, notification_id: str) -> None:
            self.calls.append(("add", notification_id))

    store = Recorder()
    assert isinstance(store, SeenIds)
    parser = NotificationParser(client, seen_ids=store)
    notification = await parser.parse(*signed(credentials))
    async with parser.processing(notification):
        pass
    assert store.calls == [("seen", notification.id), ("add", notification.id)]


async def test_a_store_without_the_protocol_is_refused(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="seen_ids"):
        NotificationParser(client, seen_ids=set())  # type: ignore[arg-type]


async def test_the_memory_store_is_a_bounded_lru() -> None:
    store = MemorySeenIds(maxsize=3)
    for name in "abc":
        await store.add(name)
    assert await store.seen("a")  # a is now the most recent; b is the oldest
    await store.add("d")
    assert len(store) == 3
    assert [await store.seen(n) for n in "abcd"] == [True, False, True, True]
    with pytest.raises(ConfigurationError):
        MemorySeenIds(maxsize=0)


async def test_concurrent_parses_of_distinct_ids_all_succeed(client: Client, credentials: Credentials) -> None:
    parser = NotificationParser(client)
    deliveries = [signed(credentials, notification_id=f"id-{i}") for i in range(20)]
    parsed = await asyncio.gather(*(parser.parse(h, b) for h, b in deliveries))
    assert sorted(n.id for n in parsed) == sorted(f"id-{i}" for i in range(20))


# -- no secrets ---------------------------------------------------------------------------


async def test_reprs_and_errors_do_not_carry_the_apiv3_key(client: Client, credentials: Credentials) -> None:
    parser = NotificationParser(client)
    notification = await parser.parse(*signed(credentials))
    error = await rejected(client, *with_resource(credentials, associated_data="x"))
    for text in (repr(parser), repr(notification), str(error)):
        assert credentials.apiv3_key not in text
