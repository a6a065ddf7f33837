"""The replay guard's memory: which notification ids were processed already."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Generic, Protocol, TypeVar, runtime_checkable

from .._config import SEEN_IDS
from .._errors import ConfigurationError, DuplicateNotificationError, NotificationError

T = TypeVar("T")


@runtime_checkable
class SeenIds(Protocol):
    """Where processed notification ids are remembered (implement it over Redis or a table to share it)."""

    async def seen(self, notification_id: str) -> bool:
        """Whether this id was processed already."""
        ...

    async def add(self, notification_id: str) -> None:
        """Remember that this id was processed."""
        ...


@runtime_checkable
class SharedSeenIds(SeenIds, Protocol):
    """A store shared between processes (`RedisSeenIds`): it claims each id for one delivery among all of them."""

    def claim(self, notification_id: str, event_type: str = "") -> AbstractAsyncContextManager[object]:
        """Held while this delivery processes the id; recorded as processed when the block succeeds.

        Raises DuplicateNotificationError when the id was processed already, and NotificationError
        (status 503) while another delivery holds it or when the store cannot be reached.
        """
        ...


class MemorySeenIds:
    """The default store: the most recent `maxsize` ids of this process, least recently seen evicted first."""

    def __init__(self, maxsize: int = SEEN_IDS) -> None:
        if maxsize < 1:
            raise ConfigurationError(f"MemorySeenIds(maxsize={maxsize}) must hold at least one id")
        self.maxsize = maxsize
        self._ids: OrderedDict[str, None] = OrderedDict()

    async def seen(self, notification_id: str) -> bool:
        """Whether this id is held; a hit keeps it longer."""
        if notification_id not in self._ids:
            return False
        self._ids.move_to_end(notification_id)
        return True

    async def add(self, notification_id: str) -> None:
        """Hold this id, evicting the least recently seen beyond `maxsize`."""
        self._ids[notification_id] = None
        self._ids.move_to_end(notification_id)
        while len(self._ids) > self.maxsize:
            self._ids.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ids)


class ReplayGuard:
    """Runs a block once per notification id: the id is recorded in `seen_ids` only when the block succeeds."""

    def __init__(self, seen_ids: SeenIds | None) -> None:
        self.seen_ids = seen_ids
        # Asked once: isinstance against a runtime Protocol walks its members (about 30 µs a delivery).
        self._shared = seen_ids if isinstance(seen_ids, SharedSeenIds) else None
        self._in_flight: set[str] = set()

    def once(self, notification_id: str, event_type: str, value: T) -> Once[T]:
        """Held while the block processes the id; entering gives `value` (the notification).

        Raises DuplicateNotificationError when the id was processed already (acknowledge it) and
        NotificationError (status 503) while another delivery of the same id is in progress.
        """
        return Once(self, notification_id, event_type, value)


class Once(Generic[T]):
    """One delivery's hold on its notification id (`ReplayGuard.once`).

    A class rather than a generator-based context manager: every notification goes through it,
    and this costs it one object instead of a generator and its wrapper.
    """

    __slots__ = ("_claim", "_event_type", "_guard", "_id", "_value")

    def __init__(self, guard: ReplayGuard, notification_id: str, event_type: str, value: T) -> None:
        self._guard = guard
        self._id = notification_id
        self._event_type = event_type
        self._value = value
        self._claim: AbstractAsyncContextManager[object] | None = None

    async def __aenter__(self) -> T:
        guard, notification_id = self._guard, self._id
        if notification_id in guard._in_flight:
            raise NotificationError(
                f"notification {notification_id!r} is being processed by another delivery",
                check="in-flight",
                status=503,
                notification_id=notification_id,
            )
        guard._in_flight.add(notification_id)
        try:
            if guard._shared is not None:  # the claim covers every process sharing the store
                claim = guard._shared.claim(notification_id, self._event_type)
                await claim.__aenter__()
                self._claim = claim
            elif guard.seen_ids is not None and await guard.seen_ids.seen(notification_id):
                raise DuplicateNotificationError(notification_id, self._event_type)
        except BaseException:
            guard._in_flight.discard(notification_id)
            raise
        return self._value

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool | None:
        guard = self._guard
        try:
            if self._claim is not None:
                return await self._claim.__aexit__(kind, error, trace)
            if kind is None and guard.seen_ids is not None:
                await guard.seen_ids.add(self._id)  # recorded only once the block succeeded
            return None
        finally:
            guard._in_flight.discard(self._id)


def store(seen_ids: SeenIds | bool) -> SeenIds | None:
    """The store `seen_ids=` asks for: True the in-memory default, False none, or the caller's own."""
    if seen_ids is True:
        return MemorySeenIds()
    if seen_ids is False:
        return None
    if not isinstance(seen_ids, SeenIds):
        raise ConfigurationError("seen_ids must be True, False or an object with async seen(id) and add(id)")
    return seen_ids
