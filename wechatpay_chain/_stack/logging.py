"""One log record per call on the `wechatpay_chain` logger: what was called, how it ended, how long it took.

Records carry `method`, `template` (the URI template, never the filled-in path), `status`, `request_id`,
`duration` (seconds), `attempt`, `host` and `error` as attributes for structured handlers. Bodies are
added only when the logger is enabled for DEBUG; headers (the Authorization signature among them)
are never logged, and keys never reach a body, so no record holds a secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass

from .._config import LOG_BODY_LIMIT, LOGGER_NAME
from .._models import Request, Response
from .middleware import Handler

# A library stays silent until the application configures logging (no "last resort" stderr lines).
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one call ended, as the record reports it."""

    status: int | None
    request_id: str | None
    attempt: int
    url: str
    error: BaseException | None = None


class CallLogger:
    """Middleware writing one record per call: INFO when answered (any status), WARNING when it raised."""

    def __init__(self, logger: logging.Logger | None = None, *, body_limit: int = LOG_BODY_LIMIT) -> None:
        self.logger = logger or logging.getLogger(LOGGER_NAME)
        self.body_limit = body_limit

    def __call__(self, request: Request, call_next: Handler) -> Awaitable[Response]:
        if not self.logger.isEnabledFor(logging.WARNING):  # nothing to log: no coroutine of its own
            return call_next(request)
        return self._logged(request, call_next)

    async def _logged(self, request: Request, call_next: Handler) -> Response:
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:
            answer = getattr(exc, "response", None)  # a SignatureError keeps the answer it refused
            answer = answer if isinstance(answer, Response) else None
            self._log(request, answer, _failed(request, exc, answer), time.perf_counter() - start)
            raise
        if self.logger.isEnabledFor(logging.INFO):  # answered calls log at INFO; skip the work when off
            outcome = _Outcome(
                response.status,
                response.request_id,
                response.request.attempt,
                response.request.url,
            )
            self._log(request, response, outcome, time.perf_counter() - start)
        return response

    def _log(self, request: Request, response: Response | None, outcome: _Outcome, duration: float) -> None:
        level = logging.INFO if outcome.error is None else logging.WARNING
        if not self.logger.isEnabledFor(level):
            return
        fields = {
            "method": request.method,
            "template": request.template,
            "status": outcome.status,
            "request_id": outcome.request_id,
            "duration": duration,
            "attempt": outcome.attempt,
            "host": _host(outcome.url),
            "error": type(outcome.error).__name__ if outcome.error is not None else None,
        }
        message = "%s %s -> %s in %.1f ms (Request-ID %s, attempt %d, %s)"
        args: tuple[object, ...] = (
            request.method,
            request.template,
            outcome.status if outcome.error is None else f"{fields['error']}: {outcome.error}",
            duration * 1000,
            outcome.request_id or "-",
            outcome.attempt,
            fields["host"],
        )
        if self.logger.isEnabledFor(logging.DEBUG):
            fields["request_body"] = _request_body(request, self.body_limit)
            fields["response_body"] = _response_body(response, self.body_limit)
            message += "\n> %s\n< %s"
            args += (fields["request_body"], fields["response_body"])
        self.logger.log(level, message, *args, extra=fields)

    def __repr__(self) -> str:
        return f"<CallLogger {self.logger.name!r}>"


def _failed(request: Request, exc: Exception, answer: Response | None) -> _Outcome:
    return _Outcome(
        answer.status if answer else None,
        answer.request_id if answer else None,
        int(getattr(exc, "attempts", 1)),
        str(getattr(exc, "url", "") or request.url),
        exc,
    )


def _host(url: str) -> str:
    return url.partition("://")[2].partition("/")[0]


def _text(data: bytes, content_type: str, limit: int) -> str:
    """A body as text for the log, or a note of its size when it is a file."""
    if not data:
        return ""
    if "json" not in content_type and "text" not in content_type:
        return f"<{len(data)} bytes {content_type or 'of data'}>"
    text = data[:limit].decode("utf-8", "replace")
    return text if len(data) <= limit else f"{text}… ({len(data)} bytes)"


def _request_body(request: Request, limit: int) -> str:
    # An upload's file is not worth a log line; its signed `meta` JSON (the body) is what identifies it.
    if request.payload is not None:
        return _text(request.body, "application/json", limit)
    return _text(request.body, request.headers.get("Content-Type", ""), limit)


def _response_body(response: Response | None, limit: int) -> str:
    if response is None:
        return ""
    if response.stream is not None:
        return "<streamed>"
    return _text(response.body, response.headers.get("Content-Type", ""), limit)
