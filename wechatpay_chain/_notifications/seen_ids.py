"""The replay guard's memory: which notification ids were processed already."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, runtime_checkable

from .._config import SEEN_IDS
from .._errors import ConfigurationError, DuplicateNotificationError, NotificationError


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
        self._in_flight: set[str] = set()

    @asynccontextmanager
    async def once(self, notification_id: str, event_type: str) -> AsyncIterator[None]:
        """Raises DuplicateNotificationError when the id was processed already (acknowledge it) and
        NotificationError (status 503) while another delivery of the same id is in progress.
        """
        if notification_id in self._in_flight:
            raise NotificationError(
                f"notification {notification_id!r} is being processed by another delivery",
                check="in-flight",
                status=503,
                notification_id=notification_id,
            )
        self._in_flight.add(notification_id)
        try:
            if isinstance(self.seen_ids, SharedSeenIds):  # the claim covers every process sharing the store
                async with self.seen_ids.claim(notification_id, event_type):
                    yield
                return
            if self.seen_ids is not None and await self.seen_ids.seen(notification_id):
                raise DuplicateNotificationError(notification_id, event_type)
            yield
            if self.seen_ids is not None:
                await self.seen_ids.add(notification_id)
        finally:
            self._in_flight.discard(notification_id)


def store(seen_ids: SeenIds | bool) -> SeenIds | None:
    """The store `seen_ids=` asks for: True the in-memory default, False none, or the caller's own."""
    if seen_ids is True:
        return MemorySeenIds()
    if seen_ids is False:
        return None
    if not isinstance(seen_ids, SeenIds):
        raise ConfigurationError("seen_ids must be True, False or an object with async seen(id) and add(id)")
    return seen_ids
