"""A platform serial whose first nibble is 0 is the same serial whether written `0A1B…` or `A1B…`.

WeChat Pay writes serials in whole bytes (as openssl does); a plain hex conversion of the number
drops the leading 0. Every place serials meet (configuration, answers, the certificate list,
encrypted fields) compares them in one normal form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from wechatpay_chain import Client, Verifier
from wechatpay_chain._keys.keyring import KeyRing, normalise_serial
from wechatpay_chain.testing import Answer, Credentials, Emulator
from wechatpay_chain.testing._auth import sign_answer
from wechatpay_chain.testing._credentials import PlatformCertificate, new_rsa_key
from wechatpay_chain.testing._families.certificates import certificate_item

SERIAL = 0x0A1B2C3D4E5F60718293A4B5C6D7E8F901234567  # 20 bytes, the first one 0x0A
WHOLE_BYTES = "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"
DROPPED_ZERO = WHOLE_BYTES[1:]


@pytest.fixture(scope="module")
def platform() -> PlatformCertificate:
    key = new_rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "platform with a 0 nibble")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(SERIAL)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return PlatformCertificate(key, certificate)


@pytest.fixture
def zero_nibble(credentials: Credentials, platform: PlatformCertificate) -> Credentials:
    return dataclasses.replace(credentials, platform=[platform])


def test_the_normal_form() -> None:
    assert normalise_serial(DROPPED_ZERO) == normalise_serial(WHOLE_BYTES) == WHOLE_BYTES
    assert normalise_serial(" 0a1b ") == normalise_serial("A1B") == "0A1B"
    assert normalise_serial("000A1B") == "0A1B"
    assert normalise_serial("pub_key_id_0114") == "PUB_KEY_ID_0114"


@pytest.mark.parametrize("configured", [WHOLE_BYTES, DROPPED_ZERO], ids=["configured 0A1B", "configured A1B"])
@pytest.mark.parametrize("header", [WHOLE_BYTES, DROPPED_ZERO], ids=["answer names 0A1B", "answer names A1B"])
async def test_an_answer_verifies_whichever_spelling_each_side_uses(
    platform: PlatformCertificate, configured: str, header: str
) -> None:
    ring = KeyRing({configured: platform.certificate})
    body = b'{"ok":1}'
    headers = sign_answer(platform.key, header, body, 1_800_000_000)
    verifier = Verifier(ring.lookup, clock=lambda: 1_800_000_000)
    assert await verifier.check(headers, body) == header
    assert configured in ring and header in ring


@pytest.mark.parametrize("listed", [WHOLE_BYTES, DROPPED_ZERO], ids=["listed as 0A1B", "listed as A1B"])
async def test_a_downloaded_certificate_list_is_accepted_in_either_spelling(
    zero_nibble: Credentials, listed: str
) -> None:
    async with Emulator(credentials=zero_nibble, key_mode="transition") as emu:

        def the_list(_: object) -> Answer:
            item = certificate_item(zero_nibble.apiv3_key, zero_nibble.platform[0])
            return Answer(200, {"data": [{**item, "serial_no": listed}]})

        emu.stub("GET", "v3/certificates", the_list)
        emu.stub("GET", "v3/things", {"ok": 1})
        client = emu.client(certs=None)  # the APIv3 key alone: the list is downloaded first
        assert (await client["v3/things"].get()).json() == {"ok": 1}
        assert client.certificates.serials() == [WHOLE_BYTES]


@pytest.mark.parametrize("configured", [WHOLE_BYTES, DROPPED_ZERO], ids=["configured 0A1B", "configured A1B"])
async def test_calls_and_encrypted_fields_work_with_either_spelling(zero_nibble: Credentials, configured: str) -> None:
    async with Emulator(credentials=zero_nibble, key_mode="transition") as emu:
        emu.stub("POST", "v3/things", {"ok": 1})
        client: Client = emu.client(certs={configured: zero_nibble.platform[0].certificate}, apiv3_key=None)
        sealed = await client.encrypt("张三")
        await client["v3/things"].post(json={"name": sealed}, headers={"Wechatpay-Serial": DROPPED_ZERO})
        assert emu.received[-1].headers["Wechatpay-Serial"] == DROPPED_ZERO  # the caller's spelling, as given
