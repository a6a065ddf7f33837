"""Reading `multipart/form-data` bodies: the upload endpoints' parts, and the `meta` part a signature covers."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_FIELD = re.compile(r'\b(name|filename)=(?:"([^"]*)"|([^";\s]+))')


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a form: its name, file name, content type and raw content."""

    name: str
    filename: str | None
    content_type: str
    content: bytes


def form_parts(content_type: str, body: bytes) -> dict[str, Part]:
    """The named parts of a `multipart/form-data` body (empty when it is not one)."""
    match = _BOUNDARY.search(content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        return {}
    parts: dict[str, Part] = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(":") for line in head.decode("utf-8", "replace").split("\r\n"))
        )
        fields = {key: quoted or bare for key, quoted, bare in _FIELD.findall(headers.get("content-disposition", ""))}
        if "name" in fields:
            parts[fields["name"]] = Part(
                fields["name"],
                fields.get("filename"),
                headers.get("content-type", "application/octet-stream"),
                content.removesuffix(b"\r\n"),
            )
    return parts


def multipart_meta(content_type: str, body: bytes) -> bytes | None:
    """The `meta` part of a multipart/form-data body (what an upload's signature covers), or None."""
    meta = form_parts(content_type, body).get("meta")
    return None if meta is None else meta.content
