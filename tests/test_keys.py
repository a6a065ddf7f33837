"""Key loading: every accepted form, and errors that name the parameter without echoing the key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wechatpay_chain import Client, ConfigurationError, KeyLoadError, load_private_key, load_public_key
from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._credentials import cert_pem

Enc = serialization.Encoding
PrivFmt = serialization.PrivateFormat
PubFmt = serialization.PublicFormat


def private_forms(creds: Credentials, tmp_path: Path) -> dict[str, object]:
    key = creds.merchant_key
    pkcs1 = key.private_bytes(Enc.PEM, PrivFmt.TraditionalOpenSSL, serialization.NoEncryption())
    pkcs8 = key.private_bytes(Enc.PEM, PrivFmt.PKCS8, serialization.NoEncryption())
    (tmp_path / "apiclient_key.pem").write_bytes(pkcs8)
    der1 = key.private_bytes(Enc.DER, PrivFmt.TraditionalOpenSSL, serialization.NoEncryption())
    der8 = key.private_bytes(Enc.DER, PrivFmt.PKCS8, serialization.NoEncryption())
    return {
        "pkcs1 pem bytes": pkcs1,
        "pkcs8 pem str": pkcs8.decode(),
        "file": f"file://{tmp_path / 'apiclient_key.pem'}",
        "private.pkcs1": "private.pkcs1://" + base64.b64encode(der1).decode(),
        "private.pkcs8": "private.pkcs8://" + base64.b64encode(der8).decode(),
        "object": key,
    }


def test_every_private_form_loads_the_same_key(credentials: Credentials, tmp_path: Path) -> None:
    expected = credentials.merchant_key.private_numbers()
    for label, value in private_forms(credentials, tmp_path).items():
        assert load_private_key(value).private_numbers() == expected, label  # type: ignore[arg-type]


def test_encrypted_private_key(credentials: Credentials) -> None:
    pem = credentials.merchant_key.private_bytes(
        Enc.PEM, PrivFmt.PKCS8, serialization.BestAvailableEncryption(b"s3cret")
    )
    assert load_private_key(pem, password="s3cret").private_numbers() == credentials.merchant_key.private_numbers()
    with pytest.raises(KeyLoadError, match="passphrase"):
        load_private_key(pem)
    with pytest.raises(KeyLoadError, match="passphrase is wrong"):
        load_private_key(pem, password="nope")


def test_every_public_form_loads_the_same_key(credentials: Credentials, tmp_path: Path) -> None:
    key = credentials.public_key.public_key()
    spki_pem = key.public_bytes(Enc.PEM, PubFmt.SubjectPublicKeyInfo)
    (tmp_path / "pub_key.pem").write_bytes(spki_pem)
    platform = credentials.platform[0]
    forms = {
        "spki pem": spki_pem,
        "pkcs1 pem": key.public_bytes(Enc.PEM, PubFmt.PKCS1).decode(),
        "file": f"file://{tmp_path / 'pub_key.pem'}",
        "public.pkcs1": "public.pkcs1://" + base64.b64encode(key.public_bytes(Enc.DER, PubFmt.PKCS1)).decode(),
        "public.spki": "public.spki://"
        + base64.b64encode(key.public_bytes(Enc.DER, PubFmt.SubjectPublicKeyInfo)).decode(),
        "object": key,
    }
    for label, value in forms.items():
        assert load_public_key(value).public_numbers() == key.public_numbers(), label  # type: ignore[arg-type]
    cert_key = load_public_key(cert_pem(platform.certificate))
    assert cert_key.public_numbers() == platform.key.public_key().public_numbers()


def test_errors_name_the_parameter_and_never_echo_the_key(credentials: Credentials, tmp_path: Path) -> None:
    pem = credentials.merchant_key.private_bytes(Enc.PEM, PrivFmt.PKCS8, serialization.NoEncryption()).decode()
    broken = pem.replace(pem.splitlines()[5], pem.splitlines()[5][::-1])
    secret_line = pem.splitlines()[3]
    cases: list[object] = [broken, "private.pkcs8://" + secret_line, "not a key", 42, f"file://{tmp_path}/missing.pem"]
    for value in cases:
        with pytest.raises(KeyLoadError) as caught:
            load_private_key(value)  # type: ignore[arg-type]
        message = str(caught.value)
        assert message.startswith("private_key: ") and "Accepted forms" in message
        assert secret_line not in message and secret_line[:16] not in message
        assert caught.value.__cause__ is None  # no chained cryptography error quoting the input
        assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_non_rsa_keys_are_refused() -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(Enc.PEM, PrivFmt.PKCS8, serialization.NoEncryption())
    with pytest.raises(KeyLoadError, match="RSA"):
        load_private_key(ec_pem)


def test_client_names_the_bad_cert(credentials: Credentials) -> None:
    with pytest.raises(KeyLoadError, match=r"certs\['PUB_KEY_ID_X'\]"):
        Client(credentials.mchid, credentials.serial, credentials.merchant_key, {"PUB_KEY_ID_X": "garbage"})


def test_merchant_serial_in_certs_is_a_mix_up(credentials: Credentials) -> None:
    merchant_cert = cert_pem(credentials.merchant_certificate)
    with pytest.raises(ConfigurationError, match="merchant's own serial"):
        Client(
            credentials.mchid, credentials.serial, credentials.merchant_key, {credentials.serial.lower(): merchant_cert}
        )


def test_client_without_any_platform_key_says_what_to_configure(credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError, match="PUB_KEY_ID_"):
        Client(credentials.mchid, credentials.serial, credentials.merchant_key)


def test_client_repr_has_no_secrets(credentials: Credentials) -> None:
    client = Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        {credentials.public_key_id: credentials.public_key.public_key()},
        apiv3_key=credentials.apiv3_key,
    )
    text = repr(client) + repr(client.signer) + repr(client.middleware) + repr(client.certificates)
    assert credentials.apiv3_key not in text and "PRIVATE" not in text
    assert credentials.mchid in repr(client)
