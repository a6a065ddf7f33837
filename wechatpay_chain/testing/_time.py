"""WeChat Pay's time: UTC+08:00 everywhere, RFC 3339 on the wire, `YYYY-MM-DD` for business dates."""

from __future__ import annotations

import datetime as dt
import re

BEIJING = dt.timezone(dt.timedelta(hours=8))
"""WeChat Pay's time zone: every timestamp, business date and hours-of-day window is in UTC+08:00."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)


def beijing(timestamp: float) -> dt.datetime:
    """Unix seconds as an aware datetime in Beijing time."""
    return dt.datetime.fromtimestamp(timestamp, BEIJING)


def rfc3339(timestamp: float) -> str:
    """Unix seconds in WeChat Pay's format, whole seconds in Beijing time: 2024-08-08T10:34:56+08:00."""
    return beijing(int(timestamp)).isoformat()


def parse_date(text: str) -> dt.date | None:
    """A real calendar date written `YYYY-MM-DD`, or None."""
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_rfc3339(text: str) -> dt.datetime | None:
    """An RFC 3339 time with an offset or `Z` (fractions of a second dropped), or None."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    offset = "+00:00" if match[2].upper() == "Z" else match[2]
    try:
        return dt.datetime.fromisoformat(match[1] + offset)
    except ValueError:
        return None
