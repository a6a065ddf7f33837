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


class SchemaError(ConfigurationError):
    """Strict mode: a call's query or JSON body does not match the documented schema; nothing was sent.

    `field` names the field as a path (`amount.total`, `goods_detail[0].quantity`, `(root)`),
    `location` is "query" or "body", and `issue` says what is wrong with it.
    """

    def __init__(self, message: str, *, field: str, location: str, issue: str) -> None:
        super().__init__(message)
        self.field = field
        self.location = location
        self.issue = issue


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


class ResponseTooLargeError(WechatpayError):
    """An answer's body went past the client's `Limits`; it was not read further (nor repeated by a retry)."""

    def __init__(self, message: str, *, status: int, limit: int, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.limit = limit
        self.method = method
        self.url = url


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
    """WeChat Pay refused the call: a non-2xx status, or an APIv2 answer with `FAIL` in it.

    `code` and `message` are the error's (APIv3: the JSON `code` and `message`; APIv2: `err_code`
    or `return_code`, and `err_code_des` or `return_msg`). An APIv2 error also keeps the answer's
    fields in `fields`, and `err_code`, `err_code_des` and `return_msg` as WeChat Pay names them.
    """

    def __init__(self, response: Answer, *, attempts: int = 1, fields: Mapping[str, Any] | None = None) -> None:
        self.response = response
        self.attempts = attempts
        self.status = response.status
        self.request_id = response.request_id
        self.fields: Mapping[str, Any] | None = fields
        if fields is None:
            payload = _error_payload(response.body)
            self.code: str = str(payload.get("code") or "")
            self.message: str = str(payload.get("message") or "")
            self.detail: Any = payload.get("detail")
        else:
            self.code = _text(fields, "err_code") or _text(fields, "error_code") or _text(fields, "return_code")
            self.message = _text(fields, "err_code_des") or _text(fields, "return_msg")
            self.detail = fields
        self.err_code = _text(fields, "err_code")
        self.err_code_des = _text(fields, "err_code_des")
        self.return_msg = _text(fields, "return_msg")
        super().__init__(str(self))

    def __str__(self) -> str:
        # Server text is escaped: a line break in it must not forge a log line of its own.
        code = escape_text(self.code) or "-"
        message = escape_text(self.message or self.response.body[:200].decode("utf-8", "replace"))
        tries = f"; {self.attempts} attempts" if self.attempts > 1 else ""
        if self.fields is not None:
            return f"APIv2 {code}: {message} (HTTP {self.status}{tries})"
        return f"HTTP {self.status} {code}: {message} (Request-ID: {escape_text(self.request_id or '-')}{tries})"


def escape_text(text: str) -> str:
    """`text` with every character `str.isprintable` refuses written as its Python escape (`\\n`, `\\x1b`, `\\u2028`).

    Line breaks, controls, separators, bidirectional overrides, private-use and unassigned code
    points, lone surrogates: none can reach a log line or a terminal as it is.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


class XmlError(WechatpayError, ValueError):
    """An XML document was refused: not XML, too large or deep, or carrying a DOCTYPE or entity declaration.

    `check` names what failed: "syntax", "doctype", "entity", "size", "depth", "elements" or "json".
    """

    def __init__(self, message: str, *, check: str) -> None:
        super().__init__(message)
        self.check = check


def _text(fields: Mapping[str, Any] | None, name: str) -> str:
    value = fields.get(name) if fields is not None else None
    return value if isinstance(value, str) else ""


def _error_payload(body: bytes) -> dict[str, Any]:
    """Parse a WeChat Pay error body, tolerating an empty or non-JSON one."""
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return {}
    return payload if isinstance(payload, dict) else {}
