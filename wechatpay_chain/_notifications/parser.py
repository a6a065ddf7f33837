"""Webhook notifications: verify the raw body, decrypt the resource, process each id once.

`parse` answers "is this notification genuine, and what does it say"; `processing` answers "has it
been handled already". The framework adapters in `_webhooks` combine the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from .._errors import ConfigurationError, NotificationError, SignatureError
from .._keys.resource import ResourceError, ResourceKey
from .._secret import Secret
from .._types import HeadersInput
from .events import Event, event_for
from .seen_ids import ReplayGuard, SeenIds, store


class Verifies(Protocol):
    """The signature check notifications go through (the client's `Verifier`)."""

    async def check(self, headers: Mapping[str, str], body: bytes) -> str:
        """Verify `body` against its `Wechatpay-*` headers; returns the serial that signed it."""
        ...


class KeyHolder(Protocol):
    """What notifications need of a client: who it is, its current verifier, and its APIv3 key."""

    mchid: str

    @property
    def verifier(self) -> Verifies:
        """The stack's current verifier."""
        ...

    @property
    def apiv3_key(self) -> Secret | None:
        """The APIv3 key the resources are sealed with."""
        ...


@dataclass(frozen=True, slots=True)
class Notification:
    """One verified, decrypted notification: the envelope's fields, the resource and its typed event."""

    id: str
    create_time: str
    event_type: str
    resource_type: str
    summary: str
    original_type: str
    resource: dict[str, Any]  # the decrypted resource
    serial: str  # the platform certificate serial or public key id that signed it
    envelope: dict[str, Any] = field(repr=False)  # the envelope as received, ciphertext included
    body: bytes = field(repr=False)  # the raw body, byte for byte
    _event: Event | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def event(self) -> Event:
        """The typed view of `resource` (GenericEvent for untyped event types), made on first access.

        Made then, not by `parse`, so that a handler reading only `resource` does not pay for it
        (some 5 to 10 µs for a payment); a resource that does not match its documented fields
        becomes a GenericEvent, with its warning logged, at that first access.
        """
        event = self._event
        if event is None:
            event = event_for(self.event_type, self.resource)
            object.__setattr__(self, "_event", event)  # frozen: set once, as a cache
        return event


class NotificationParser:
    """Verifies and decrypts a client's notifications and remembers which ids were processed.

    `seen_ids`: True (default) for an in-memory store of the last 10,000 ids, False for no replay
    protection, or your own `SeenIds` store (shared between processes, persistent…).
    """

    def __init__(self, client: KeyHolder, *, seen_ids: SeenIds | bool = True) -> None:
        key = client.apiv3_key
        if key is None:
            raise ConfigurationError(
                "notifications need the APIv3 key to decrypt their resource: "
                "create the client with Client(..., apiv3_key='<the 32-character APIv3 key>')"
            )
        self.client = client
        self._resources = ResourceKey(key)
        self.seen_ids: SeenIds | None = store(seen_ids)
        self._guard = ReplayGuard(self.seen_ids)

    async def parse(self, headers: HeadersInput, body: bytes) -> Notification:
        """Verify the signed raw `body`, then decrypt its resource; raises NotificationError naming the check."""
        raw = raw_body(body)
        fields = _headers(headers)
        try:
            serial = await self.client.verifier.check(fields, raw)  # the stack's verifier, whatever it is now
        except SignatureError as exc:
            raise NotificationError(
                f"notification signature check failed: {exc}", check=exc.check, status=401
            ) from None
        envelope = _envelope(raw)
        notification_id = envelope["id"]
        resource = self._decrypt(notification_id, envelope["resource"])
        event_type = envelope["event_type"]
        return Notification(
            id=notification_id,
            create_time=_text(envelope, "create_time"),
            event_type=event_type,
            resource_type=_text(envelope, "resource_type"),
            summary=_text(envelope, "summary"),
            original_type=_text(envelope["resource"], "original_type"),
            resource=resource,
            serial=serial,
            envelope=envelope,
            body=raw,
        )

    def processing(self, notification: Notification) -> AbstractAsyncContextManager[Notification]:
        """Run the block once per notification id; the id is recorded only when the block succeeds.

        Raises DuplicateNotificationError when the id was processed already (acknowledge it) and
        NotificationError (status 503) while another delivery of the same id is in progress.
        """
        return self._guard.once(notification.id, notification.event_type, notification)

    def _decrypt(self, notification_id: str, resource: Mapping[str, Any]) -> dict[str, Any]:
        try:
            plaintext = self._resources.open(resource)
        except ResourceError as exc:
            # A signed notification that does not decrypt was sent by WeChat Pay: the likely cause is
            # the wrong APIv3 key here, so it is answered 500 and delivered again once that is fixed.
            raise NotificationError(
                f"resource: {exc}" + (": check the client's apiv3_key" if exc.check == "decrypt" else ""),
                check=exc.check,
                status=500 if exc.check == "decrypt" else 400,
                notification_id=notification_id,
            ) from None
        return _resource(notification_id, plaintext)

    def __repr__(self) -> str:
        return f"<NotificationParser mchid={self.client.mchid!r} seen_ids={type(self.seen_ids).__name__}>"


async def parse_notification(client: KeyHolder, headers: HeadersInput, body: bytes) -> Notification:
    """Verify and decrypt one notification with `client`'s keys (no replay protection)."""
    return await NotificationParser(client, seen_ids=False).parse(headers, body)


def raw_body(body: object) -> bytes:
    """The body as bytes; ConfigurationError for text or parsed JSON, which cannot be verified."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise ConfigurationError(
        f"pass the raw request body as bytes (aiohttp: await request.read(), Starlette: await request.body()), "
        f"not {type(body).__name__}: the signature covers the exact bytes WeChat Pay sent"
    )


def _headers(headers: HeadersInput) -> Mapping[str, str]:
    """The headers the signature check reads (`Wechatpay-*`), case-insensitive, each copy of a repeated one kept."""
    if isinstance(headers, (CIMultiDict, CIMultiDictProxy)):
        return headers  # aiohttp.web's: read as they are, not copied
    items = headers.items() if isinstance(headers, Mapping) else headers
    signed: CIMultiDict[str] = CIMultiDict()
    for name, value in items:
        if name[:10].lower() in _SIGNED_PREFIX:  # only these are read: the rest is not decoded or copied
            signed.add(_latin1(name), _latin1(value))
    return signed


_SIGNED_PREFIX = ("wechatpay-", b"wechatpay-")  # as str (most frameworks) or bytes (ASGI)


def _latin1(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _envelope(body: bytes) -> dict[str, Any]:
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise NotificationError("the notification body is not JSON", check="envelope") from None
    if not isinstance(envelope, dict):
        raise NotificationError("the notification body is not a JSON object", check="envelope")
    for name in ("id", "event_type"):
        if not isinstance(envelope.get(name), str) or not envelope[name]:
            raise NotificationError(f"the notification has no {name}", check="envelope")
    if not isinstance(envelope.get("resource"), dict):
        raise NotificationError(
            "the notification has no resource object", check="envelope", notification_id=envelope["id"]
        )
    return envelope


def _resource(notification_id: str, plaintext: bytes) -> dict[str, Any]:
    try:
        resource = orjson.loads(plaintext)
    except orjson.JSONDecodeError:
        resource = None
    if not isinstance(resource, dict):
        raise NotificationError(
            "the decrypted resource is not a JSON object", check="resource", notification_id=notification_id
        )
    return resource


def _text(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    return value if isinstance(value, str) else ""
