"""Streamed file downloads: bills, statements, receipts, fapiao files and images, digest-checked.

A download is a signed GET whose answer is an unsigned file. The body is read in chunks and
never held whole: it is hashed (SHA-1 for bills, over the decompressed content when it comes
gzipped), handed to the caller chunk by chunk or written to a temporary file that only takes
the target's name once the digest matched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import inspect
import os
import re
import secrets
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import aiohttp

from .._config import CHUNK_SIZE, DOWNLOAD_TIMEOUT
from .._errors import ConfigurationError, TransportError, WechatpayError
from .._models import BodyStream, Request, Response
from .._stack.verification import is_statement, is_unsigned_download
from .._types import Headers, PlaceholderValue, ProgressCallback, Query, Sender, TimeoutTypes

_WRITE_SIZE = 1 << 20  # bytes gathered before one write to disk
_INFLATE_LIMIT = 1 << 18  # most decompressed bytes produced per step, so memory stays flat
_GZIP_MAGIC = b"\x1f\x8b"
_BILL_KINDS = ("tradebill", "fundflowbill")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")


class DownloadError(WechatpayError):
    """A downloaded file is not what WeChat Pay announced; `check` is "digest", "gzip" or "answer"."""

    def __init__(self, message: str, *, check: str, expected: str | None = None, actual: str | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A finished download: where it went, its size and its digest."""

    path: Path | None  # the file written, or None when the chunks went to the caller
    size: int  # bytes of content (after decompression)
    received: int  # bytes on the wire
    hash_type: str  # e.g. "SHA1"
    digest: str  # hex digest of the content
    verified: bool  # whether the digest was checked against an announced value


