"""Response verification: every tampering is rejected, with the failed check named."""

from __future__ import annotations

from typing import Any

import pytest

from wechatpay_chain import Client, SignatureError, is_unsigned_download
from wechatpay_chain.testing import Answer, Credentials, Emulator
from wechatpay_chain.testing._auth import sign_answer

PATH = "v3/hire-power-bank/insurance-orders/{no}"


@pytest.fixture
def orders(emulator: Emulator) -> Emulator:
    emulator.stub("GET", PATH, {"out_order_no": "O1", "state": "已受理"})
    emulator.stub("POST", "v3/renew", Answer(204))
    return emulator


async def test_untampered_answer_verifies(orders: Emulator, client: Client) -> None:
    response = await client[PATH].get(no="O1")
    assert response.json()["state"] == "已受理"
    assert response.request_id


@pytest.mark.parametrize(
    ("fault", "params", "check"),
    [
        ("tamper_body", {}, "signature"),
        ("bad_signature", {}, "signature"),
        ("unknown_serial", {}, "serial"),
        ("skew", {"seconds": 301}, "timestamp"),
        ("skew", {"seconds": -301}, "timestamp"),
        ("missing_header", {"name": "Wechatpay-Timestamp"}, "headers"),
        ("missing_header", {"name": "Wechatpay-Nonce"}, "headers"),
        ("missing_header", {"name": "Wechatpay-Signature"}, "headers"),
        ("missing_header", {"name": "Wechatpay-Serial"}, "headers"),
    ],
)
async def test_tampering_is_rejected(
    orders: Emulator, client: Client, fault: str, params: dict[str, Any], check: str
) -> None:
    orders.fault(fault, PATH, **params)
    with pytest.raises(SignatureError) as caught:
        await client[PATH].get(no="O1")
    assert caught.value.check == check
    assert caught.value.response is not None and caught.value.response.status == 200


@pytest.mark.parametrize(("skew", "accepted"), [(-300, True), (300, True), (-301, False), (301, False)])
async def test_clock_window_edges(credentials: Credentials, skew: int, accepted: bool) -> None:
    def now() -> float:
        return 1_800_000_000.0  # one frozen clock for both sides: the edge is exact

    async with Emulator(credentials=credentials, clock=now) as emu:
        emu.stub("GET", "v3/ping", {"ok": 1})
        emu.fault("skew", "v3/ping", seconds=skew)
        client = emu.client(clock=now)
        if accepted:
            assert (await client["v3/ping"].get()).status == 200
        else:
            with pytest.raises(SignatureError, match=f"{abs(skew)} s away"):
                await client["v3/ping"].get()


async def test_empty_204_is_verified_over_the_empty_body(orders: Emulator, client: Client) -> None:
    assert (await client["v3/renew"].post()).status == 204
    orders.fault("bad_signature", "v3/renew")
    with pytest.raises(SignatureError):
        await client["v3/renew"].post()


async def test_unsupported_signature_type(emulator: Emulator, client: Client) -> None:
    creds = emulator.credentials
    body = b'{"ok":1}'
    headers = sign_answer(creds.public_key, creds.public_key_id, body, int(emulator.now()))
    headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    emulator.stub("GET", "v3/sm", Answer(200, body, headers))
    with pytest.raises(SignatureError) as caught:
        await client["v3/sm"].get()
    assert caught.value.check == "signature-type"


async def test_signed_by_a_key_the_client_does_not_hold(emulator: Emulator, client: Client) -> None:
    # Right serial, wrong key: an impostor reusing a known serial.
    creds = emulator.credentials
    body = b'{"ok":1}'
    headers = sign_answer(creds.merchant_key, creds.public_key_id, body, int(emulator.now()))
    emulator.stub("GET", "v3/impostor", Answer(200, body, headers))
    with pytest.raises(SignatureError, match="does not verify"):
        await client["v3/impostor"].get()


async def test_unsigned_downloads_are_not_verified(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/billdownload/file", Answer(200, b"csv,bill\n", {"Wechatpay-Signature": "-"}))
    response = await client.v3.billdownload.file.get(query={"token": "t"})
    assert response.body == b"csv,bill\n"
    emulator.stub("GET", "v3/not-a-download", Answer(200, b"x", {"Wechatpay-Signature": "-"}))
    with pytest.raises(SignatureError):
        await client["v3/not-a-download"].get()


async def test_statement_verifies_over_its_sha1_header(emulator: Emulator, client: Client) -> None:
    creds = emulator.credentials
    digest = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    signed = sign_answer(
        creds.public_key, creds.public_key_id, b'{"sha1":"' + digest.encode() + b'"}', int(emulator.now())
    )
    emulator.stub("GET", "v3/statements", Answer(200, b"%PDF-", {**signed, "Wechatpay-Statement-Sha1": digest}))
    assert (await client["v3/statements"].get()).body == b"%PDF-"
    forged = {**signed, "Wechatpay-Statement-Sha1": "0" * 40}
    emulator.stub("GET", "v3/statements", Answer(200, b"%PDF-", forged))
    with pytest.raises(SignatureError):
        await client["v3/statements"].get()


@pytest.mark.parametrize(
    ("path", "unsigned"),
    [
        ("v3/billdownload/file", True),
        ("v3/transferdownload/signfile", True),
        ("v3/transferdownload/elecvoucherfile", True),
        ("v3/new-tax-control-fapiao/download", True),
        ("v3/merchant-service/images/abc", True),
        ("v3/global/merchant-service/images/abc", True),
        ("v3/merchant-service/images/upload", False),
        ("v3/global/merchant-service/images/upload", False),
        ("v3/bill/tradebill", False),
        ("v3/billdownload/file/x", False),
    ],
)
def test_unsigned_download_rules(path: str, unsigned: bool) -> None:
    assert is_unsigned_download(path) is unsigned
