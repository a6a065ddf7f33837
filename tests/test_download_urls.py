"""`open_download` takes the `download_url` WeChat Pay gave as it is, signed over its exact target.

Complaint images have media ids in base64, which may hold a raw `/` (and `+`, `=`): the URL must go
out byte for byte as given, not be refused or re-encoded.
"""

from __future__ import annotations

import pytest

from wechatpay_chain import Client
from wechatpay_chain.testing import Answer, Emulator, Incoming

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
MEDIA_ID = "ChsyMDAwMDAwMjAyMDA5MDcx/NTUwNDMzNzM3NDUz+OTE0NDcSOWIx=="


def image(incoming: Incoming) -> Answer:
    return Answer(200, PNG, {"Content-Type": "image/png"})


@pytest.mark.parametrize("family", ["merchant-service", "global/merchant-service"])
async def test_a_media_id_with_a_raw_slash_downloads_as_given(emulator: Emulator, client: Client, family: str) -> None:
    emulator.stub("GET", f"v3/{family}/images/{{a}}/{{b}}", image)
    url = f"{emulator.base_url}v3/{family}/images/{MEDIA_ID}"
    async with client.open_download(url) as stream:
        assert await stream.read() == PNG
    (received,) = emulator.received  # authenticated: the signature covers the target it received
    assert received.target == f"/v3/{family}/images/{MEDIA_ID}"


async def test_the_download_url_keeps_its_escapes_and_query(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/merchant-service/images/{a}/{b}", image)
    url = f"{emulator.base_url}v3/merchant-service/images/a%2Bb/c=?x=1"
    async with client.open_download(url) as stream:
        assert await stream.read() == PNG
    assert emulator.received[-1].target == "/v3/merchant-service/images/a%2Bb/c=?x=1"
