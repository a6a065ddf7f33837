"""Bill and file downloads against the emulator: streamed, digest-checked, gzip, progress, failures."""

from __future__ import annotations

import gzip
import hashlib
import re
import time
import tracemalloc
from pathlib import Path

import pytest

from wechatpay_chain import Client, ConfigurationError, Response, SignatureError, TransportError
from wechatpay_chain._files.downloads import DownloadError, _Gunzip
from wechatpay_chain.testing import Answer, Emulator
from wechatpay_chain.testing._auth import sign_answer

DATE = "2024-06-01"
BIG = 200 * 1024 * 1024  # the issue asks for a bill of at least 200 MB
MEMORY_BOUND = 16 * 1024 * 1024  # "far below its size": under 8 % of it, client and emulator together


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_trade_bill_to_a_path(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    emulator.files.bill_size = 300_000
    result = await client.download_bill(DATE, tmp_path / "bill.csv")
    data = (tmp_path / "bill.csv").read_bytes()
    assert len(data) >= 300_000
    assert result.path == tmp_path / "bill.csv" and result.size == result.received == len(data)
    assert result.verified and result.digest == sha1(data)
    (bill,) = emulator.files.bills.values()
    assert bill.sha1 == sha1(data)  # the emulator announced the digest of what it sent
    lines = data.decode().splitlines()
    assert lines[0].startswith("交易时间,公众账号ID,商户号")
    assert lines[-2].startswith("总交易单数")
    assert int(lines[-1].split(",")[0].lstrip("`")) == len(lines) - 3  # header, summary title, totals
    assert len({line.split(",")[5] for line in lines[1:-2]}) == len(lines) - 3  # unique transaction ids
    assert leftovers(tmp_path) == ["bill.csv"]


async def test_fund_flow_bill(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    result = await client.download_bill(DATE, tmp_path / "fund.csv", kind="fundflowbill", account_type="BASIC")
    assert (tmp_path / "fund.csv").read_text().startswith("记账时间,微信支付业务单号")
    assert result.verified
    assert "account_type=BASIC" in next(r.target for r in emulator.received if "fundflowbill" in r.target)


async def test_gzip_bill_is_inflated_and_checked(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    emulator.files.bill_size = 2_000_000
    plain = await client.download_bill(DATE, tmp_path / "plain.csv")
    zipped = await client.download_bill(DATE, tmp_path / "zipped.csv", tar_type="GZIP")
    assert "tar_type=GZIP" in emulator.received[-2].target
    assert (tmp_path / "zipped.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert zipped.digest == plain.digest and zipped.verified
    assert zipped.received < zipped.size / 5  # it really came compressed


async def test_gzip_bill_kept_compressed(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    emulator.files.bill_size = 500_000
    result = await client.download_bill(DATE, tmp_path / "bill.csv.gz", tar_type="gzip", decompress=False)
    raw = (tmp_path / "bill.csv.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and len(raw) == result.received
    assert sha1(gzip.decompress(raw)) == result.digest == next(iter(emulator.files.bills.values())).sha1


async def test_bill_as_an_async_iterator(emulator: Emulator, client: Client) -> None:
    emulator.files.bill_size = 1_000_000
    digest, biggest = hashlib.sha1(), 0
    async with client.open_bill(DATE, chunk_size=32_768) as stream:
        async for chunk in stream:
            digest.update(chunk)
            biggest = max(biggest, len(chunk))
    assert digest.hexdigest() == stream.digest == next(iter(emulator.files.bills.values())).sha1
    assert biggest <= 32_768


@pytest.mark.parametrize("tar_type", [None, "GZIP"])
async def test_progress_callback(emulator: Emulator, client: Client, tmp_path: Path, tar_type: str | None) -> None:
    emulator.files.bill_size = 700_000
    calls: list[tuple[int, int | None]] = []
    result = await client.download_bill(
        DATE, tmp_path / "b.csv", tar_type=tar_type, chunk_size=8_192, progress=lambda *a: calls.append(a)
    )
    done = [d for d, _ in calls]
    assert calls[0][0] == 0 and done == sorted(done) and done[-1] == result.received
    assert len(calls) > 2
    if tar_type is None:
        assert {t for _, t in calls} == {result.received}  # Content-Length known up front
    else:
        assert {t for _, t in calls} == {None}  # streamed gzip: length unknown


async def test_async_progress_callback(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    seen: list[int] = []

    async def progress(done: int, total: int | None) -> None:
        seen.append(done)

    result = await client.download_bill(DATE, tmp_path / "b.csv", progress=progress)
    assert seen[-1] == result.received


@pytest.mark.parametrize("tar_type", [None, "GZIP"])
async def test_corrupted_bill_is_rejected(
    emulator: Emulator, client: Client, tmp_path: Path, tar_type: str | None
) -> None:
    emulator.files.bill_size = 400_000
    target = tmp_path / "bill.csv"
    emulator.files.corrupt("flip")
    with pytest.raises(DownloadError) as caught:
        await client.download_bill(DATE, target, tar_type=tar_type)
    assert caught.value.check == "digest" and caught.value.expected != caught.value.actual
    assert leftovers(tmp_path) == []  # neither the target nor a partial file
    await client.download_bill(DATE, target, tar_type=tar_type)  # the corruption was for one download
    assert leftovers(tmp_path) == ["bill.csv"]


async def test_corrupted_download_leaves_an_earlier_file_alone(
    emulator: Emulator, client: Client, tmp_path: Path
) -> None:
    target = tmp_path / "bill.csv"
    target.write_bytes(b"yesterday's good copy")
    emulator.files.corrupt("flip")
    with pytest.raises(DownloadError):
        await client.download_bill(DATE, target)
    assert target.read_bytes() == b"yesterday's good copy"
    assert leftovers(tmp_path) == ["bill.csv"]


async def test_corrupted_stream_raises_at_the_end(emulator: Emulator, client: Client) -> None:
    emulator.files.bill_size = 200_000
    emulator.files.corrupt("flip")
    received = 0
    with pytest.raises(DownloadError):
        async with client.open_bill(DATE) as stream:
            async for chunk in stream:
                received += len(chunk)
    assert received == stream.size  # every chunk was handed out before the check failed


@pytest.mark.parametrize("tar_type", [None, "GZIP"])
async def test_dropped_connection(emulator: Emulator, client: Client, tmp_path: Path, tar_type: str | None) -> None:
    emulator.files.bill_size = 3_000_000
    emulator.files.corrupt("truncate")
    with pytest.raises(TransportError, match="broke off"):
        await client.download_bill(DATE, tmp_path / "bill.csv", tar_type=tar_type)
    assert leftovers(tmp_path) == []


async def test_download_url_on_another_host(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    answer = (await client.v3.bill.tradebill.get(query={"bill_date": DATE})).json()
    other = emulator.client(base_url=emulator.base_url.replace("127.0.0.1", "localhost"))
    assert not answer["download_url"].startswith(other.base_url)
    result = await other.download(answer["download_url"], tmp_path / "b.csv", expected=answer["hash_value"])
    assert result.verified and result.digest == answer["hash_value"]
    target = emulator.received[-1].target
    assert target.startswith("/v3/billdownload/file?token=")
    assert target == "/" + answer["download_url"].split("/", 3)[3]  # the query went out as given


def statement_answer(emulator: Emulator, body: bytes, announced: str) -> Answer:
    """A statement answer signed the WeChat Pay way: over {"sha1": header}, not over the file."""
    creds = emulator.credentials
    signed = sign_answer(
        creds.public_key, creds.public_key_id, b'{"sha1":"' + announced.encode() + b'"}', int(time.time())
    )
    return Answer(200, body, {**signed, "Wechatpay-Statement-Sha1": announced, "Content-Type": "application/pdf"})


async def test_statement_checked_against_its_sha1_header(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    pdf = b"%PDF-1.4 statement " * 1000
    emulator.stub("GET", "v3/statements", statement_answer(emulator, pdf, sha1(pdf)))
    result = await client.download("v3/statements", tmp_path / "s.pdf", query={"statement_date": DATE})
    assert (tmp_path / "s.pdf").read_bytes() == pdf and result.verified


async def test_statement_not_matching_its_header(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    pdf = b"%PDF-1.4 statement"
    emulator.stub("GET", "v3/statements", statement_answer(emulator, pdf, sha1(b"another file")))
    with pytest.raises(DownloadError):
        await client.download("v3/statements", tmp_path / "s.pdf")
    assert leftovers(tmp_path) == []


async def test_statement_with_a_bad_signature(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    pdf = b"%PDF-1.4 statement"
    answer = statement_answer(emulator, pdf, sha1(pdf))
    answer.headers["Wechatpay-Statement-Sha1"] = sha1(b"not what was signed")
    emulator.stub("GET", "v3/statements", answer)
    with pytest.raises(SignatureError) as caught:
        await client.download("v3/statements", tmp_path / "s.pdf")
    assert caught.value.response is not None and isinstance(caught.value.response, Response)
    assert caught.value.response.stream._answer.connection is None  # type: ignore[union-attr]  # released
    assert leftovers(tmp_path) == []


async def test_unsigned_download_without_digest(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    receipt = b"%PDF receipt"
    emulator.stub("GET", "v3/transferdownload/signfile", Answer(200, receipt))
    result = await client.download("v3/transferdownload/signfile", tmp_path / "r.pdf", query={"token": "t"})
    assert (tmp_path / "r.pdf").read_bytes() == receipt and not result.verified
    emulator.stub("GET", "v3/transferdownload/signfile", Answer(200, receipt))
    with pytest.raises(DownloadError):
        await client.download(
            "v3/transferdownload/signfile", tmp_path / "s.pdf", hash_type="SHA256", expected=sha1(receipt)
        )


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda c, p: c.download_bill("2024/06/01", p), "bill_date"),
        (lambda c, p: c.download_bill(DATE, p, kind="refundbill"), "kind"),
        (lambda c, p: c.download_bill(DATE, p, tar_type="ZIP"), "tar_type"),
        (lambda c, p: c.download("v3/pay/transactions/id/1", p), "not one of WeChat Pay's file downloads"),
        (lambda c, p: c.download("v3/statements", p, hash_type="NOPE"), "hash_type"),
    ],
)
async def test_bad_input_fails_before_sending(
    emulator: Emulator, client: Client, tmp_path: Path, call: object, fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(fragment)):
        await call(client, tmp_path / "x")  # type: ignore[operator]
    assert not emulator.received


def test_gunzip_members_and_passthrough() -> None:
    data = b"line one\n" * 5000 + b"line two\n" * 5000
    members = gzip.compress(data[:30_000]) + gzip.compress(data[30_000:])
    inflater = _Gunzip()
    out = b"".join(p for i in range(0, len(members), 7) for p in inflater.feed(members[i : i + 7]))
    assert out + b"".join(inflater.finish()) == data
    plain = _Gunzip()
    assert b"".join(plain.feed(b"already inflated")) == b"already inflated"
    broken = _Gunzip()
    list(broken.feed(gzip.compress(data)[:100]))
    with pytest.raises(DownloadError):
        list(broken.finish())


def _rss_kib() -> dict[str, int] | None:
    """VmHWM (peak) and VmRSS after resetting the peak, where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current RSS
        with open("/proc/self/status") as handle:
            return {k: int(v) for k, v in re.findall(r"(VmHWM|VmRSS):\s+(\d+)", handle.read())}
    except OSError:
        return None


def _peak_rss_kib() -> int:
    with open("/proc/self/status") as handle:
        return int(re.search(r"VmHWM:\s+(\d+)", handle.read()).group(1))  # type: ignore[union-attr]


async def _big_bill(emulator: Emulator, client: Client, tmp_path: Path, tar_type: str | None) -> None:
    emulator.files.bill_size = BIG
    calls = 0

    def progress(done: int, total: int | None) -> None:
        nonlocal calls
        calls += 1

    before = _rss_kib()
    tracemalloc.start()
    try:
        result = await client.download_bill(DATE, tmp_path / "big.csv", tar_type=tar_type, progress=progress)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.size >= BIG and (tmp_path / "big.csv").stat().st_size == result.size
    assert result.verified and result.digest == next(iter(emulator.files.bills.values())).sha1
    assert calls > 100
    print(f"\n{BIG >> 20} MiB bill (tar_type={tar_type}): peak traced memory {peak / 2**20:.1f} MiB", end="")
    assert peak < MEMORY_BOUND
    if before is not None:
        grown = (_peak_rss_kib() - before["VmRSS"]) * 1024
        print(f", peak RSS growth {grown / 2**20:.1f} MiB", end="")
        assert grown < 4 * MEMORY_BOUND  # RSS also counts allocator slack and tracemalloc's own tables


async def test_200_mb_bill_streams_in_flat_memory(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    await _big_bill(emulator, client, tmp_path, None)


@pytest.mark.slow
async def test_200_mb_gzip_bill_streams_in_flat_memory(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    # Slow only because the emulator gzips 200 MB on the fly (~8 s on 2 cores).
    await _big_bill(emulator, client, tmp_path, "GZIP")
