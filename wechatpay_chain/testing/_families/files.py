"""The file endpoints: media uploads and image downloads, bill applications and bill downloads.

Uploads are checked as WeChat Pay checks them: the request signature covers the `meta` part
(the emulator's authentication does that), and `meta.sha256` must be the file part's sha256.
Bills (`bills.py`) are streamed as they are generated: a trade bill lists the day's emulated
payments and refunds (given by `trade_rows`), padded with synthetic rows to `bill_size` bytes when
a test asks for a big one; a fund flow bill is synthetic rows only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any

import orjson
from aiohttp.payload import AsyncIterablePayload

from .._controls import Control
from .._http import Answer, Incoming, Refusal, no_such_endpoint
from .._multipart import form_parts
from .._routing import Params, Route
from .bills import CORRUPTIONS, Bill, Rows, send

TradeRows = Callable[[str, str, "str | None"], Rows]
"""`trade_rows(bill_date, bill_type, sub_mchid)`: the rows of the day's emulated trades a trade bill lists."""

DEFAULT_BILL_SIZE = 0  # no synthetic rows: a trade bill lists exactly the day's emulated trades
TRADE_BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND", "ALL_SPECIAL", "SUC_SPECIAL", "REF_SPECIAL")
_IMAGES = frozenset({"jpg", "jpeg", "png", "bmp"})
_VIDEOS = frozenset({"avi", "wmv", "mpeg", "mp4", "mov", "mkv", "flv", "f4v", "m4v", "rmvb"})
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class _UploadRule:
    extensions: frozenset[str]
    max_size: int
    answer: str  # the field the answer carries: media_id or media_url


# The documented formats and limits of each upload endpoint.
UPLOADS: dict[str, _UploadRule] = {
    "v3/merchant/media/upload": _UploadRule(_IMAGES, 2 * _MIB, "media_id"),
    "v3/merchant/media/video_upload": _UploadRule(_VIDEOS, 5 * _MIB, "media_id"),
    "v3/marketing/favor/media/image-upload": _UploadRule(_IMAGES, 2 * _MIB, "media_url"),
    "v3/merchant-service/images/upload": _UploadRule(_IMAGES, 2 * _MIB, "media_id"),
    "v3/global/merchant-service/images/upload": _UploadRule(_IMAGES, 2 * _MIB, "media_id"),
}
_IMAGE_DOWNLOADS = ("v3/merchant-service/images/{media_id}", "v3/global/merchant-service/images/{media_id}")


@dataclass(frozen=True, slots=True)
class Media:
    """A file the emulator received through an upload endpoint."""

    filename: str
    content: bytes
    content_type: str
    meta: dict[str, Any]


# -- the endpoints -----------------------------------------------------------------------


