"""Media uploads against the emulator: multipart body, meta-only signature, sha256, every source kind."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiohttp import MultipartWriter
from aiohttp.payload import BytesPayload
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from wechatpay_chain import ApiError, Client, ConfigurationError, Request, TemplateError
from wechatpay_chain._files.uploads import SPOOL_LIMIT, media_meta, multipart
from wechatpay_chain.testing import Answer, Emulator
from wechatpay_chain.testing._multipart import form_parts

UPLOAD = "v3/merchant/media/upload"


def png(size: int) -> bytes:
    """A PNG signature followed by `size` random bytes (the emulator checks names and hashes, not pixels)."""
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size)


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def last_upload(emulator: Emulator) -> tuple[dict[str, str], dict[str, object], bytes]:
    """(Authorization fields, meta, file part) of the last request the emulator received."""
    received = emulator.received[-1]
    parts = form_parts(received.headers["Content-Type"], received.body)
    fields = dict(re.findall(r'(\w+)="([^"]*)"', received.headers["Authorization"]))
    return fields, {"raw": parts["meta"].content, **orjson.loads(parts["meta"].content)}, parts["file"].content


def assert_signed_over_meta(emulator: Emulator, target: str) -> None:
    """Verify the request signature independently: it must cover the meta JSON, not the multipart body."""
    fields, meta, _ = last_upload(emulator)
    message = f"POST\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + meta["raw"] + b"\n"  # type: ignore[operator]
    key = emulator.credentials.merchant_key.public_key()
    key.verify(base64.b64decode(fields["signature"]), message, padding.PKCS1v15(), hashes.SHA256())


async def test_upload_bytes(emulator: Emulator, client: Client) -> None:
    data = png(3000)
    response = await client.upload(UPLOAD, data, filename="logo.png")
    media_id = response.json()["media_id"]
    stored = emulator.files.media[media_id]
    assert stored.content == data
    assert stored.filename == "logo.png"
    assert stored.content_type == "image/png"
    _, meta, file_part = last_upload(emulator)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert list(meta)[1:] == ["filename", "sha256"]
    assert file_part == data
    assert emulator.received[-1].headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert_signed_over_meta(emulator, "/" + UPLOAD)


async def test_upload_path(emulator: Emulator, client: Client, tmp_path: Path) -> None:
    data = png(100_000)
    path = tmp_path / "shop front.jpg"
    path.write_bytes(data)
    media_id = (await client.upload(UPLOAD, path)).json()["media_id"]
    assert emulator.files.media[media_id].content == data
    assert emulator.files.media[media_id].filename == "shop front.jpg"  # the path's name by default
    assert emulator.files.media[media_id].content_type == "image/jpeg"
    media_id = (await client.upload(UPLOAD, str(path), filename="renamed.png")).json()["media_id"]
    assert emulator.files.media[media_id].filename == "renamed.png"


@pytest.mark.parametrize("size", [10_000, SPOOL_LIMIT + 300_000], ids=["in-memory", "spooled-to-disk"])
async def test_upload_async_stream(emulator: Emulator, client: Client, size: int) -> None:
    data = png(size)
    media_id = (await client.upload(UPLOAD, chunks(data, 65_536), filename="stream.bmp")).json()["media_id"]
    assert emulator.files.media[media_id].content == data
    _, meta, _ = last_upload(emulator)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert_signed_over_meta(emulator, "/" + UPLOAD)


async def test_extra_meta_fields_are_sent_and_signed(emulator: Emulator, client: Client) -> None:
    media_id = (await client.upload(UPLOAD, png(10), filename="a.png", meta={"bank_type": "CMB"})).json()["media_id"]
    assert emulator.files.media[media_id].meta["bank_type"] == "CMB"
    assert_signed_over_meta(emulator, "/" + UPLOAD)


async def test_non_ascii_filename(emulator: Emulator, client: Client) -> None:
    media_id = (await client.upload(UPLOAD, png(10), filename="营业执照.png")).json()["media_id"]
    assert emulator.files.media[media_id].filename == "营业执照.png"
    parts = form_parts(emulator.received[-1].headers["Content-Type"], emulator.received[-1].body)
    assert parts["file"].filename == "营业执照.png"  # raw UTF-8, as browsers send it


async def test_other_upload_endpoints(emulator: Emulator, client: Client) -> None:
    video = (await client.upload("v3/merchant/media/video_upload", b"\0" * 5000, filename="clip.mp4")).json()
    assert emulator.files.media[video["media_id"]].content_type == "video/mp4"
    favor = (await client.upload("v3/marketing/favor/media/image-upload", png(10), filename="c.png")).json()
    assert favor["media_url"].startswith("https://")
    image = png(20_000)
    media_id = (await client.upload("v3/merchant-service/images/upload", image, filename="d.png")).json()["media_id"]
    async with client.open_download(
        "v3/merchant-service/images/{media_id}", placeholders={"media_id": media_id}
    ) as stream:
        assert await stream.read() == image


def upload_request(client: Client, signed: bytes, form: MultipartWriter) -> Request:
    """An upload request built by hand: `signed` is what the signature covers, `form` what is sent."""
    request = client.build_request("POST", UPLOAD, {}, {"headers": {"Content-Type": form.content_type}})
    return dataclasses.replace(request, body=signed, payload=form)


async def test_emulator_rejects_a_wrong_sha256(client: Client) -> None:
    data = png(100)
    meta = media_meta("x.png", hashlib.sha256(b"something else").hexdigest())
    form = multipart(meta, BytesPayload(data), "x.png")
    request = upload_request(client, meta, form)
    with pytest.raises(ApiError) as caught:
        await client.execute(request)
    assert caught.value.status == 400 and "sha256" in caught.value.message


async def test_emulator_rejects_a_signature_over_other_bytes(client: Client) -> None:
    data = png(100)
    meta = media_meta("x.png", hashlib.sha256(data).hexdigest())
    form = multipart(meta, BytesPayload(data), "x.png")
    request = upload_request(client, meta + b" ", form)  # signs bytes that are not the meta sent
    with pytest.raises(ApiError) as caught:
        await client.execute(request)
    assert caught.value.status == 401


async def test_emulator_rejects_an_unsupported_type(client: Client) -> None:
    with pytest.raises(ApiError) as caught:
        await client.upload(UPLOAD, b"MZ", filename="tool.exe")
    assert caught.value.status == 400 and "exe" in caught.value.message


@pytest.mark.parametrize(
    ("file", "options", "fragment"),
    [
        (b"data", {}, "filename= is required"),
        (chunks(b"data", 2), {}, "filename= is required"),
        (12345, {"filename": "a.png"}, "cannot upload a int"),
        (b"data", {"filename": ""}, "non-empty"),
        (b"data", {"filename": "a.png", "meta": {"sha256": "0"}}, "sha256"),
        ("/no/such/file.png", {}, "cannot read the file"),
        (b"data", {"filename": "a.png", "meta": {"when": object()}}, "cannot be serialised"),
    ],
)
async def test_bad_input_fails_before_sending(
    emulator: Emulator, client: Client, file: object, options: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(fragment)):
        await client.upload(UPLOAD, file, **options)  # type: ignore[arg-type]
    assert not emulator.received


async def test_upload_placeholders_may_share_the_names_of_its_arguments(emulator: Emulator, client: Client) -> None:
    emulator.stub("POST", "v3/up/{a}/{b}", lambda incoming: Answer(200, {"path": incoming.path}))
    template = "v3/up/{file}/{filename}"
    with pytest.raises(TemplateError, match=r"\{filename\}.*placeholders=\{'filename'"):
        await client.upload(template, png(10), filename="a.png", file="F")
    answer = await client.upload(template, png(10), filename="a.png", file="F", placeholders={"filename": "N"})
    assert answer.json() == {"path": "/v3/up/F/N"}


async def test_download_placeholders_come_through_placeholders(
    emulator: Emulator, client: Client, tmp_path: Path
) -> None:
    image = png(100)
    media_id = (await client.upload("v3/merchant-service/images/upload", image, filename="d.png")).json()["media_id"]
    with pytest.raises(TemplateError, match=r"missing \{gzip\}"):
        await client.download("v3/merchant-service/images/{gzip}", tmp_path / "x.png")
    result = await client.download(
        "v3/merchant-service/images/{gzip}", tmp_path / "x.png", placeholders={"gzip": media_id}
    )
    assert (tmp_path / "x.png").read_bytes() == image and result.size == len(image)
