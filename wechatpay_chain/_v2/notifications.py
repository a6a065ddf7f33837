"""APIv2 notifications: the payment result (XML, `sign` verified) and the refund result (`req_info` decrypted).

WeChat Pay POSTs XML to the order's or refund's `notify_url` and retries until the merchant
answers `<xml><return_code>SUCCESS</return_code>…</xml>`. A payment result is signed with the
APIv2 key (MD5 or HMAC-SHA256); a refund result is not signed, its `req_info` is encrypted
instead: AES-256-ECB keyed with the lower-case hex MD5 of the APIv2 key, PKCS#7, base64. Both are
processed once per id (the transaction id; the refund id) by the same replay guard as APIv3's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .. import _hazmat
from .._errors import ConfigurationError, NotificationError, SignatureError, XmlError
from .._notifications.parser import raw_body
from .._notifications.seen_ids import ReplayGuard, SeenIds, store
from .._notifications.webhooks import AsgiWebhook, Endpoint, aiohttp_handler
from .._secret import Secret
from .._types import HeadersInput
from . import xml
from .verification import verify

if TYPE_CHECKING:
    from aiohttp import web

PAYMENT = "TRANSACTION.SUCCESS"
# A refund's refund_status, named as the APIv3 refund notifications name it.
REFUND_EVENTS = {"SUCCESS": "REFUND.SUCCESS", "CHANGE": "REFUND.ABNORMAL", "REFUNDCLOSE": "REFUND.CLOSED"}
SUCCESS_ANSWER = xml.dumps({"return_code": "SUCCESS", "return_msg": "OK"})


class ApiV2KeyHolder(Protocol):
    """What APIv2 notifications need of a client: who it is, and its APIv2 key."""

    mchid: str

    @property
    def apiv2_key(self) -> Secret | None:
        """The key payment results are signed with and refund results encrypted with."""
        ...


@dataclass(frozen=True, slots=True)
class V2Notification:
    """One verified APIv2 notification: a payment result, or a refund result with `req_info` decrypted."""

    id: str  # the transaction_id of a payment, the refund_id of a refund
    event_type: str  # TRANSACTION.SUCCESS (TRANSACTION.<result_code> otherwise), REFUND.SUCCESS/ABNORMAL/CLOSED
    kind: str  # "payment" or "refund"
    resource: xml.XmlDict  # what it says: a payment's fields, a refund's decrypted req_info
    fields: xml.XmlDict = field(repr=False)  # the document as received (req_info still encrypted)
    body: bytes = field(repr=False)  # the raw body, byte for byte


class V2NotificationParser:
    """Verifies (or decrypts) a client's APIv2 notifications and remembers which ids were processed.

    `seen_ids` as for `NotificationParser`: True for an in-memory store, False for none, or your own.
    """

    def __init__(self, client: ApiV2KeyHolder, *, seen_ids: SeenIds | bool = True) -> None:
        key = client.apiv2_key
        if key is None:
            raise ConfigurationError(
                "APIv2 notifications need the APIv2 key: create the client with "
                "Client(..., apiv2_key='<the 32-character APIv2 key>')"
            )
        self.client = client
        self._key = key
        self.seen_ids: SeenIds | None = store(seen_ids)
        self._guard = ReplayGuard(self.seen_ids)

    async def parse(self, headers: HeadersInput, body: bytes) -> V2Notification:
        """Read one notification; NotificationError naming the check that failed (and what to answer)."""
        raw = raw_body(body)
        try:
            fields = xml.loads(raw)
        except XmlError as exc:
            raise NotificationError(f"the notification is not acceptable XML: {exc}", check=exc.check) from None
        if fields.get("return_code") != "SUCCESS":
            raise NotificationError(
                f"the notification says return_code {fields.get('return_code')!r}: {fields.get('return_msg', '')}",
                check="return_code",
            )
        if "req_info" in fields:
            return self._refund(fields, raw)
        return self._payment(fields, raw)

    def processing(self, notification: V2Notification) -> AbstractAsyncContextManager[V2Notification]:
        """Run the block once per notification id (see `NotificationParser.processing`)."""
        return self._guard.once(notification.id, notification.event_type, notification)

    def _payment(self, fields: xml.XmlDict, raw: bytes) -> V2Notification:
        try:
            verify(fields, self._key)
        except SignatureError as exc:
            raise NotificationError(
                f"notification signature check failed: {exc}", check=exc.check, status=401
            ) from None
        transaction_id = fields.get("transaction_id")
        if not isinstance(transaction_id, str) or not transaction_id:
            raise NotificationError("the payment result has no transaction_id", check="fields")
        result = fields.get("result_code", "SUCCESS")
        event_type = PAYMENT if result == "SUCCESS" else f"TRANSACTION.{result}"
        return V2Notification(transaction_id, event_type, "payment", fields, fields, raw)

    def _refund(self, fields: xml.XmlDict, raw: bytes) -> V2Notification:
        resource = decrypt_req_info(fields["req_info"], self._key)
        refund_id = resource.get("refund_id")
        if not isinstance(refund_id, str) or not refund_id:
            raise NotificationError("the refund result has no refund_id", check="resource")
        status = resource.get("refund_status")
        event_type = REFUND_EVENTS.get(status, f"REFUND.{status}") if isinstance(status, str) else "REFUND"
        return V2Notification(refund_id, event_type, "refund", resource, fields, raw)

    def __repr__(self) -> str:
        return f"<V2NotificationParser mchid={self.client.mchid!r} seen_ids={type(self.seen_ids).__name__}>"


def decrypt_req_info(req_info: object, key: Secret) -> xml.XmlDict:
    """A refund result's `req_info` opened: base64, AES-256-ECB with the hex MD5 of the APIv2 key, XML."""
    secret = hashlib.md5(key.reveal()).hexdigest().encode()  # lower-case hex: 32 bytes, an AES-256 key
    try:
        plaintext = _hazmat.ecb_decrypt(secret, base64.b64decode(str(req_info), validate=True))
    except (ValueError, binascii.Error):
        # A refund result that does not decrypt: most likely the wrong APIv2 key here, so it is
        # answered 500 and delivered again once that is fixed.
        raise NotificationError(
            "req_info does not decrypt with the APIv2 key: check the client's apiv2_key", check="decrypt", status=500
        ) from None
    try:
        return xml.loads(plaintext)
    except XmlError as exc:
        raise NotificationError(f"the decrypted req_info is not XML: {exc}", check="resource") from None


