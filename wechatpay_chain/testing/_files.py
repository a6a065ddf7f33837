"""The emulator's file endpoints: media uploads, and bills generated on the fly then streamed.

Uploads are checked as WeChat Pay checks them: the request signature covers the `meta` part
(the emulator's authentication does that), and `meta.sha256` must be the file part's sha256.
Bills are synthetic CSVs of `bill_size` bytes in WeChat Pay's layout (back-quoted fields, a
summary at the end). They are produced block by block, never whole: once to compute the SHA-1
the bill answer announces, then again while streaming the download.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import hashlib
import re
import secrets
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp.payload import AsyncIterablePayload

if TYPE_CHECKING:
    from ._emulator import Answer, Incoming

DEFAULT_BILL_SIZE = 64 * 1024
CORRUPTIONS = ("flip", "truncate")
_IMAGES = frozenset({"jpg", "jpeg", "png", "bmp"})
_VIDEOS = frozenset({"avi", "wmv", "mpeg", "mp4", "mov", "mkv", "flv", "f4v", "m4v", "rmvb"})
_MIB = 1024 * 1024
_ROWS_PER_BLOCK = 1024
_MARK = b"BBBBBBBB"  # replaced by the 8-digit block number: row ids differ from block to block
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_FIELD = re.compile(r'\b(name|filename)="([^"]*)"')


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
_IMAGE_DOWNLOADS = ("v3/merchant-service/images", "v3/global/merchant-service/images")


@dataclass(frozen=True, slots=True)
class Media:
    """A file the emulator received through an upload endpoint."""

    filename: str
    content: bytes
    content_type: str
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    filename: str | None
    content_type: str
    content: bytes


def form_parts(content_type: str, body: bytes) -> dict[str, _Part]:
    """The named parts of a `multipart/form-data` body (empty when it is not one)."""
    match = _BOUNDARY.search(content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        return {}
    parts: dict[str, _Part] = {}
    for chunk in body.split(b"--" + match.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(":") for line in head.decode("utf-8", "replace").split("\r\n"))
        )
        fields = dict(_FIELD.findall(headers.get("content-disposition", "")))
        if "name" in fields:
            parts[fields["name"]] = _Part(
                fields["name"],
                fields.get("filename"),
                headers.get("content-type", "application/octet-stream"),
                content.removesuffix(b"\r\n"),
            )
    return parts


# -- bills -------------------------------------------------------------------------------

_TRADE_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单总金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
_TRADE_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
_FUND_HEADER = (
    "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,"
    "资金变更提交申请人,备注,业务凭证号"
)
_FUND_SUMMARY = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _csv(*values: str) -> str:
    return ",".join("`" + v for v in values) + "\r\n"


@dataclass(frozen=True, slots=True)
class _Layout:
    """One block of rows with the block number left as a mark, and what each row adds up to."""

    header: bytes
    block: bytes
    ends: tuple[int, ...]  # the end offset of each row within the block
    amounts: tuple[int, ...]  # running totals of the rows' amounts (cents)
    fees: tuple[int, ...]  # running totals of the rows' fees (cents)
    summary: Callable[[int, int, int], bytes]  # (rows, amount, fee) -> the closing lines


@lru_cache(maxsize=8)
def _layout(kind: str, date: str, mchid: str) -> _Layout:
    day = date.replace("-", "")
    rows: list[bytes] = []
    amounts: list[int] = []
    fees: list[int] = []
    for j in range(_ROWS_PER_BLOCK):
        second = j * 86_400 // _ROWS_PER_BLOCK
        time = f"{date} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        cents = 1 + (j * 7919) % 99_999
        fee = (cents * 6 + 500) // 1000  # 0.60 %, rounded to the cent
        transaction = f"420000{day}{_MARK.decode()}{j:06d}"
        if kind == "tradebill":
            row = _csv(
                time, "wxd678efh567hg6787", mchid, "0", "", transaction, f"ORDER{day}{_MARK.decode()}{j:06d}",
                "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", "SUCCESS", "OTHERS", "CNY", _yuan(cents), "0.00",
                "0", "0", "0.00", "0.00", "", "", "emulated goods", "", _yuan(fee), "0.60%", _yuan(cents),
                "0.00", "",
            )  # fmt: skip
        else:
            row = _csv(
                time, transaction, f"5000{day}{_MARK.decode()}{j:06d}", "交易", "交易", "收入", _yuan(cents),
                _yuan(cents), "system", "", transaction,
            )  # fmt: skip
        rows.append(row.encode())
        amounts.append(cents)
        fees.append(fee)
    ends = tuple(_running(len(r) for r in rows))
    return _Layout(
        header=((_TRADE_HEADER if kind == "tradebill" else _FUND_HEADER) + "\r\n").encode(),
        block=b"".join(rows),
        ends=ends,
        amounts=tuple(_running(amounts)),
        fees=tuple(_running(fees)),
        summary=_trade_summary if kind == "tradebill" else _fund_summary,
    )


def _running(values: Iterator[int] | list[int]) -> Iterator[int]:
    total = 0
    for value in values:
        total += value
        yield total


def _trade_summary(rows: int, amount: int, fee: int) -> bytes:
    totals = _csv(str(rows), _yuan(amount), "0.00", "0.00", _yuan(fee), _yuan(amount), "0.00")
    return (_TRADE_SUMMARY + "\r\n" + totals).encode()


def _fund_summary(rows: int, amount: int, fee: int) -> bytes:
    return (_FUND_SUMMARY + "\r\n" + _csv(str(rows), str(rows), _yuan(amount), "0", "0.00")).encode()


@dataclass(slots=True)
class Bill:
    """One bill a `v3/bill/...` call applied for: what it holds and how it is sent."""

    kind: str  # tradebill | fundflowbill
    date: str
    mchid: str
    size: int  # the least number of bytes the CSV holds
    gzip: bool
    sha1: str = ""
    length: int = 0  # the exact length of the CSV
    downloads: int = field(default=0)

    def blocks(self) -> Iterator[bytes]:
        """The CSV, in blocks of about a thousand rows, the same bytes every time."""
        layout = _layout(self.kind, self.date, self.mchid)
        yield layout.header
        room = max(self.size - len(layout.header), 1)
        full, rest = divmod(room, len(layout.block))
        for number in range(full):
            yield layout.block.replace(_MARK, b"%08d" % number)
        last = bisect.bisect_left(layout.ends, rest) + 1 if rest else 0  # rows needed to cover the rest
        if last:
            yield layout.block[: layout.ends[last - 1]].replace(_MARK, b"%08d" % full)
        rows = full * _ROWS_PER_BLOCK + last
        amount = full * layout.amounts[-1] + (layout.amounts[last - 1] if last else 0)
        fee = full * layout.fees[-1] + (layout.fees[last - 1] if last else 0)
        yield layout.summary(rows, amount, fee)

    def measure(self) -> None:
        """Compute the SHA-1 and length the bill answer announces (one pass, nothing kept)."""
        digest, length = hashlib.sha1(), 0
        for block in self.blocks():
            digest.update(block)
            length += len(block)
        self.sha1, self.length = digest.hexdigest(), length


async def _send(bill: Bill, corruption: str | None) -> AsyncIterator[bytes]:
    """The download body, block by block; gzip members and corruption applied on the way."""
    deflater = zlib.compressobj(6, zlib.DEFLATED, 31) if bill.gzip else None
    middle, offset = bill.length // 2, 0
    for block in bill.blocks():
        if corruption == "truncate" and offset + len(block) > middle:
            raise ConnectionResetError("emulated fault: the download connection dropped halfway")
        if corruption == "flip" and offset <= middle < offset + len(block):
            at = middle - offset  # the content changes, its announced SHA-1 does not
            block = block[:at] + bytes([block[at] ^ 0x01]) + block[at + 1 :]
        offset += len(block)
        data = deflater.compress(block) if deflater else block
        if data:
            yield data
        await asyncio.sleep(0)  # let the client side run between blocks
    if deflater:
        yield deflater.flush()


# -- the endpoints -----------------------------------------------------------------------


class Files:
    """The emulator's media and bill endpoints, with their controls (`emu.files`)."""

    def __init__(self, base_url: Callable[[], str], mchid: str) -> None:
        self._base_url = base_url
        self._mchid = mchid
        self.bill_size = DEFAULT_BILL_SIZE
        """Bytes (at least) of the CSV bills applied for from now on."""
        self.media: dict[str, Media] = {}
        self.bills: dict[str, Bill] = {}  # by download token
        self._corruptions: list[str] = []
        self._measured: dict[tuple[str, str, str, int], tuple[str, int]] = {}

    def corrupt(self, mode: str = "flip", *, times: int = 1) -> None:
        """Corrupt the next `times` bill downloads: "flip" a byte (wrong SHA-1) or "truncate" (dropped halfway)."""
        if mode not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {mode!r}; one of {CORRUPTIONS}")
        self._corruptions += [mode] * times

    async def handle(self, incoming: Incoming) -> Answer | None:
        """Answer the file endpoints; None for any other request."""
        path = "/".join(incoming.segments)
        if incoming.method == "POST" and path in UPLOADS:
            return self._upload(incoming, UPLOADS[path])
        if incoming.method != "GET":
            return None
        if path in ("v3/bill/tradebill", "v3/bill/fundflowbill"):
            return await self._apply(incoming, path.rpartition("/")[2])
        if path == "v3/billdownload/file":
            return self._download(incoming)
        parent, _, media_id = path.rpartition("/")
        if parent in _IMAGE_DOWNLOADS and media_id != "upload":
            return self._image(media_id)
        return None

    def _upload(self, incoming: Incoming, rule: _UploadRule) -> Answer:
        from ._emulator import Answer, error  # the emulator module imports this one

        parts = form_parts(incoming.headers.get("Content-Type", ""), incoming.body)
        if "meta" not in parts or "file" not in parts:
            return error(400, "PARAM_ERROR", "multipart/form-data with parts meta and file is required")
        try:
            meta = orjson.loads(parts["meta"].content)
        except orjson.JSONDecodeError:
            return error(400, "PARAM_ERROR", "meta is not JSON")
        if not isinstance(meta, dict) or not meta.get("filename") or not meta.get("sha256"):
            return error(400, "PARAM_ERROR", "meta must hold filename and sha256")
        content = parts["file"].content
        if hashlib.sha256(content).hexdigest() != str(meta["sha256"]).lower():
            return error(400, "PARAM_ERROR", "meta.sha256 does not match the file's sha256")
        extension = PurePosixPath(str(meta["filename"])).suffix.lstrip(".").lower()
        if extension not in rule.extensions:
            return error(400, "PARAM_ERROR", f"unsupported file type {extension!r}; allowed {sorted(rule.extensions)}")
        if len(content) > rule.max_size:
            return error(400, "PARAM_ERROR", f"the file exceeds {rule.max_size // _MIB} MB")
        media_id = secrets.token_urlsafe(48)
        self.media[media_id] = Media(str(meta["filename"]), content, parts["file"].content_type, meta)
        if rule.answer == "media_url":
            return Answer(200, {"media_url": f"https://wxpaylogo.qpic.cn/wxpaylogo/{media_id}/0"})
        return Answer(200, {"media_id": media_id})

    def _image(self, media_id: str) -> Answer:
        from ._emulator import Answer, error

        media = self.media.get(media_id)
        if media is None:
            return error(404, "RESOURCE_NOT_EXISTS", "no image with this media_id")
        return Answer(200, media.content, {"Content-Type": media.content_type})

    async def _apply(self, incoming: Incoming, kind: str) -> Answer:
        from ._emulator import Answer, error

        query: Mapping[str, str] = incoming.query
        date = query.get("bill_date", "")
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            return error(400, "PARAM_ERROR", "bill_date must be YYYY-MM-DD")
        tar_type = query.get("tar_type")
        if tar_type not in (None, "GZIP"):
            return error(400, "PARAM_ERROR", "tar_type must be GZIP when given")
        bill = Bill(kind, date, self._mchid, self.bill_size, tar_type == "GZIP")
        key = (kind, date, self._mchid, bill.size)
        if key not in self._measured:
            await asyncio.to_thread(bill.measure)
            self._measured[key] = (bill.sha1, bill.length)
        bill.sha1, bill.length = self._measured[key]
        token = secrets.token_urlsafe(32)
        self.bills[token] = bill
        url = f"{self._base_url()}v3/billdownload/file?token={token}"
        return Answer(200, {"hash_type": "SHA1", "hash_value": bill.sha1, "download_url": url})

    def _download(self, incoming: Incoming) -> Answer:
        from ._emulator import Answer, error

        bill = self.bills.get(incoming.query.get("token", ""))
        if bill is None:
            return error(400, "PARAM_ERROR", "the download token is unknown or expired")
        bill.downloads += 1
        corruption = self._corruptions.pop(0) if self._corruptions else None
        headers = {"Content-Type": "application/octet-stream"}
        if not bill.gzip:
            headers["Content-Length"] = str(bill.length)
        body = AsyncIterablePayload(_send(bill, corruption), content_type=headers["Content-Type"])
        return Answer(200, body, headers)
