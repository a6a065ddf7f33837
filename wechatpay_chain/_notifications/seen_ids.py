"""The replay guard's memory: which notification ids were processed already."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from .._config import SEEN_IDS
from .._errors import ConfigurationError


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