async def parse_v2_notification(client: ApiV2KeyHolder, headers: HeadersInput, body: bytes) -> V2Notification:
    """Verify (or decrypt) one APIv2 notification with `client`'s key (no replay protection)."""
    return await V2NotificationParser(client, seen_ids=False).parse(headers, body)


OnV2Event = Callable[[V2Notification], object]


class V2WebhookEndpoint(Endpoint[V2Notification]):
    """The APIv2 notification endpoint: answers `return_code` SUCCESS (200) once processed, FAIL otherwise.

    A failure is answered with its status (4xx/5xx) and `return_code` FAIL, so WeChat Pay retries.
    """

    content_type = "text/xml"

    def __init__(
        self, client: ApiV2KeyHolder | V2NotificationParser, on_event: OnV2Event, *, seen_ids: SeenIds | bool = True
    ) -> None:
        parser = client if isinstance(client, V2NotificationParser) else V2NotificationParser(client, seen_ids=seen_ids)
        super().__init__(parser, on_event)

    def acknowledge(self) -> tuple[int, bytes]:
        """`<xml><return_code>SUCCESS</return_code><return_msg>OK</return_msg></xml>`, 200."""
        return 200, SUCCESS_ANSWER

    def refuse(self, status: int, message: str) -> tuple[int, bytes]:
        """`return_code` FAIL with the reason, and the error's status."""
        return status, xml.dumps({"return_code": "FAIL", "return_msg": message})


def v2_handler_for(
    client: ApiV2KeyHolder | V2NotificationParser, on_event: OnV2Event, *, seen_ids: SeenIds | bool = True
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp.web handler for APIv2 notifications: `app.router.add_post("/notify/v2", v2_handler_for(…))`."""
    return aiohttp_handler(V2WebhookEndpoint(client, on_event, seen_ids=seen_ids))


def v2_asgi_app(
    client: ApiV2KeyHolder | V2NotificationParser, on_event: OnV2Event, *, seen_ids: SeenIds | bool = True
) -> AsgiWebhook:
    """An ASGI app (Starlette, FastAPI) for APIv2 notifications that runs `on_event`."""
    return AsgiWebhook(V2WebhookEndpoint(client, on_event, seen_ids=seen_ids))