class FileStream:
    """An open download: iterate it once for its chunks, or `save()` it; the digest is checked at the end.

    When the digest does not match, the iteration (or `save()`) raises DownloadError after the
    last chunk: treat what was consumed as provisional until the iteration ends cleanly.
    """

    def __init__(
        self,
        response: Response,
        *,
        hash_type: str = "SHA1",
        expected: str | None = None,
        gzip: bool = False,
        decompress: bool = True,
        progress: ProgressCallback | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.response = response
        self.hash_type = hash_type.upper()
        self.expected = expected.lower() if expected else None
        self.gzip = gzip
        self.decompress = decompress
        self.total: int | None = response.stream.content_length if response.stream is not None else None
        self.received = 0
        self.size = 0
        self._hasher = _hasher(hash_type)
        self._progress = progress
        self._chunk_size = chunk_size
        self._started = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._started:
            raise WechatpayError("this download was already read; open it again to read it twice")
        self._started = True
        gunzip = _Gunzip() if self.gzip else None
        try:
            async for raw in self._body().iter_chunked(self._chunk_size):
                self.received += len(raw)
                for piece in gunzip.feed(raw) if gunzip else (raw,):
                    self._hasher.update(piece)
                    self.size += len(piece)
                    if self.decompress:
                        yield piece
                if not self.decompress:
                    yield raw
                await self.report()
            for piece in gunzip.finish() if gunzip else ():
                self._hasher.update(piece)
                self.size += len(piece)
                if self.decompress:
                    yield piece
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._broken(exc) from exc
        finally:
            self.close()
        self._check()

    def _body(self) -> BodyStream:
        if self.response.stream is None:
            raise WechatpayError("this response was not opened as a stream (Request.stream=True)")
        return self.response.stream

    async def report(self) -> None:
        """Call the progress callback with (bytes received, total or None)."""
        if self._progress is not None:
            outcome = self._progress(self.received, self.total)
            if inspect.isawaitable(outcome):
                await outcome

    def _broken(self, exc: BaseException) -> TransportError:
        request = self.response.request
        reason = "stalled" if isinstance(exc, asyncio.TimeoutError) else f"{type(exc).__name__}: {exc}"
        return TransportError(
            f"GET {request.path}: the download broke off after {self.received} bytes ({reason})",
            method=request.method,
            url=request.url,
        )

    def _check(self) -> None:
        if self.expected is not None and self.digest != self.expected:
            raise DownloadError(
                f"the {self.hash_type} of the downloaded content is {self.digest}, WeChat Pay announced "
                f"{self.expected}: the file is corrupt or incomplete; download it again",
                check="digest",
                expected=self.expected,
                actual=self.digest,
            )

    @property
    def digest(self) -> str:
        """The hex digest of the content read so far."""
        return str(self._hasher.hexdigest())

    def result(self, path: Path | None = None) -> Downloaded:
        """What was downloaded so far, as a `Downloaded`."""
        return Downloaded(path, self.size, self.received, self.hash_type, self.digest, self.expected is not None)

    async def save(self, to: str | os.PathLike[str]) -> Downloaded:
        """Write the content to `to`, which only appears once complete and verified."""
        target = Path(to)
        handle, part = await asyncio.to_thread(_temporary, target)
        try:
            buffer = bytearray()
            async for chunk in self:
                buffer += chunk
                if len(buffer) >= _WRITE_SIZE:
                    await asyncio.to_thread(handle.write, bytes(buffer))
                    buffer.clear()
            await asyncio.to_thread(_commit, handle, bytes(buffer), part, target)
        except BaseException:
            _discard(handle, part)  # not awaited: a cancelled download must not leave its part behind
            raise
        return self.result(target)

    async def read(self) -> bytes:
        """The whole content in memory (for small files such as images), digest-checked."""
        return b"".join([chunk async for chunk in self])

    def close(self) -> None:
        """Release the connection (idempotent)."""
        if self.response.stream is not None:
            self.response.stream.release()

    async def __aenter__(self) -> FileStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FileStream {self.response.request.target} {self.received}/{self.total or '?'} bytes>"


class Opening:
    """`async with open_download(...) as stream`: sends the request on entry, releases it on exit."""

    def __init__(self, opener: Callable[[], Awaitable[FileStream]]) -> None:
        self._opener = opener
        self._stream: FileStream | None = None

    async def __aenter__(self) -> FileStream:
        self._stream = await self._opener()
        return self._stream

    async def __aexit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.close()


DOWNLOAD_OPTIONS = frozenset(
    {
        "hash_type",
        "expected",
        "gzip",
        "decompress",
        "progress",
        "query",
        "headers",
        "timeout",
        "chunk_size",
        "placeholders",
        "xml",
    }
)


def open_download(
    sender: Sender,
    source: str,
    *,
    placeholders: Mapping[str, PlaceholderValue] | None = None,
    hash_type: str = "SHA1",
    expected: str | None = None,
    gzip: bool = False,
    decompress: bool = True,
    progress: ProgressCallback | None = None,
    query: Query | None = None,
    headers: Headers | None = None,
    timeout: TimeoutTypes | None = None,
    chunk_size: int = CHUNK_SIZE,
    xml: Mapping[str, Any] | None = None,
) -> Opening:
    """Open an unsigned download (a `download_url`, or a template with its `placeholders`): `async with … as s`.

    `expected` is the announced hex digest (`hash_type` SHA1, SHA256, SM3 …); statements are
    checked against their `Wechatpay-Statement-Sha1` header. gzip=True inflates the content
    (the digest is over the inflated bytes); decompress=False hands out the gzip bytes as sent.
    `xml=` is for the APIv2 bills, which `Client.open_download` opens with `_v2.bills`.
    """
    _hasher(hash_type)  # an unknown algorithm fails here, before I/O
    if xml is not None:
        raise ConfigurationError(f"xml= is for the APIv2 bills (v2/pay/downloadbill, …), not {source!r}")
    request = _request(sender, source, placeholders or {}, query, headers, timeout)
    options = {"gzip": gzip, "decompress": decompress, "progress": progress, "chunk_size": chunk_size}
    return Opening(lambda: _open(sender, request, hash_type, expected, options))


def open_bill(
    sender: Sender,
    bill_date: str | dt.date,
    *,
    kind: str = "tradebill",
    tar_type: str | None = None,
    bill_type: str | None = None,
    account_type: str | None = None,
    sub_mchid: str | None = None,
    query: Mapping[str, str] | None = None,
    decompress: bool = True,
    progress: ProgressCallback | None = None,
    timeout: TimeoutTypes | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Opening:
    """Apply for a bill (`v3/bill/tradebill` or `fundflowbill`) and open its file as a stream.

    `bill_type` (ALL, SUCCESS, REFUND; trade bills), `account_type` (BASIC, OPERATION, FEES;
    fund flow bills), `sub_mchid` and `query` go into the application's query. The SHA-1 is
    checked against the bill's `hash_value`.
    """
    fields = {"sub_mchid": sub_mchid, "bill_type": bill_type, "account_type": account_type}
    params = _bill_query(bill_date, kind, tar_type, {k: v for k, v in fields.items() if v is not None}, query)
    options = {"gzip": "tar_type" in params, "decompress": decompress, "progress": progress, "chunk_size": chunk_size}

    async def opener() -> FileStream:
        application = sender.build_request("GET", f"v3/bill/{kind}", {}, {"query": params, "timeout": timeout})
        url, hash_type, hash_value = _bill_answer((await sender.execute(application)).json())
        request = _request(sender, url, {}, None, None, timeout)
        return await _open(sender, request, hash_type, hash_value, options)

    return Opening(opener)


async def _open(
    sender: Sender, request: Request, hash_type: str, expected: str | None, options: Mapping[str, Any]
) -> FileStream:
    response = await sender.execute(request)
    if expected is None and is_statement(request.path):
        # The Verifier checked this header's signature; the body must match it.
        expected = response.headers.get("Wechatpay-Statement-Sha1")
    stream = FileStream(response, hash_type=hash_type, expected=expected, **options)
    await stream.report()  # (0, total): the size is known before the first chunk
    return stream


def _bill_query(
    bill_date: str | dt.date,
    kind: str,
    tar_type: str | None,
    fields: Mapping[str, str],
    query: Mapping[str, str] | None,
) -> dict[str, str]:
    if kind not in _BILL_KINDS:
        raise ConfigurationError(f"kind must be one of {_BILL_KINDS}, got {kind!r}")
    misplaced = "account_type" if kind == "tradebill" else "bill_type"
    if misplaced in fields:
        raise ConfigurationError(f"{misplaced} does not apply to a {kind}")
    date = bill_date.isoformat() if isinstance(bill_date, dt.date) else bill_date
    if not isinstance(date, str) or not _DATE.match(date):
        raise ConfigurationError(f"bill_date must be a date or 'YYYY-MM-DD', got {bill_date!r}")
    if tar_type is not None and tar_type.upper() != "GZIP":
        raise ConfigurationError(f"tar_type is 'GZIP' or None (plain), got {tar_type!r}")
    params = {"bill_date": date, **fields, **(query or {})}
    if tar_type is not None:
        params["tar_type"] = "GZIP"
    return params


def _bill_answer(answer: Any) -> tuple[str, str, str]:
    fields = answer if isinstance(answer, dict) else {}
    url, hash_type, hash_value = (fields.get(k) for k in ("download_url", "hash_type", "hash_value"))
    if not (isinstance(url, str) and isinstance(hash_value, str) and url and hash_value):
        raise DownloadError(f"the bill answer lacks download_url or hash_value: {answer!r}", check="answer")
    return url, hash_type if isinstance(hash_type, str) and hash_type else "SHA1", hash_value


def _request(
    sender: Sender,
    source: str,
    values: Mapping[str, object],
    query: Query | None,
    headers: Headers | None,
    timeout: TimeoutTypes | None,
) -> Request:
    """The signed, streamed GET for a template or an absolute `download_url`."""
    options = {"query": query, "headers": headers, "timeout": timeout or DOWNLOAD_TIMEOUT}
    request = sender.build_request("GET", source, values, options)
    if not (is_unsigned_download(request.path) or is_statement(request.path)):
        raise ConfigurationError(
            f"{request.path!r} is not one of WeChat Pay's file downloads (bills, statements, receipts, "
            "fapiao files, images); call it with .get()"
        )
    return replace(request, stream=True)


def check_hash_type(hash_type: str) -> None:
    """ConfigurationError, before any I/O, for a digest this Python does not have."""
    _hasher(hash_type)


def _hasher(hash_type: str) -> Any:
    try:
        return hashlib.new(hash_type.lower().replace("-", ""))
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"hash_type {hash_type!r} is not available here; one of {sorted(hashlib.algorithms_available)}"
        ) from None


class _Gunzip:
    """Inflates gzip members chunk by chunk with bounded output; passes plain data through."""

    def __init__(self) -> None:
        self._inflater: Any = None
        self._plain = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated bytes of `data`, in pieces of at most _INFLATE_LIMIT."""
        if self._inflater is None and not self._plain:
            # Already inflated on the way (a Content-Encoding the HTTP client undid): pass it on.
            self._plain = not data.startswith(_GZIP_MAGIC)
        if self._plain:
            yield data
            return
        pending = data
        while pending:
            if self._inflater is None or self._inflater.eof:
                self._inflater = zlib.decompressobj(wbits=31)  # a new gzip member
            try:
                piece = self._inflater.decompress(pending, _INFLATE_LIMIT)
            except zlib.error as exc:
                raise DownloadError(f"the download is not valid gzip ({exc})", check="gzip") from None
            if piece:
                yield piece
            pending = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail

    def finish(self) -> Iterator[bytes]:
        """What the inflater still holds; DownloadError when the gzip data stopped mid-member."""
        if self._plain or self._inflater is None:
            return
        tail = self._inflater.flush()
        if tail:
            yield tail
        if not self._inflater.eof:
            raise DownloadError("the gzip data ended before its end marker", check="gzip")


def _temporary(target: Path) -> tuple[IO[bytes], Path]:
    """A new hidden `.part` file next to `target` (same file system, so the rename is atomic)."""
    if target.is_dir():
        raise ConfigurationError(f"{str(target)!r} is a directory; give the file name to write")
    part = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    return part.open("xb"), part  # plain open, so the file gets the usual (umask) permissions


def _commit(handle: IO[bytes], tail: bytes, part: Path, target: Path) -> None:
    with handle:
        handle.write(tail)
    os.replace(part, target)


def _discard(handle: IO[bytes], part: Path) -> None:
    handle.close()
    part.unlink(missing_ok=True)
