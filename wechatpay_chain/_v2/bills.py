"""APIv2 bills (`v2/pay/downloadbill`, `v2/pay/downloadfundflow`): streamed like the APIv3 ones.

The call is a signed XML POST; a bill comes back as text, or gzip with `tar_type` GZIP, never
signed; a refusal ("No Bill Exist") comes back as XML in the same place. The first chunk tells
which: an XML one raises ApiError, anything else is streamed as a `FileStream`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from .._config import CHUNK_SIZE, DOWNLOAD_TIMEOUT, XML_LIMIT
from .._errors import ApiError
from .._files.downloads import FileStream, Opening, check_hash_type
from .._models import BodyStream
from .._types import Headers, ProgressCallback, Sender, TimeoutTypes
from . import xml


def open_download(
    sender: Sender,
    source: str,
    *,
    xml: Mapping[str, Any] | None = None,
    hash_type: str = "SHA1",
    decompress: bool = True,
    progress: ProgressCallback | None = None,
    headers: Headers | None = None,
    timeout: TimeoutTypes | None = None,
    chunk_size: int = CHUNK_SIZE,
    **unused: Any,
) -> Opening:
    """Open an APIv2 bill (`v2/pay/downloadbill`, `v2/pay/downloadfundflow`): `async with … as stream`."""
    if unused:
        raise TypeError(f"an APIv2 bill takes no {sorted(unused)} (its fields go in xml=)")
    check_hash_type(hash_type)
    options = {"decompress": decompress, "progress": progress, "chunk_size": chunk_size}
    return Opening(
        lambda: open_bill(sender, source, xml, headers=headers, timeout=timeout, hash_type=hash_type, options=options)
    )


async def open_bill(
    sender: Sender,
    source: str,
    fields: Mapping[str, Any] | None,
    *,
    headers: Headers | None,
    timeout: TimeoutTypes | None,
    hash_type: str,
    options: Mapping[str, Any],
) -> FileStream:
    """POST the signed bill call and open its answer: a FileStream of the bill, or ApiError for an XML refusal."""
    request = sender.build_request(
        "POST", source, {}, {"xml": fields or {}, "headers": headers, "timeout": timeout or DOWNLOAD_TIMEOUT}
    )
    response = await sender.execute(replace(request, stream=True))
    if response.stream is None:  # not a stream: an answer the stack already read whole
        raise ApiError(response, attempts=request.attempt, fields=_fields(response.body))
    chunks = response.stream.iter_chunked(int(options.get("chunk_size") or 1 << 16)).__aiter__()
    head = await anext(chunks, b"")
    if xml.looks_like_xml(head):
        body = await _rest(head, chunks, response.stream)
        raise ApiError(replace(response, body=body, stream=None), attempts=request.attempt, fields=_fields(body))
    stream = _Replayed(head, chunks, response.stream)
    gzip = bool(fields) and dict(fields or {}).get("tar_type") == "GZIP"
    opened = FileStream(replace(response, stream=stream), hash_type=hash_type, gzip=gzip, **options)
    await opened.report()
    return opened


async def _rest(head: bytes, chunks: AsyncIterator[bytes], stream: BodyStream) -> bytes:
    """The whole (small) XML refusal, bounded, with the connection released."""
    body = bytearray(head)
    try:
        async for chunk in chunks:
            body += chunk
            if len(body) > XML_LIMIT:
                break
    finally:
        stream.release()
    return bytes(body)


def _fields(body: bytes) -> xml.XmlDict:
    return xml.loads(body) if xml.looks_like_xml(body) else xml.XmlDict()


class _Replayed:
    """The body stream with its first chunk, read to look at it, handed out again first."""

    def __init__(self, head: bytes, chunks: AsyncIterator[bytes], stream: BodyStream) -> None:
        self._head = head
        self._chunks = chunks
        self._stream = stream

    @property
    def content_length(self) -> int | None:
        """The announced length in bytes, if any."""
        return self._stream.content_length

    async def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        """The first chunk again, then the rest (in the chunk size first asked for)."""
        if self._head:
            yield self._head
        async for chunk in self._chunks:
            yield chunk

    def release(self) -> None:
        """Give the connection back (idempotent)."""
        self._stream.release()