class Files:
    """The media and bill endpoints and what they keep (`emu.files`): uploads, bills, corruptions."""

    def __init__(self, base_url: Callable[[], str], mchid: str, trade_rows: TradeRows | None = None) -> None:
        self._base_url = base_url
        self._mchid = mchid
        self._trade_rows = trade_rows
        self.bill_size = DEFAULT_BILL_SIZE
        """Bytes (at least) of the bills applied for from now on: synthetic rows fill what the day's trades leave."""
        self.media: dict[str, Media] = {}
        self.bills: dict[str, Bill] = {}  # by download token
        self._corruptions: list[str] = []
        self._measured: dict[tuple[str, str, str, int, Rows], tuple[str, int]] = {}

    def corrupt(self, mode: str = "flip", *, times: int = 1) -> None:
        """Corrupt the next `times` bill downloads: "flip" a byte (wrong SHA-1) or "truncate" (dropped halfway)."""
        if mode not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {mode!r}; one of {CORRUPTIONS}")
        self._corruptions += [mode] * times

    def routes(self) -> list[Route]:
        """The upload, image, bill and bill-download endpoints."""
        uploads = [Route("POST", path, partial(self._upload, rule=rule)) for path, rule in UPLOADS.items()]
        images = [Route("GET", template, self._image) for template in _IMAGE_DOWNLOADS]
        bills = [
            Route("GET", f"v3/bill/{kind}", partial(self._apply, kind=kind)) for kind in ("tradebill", "fundflowbill")
        ]
        return [*uploads, *images, *bills, Route("GET", "v3/billdownload/file", self._download)]

    def controls(self) -> tuple[Control, ...]:
        """None over HTTP: `bill_size` and `corrupt` are set from Python."""
        return ()

    def _upload(self, incoming: Incoming, params: Params, *, rule: _UploadRule) -> Answer:
        parts = form_parts(incoming.headers.get("Content-Type", ""), incoming.body)
        if "meta" not in parts or "file" not in parts:
            raise _bad("multipart/form-data with parts meta and file is required")
        try:
            meta = orjson.loads(parts["meta"].content)
        except orjson.JSONDecodeError:
            raise _bad("meta is not JSON") from None
        if not isinstance(meta, dict) or not meta.get("filename") or not meta.get("sha256"):
            raise _bad("meta must hold filename and sha256")
        content = parts["file"].content
        if hashlib.sha256(content).hexdigest() != str(meta["sha256"]).lower():
            raise _bad("meta.sha256 does not match the file's sha256")
        extension = PurePosixPath(str(meta["filename"])).suffix.lstrip(".").lower()
        if extension not in rule.extensions:
            raise _bad(f"unsupported file type {extension!r}; allowed {sorted(rule.extensions)}")
        if len(content) > rule.max_size:
            raise _bad(f"the file exceeds {rule.max_size // _MIB} MB")
        media_id = secrets.token_urlsafe(48)
        self.media[media_id] = Media(str(meta["filename"]), content, parts["file"].content_type, meta)
        if rule.answer == "media_url":
            return Answer(200, {"media_url": f"https://wxpaylogo.qpic.cn/wxpaylogo/{media_id}/0"})
        return Answer(200, {"media_id": media_id})

    def _image(self, incoming: Incoming, params: Params) -> Answer:
        if params["media_id"] == "upload":  # the upload endpoint, called with GET
            raise no_such_endpoint(incoming)
        media = self.media.get(params["media_id"])
        if media is None:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "no image with this media_id")
        return Answer(200, media.content, {"Content-Type": media.content_type})

    async def _apply(self, incoming: Incoming, params: Params, *, kind: str) -> Answer:
        date = incoming.query.get("bill_date", "")
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise _bad("bill_date must be YYYY-MM-DD") from None
        tar_type = incoming.query.get("tar_type")
        if tar_type not in (None, "GZIP"):
            raise _bad("tar_type must be GZIP when given")
        rows = Rows()
        if kind == "tradebill":
            bill_type = incoming.query.get("bill_type", "ALL")
            if bill_type not in TRADE_BILL_TYPES:
                raise _bad(f"bill_type must be one of {', '.join(TRADE_BILL_TYPES)}")
            if self._trade_rows is not None:
                rows = self._trade_rows(date, bill_type, incoming.query.get("sub_mchid"))
        bill = Bill(kind, date, self._mchid, self.bill_size, tar_type == "GZIP", rows)
        key = (kind, date, self._mchid, bill.size, rows)
        if key not in self._measured:
            await asyncio.to_thread(bill.measure)
            self._measured[key] = (bill.sha1, bill.length)
        bill.sha1, bill.length = self._measured[key]
        token = secrets.token_urlsafe(32)
        self.bills[token] = bill
        url = f"{self._base_url()}v3/billdownload/file?token={token}"
        return Answer(200, {"hash_type": "SHA1", "hash_value": bill.sha1, "download_url": url})

    def _download(self, incoming: Incoming, params: Params) -> Answer:
        bill = self.bills.get(incoming.query.get("token", ""))
        if bill is None:
            raise _bad("the download token is unknown or expired")
        bill.downloads += 1
        corruption = self._corruptions.pop(0) if self._corruptions else None
        headers = {"Content-Type": "application/octet-stream"}
        if not bill.gzip:
            headers["Content-Length"] = str(bill.length)
        body = AsyncIterablePayload(send(bill, corruption), content_type=headers["Content-Type"])
        return Answer(200, body, headers)


def _bad(message: str) -> Refusal:
    return Refusal(400, "PARAM_ERROR", message)
