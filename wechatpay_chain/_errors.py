"""The package's exceptions: every error a caller can see is one of these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import orjson


class Answer(Protocol):
    """What an error keeps of the answer it is about (a `Response`)."""

    @property
    def status(self) -> int:
        """The HTTP status."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The answer's headers."""
        ...

    @property
    def body(self) -> bytes:
        """The answer's body, as received."""
        ...

    @property
    def request_id(self) -> str | None:
        """The `Request-ID` header WeChat Pay support asks for."""
        ...

    def json(self) -> Any:
        """The body parsed as JSON."""
        ...

    def text(self) -> str:
        """The body decoded as UTF-8."""
        ...


class WechatpayError(Exception):
    """Base class of every error raised by wechatpay_chain."""

    attempts: int = 1  # how many times the call was sent (more than 1 only under a RetryPolicy)


class ConfigurationError(WechatpayError, ValueError):
    """The client or a call was configured in a way that cannot work; the message says how to fix it."""


class KeyLoadError(ConfigurationError):
    """A key or certificate could not be loaded; the message names the parameter, never the key."""


class TemplateError(WechatpayError, ValueError):
    """A URI template or its placeholder values are wrong; raised before anything is sent."""


class EventLoopError(WechatpayError, RuntimeError):
    """An async client was used from an event loop it does not belong to; the message says what to do instead."""


class TransportError(WechatpayError):
    """The request did not complete: connection failure, timeout or a broken answer."""

    def __init__(self, message: str, *, method: str = "", url: str = "", attempts: int = 1, sent: bool = True) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts
        # False only when the connection failed before any byte went out: always safe to repeat.
        self.sent = sent


class SignatureError(WechatpayError):
    """A response or notification failed verification; `check` names the failed check."""

    def __init__(self, message: str, *, check: str, response: Answer | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.response = response


class NotificationError(WechatpayError):
    """A webhook notification was rejected; `check` names the failed check, `status` what to answer."""

    def __init__(self, message: str, *, check: str, status: int = 400, notification_id: str | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.status = status
        self.notification_id = notification_id


class DuplicateNotificationError(NotificationError):
    """A notification already processed was delivered again; acknowledge it without processing it twice."""

    def __init__(self, notification_id: str, event_type: str = "") -> None:
        super().__init__(
            f"notification {notification_id!r} was already processed",
            check="replay",
            status=204,
            notification_id=notification_id,
        )
        self.event_type = event_type


class ApiError(WechatpayError):
    """WeChat Pay answered with a non-2xx status."""

    def __init__(self, response: Answer, *, attempts: int = 1) -> None:
        self.response = response
        self.attempts = attempts
        self.status = response.status
        self.request_id = response.request_id
        payload = _error_payload(response.body)
        self.code: str = str(payload.get("code") or "")
        self.message: str = str(payload.get("message") or "")
        self.detail: Any = payload.get("detail")
        super().__init__(str(self))

    def __str__(self) -> str:
        code = self.code or "-"
        message = self.message or self.response.body[:200].decode("utf-8", "replace")
        tries = f"; {self.attempts} attempts" if self.attempts > 1 else ""
        return f"HTTP {self.status} {code}: {message} (Request-ID: {self.request_id or '-'}{tries})"


def _error_payload(body: bytes) -> dict[str, Any]:
    """Parse a WeChat Pay error body, tolerating an empty or non-JSON one."""
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return {}
    return payload if isinstance(payload, dict) else {}
