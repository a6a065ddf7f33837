"""What every handler of the emulator sees and answers: `Incoming`, `Answer`, `error` and `Refusal`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson
from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping
from yarl import URL


def path_segments(raw_path: str) -> tuple[str, ...]:
    """The decoded segments of a raw (percent-encoded) path; a leading slash is not a segment."""
    return tuple(unquote(segment) for segment in raw_path.removeprefix("/").split("/"))


@dataclass(slots=True)
class Incoming:
    """An authenticated request as the emulator's handlers see it."""

    method: str
    target: str  # raw path and query as received
    path: str  # raw path, still percent-encoded, without the query
    segments: tuple[str, ...]  # decoded path segments
    query: MultiMapping[str]
    headers: CIMultiDictProxy[str]
    body: bytes
    tls: bool = False  # whether it came over HTTPS
    client_certificate: Mapping[str, Any] | None = None  # the verified client certificate (getpeercert())

    @classmethod
    def of(cls, method: str, target: str, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Incoming:
        """A request as if received for `target` (raw path and query): to call a handler in-process."""
        raw_path, _, raw_query = target.partition("?")
        raw_path = "/" + raw_path.removeprefix("/")
        return cls(
            method.upper(),
            raw_path + ("?" + raw_query if raw_query else ""),
            raw_path,
            path_segments(raw_path),
            URL.build(query_string=raw_query).query,
            CIMultiDictProxy(CIMultiDict(headers or {})),
            body,
        )

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body) if self.body else None


@dataclass(slots=True)
class Answer:
    """What a handler answers: a status and a JSON body (or raw bytes, or nothing)."""

    status: int = 200
    body: Any = None  # dict/list for JSON, bytes for a file, None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str, detail: Any = None) -> Answer:
    """A WeChat Pay style error answer: `{"code", "message"}`, plus `detail` when given."""
    body: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return Answer(status, body)


class Refusal(Exception):
    """Raised by a handler or a control to answer a WeChat Pay style error; `answer()` is that error."""

    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def answer(self) -> Answer:
        """The error answer WeChat Pay gives."""
        return error(self.status, self.code, self.message, self.detail)


def no_such_endpoint(incoming: Incoming) -> Refusal:
    """The refusal of a request no route answers (the path decoded, as WeChat Pay names it)."""
    return Refusal(404, "NOT_FOUND", f"no such endpoint: {incoming.method} {unquote(incoming.path)}")
