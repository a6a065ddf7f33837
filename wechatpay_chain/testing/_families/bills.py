"""Bills: CSVs in WeChat Pay's layout, produced block by block, never whole.

A trade bill lists the rows it is given (the day's emulated payments and refunds, see
`payments/bill_rows.py`), then, when `size` asks for more bytes than they fill, synthetic rows of
other trades (a load for download tests), then the summary of them all. A fund flow bill has only
synthetic rows. It is generated once to compute the SHA-1 the bill answer announces, then again
while its download streams; the synthetic rows differ from block to block, the bytes are the same
every time.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

CORRUPTIONS = ("flip", "truncate")
_ROWS_PER_BLOCK = 1024
_MARK = b"BBBBBBBB"  # replaced by the 8-digit block number: row ids differ from block to block

TRADE_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单总金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
TRADE_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
_FUND_HEADER = (
    "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,"
    "资金变更提交申请人,备注,业务凭证号"
)
_FUND_SUMMARY = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"


def yuan(cents: int) -> str:
    """Cents as the bill writes money: 12.34, -0.06."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def fee_of(cents: int) -> int:
    """The handling fee of an amount at the emulated rate, 0.60 %, rounded to the cent."""
    return (cents * 6 + 500) // 1000


def csv_line(*values: str) -> str:
    """One bill line: every value back-quoted (so spreadsheets keep ids as text), CRLF."""
    return ",".join("`" + v for v in values) + "\r\n"


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows a trade bill lists before any synthetic ones: their lines, and what they add up to (cents)."""

    lines: tuple[bytes, ...] = ()
    settled: int = 0  # 应结订单总金额
    refund: int = 0  # 退款总金额
    fee: int = 0  # 手续费总金额
    order: int = 0  # 订单总金额
    applied: int = 0  # 申请退款总金额


@dataclass(frozen=True, slots=True)
class _Layout:
    """One block of rows with the block number left as a mark, and what each row adds up to."""

    header: bytes
    block: bytes
    ends: tuple[int, ...]  # the end offset of each row within the block
    amounts: tuple[int, ...]  # running totals of the rows' amounts (cents)
    fees: tuple[int, ...]  # running totals of the rows' fees (cents)
    summary: Callable[[Rows, int, int, int], bytes]  # (listed rows, synthetic rows, amount, fee) -> closing lines


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
        fee = fee_of(cents)
        transaction = f"420000{day}{_MARK.decode()}{j:06d}"
        if kind == "tradebill":
            row = csv_line(
                time, "wxd678efh567hg6787", mchid, "0", "", transaction, f"ORDER{day}{_MARK.decode()}{j:06d}",
                "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", "SUCCESS", "OTHERS", "CNY", yuan(cents), "0.00",
                "0", "0", "0.00", "0.00", "", "", "emulated goods", "", yuan(fee), "0.60%", yuan(cents),
                "0.00", "",
            )  # fmt: skip
        else:
            row = csv_line(
                time, transaction, f"5000{day}{_MARK.decode()}{j:06d}", "交易", "交易", "收入", yuan(cents),
                yuan(cents), "system", "", transaction,
            )  # fmt: skip
        rows.append(row.encode())
        amounts.append(cents)
        fees.append(fee)
    ends = tuple(_running(len(r) for r in rows))
    return _Layout(
        header=((TRADE_HEADER if kind == "tradebill" else _FUND_HEADER) + "\r\n").encode(),
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


def _trade_summary(listed: Rows, rows: int, amount: int, fee: int) -> bytes:
    totals = csv_line(
        str(len(listed.lines) + rows),
        yuan(listed.settled + amount),
        yuan(listed.refund),
        "0.00",
        yuan(listed.fee + fee),
        yuan(listed.order + amount),
        yuan(listed.applied),
    )
    return (TRADE_SUMMARY + "\r\n" + totals).encode()


def _fund_summary(listed: Rows, rows: int, amount: int, fee: int) -> bytes:
    return (_FUND_SUMMARY + "\r\n" + csv_line(str(rows), str(rows), yuan(amount), "0", "0.00")).encode()


@dataclass(slots=True)
class Bill:
    """One bill a `v3/bill/...` call applied for: what it holds and how it is sent."""

    kind: str  # tradebill | fundflowbill
    date: str
    mchid: str
    size: int  # the least number of bytes the CSV holds (synthetic rows fill what the listed ones leave)
    gzip: bool
    rows: Rows = field(default_factory=Rows)  # the listed rows: the day's emulated trades
    sha1: str = ""
    length: int = 0  # the exact length of the CSV
    downloads: int = field(default=0)

    def blocks(self) -> Iterator[bytes]:
        """The CSV, in blocks of about a thousand rows, the same bytes every time."""
        layout = _layout(self.kind, self.date, self.mchid)
        yield layout.header
        yield from self.rows.lines
        room = self.size - len(layout.header) - sum(len(line) for line in self.rows.lines)
        full, rest = divmod(room, len(layout.block)) if room > 0 else (0, 0)
        for number in range(full):
            yield layout.block.replace(_MARK, b"%08d" % number)
        last = bisect.bisect_left(layout.ends, rest) + 1 if rest else 0  # rows needed to cover the rest
        if last:
            yield layout.block[: layout.ends[last - 1]].replace(_MARK, b"%08d" % full)
        rows = full * _ROWS_PER_BLOCK + last
        amount = full * layout.amounts[-1] + (layout.amounts[last - 1] if last else 0)
        fee = full * layout.fees[-1] + (layout.fees[last - 1] if last else 0)
        yield layout.summary(self.rows, rows, amount, fee)

    def measure(self) -> None:
        """Compute the SHA-1 and length the bill answer announces (one pass, nothing kept)."""
        digest, length = hashlib.sha1(), 0
        for block in self.blocks():
            digest.update(block)
            length += len(block)
        self.sha1, self.length = digest.hexdigest(), length


async def send(bill: Bill, corruption: str | None) -> AsyncIterator[bytes]:
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
