"""Media uploads: the `multipart/form-data` body whose signature covers the `meta` JSON only.

WeChat Pay's upload endpoints (`v3/merchant/media/upload`, `…/video_upload`,
`v3/marketing/favor/media/image-upload`, `v3/merchant-service/images/upload`, …) take part
`meta` = `{"filename","sha256"}` then part `file`. The sha256 must be known before the first
byte is sent, so a path is hashed in one pass and streamed from disk in a second; an async
stream is hashed while it is spooled (in memory up to `SPOOL_LIMIT`, then to a temporary file).
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import orjson
from aiohttp import MultipartWriter
from aiohttp.payload import BufferedReaderPayload, BytesPayload, Payload

from .._errors import ConfigurationError
from .._models import Request, Response
from .._types import UploadSource

Execute = Callable[[Request], Awaitable[Response]]

SPOOL_LIMIT = 1 << 20  # an async stream larger than this is spooled to a temporary file
_READ_SIZE = 1 << 20
_RESERVED_META = frozenset({"filename", "sha256"})


def media_meta(filename: str, sha256: str, extra: Mapping[str, Any] | None = None) -> bytes:
    """The exact `meta` JSON bytes that are sent and signed: filename, sha256, then extra fields."""
    return orjson.dumps({"filename": filename, "sha256": sha256, **(extra or {})})


async def upload(
    execute: Execute,
    request: Request,
    file: UploadSource,
    *,
    filename: str | None = None,
    meta: Mapping[str, Any] | None = None,
    content_type: str | None = None,
) -> Response:
    """Send `request` (a POST to an upload endpoint) with `file` as its multipart body; returns the answer.

    `filename` defaults to the path's name (required for bytes and streams); `meta` adds fields
    to the signed `meta` part.
    """
    name = check_upload(file, filename, meta)
    async with opened(file) as (payload, sha256):
        signed = media_meta(name, sha256, meta)
        form = multipart(signed, payload, name, content_type)
        headers = request.headers.copy()
        headers["Content-Type"] = form.content_type
        return await execute(replace(request, body=signed, payload=form, headers=headers))


def check_upload(file: object, filename: str | None, meta: Mapping[str, Any] | None) -> str:
    """The file name to send; ConfigurationError for an unusable file, name or meta (before any I/O)."""
    name = _filename(file, filename)
    _check_meta(meta)
    return name


def multipart(meta: bytes, file: Payload, filename: str, content_type: str | None = None) -> MultipartWriter:
    """The `multipart/form-data` body: part `meta` (application/json) then part `file`."""
    form = MultipartWriter("form-data")
    part = BytesPayload(meta, content_type="application/json")
    part.set_content_disposition("form-data", name="meta")
    form.append_payload(part)
    file.headers["Content-Type"] = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    # Raw UTF-8 as browsers send it: percent-encoding would make the name differ from meta's.
    file.set_content_disposition("form-data", quote_fields=False, name="file", filename=filename)
    form.append_payload(file)
    return form


def _filename(file: object, filename: str | None) -> str:
    if not isinstance(file, (bytes, bytearray, memoryview, str, os.PathLike, AsyncIterable)):
        raise ConfigurationError(
            f"cannot upload a {type(file).__name__}: pass bytes, a path (str or pathlib.Path) "
            "or an async iterable of bytes"
        )
    if filename is not None:
        if not isinstance(filename, str) or not filename.strip():
            raise ConfigurationError(f"filename must be a non-empty str, got {filename!r}")
        return filename
    if isinstance(file, (str, os.PathLike)):
        return Path(file).name
    raise ConfigurationError("filename= is required when uploading bytes or a stream (e.g. filename='logo.png')")


def _check_meta(meta: Mapping[str, Any] | None) -> None:
    clash = _RESERVED_META.intersection(meta or ())
    if clash:
        raise ConfigurationError(
            f"meta= cannot set {sorted(clash)}: the filename comes from filename= and the sha256 is computed"
        )
    try:
        orjson.dumps(meta)
    except TypeError as exc:
        raise ConfigurationError(f"meta= cannot be serialised as JSON ({exc})") from None


@asynccontextmanager
async def opened(file: UploadSource, algorithm: str = "sha256") -> AsyncIterator[tuple[Payload, str]]:
    """The file part's payload and the file's hex digest (sha256, or APIv2's md5), any file handle closed after."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        data = bytes(file)
        yield BytesPayload(data), hashlib.new(algorithm, data).hexdigest()
        return
    if isinstance(file, (str, os.PathLike)):
        handle, digest = await asyncio.to_thread(_open_hashed, Path(file), algorithm)
    else:
        spooled, digest = await _spool(file, algorithm)
        if isinstance(spooled, bytes):
            yield BytesPayload(spooled), digest
            return
        handle = spooled
    try:
        yield BufferedReaderPayload(handle), digest
    finally:
        await asyncio.to_thread(handle.close)


def _open_hashed(path: Path, algorithm: str) -> tuple[IO[bytes], str]:
    """An open handle on `path` at offset 0 and its digest, read in chunks (never whole)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the file to upload {str(path)!r}: {exc.strerror}") from None
    try:
        digest = hashlib.new(algorithm)
        while chunk := handle.read(_READ_SIZE):
            digest.update(chunk)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle, digest.hexdigest()


async def _spool(stream: AsyncIterable[bytes], algorithm: str) -> tuple[bytes | IO[bytes], str]:
    """Hash a stream while keeping it: in memory while small, in a temporary file beyond SPOOL_LIMIT."""
    digest = hashlib.new(algorithm)
    buffer = bytearray()
    spill: IO[bytes] | None = None
    try:
        async for chunk in stream:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise ConfigurationError(f"the upload stream yielded a {type(chunk).__name__}, expected bytes")
            digest.update(chunk)
            buffer += chunk
            if len(buffer) > SPOOL_LIMIT:
                if spill is None:
                    spill = await asyncio.to_thread(tempfile.TemporaryFile)
                await asyncio.to_thread(spill.write, bytes(buffer))
                buffer.clear()
        if spill is None:
            return bytes(buffer), digest.hexdigest()
        await asyncio.to_thread(_finish_spill, spill, bytes(buffer))
    except BaseException:
        if spill is not None:
            spill.close()
        raise
    return spill, digest.hexdigest()


def _finish_spill(spill: IO[bytes], tail: bytes) -> None:
    spill.write(tail)
    spill.flush()
    spill.seek(0)
