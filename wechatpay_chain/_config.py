"""Defaults, in one place, and the small value types that configure a client: `Timeout`, `Limits` and `BaseURL`."""

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

# APIv2 XML: the most a parsed document may hold (answers and notifications are a few kB).
XML_LIMIT = 1 << 20  # bytes
XML_DEPTH = 8  # nested elements, the root included
XML_ELEMENTS = 10_000


def user_agent() -> str:
    """The `User-Agent` every request carries."""
    return f"wechatpay-chain/{__version__} aiohttp/{aiohttp.__version__} Python/{platform.python_version()}"


@dataclass(frozen=True, slots=True)
class Timeout:
    """How long a call may take, in seconds (None: no bound of its own).

    `pool` bounds the wait for a free pooled connection, when more calls are in flight than the
    pool holds; a call that waits longer fails with `TransportError(sent=False)`, safe to repeat.
    `total` then bounds the attempt itself, from the moment it holds a connection to the last byte
    of the answer, so time spent waiting never eats into it: an attempt takes at most `pool + total`.
    `connect` bounds opening a connection; `read` bounds the silence between two chunks of the answer.
    """

    total: float | None = 30.0
    connect: float | None = 5.0
    pool: float | None = 30.0
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
            seconds = float(value)  # type: ignore[arg-type]
            # A bare number bounds the wait for a connection and the attempt alike; connecting keeps
            # its own, shorter default bound.
            return cls(total=seconds, connect=min(seconds, DEFAULT_TIMEOUT.connect or seconds), pool=seconds)
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
        pool=value.total or None,
        read=value.sock_read or None,
    )


DEFAULT_TIMEOUT = Timeout()
DOWNLOAD_TIMEOUT = Timeout(total=None, connect=5.0, read=60.0)
"""No overall bound (a bill may take minutes), but a stall of 60 s between chunks fails."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How many bytes of an answer the client reads (after any Content-Encoding is undone).

    `answer` bounds a 2xx answer's body (JSON), `error` a non-2xx one's. Past a bound the call
    raises `ResponseTooLargeError` and reads no further, so a huge or decompression-bomb answer
    costs at most the bound in memory. Streamed downloads are not bounded: they are never held whole.
    """

    answer: int = 8 << 20  # 8 MiB: WeChat Pay's largest JSON answers (lists, certificates) are far smaller
    error: int = 64 << 10  # 64 KiB: an error answer is a code and a message

    def __post_init__(self) -> None:
        for name in ("answer", "error"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"Limits({name}={value!r}): a number of bytes >= 1")


DEFAULT_LIMITS = Limits()


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
    if "@" in host:  # not quoted: the part before '@' may be a password
        raise ConfigurationError(
            "base_url: user info (user:password@host) is not supported: WeChat Pay authenticates by signature"
        )
    if scheme not in ("http", "https") or not sep or not host:
        raise ConfigurationError(f"base_url {url!r} must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}")
    if "?" in rest or "#" in rest:
        raise ConfigurationError(f"base_url {url!r} cannot carry a query or fragment")
    if any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise ConfigurationError(f"base_url {url!r} must be plain ASCII without spaces")
    prefix = "/" + path if slash else "/"
    return BaseURL(f"{scheme}://{host}", prefix if prefix.endswith("/") else prefix + "/")
