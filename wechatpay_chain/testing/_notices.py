"""What a family asks the emulator to notify: a `Notice`, delivered as a signed, encrypted webhook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Notice:
    """A webhook the real WeChat Pay would send now, with its decrypted resource."""

    notify_url: str
    event_type: str
    summary: str
    original_type: str  # also the AEAD associated data
    resource: Mapping[str, Any]


Notify = Callable[[Notice], object]
"""Where a family hands its notices (any result is ignored): the emulator delivers them, a test may collect them."""
