"""Delivering the emulator's notifications: POST to the notify URL, retry with backoff, record each attempt."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from yarl import URL

from ._auth import sign_answer
from ._controls import Control
from ._http import Refusal
from ._notices import Notice
from ._notifications import build_notification
from ._validation import number, text

# Seconds between attempts after the first, as documented for the contract and order notices.
SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
# The policy-authorization notice: 0s/15s/15s/30s/180s/1800s x4/3600s, ten attempts in all.
GRANTED_SCHEDULE = (15, 15, 30, 180, 1800, 1800, 1800, 1800, 3600)
_GRANTED_FAMILY = "INSURANCE_POLICY_MANAGEMENT."

SigningKey = Callable[[], tuple[str, RSAPrivateKey]]
Acknowledged = Callable[[bytes], str | None]
"""Judges a 2xx reply's body: None when it acknowledges the notification, else why not (APIv2's `return_code`)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt at delivering a notification, as recorded in `Emulator.deliveries`."""

    notification_id: str
    event_type: str
    url: str
    attempt: int  # 1 for the first try
    status: int | None  # the receiver's HTTP status; None when it did not answer
    error: str | None  # why the attempt did not count as delivered, None when it did
    final: bool  # no attempt follows: delivered, refused, or the schedule ran out
    time: float  # the emulator's clock when the attempt ended
    resource: Mapping[str, Any] = field(repr=False)  # the plaintext resource, for assertions
    body: bytes = field(repr=False)  # the notification exactly as POSTed

    @property
    def delivered(self) -> bool:
        """Whether the receiver acknowledged it: a 2xx status (and, for APIv2, a SUCCESS answer)."""
        return self.status is not None and 200 <= self.status < 300 and self.error is None

    def as_json(self) -> dict[str, Any]:
        """The attempt as JSON-ready data (for the HTTP controls)."""
        return {
            "notification_id": self.notification_id,
            "event_type": self.event_type,
            "url": self.url,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "final": self.final,
            "delivered": self.delivered,
            "time": self.time,
            "resource": dict(self.resource),
        }


def schedule_for(event_type: str) -> tuple[int, ...]:
    """The documented retry delays (seconds) that follow a failed first attempt of `event_type`."""
    return GRANTED_SCHEDULE if event_type.startswith(_GRANTED_FAMILY) else SCHEDULE


def refusal(url: str, *, allow_remote: bool) -> str | None:
    """Why the emulator will not POST to `url` (None when it will)."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return f"notify_url {url!r} is not a URL"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"notify_url {url!r} is not an absolute http(s) URL"
    if allow_remote or _is_loopback(parsed.host):
        return None
    return (
        f"notify_url host {parsed.host!r} is not a loopback address; "
        "pass Emulator(allow_remote_notify=True) to deliver beyond this machine"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a DNS name could resolve anywhere: not loopback unless it says so


class Webhooks:
    """Sends notifications in background tasks, retrying on the documented schedule times `backoff`."""

    def __init__(
        self,
        *,
        apiv3_key: Callable[[], str],
        signing_key: SigningKey,
        now: Callable[[], float],
        backoff: float = 1.0,
        allow_remote: bool = False,
        timeout: float = 5.0,
    ) -> None:
        if backoff < 0 or timeout <= 0:
            raise ValueError("notify backoff must be >= 0 and the notify timeout > 0 (seconds)")
        self._apiv3_key = apiv3_key
        self._signing_key = signing_key
        self._now = now
        self.backoff = backoff
        self.allow_remote = allow_remote
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._changed: asyncio.Condition | None = None
        self._claimed: set[int] = set()

    def send(self, notice: Notice) -> str:
        """Build `notice` into a signed notification and deliver it in the background; returns its id."""
        notification_id = str(uuid.uuid4())
        serial, key = self._signing_key()
        headers, body = build_notification(
            apiv3_key=self._apiv3_key(),
            signing_key=key,
            serial=serial,
            event_type=notice.event_type,
            summary=notice.summary,
            original_type=notice.original_type,
            resource=dict(notice.resource),
            now=self._now(),
            notification_id=notification_id,
        )
        self._start(self._deliver(notification_id, notice, headers, body))
        return notification_id

    def post(self, notice: Notice, headers: Mapping[str, str], body: bytes, acknowledged: Acknowledged) -> str:
        """Deliver a notification built by its sender (APIv2: XML signed in its body), on the same schedule.

        Every attempt sends the same bytes; `acknowledged` judges the receiver's 2xx reply.
        """
        notification_id = str(uuid.uuid4())
        self._start(self._deliver(notification_id, notice, dict(headers), body, acknowledged))
        return notification_id

    def _start(self, delivery: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(delivery)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        """How many notifications are still being delivered (or waiting for a retry)."""
        return len(self._tasks)

    async def wait_delivered(self, event_type: str | None = None, *, timeout: float = 5.0) -> Delivery:
        """The next acknowledged delivery (of `event_type`, if given) not yet returned by this method.

        Raises TimeoutError after `timeout` seconds, naming the attempts seen meanwhile.
        """
        changed = self._condition()
        try:
            async with changed:
                found: Delivery | None = await asyncio.wait_for(
                    changed.wait_for(lambda: self._claim(event_type)), timeout
                )
        except asyncio.TimeoutError:
            seen = [d for d in self.deliveries if event_type in (None, d.event_type)]
            detail = "; ".join(f"#{d.attempt} {d.url}: {d.error}" for d in seen[-5:]) or "no attempt at all"
            raise TimeoutError(f"no {event_type or 'notification'} delivered within {timeout} s ({detail})") from None
        assert found is not None  # wait_for returns once the predicate is true
        return found

    def controls(self) -> tuple[Control, ...]:
        """`GET deliveries` and `POST deliveries/wait`."""
        return (
            Control("GET", "deliveries", self._listed, (text("event_type"),), doc="every delivery attempt so far"),
            Control(
                "POST",
                "deliveries/wait",
                self._waited,
                (text("event_type"), number("timeout", minimum=0)),
                doc="the next acknowledged delivery, or 408 TIMEOUT",
            ),
        )

    async def close(self) -> None:
        """Cancel the deliveries still under way and close the HTTP session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- internals ------------------------------------------------------------------------

    def _listed(self, event_type: str | None = None) -> dict[str, Any]:
        data = [d.as_json() for d in self.deliveries if event_type in (None, d.event_type)]
        return {"data": data, "total_count": len(data), "pending": self.pending}

    async def _waited(self, event_type: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        try:
            delivery = await self.wait_delivered(event_type, timeout=timeout)
        except TimeoutError as exc:
            raise Refusal(408, "TIMEOUT", str(exc)) from None
        return delivery.as_json()

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def _claim(self, event_type: str | None) -> Delivery | None:
        for index, delivery in enumerate(self.deliveries):
            if index not in self._claimed and delivery.delivered and event_type in (None, delivery.event_type):
                self._claimed.add(index)
                return delivery
        return None

    async def _record(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        changed = self._condition()
        async with changed:
            changed.notify_all()

    async def _deliver(
        self,
        notification_id: str,
        notice: Notice,
        headers: dict[str, str],
        body: bytes,
        acknowledged: Acknowledged | None = None,
    ) -> None:
        url = notice.notify_url
        refused = refusal(url, allow_remote=self.allow_remote)
        if refused is not None:
            await self._record(self._attempt(notification_id, notice, 1, None, refused, True, body))
            return
        delays = schedule_for(notice.event_type)
        for attempt in range(1, len(delays) + 2):
            if attempt > 1:
                await asyncio.sleep(delays[attempt - 2] * self.backoff)
                if acknowledged is None:  # APIv3: a fresh timestamp, or the receiver's clock check fails
                    headers = self._resign(headers, body)
            status, error, reply = await self._post(url, headers, body)
            if error is None and acknowledged is not None:
                error = acknowledged(reply)
            final = error is None or attempt == len(delays) + 1
            await self._record(self._attempt(notification_id, notice, attempt, status, error, final, body))
            if error is None:
                return

    def _resign(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        serial, key = self._signing_key()
        return {**headers, **sign_answer(key, serial, body, int(self._now()))}

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int | None, str | None, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            # No redirects: a loopback receiver must not bounce a notification off to the internet.
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as reply:
                answer = await reply.read()
                status = reply.status
        except asyncio.TimeoutError:
            return None, f"no answer within {self.timeout} s", b""
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}", b""
        return status, None if 200 <= status < 300 else f"the receiver answered HTTP {status}", answer

    def _attempt(
        self,
        notification_id: str,
        notice: Notice,
        attempt: int,
        status: int | None,
        error: str | None,
        final: bool,
        body: bytes,
    ) -> Delivery:
        return Delivery(
            notification_id=notification_id,
            event_type=notice.event_type,
            url=notice.notify_url,
            attempt=attempt,
            status=status,
            error=error,
            final=final,
            time=self._now(),
            resource=dict(notice.resource),
            body=body,
        )
