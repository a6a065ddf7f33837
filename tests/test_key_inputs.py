"""Keys as users hold them: bare paths, pathlib.Path, `~`; a misplaced PEM says what it is; no message quotes a key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from benchmarks.reliability.mutations import secret_fragments
from wechatpay_chain import Client, KeyLoadError, NotificationParser, load_private_key, load_public_key
from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._credentials import cert_pem, private_pem, public_pem


@pytest.fixture
def keys(credentials: Credentials, tmp_path: Path) -> dict[str, str]:
    return credentials.save(tmp_path / "keys")


def quotes_a_secret(message: str, credentials: Credentials) -> list[str]:
    return [piece for piece in secret_fragments(credentials) if piece in message]


@pytest.mark.parametrize("form", ["bare path", "pathlib.Path", "file:// URL", "~ path"])
def test_a_private_key_loads_from_any_path_form(
    credentials: Credentials, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    path = Path(keys["private_key_file"])
    monkeypatch.setenv("HOME", str(path.parent))
    forms: dict[str, str | Path] = {
        "bare path": str(path),
        "pathlib.Path": path,
        "file:// URL": f"file://{path}",
        "~ path": f"~/{path.name}",
    }
    key = load_private_key(forms[form])
    assert key.private_numbers() == credentials.merchant_key.private_numbers()


def test_public_keys_and_certificates_load_from_paths(credentials: Credentials, keys: dict[str, str]) -> None:
    public = Path(keys["public_key_file"])
    assert load_public_key(public).public_numbers() == credentials.public_key.public_key().public_numbers()
    client = Client(
        credentials.mchid,
        credentials.serial,
        keys["private_key_file"],  # a bare path, as `upload` takes one
        {credentials.public_key_id: public, credentials.platform_serial: keys["platform_cert_file"]},
    )
    assert set(client.certificates.serials()) == {credentials.public_key_id, credentials.platform_serial}


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match=r"cannot read the file '.*no-such-key\.pem' \(No such file"):
        load_private_key(str(tmp_path / "no-such-key.pem"))
    with pytest.raises(KeyLoadError, match="no such home folder"):
        load_private_key("~no-such-user-here/apiclient_key.pem")
    with pytest.raises(KeyLoadError, match="PKCS#12"):
        load_private_key(tmp_path / "apiclient_cert.p12")


def test_a_certificate_given_as_the_private_key_says_it_is_a_certificate(
    credentials: Credentials, keys: dict[str, str]
) -> None:
    for value in (cert_pem(credentials.merchant_certificate), Path(keys["merchant_cert_file"])):
        with pytest.raises(KeyLoadError, match=r"this is a certificate .*apiclient_key\.pem"):
            load_private_key(value)
    with pytest.raises(KeyLoadError, match="this is a public key"):
        load_private_key(public_pem(credentials.public_key))


def test_a_private_key_given_as_a_platform_key_says_so_without_quoting_it(credentials: Credentials) -> None:
    with pytest.raises(KeyLoadError, match="this is a private key") as caught:
        load_public_key(private_pem(credentials.merchant_key).decode())
    assert quotes_a_secret(str(caught.value), credentials) == []


def key_like_inputs(credentials: Credentials) -> dict[str, str]:
    """Key material in forms the loader does not take, each of which a naive loader would read as a path."""
    pem = private_pem(credentials.merchant_key).decode()
    body = "".join(pem.splitlines()[1:-1])
    der = credentials.merchant_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {
        "PEM without its BEGIN/END lines": "\n".join(pem.splitlines()[1:-1]),
        "PEM body on one line": body,
        "base64 DER without a scheme": base64.b64encode(der).decode(),
        **{f"line {n} of the key": line for n, line in enumerate(pem.splitlines()[1:-1], 1)},
        "the first 200 characters of the body": body[:200],
    }


def test_no_message_quotes_key_like_input(credentials: Credentials) -> None:
    for label, value in key_like_inputs(credentials).items():
        for load in (load_private_key, load_public_key):
            with pytest.raises(KeyLoadError) as caught:
                load(value)
            assert quotes_a_secret(str(caught.value), credentials) == [], label
            assert value[:24] not in str(caught.value), label


async def test_vars_of_the_client_its_refresher_and_the_parser_hold_no_raw_apiv3_key(credentials: Credentials) -> None:
    client = Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        {credentials.public_key_id: credentials.public_key.public_key()},
        apiv3_key=credentials.apiv3_key,
    )
    raw = credentials.apiv3_key
    holders = [client, client.refresher, client.certificates, NotificationParser(client)]
    for holder in holders:
        for name, value in vars(holder).items():
            assert value not in (raw, raw.encode()), f"{type(holder).__name__}.{name}"
            assert raw not in repr(value) and raw not in str(value), f"{type(holder).__name__}.{name}"
    await client.close()
