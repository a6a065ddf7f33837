"""A byte-exact HTTP/1.1 peer on 127.0.0.1, for answers and requests no well-behaved library would make.

`answering(raw)` serves every request with the same raw answer bytes (headers with non-ASCII bytes,
repeated headers, …), or with what a function returns at each request; `exchange(url, raw)` writes
raw request bytes to a server and reads its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from yarl import URL


def answer(status: int, headers: Sequence[tuple[str, bytes]], body: bytes) -> bytes:
    """The raw bytes of an HTTP/1.1 answer; header values are sent byte for byte."""
    lines = [f"HTTP/1.1 {status} X".encode()]
    lines += [name.encode("ascii") + b": " + value for name, value in headers]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def signed_headers(headers: Mapping[str, str], **replace: bytes) -> list[tuple[str, bytes]]:
    """`headers` as raw pairs, with the values named in `replace` (underscores for dashes) swapped in."""
    swapped = {name.replace("_", "-").lower(): value for name, value in replace.items()}
    return [(name, swapped.pop(name.lower(), value.encode())) for name, value in headers.items()] + [
        (name, value) for name, value in swapped.items()
    ]


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value))


@asynccontextmanager
async def answering(raw: bytes | Callable[[], bytes]) -> AsyncIterator[str]:
    """A server answering every request with `raw` (or what `raw()` returns then); yields its base URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _read_request(reader)
            writer.write(raw() if callable(raw) else raw)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.close()
        await server.wait_closed()


async def exchange(url: str, method: str, headers: Sequence[tuple[str, bytes]], body: bytes) -> tuple[int, bytes]:
    """Send one raw request to `url`; returns the answer's status and body."""
    target = URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    lines = [f"{method} {target.raw_path_qs} HTTP/1.1".encode(), f"Host: {target.host}:{target.port}".encode()]
    lines += [name.encode("ascii") + b": " + value for name, value in headers]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest
