"""Mutual TLS: the calls that need the merchant certificate present it to the emulator's HTTPS, and only they do.

Calls go through `client.chain("v2")`, dynamic for type checkers: they send partial bodies and
fields built apart, which the typed chain (`client.v2…`) would refuse.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from wechatpay_chain import (
    ApiError,
    Client,
    ConfigurationError,
    KeyLoadError,
    MerchantCertificate,
    TransportError,
)
from wechatpay_chain.testing import Answer, Credentials, Emulator, Incoming
from wechatpay_chain.testing._credentials import cert_pem, new_rsa_key, private_pem, self_signed
from wechatpay_chain.testing._tls import common_name

APPID = "wxd678efh567hg6787"
TLS = pytest.mark.wechatpay_emulator(tls=True)


def paid_order(client: Client, out_trade_no: str, total_fee: int = 300) -> dict[str, Any]:
    return {
        "appid": APPID,
        "mch_id": client.mchid,
        "body": "goods",
        "out_trade_no": out_trade_no,
        "total_fee": total_fee,
        "spbill_create_ip": "127.0.0.1",
        "auth_code": "134567890123456789",
    }


def refund(client: Client, out_trade_no: str, out_refund_no: str) -> dict[str, Any]:
    return {
        "appid": APPID,
        "mch_id": client.mchid,
        "out_trade_no": out_trade_no,
        "out_refund_no": out_refund_no,
        "total_fee": 300,
        "refund_fee": 100,
    }


@TLS
async def test_a_refund_goes_over_mutual_tls_with_the_certificate(emulator: Emulator, client: Client) -> None:
    assert emulator.base_url.startswith("https://127.0.0.1:")
    await client.chain("v2").pay.micropay.post(xml=paid_order(client, "T1"))
    answer = (await client.chain("v2").secapi.pay.refund.post(xml=refund(client, "T1", "R1"))).xml()
    assert answer["result_code"] == "SUCCESS" and answer["refund_fee"] == "100"
    assert client.merchant_cert is not None and client.merchant_cert.serial == emulator.credentials.serial


@TLS
async def test_only_the_calls_that_need_it_present_the_certificate(emulator: Emulator, client: Client) -> None:
    seen: list[str | None] = []

    def who(incoming: Incoming) -> Answer:
        seen.append(common_name(incoming.client_certificate))
        return Answer(200, {"result_code": "SUCCESS"})

    emulator.stub("POST", "v2/pay/orderquery", who)
    emulator.stub("GET", "v3/ping", who)
    await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid})
    await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid}, security=True)
    await client["v3/ping"].get()
    assert seen == [None, client.mchid, None]


@TLS
async def test_without_a_certificate_the_call_fails_before_io(emulator: Emulator) -> None:
    client = emulator.client(merchant_cert=None)
    with pytest.raises(ConfigurationError, match=r"merchant_cert='file:///path/apiclient_cert.pem'"):
        await client.chain("v2").secapi.pay.refund.post(xml=refund(client, "T1", "R1"))
    with pytest.raises(ConfigurationError, match="mutual TLS"):
        await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid}, security=True)
    assert not emulator.received


@TLS
async def test_the_emulator_refuses_a_request_without_the_certificate(emulator: Emulator) -> None:
    trust = ssl.create_default_context(cadata=emulator.credentials.ca_pem.decode())
    async with aiohttp.ClientSession() as session:
        url = emulator.base_url + "secapi/pay/refund"
        async with session.post(url, data=b"<xml><mch_id>1900000109</mch_id></xml>", ssl=trust) as answer:
            body = await answer.read()
    assert answer.status == 200
    assert b"<return_code>FAIL</return_code>" in body and b"<err_code>CA_ERROR</err_code>" in body


@TLS
async def test_a_certificate_issued_to_another_merchant_is_refused(emulator: Emulator) -> None:
    key = new_rsa_key()
    other = emulator.credentials.issue_merchant_certificate("1230000109", key)
    client = emulator.client(private_key=key, merchant_cert=other)
    with pytest.raises(ApiError) as caught:
        await client.chain("v2").secapi.pay.refund.post(xml=refund(client, "T1", "R1"))
    assert caught.value.code == "CA_ERROR" and "1230000109" in caught.value.err_code_des


@TLS
async def test_a_certificate_of_another_ca_fails_the_handshake(emulator: Emulator) -> None:
    key = new_rsa_key()
    client = emulator.client(private_key=key, merchant_cert=self_signed(key, emulator.credentials.mchid))
    with pytest.raises(TransportError):
        await client.chain("v2").secapi.pay.refund.post(xml=refund(client, "T1", "R1"))


async def test_over_plain_http_the_emulator_says_to_start_it_with_tls(emulator: Emulator, client: Client) -> None:
    with pytest.raises(ApiError) as caught:
        await client.chain("v2").secapi.pay.refund.post(xml=refund(client, "T1", "R1"))
    assert caught.value.code == "CA_ERROR" and "Emulator(tls=True)" in caught.value.message


def _p12(credentials: Credentials, password: bytes) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"apiclient",
        credentials.merchant_key,
        credentials.merchant_certificate,
        None,
        serialization.BestAvailableEncryption(password),
    )


@TLS
async def test_a_pkcs12_bundle_works_with_its_password_or_the_merchant_id(
    emulator: Emulator, credentials: Credentials, tmp_path: Path
) -> None:
    bundle = tmp_path / "apiclient_cert.p12"
    bundle.write_bytes(_p12(credentials, b"s3cret"))
    with_password = emulator.client(merchant_cert=bundle, merchant_cert_password="s3cret")
    await with_password.chain("v2").pay.micropay.post(xml=paid_order(with_password, "T2"))
    await with_password.chain("v2").secapi.pay.refund.post(xml=refund(with_password, "T2", "R2"))
    # WeChat Pay protects apiclient_cert.p12 with the merchant id: that is the default password.
    default = emulator.client(merchant_cert=_p12(credentials, credentials.mchid.encode()))
    assert default.merchant_cert is not None and default.merchant_cert.serial == credentials.serial
    # a p12 carries its key: a client signing elsewhere (signer=, no private_key) can use it
    keyless = MerchantCertificate(_p12(credentials, b"x"), private_key=None, password="x")
    assert isinstance(keyless.context(), ssl.SSLContext)
    with pytest.raises(KeyLoadError, match="merchant_cert_password given"):
        emulator.client(merchant_cert=bundle, merchant_cert_password="wrong")
    with pytest.raises(KeyLoadError, match="merchant id"):
        emulator.client(merchant_cert=bundle)


def test_every_pem_form_loads_the_same_certificate(credentials: Credentials, tmp_path: Path) -> None:
    pem = cert_pem(credentials.merchant_certificate)
    path = tmp_path / "apiclient_cert.pem"
    path.write_bytes(pem)
    forms: list[Any] = [pem, pem.decode(), str(path), path, f"file://{path}", credentials.merchant_certificate]
    serials = {MerchantCertificate(form, private_key=credentials.merchant_key).serial for form in forms}
    assert serials == {credentials.serial}
    holder = MerchantCertificate(pem, private_key=credentials.merchant_key)
    assert repr(holder) == f"<MerchantCertificate serial={credentials.serial!r}>"
    assert isinstance(holder.context(), ssl.SSLContext) and holder.context() is holder.context()


def test_a_wrong_or_keyless_certificate_is_refused(credentials: Credentials, tmp_path: Path) -> None:
    pem = cert_pem(credentials.merchant_certificate)
    with pytest.raises(ConfigurationError, match="not the one of the client's private_key"):
        MerchantCertificate(pem, private_key=new_rsa_key())
    with pytest.raises(ConfigurationError, match="needs the client's private_key"):
        MerchantCertificate(pem, private_key=None)
    with pytest.raises(KeyLoadError, match="cannot read file"):
        MerchantCertificate(str(tmp_path / "missing.pem"), private_key=credentials.merchant_key)
    with pytest.raises(KeyLoadError, match="not a PEM certificate"):
        MerchantCertificate(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", private_key=None)
    with pytest.raises(ConfigurationError, match="ca_certs"):
        Client(
            credentials.mchid,
            credentials.serial,
            private_pem(credentials.merchant_key),
            apiv2_key=credentials.apiv2_key,
            ca_certs=b"-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n",
        )


def test_an_apiv2_only_client_needs_no_apiv3_configuration(credentials: Credentials) -> None:
    client = Client(credentials.mchid, credentials.serial, credentials.merchant_key, apiv2_key=credentials.apiv2_key)
    assert client.apiv2_key is not None and repr(client.apiv2_key) == "Secret('<redacted>')"
    with pytest.raises(ConfigurationError, match="apiv2_key"):
        Client(credentials.mchid, credentials.serial, credentials.merchant_key, apiv2_key="short")


def test_keys_saved_before_the_ca_existed_load_with_a_new_ca_and_the_same_serial(
    credentials: Credentials, tmp_path: Path
) -> None:
    credentials.save(tmp_path)
    for name in ("emulator_ca.pem", "emulator_ca_key.pem"):
        (tmp_path / name).unlink()
    meta = json.loads((tmp_path / "credentials.json").read_text())
    del meta["apiv2_key"]
    (tmp_path / "credentials.json").write_text(json.dumps(meta))
    loaded = Credentials.load(tmp_path)
    assert loaded.serial == credentials.serial and len(loaded.apiv2_key) == 32
    assert loaded.merchant_certificate.issuer == loaded.ca_certificate.subject
    assert Credentials.load(tmp_path).serial == credentials.serial  # and again: nothing was rewritten
