"""Merchant numbers are single-use: an identical replay is answered again, other content is refused."""

from __future__ import annotations

from typing import Any

import orjson

from ._http import Refusal


def fingerprint(*parts: Any) -> bytes:
    """What identifies a request's content, whatever the order of its keys."""
    return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)


class Claims:
    """The merchant numbers (out_trade_no, out_order_no, ...) used so far, with their request's fingerprint."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], bytes] = {}

    def is_replay(self, kind: str, key: str, print_: bytes) -> bool:
        """True when `key` was used with the same content; Refusal INVALID_REQUEST when with other content."""
        seen = self._seen.get((kind, key))
        if seen is None:
            return False
        if seen != print_:
            raise Refusal(400, "INVALID_REQUEST", f"{kind} {key} was already used with different content")
        return True

    def claim(self, kind: str, key: str, print_: bytes) -> None:
        """Mark `key` used by the request with fingerprint `print_`."""
        self._seen[kind, key] = print_
