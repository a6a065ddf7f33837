"""Defaults, in one place, and the small value types that configure a client: `Timeout` and `BaseURL`."""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass
from functools import lru_cache

import aiohttp

from ._errors import ConfigurationError
from ._version import __version__

PRIMARY_URL = "https://api.mch.weixin.qq.com/"
BACKUP_URL = "https://api2.mch.weixin.qq.com/"
DEFAULT_BASE_URL = PRIMARY_URL

LOGGER_NAME = "wechatpay_chain"
LOG_BODY_LIMIT = 2048  # bytes of a body a DEBUG record shows

CLOCK_WINDOW = 300  # seconds a signed answer or notification may be away from now

REFRESH_INTERVAL = 12 * 3600.0  # background refresh of the platform certificates
REFRESH_GAP = 60.0  # an unknown serial triggers at most one refresh in this many seconds
MAX_UNKNOWN_SERIALS = 8  # and at most this many unknown serials do within that time
REFRESH_JITTER = 0.1  # background refreshes run at the interval +- 10 %, so many processes spread out

CHUNK_SIZE = 1 << 16  # bytes read at a time from a download

SEEN_IDS = 10_000  # notification ids the in-memory replay guard remembers
NOTIFICATION_BODY_LIMIT = 1 << 20  # bytes of a notification body an adapter reads (aiohttp.web's default cap)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def user_agent() -> str:
    """The `User-Agent` every request carries."""
    return f"wechatpay-chain/{__version__} aiohttp/{aiohttp.__version__} Python/{platform.python_version()}"


@dataclass(frozen=True, slots=True)
class Timeout:
    """How long a call may take, in seconds (None: no bound of its own).

    `total` bounds one attempt from start to the last byte of the answer; `connect` bounds opening a
    connection; `pool` bounds the wait for a free pooled connection (None: only `total` bounds it);
    `read` bounds the silence between two chunks of the answer.
    """

    total: float | None = 30.0
    connect: float | None = 5.0
    pool: float | None = None
    read: float | None = None

    def __post_init__(self) -> None:
        for name in ("total", "connect", "pool", "read"):
            value = getattr(self, name)
            if value is not None and not _seconds(value):
                raise ConfigurationError(f"Timeout({name}={value!r}): a number of seconds > 0, or None")

    @classmethod
    def of(cls, value: object, *, default: Timeout | None = None) -> Timeout:
        """A Timeout from what users pass: a Timeout, seconds (the total), or an aiohttp.ClientTimeout."""
        if value is None:
            return default or DEFAULT_TIMEOUT
        if isinstance(value, Timeout):
            return value
        if _seconds(value):
            total = float(value)  # type: ignore[arg-type]
            # A bare number bounds the whole call; connecting keeps its own, shorter default bound.
            return cls(total=total, connect=min(total, DEFAULT_TIMEOUT.connect or total))
        client_timeout = _from_aiohttp(value)
        if client_timeout is not None:
            return client_timeout
        raise ConfigurationError(
            f"timeout must be seconds > 0, a wechatpay_chain.Timeout or an aiohttp.ClientTimeout, got {value!r}"
        )


def _seconds(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and math.isfinite(value)


def _from_aiohttp(value: object) -> Timeout | None:
    if not isinstance(value, aiohttp.ClientTimeout):
        return None
    return Timeout(
        total=value.total or None,
        connect=value.sock_connect or value.connect or None,
        read=value.sock_read or None,
    )


DEFAULT_TIMEOUT = Timeout()
DOWNLOAD_TIMEOUT = Timeout(total=None, connect=5.0, read=60.0)
"""No overall bound (a bill may take minutes), but a stall of 60 s between chunks fails."""


@dataclass(frozen=True, slots=True)
class BaseURL:
    """A base URL split once: `origin` (scheme://host[:port]) and `prefix` (the path, ending in '/')."""

    origin: str
    prefix: str

    def __str__(self) -> str:
        return self.origin + self.prefix

    @staticmethod
    def parse(url: object) -> BaseURL:
        """Parse an absolute http(s) base URL; ConfigurationError when unusable."""
        if not isinstance(url, str):
            raise ConfigurationError(f"base_url must be a str such as {DEFAULT_BASE_URL!r}, got {type(url).__name__}")
        return _parse_base(url)


@lru_cache(maxsize=64)
def _parse_base(url: str) -> BaseURL:
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if scheme not in ("http", "https") or not sep or not host:
        raise ConfigurationError(f"base_url {url!r} must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}")
    if "?" in rest or "#" in rest:
        raise ConfigurationError(f"base_url {url!r} cannot carry a query or fragment")
    if "@" in host:
        raise ConfigurationError(f"base_url {url!r}: credentials in the URL are not supported")
    if any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise ConfigurationError(f"base_url {url!r} must be plain ASCII without spaces")
    prefix = "/" + path if slash else "/"
    return BaseURL(f"{scheme}://{host}", prefix if prefix.endswith("/") else prefix + "/")
