"""The package's exceptions: every error a caller can see is one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from ._models import Response


class WechatpayError(Exception):
    """Base class of every error raised by wechatpay_chain."""


class ConfigurationError(WechatpayError, ValueError):
    """The client or a call was configured in a way that cannot work; the message says how to fix it."""


class KeyLoadError(ConfigurationError):
    """A key or certificate could not be loaded; the message names the parameter, never the key."""


class TemplateError(WechatpayError, ValueError):
    """A URI template or its placeholder values are wrong; raised before anything is sent."""


class TransportError(WechatpayError):
    """The request did not complete: connection failure, timeout or a broken answer."""

    def __init__(self, message: str, *, method: str = "", url: str = "", attempts: int = 1) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts


class SignatureError(WechatpayError):
    """A response or notification failed verification; `check` names the failed check."""

    def __init__(self, message: str, *, check: str, response: Response | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.response = response


class ApiError(WechatpayError):
    """WeChat Pay answered with a non-2xx status."""

    def __init__(self, response: Response) -> None:
        self.response = response
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
        return f"HTTP {self.status} {code}: {message} (Request-ID: {self.request_id or '-'})"


def _error_payload(body: bytes) -> dict[str, Any]:
    """Parse a WeChat Pay error body, tolerating an empty or non-JSON one."""
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return {}
    return payload if isinstance(payload, dict) else {}
