"""The types of what users pass in, and the small protocols they may implement, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypedDict, Union

from ._config import Timeout

if TYPE_CHECKING:
    import os

    import aiohttp
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

    from ._models import Request, Response

QueryValue: TypeAlias = Union[str, int, float, bool, None]  # noqa: UP007
"""One query value; None leaves the parameter out, a bool is sent as true/false."""
Query: TypeAlias = Union[Mapping[str, Any], Iterable[tuple[str, QueryValue]]]  # noqa: UP007
"""`query=`: a mapping of names to `QueryValue`s (a list or tuple of them repeats the parameter), or pairs.

The mapping's values are typed `Any` so that a dict literal mixing ints and strs type-checks; a value
of another type is refused with a TemplateError before anything is sent.
"""

PlaceholderValue: TypeAlias = Union[str, int]  # noqa: UP007
"""What fills a `{placeholder}`: exactly one path segment."""

Headers: TypeAlias = Mapping[str, str]
"""Extra request headers, per client or per call."""

TimeoutTypes: TypeAlias = Union[float, Timeout, "aiohttp.ClientTimeout"]
"""`timeout=`: seconds for the whole call, a `Timeout`, or an `aiohttp.ClientTimeout`."""

PrivateKeyInput: TypeAlias = Union[str, bytes, "os.PathLike[str]", "RSAPrivateKey"]
"""The merchant's private key: PEM text or bytes, a path (`file://…` too), `private.pkcs1://…`/`pkcs8://…`, a key."""

PublicKeyInput: TypeAlias = Union[str, bytes, "os.PathLike[str]", "RSAPublicKey", "x509.Certificate"]
"""A WeChat Pay public key or platform certificate, in the same forms (a certificate object too)."""

HeadersInput: TypeAlias = Union[  # noqa: UP007
    Mapping[str, str],
    Iterable[tuple[Union[str, bytes], Union[str, bytes]]],  # noqa: UP007
]
"""A notification's headers: any mapping (aiohttp, Starlette, a dict) or ASGI's raw `[(b"name", b"value"), …]`."""

UploadSource: TypeAlias = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", AsyncIterable[bytes]]
"""What `Client.upload` takes: the file's bytes, a path to it, or an async stream of its chunks."""

ProgressCallback: TypeAlias = Callable[[int, Union[int, None]], Union[Awaitable[object], object]]  # noqa: UP007
"""Called as `progress(bytes_received, total_or_None)` after each chunk of a download; may be async."""

Clock: TypeAlias = Callable[[], float]
"""Unix time in seconds (the client's clock: signatures and the answer window follow it)."""


class SigningKey(Protocol):
    """Anything that signs for the merchant: `await key.sign(message)` gives base64 RSA-SHA256.

    Pass one as `Client(…, signer=key)` to keep the private key in an HSM or a signing service.
    """

    async def sign(self, message: bytes) -> str:
        """The base64 SHA256-with-RSA signature of `message` with the merchant's API key."""
        ...


class Sender(Protocol):
    """What features send through: build a request from a call, then send it through the stack."""

    def build_request(
        self, method: str, template: str, values: Mapping[str, object], options: Mapping[str, Any]
    ) -> Request:
        """The exact request a call makes; raises before any I/O on a slip."""
        ...

    async def execute(self, request: Request) -> Response:
        """Send a built request through the middleware stack; raises ApiError for a non-2xx answer."""
        ...


class DownloadOptions(TypedDict, total=False):
    """The options of `Client.download` (and `open_download`)."""

    hash_type: str  # "SHA1" (default), "SHA256", "SM3", …
    expected: str | None  # the announced hex digest
    gzip: bool  # the file comes gzipped: inflate it (the digest is over the inflated bytes)
    decompress: bool  # False: hand out the gzip bytes as sent
    progress: ProgressCallback | None
    query: Query | None
    headers: Headers | None
    timeout: TimeoutTypes | None
    chunk_size: int
    placeholders: Mapping[str, PlaceholderValue] | None  # the template's placeholder values
    xml: Mapping[str, Any] | None  # an APIv2 bill's fields (v2/pay/downloadbill, v2/pay/downloadfundflow)


class BillOptions(TypedDict, total=False):
    """The options of `Client.download_bill` (and `open_bill`)."""

    kind: str  # "tradebill" (default) or "fundflowbill"
    tar_type: str | None  # "GZIP" for a compressed file
    bill_type: str | None  # ALL, SUCCESS, REFUND (trade bills)
    account_type: str | None  # BASIC, OPERATION, FEES (fund flow bills)
    sub_mchid: str | None
    query: Mapping[str, str] | None
    decompress: bool
    progress: ProgressCallback | None
    timeout: TimeoutTypes | None
    chunk_size: int
