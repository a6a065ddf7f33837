"""Opt-in retries: which failures are safe to repeat, how long to wait, and failover to the backup host.

The policy is a middleware placed outside the signer, so every attempt carries a fresh timestamp,
nonce and signature (and, after failover, signs the backup host's request target).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .._config import BACKUP_URL, PRIMARY_URL, RETRY_STATUSES, BaseURL
from .._errors import ConfigurationError, TransportError, WechatpayError
from .._models import Request, Response
from .middleware import Handler


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how to repeat a failed call: `Client(..., retry=RetryPolicy(attempts=3))`.

    Repeated, up to `attempts` sends in all:
    - a connection that failed before the request was sent (any method: nothing reached WeChat Pay);
    - for idempotent calls only (GET, or any call made with `idempotent=True`): every other
      transport failure (timeout, dropped connection, truncated answer) and the `statuses` answers.
    Never repeated: signature failures, other statuses, a POST/PUT/PATCH/DELETE that may have
    reached the server unless the caller marked it `idempotent=True`, and a sent streamed upload.

    Waits `backoff * 2**(n-1)` seconds after the n-th attempt, capped at `backoff_cap`, less a random
    share of up to `jitter` of it (a numeric `Retry-After` answer header lengthens the wait, within the cap).
    Calls to `primary_url` go to `backup_url` once `failover_after` attempts have failed on the primary;
    `backup_url=None` turns failover off. Calls to other hosts (a per-call `base_url`) never fail over.
    """

    attempts: int = 3
    backoff: float = 0.5
    backoff_cap: float = 8.0
    jitter: float = 0.5
    statuses: frozenset[int] = RETRY_STATUSES
    primary_url: str = PRIMARY_URL
    backup_url: str | None = BACKUP_URL
    failover_after: int = 1

    def __post_init__(self) -> None:
        _check_int("attempts", self.attempts, 1)
        _check_int("failover_after", self.failover_after, 1)
        for name in ("backoff", "backoff_cap", "jitter"):
            _check_number(name, getattr(self, name))
        if self.jitter > 1:
            raise ConfigurationError(f"RetryPolicy: jitter is a share of the wait, from 0 to 1 (got {self.jitter!r})")
        object.__setattr__(self, "statuses", _statuses(self.statuses))
        object.__setattr__(self, "primary_url", _base_url("primary_url", self.primary_url))
        if self.backup_url is not None:
            object.__setattr__(self, "backup_url", _base_url("backup_url", self.backup_url))

    def delay(self, attempt: int, answer: Response | None = None) -> float:
        """Seconds to wait after the failed `attempt` (1-based) before the next one."""
        wait = min(self.backoff_cap, self.backoff * 2.0 ** (attempt - 1))
        wait *= 1 - self.jitter * random.random()
        retry_after = _retry_after(answer)
        return max(wait, min(self.backoff_cap, retry_after)) if retry_after is not None else wait

    def idempotent(self, request: Request) -> bool:
        """Whether repeating `request` after it may have reached WeChat Pay is safe."""
        flag = request.idempotent
        return request.method == "GET" if flag is None else bool(flag)

    def attempt(self, request: Request, number: int) -> Request:
        """The request to send as attempt `number`: a copy to sign afresh, failed over when due."""
        base = request.base
        if self.backup_url and number > self.failover_after and base == BaseURL.parse(self.primary_url):
            base = BaseURL.parse(self.backup_url)
        return replace(request, base=base, headers=request.headers.copy(), attempt=number)

    async def __call__(self, request: Request, call_next: Handler) -> Response:
        number = 1
        while True:
            try:
                response = await call_next(self.attempt(request, number))
            except TransportError as exc:
                if number >= self.attempts or not self._repeat_failure(request, exc):
                    raise self._give_up(request, exc, number) from exc
                await asyncio.sleep(self.delay(number))
            except WechatpayError as exc:
                exc.attempts = number
                raise
            else:
                if number >= self.attempts or not self._repeat_answer(request, response):
                    return response
                await asyncio.sleep(self.delay(number, response))
            number += 1

    def _repeat_failure(self, request: Request, exc: TransportError) -> bool:
        return not exc.sent or self._replayable(request)

    def _repeat_answer(self, request: Request, response: Response) -> bool:
        return response.status in self.statuses and self._replayable(request)

    def _replayable(self, request: Request) -> bool:
        # A streamed body (an upload's file) may be spent once sent; it is repeated only if it never left.
        return self.idempotent(request) and request.payload is None

    def _give_up(self, request: Request, exc: TransportError, number: int) -> TransportError:
        """The final error: the last failure, saying how many attempts were made and why no more."""
        if number > 1:
            note = f"gave up after {number} attempts"
        elif self.attempts > 1:
            note = (
                f"1 attempt, not repeated: the request may have reached WeChat Pay; "
                f"pass idempotent=True if repeating {request.method} {request.template} is safe"
            )
        else:
            note = "1 attempt"
        return TransportError(f"{exc} ({note})", method=exc.method, url=exc.url, attempts=number, sent=exc.sent)


def _check_int(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigurationError(f"RetryPolicy: {name} must be an int >= {least} (got {value!r})")


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"RetryPolicy: {name} must be a number of seconds >= 0 (got {value!r})")


def _statuses(value: Iterable[int]) -> frozenset[int]:
    try:
        statuses = frozenset(value)
    except TypeError:
        raise ConfigurationError(f"RetryPolicy: statuses must be a set of HTTP statuses (got {value!r})") from None
    bad = sorted(repr(s) for s in statuses if isinstance(s, bool) or not isinstance(s, int) or not 100 <= s <= 599)
    if bad:
        raise ConfigurationError(f"RetryPolicy: statuses must be HTTP statuses 100-599 (got {', '.join(bad)})")
    return statuses


def _base_url(name: str, value: object) -> str:
    try:
        return str(BaseURL.parse(value))
    except ConfigurationError as exc:
        raise ConfigurationError(f"RetryPolicy: {name}: {exc}") from None


def _retry_after(answer: Response | None) -> float | None:
    """The seconds of a numeric `Retry-After` header (the HTTP-date form is ignored)."""
    value = answer.headers.get("Retry-After") if answer is not None else None
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None
