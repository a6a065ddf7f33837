"""Sensitive fields: encrypted for WeChat Pay with the key the request names, decrypted with the merchant key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from wechatpay_chain import Client, ConfigurationError
from wechatpay_chain._hazmat import oaep_encrypt
from wechatpay_chain.testing import Answer, Emulator, Incoming
from wechatpay_chain.testing._families.certificates import decrypt_sensitive

POLICIES = "v3/inspolicymgr/deduct/policies"
NAMES = ["张三", "李四"]
# Fields are sealed with either key: the merchant here has both (in transition).
pytestmark = pytest.mark.wechatpay_emulator(key_mode="transition")


def policy(names: Sequence[str]) -> dict[str, Any]:
    return {
        "out_insurance_no": "Auisihsiahishishi4hihsid123418id",
        "insured_name_list": names,
        "insurance_company_code": "1001",
        "policy_type": "POLICY_TYPE_MEDICAL",
        "policy_state": "POLICY_STATE_ISSUING",
    }


def serve_uploads(emulator: Emulator, *, sha256: bool = False) -> Emulator:
    """Upload a policy: the emulated WeChat Pay decrypts the names with the key the request names."""

    def upload(incoming: Incoming) -> Answer:
        serial = incoming.headers.get("Wechatpay-Serial", "")
        try:
            names = [
                decrypt_sensitive(emulator.credentials, serial, c, sha256=sha256)
                for c in incoming.json()["insured_name_list"]
            ]
        except ValueError as exc:
            return Answer(400, {"code": "PARAM_ERROR", "message": f"insured_name_list: {exc}"})
        return Answer(200, {"serial": serial, "insured_name_list": names})

    emulator.stub("POST", POLICIES, upload)
    return emulator


@pytest.fixture
def insurer(emulator: Emulator) -> Emulator:
    return serve_uploads(emulator)


async def upload(client: Client, names: list[str], **options: Any) -> dict[str, Any]:
    sealed = [await client.encrypt(n, **options) for n in names]
    assert not set(sealed) & set(names)
    response = await client[POLICIES].post(json=policy(sealed))
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("prefer", ["public_key", "certificate"])
async def test_encrypted_fields_reach_wechatpay_with_the_matching_serial(insurer: Emulator, prefer: str) -> None:
    client = insurer.client(prefer=prefer)
    result = await upload(client, NAMES)
    creds = insurer.credentials
    expected = creds.public_key_id if prefer == "public_key" else creds.platform_serial
    assert result == {"serial": expected, "insured_name_list": NAMES}


async def test_encrypt_downloads_the_certificate_when_the_client_has_none(insurer: Emulator) -> None:
    client = insurer.client(certs=None)
    result = await upload(client, NAMES)
    assert result == {"serial": insurer.credentials.platform_serial, "insured_name_list": NAMES}


async def test_sha256_is_an_option(emulator: Emulator) -> None:
    insurer = serve_uploads(emulator, sha256=True)
    client = insurer.client()
    assert (await upload(client, NAMES, sha256=True))["insured_name_list"] == NAMES
    sealed = await client.encrypt("张三")  # SHA-1: does not open as SHA-256
    with pytest.raises(ConfigurationError):
        decrypt_sensitive(insurer.credentials, insurer.credentials.public_key_id, sealed, sha256=True)


async def test_the_request_names_the_key_the_field_was_sealed_with(insurer: Emulator) -> None:
    """A refresh between encrypting and sending must not change the serial the request names."""
    client = insurer.client(certs=None, prefer="certificate")
    assert client.refresher is not None
    old = insurer.credentials.platform_serial
    sealed = await client.encrypt("张三")
    assert sealed.serial == old
    insurer.rotate_certificate()
    await client.refresher.refresh()
    new = insurer.credentials.platform_serial
    assert client.certificates.current().serial == new  # type: ignore[union-attr]
    response = await client[POLICIES].post(json=policy([sealed]))
    assert response.json() == {"serial": old, "insured_name_list": ["张三"]}


async def test_encrypting_leaves_unrelated_requests_naming_the_current_key(insurer: Emulator) -> None:
    insurer.stub("GET", "v3/ping", {"pong": True})
    client = insurer.client(certs=None, prefer="certificate")
    assert client.refresher is not None
    await client.encrypt("张三")
    insurer.rotate_certificate()
    await client.refresher.refresh()
    await client["v3/ping"].get()
    assert insurer.received[-1].headers["Wechatpay-Serial"] == insurer.credentials.platform_serial


async def test_a_header_naming_another_key_is_refused_before_any_io(insurer: Emulator) -> None:
    client = insurer.client()
    sealed = await client.encrypt("张三")  # the public key, which this client prefers
    serial = insurer.credentials.platform_serial
    with pytest.raises(ConfigurationError, match="Wechatpay-Serial") as caught:
        await client[POLICIES].post(json=policy([sealed]), headers={"Wechatpay-Serial": serial})
    assert sealed.serial in str(caught.value) and serial in str(caught.value)
    assert not insurer.received


async def test_fields_sealed_with_two_keys_are_refused(insurer: Emulator) -> None:
    client = insurer.client()
    first = await client.encrypt("张三")
    client.certificates.prefer = "certificate"
    second = await client.encrypt("李四")
    assert first.serial != second.serial
    with pytest.raises(ConfigurationError, match="different keys"):
        await client[POLICIES].post(json=policy([first, second]))
    assert not insurer.received


async def test_a_raw_body_names_the_key_the_caller_gives(insurer: Emulator) -> None:
    client = insurer.client()
    sealed = await client.encrypt("张三")
    body = orjson.dumps(policy([sealed]))
    response = await client[POLICIES].post(
        body=body, headers={"Content-Type": "application/json", "Wechatpay-Serial": sealed.serial}
    )
    assert response.json() == {"serial": sealed.serial, "insured_name_list": ["张三"]}


async def test_decrypt_a_field_wechatpay_encrypted(emulator: Emulator) -> None:
    merchant = emulator.credentials.merchant_key.public_key()
    emulator.stub(
        "GET",
        POLICIES + "/{out_insurance_no}",
        lambda _: Answer(200, policy([oaep_encrypt(merchant, n.encode()) for n in NAMES])),
    )
    client = emulator.client()
    response = await client.v3.inspolicymgr.deduct.policies._out_insurance_no_.get(out_insurance_no="A1")
    assert [client.decrypt(c) for c in response.json()["insured_name_list"]] == NAMES
    sealed256 = oaep_encrypt(merchant, "王五".encode(), sha256=True)
    assert client.decrypt(sealed256, sha256=True) == "王五"
    with pytest.raises(ConfigurationError, match="does not decrypt"):
        client.decrypt(sealed256)


async def test_bad_input_fails_before_any_io(emulator: Emulator) -> None:
    client = emulator.client()
    with pytest.raises(ConfigurationError, match="at most 214"):
        await client.encrypt("x" * 215)
    with pytest.raises(ConfigurationError, match="at most 190"):
        await client.encrypt("x" * 191, sha256=True)
    with pytest.raises(ConfigurationError, match="must be a str"):
        await client.encrypt(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="does not decrypt"):
        client.decrypt("not base64 at all!")
    assert not emulator.received


async def test_without_encryption_requests_name_the_current_key(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/ping", {"pong": True})
    client = emulator.client(prefer="certificate")
    await client["v3/ping"].get()
    assert emulator.received[-1].headers["Wechatpay-Serial"] == emulator.credentials.platform_serial
