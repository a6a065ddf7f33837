"""Many merchants in one process: each distinct key is checked once, and the check can wait for first use."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wechatpay_chain import Client, KeyLoadError, load_private_key
from wechatpay_chain._keys.loading import DeferredKey
from wechatpay_chain.testing import Credentials, Emulator
from wechatpay_chain.testing._credentials import private_pem


def key_file(tmp_path: Path, pem: bytes, name: str = "apiclient_key.pem") -> str:
    path = tmp_path / name
    path.write_bytes(pem)
    return f"file://{path}"


def test_the_same_key_is_loaded_once_whatever_the_form(credentials: Credentials, tmp_path: Path) -> None:
    pem = private_pem(credentials.merchant_key)
    first = load_private_key(key_file(tmp_path, pem))
    assert load_private_key(pem) is first
    assert load_private_key(pem.decode()) is first
    assert load_private_key(key_file(tmp_path, pem, "copy.pem")) is first
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert load_private_key(private_pem(other)) is not first


def test_a_cached_key_still_needs_its_passphrase(credentials: Credentials) -> None:
    encrypted = credentials.merchant_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right"),
    )
    loaded = load_private_key(encrypted, password="right")
    assert load_private_key(encrypted, password=b"right") is loaded
    with pytest.raises(KeyLoadError, match="passphrase"):
        load_private_key(encrypted, password="wrong")
    with pytest.raises(KeyLoadError, match="encrypted: pass its passphrase"):
        load_private_key(encrypted)


def test_clients_sharing_a_key_share_one_loaded_key(credentials: Credentials, tmp_path: Path) -> None:
    path = key_file(tmp_path, private_pem(credentials.merchant_key))
    certs = {credentials.public_key_id: credentials.public_key.public_key()}
    clients = [Client(f"19000001{n:02d}", credentials.serial, path, certs) for n in range(20)]
    assert len({id(c._private_key) for c in clients}) == 1


def test_a_deferred_key_refuses_bad_input_at_once(credentials: Credentials, tmp_path: Path) -> None:
    certs = {credentials.public_key_id: credentials.public_key.public_key()}

    def client(private_key: str, **options: object) -> Client:
        return Client(credentials.mchid, credentials.serial, private_key, certs, defer_key_loading=True, **options)  # type: ignore[arg-type]

    with pytest.raises(KeyLoadError, match="cannot read the file"):
        client(f"file://{tmp_path}/missing.pem")
    with pytest.raises(KeyLoadError, match="not a valid private key"):
        client("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    encrypted = credentials.merchant_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    with pytest.raises(KeyLoadError, match="passphrase"):
        client(key_file(tmp_path, encrypted, "enc.pem"), private_key_password="wrong")


async def test_a_deferred_key_is_checked_on_first_use_and_signs(emulator: Emulator, tmp_path: Path) -> None:
    fresh = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not in the process's cache yet
    emulator.credentials.merchant_key = fresh
    emulator.stub("GET", "v3/ping", {"ok": 1})
    client = emulator.client(
        private_key=key_file(tmp_path, private_pem(fresh)), defer_key_loading=True, merchant_cert=None
    )
    deferred = client._private_key
    assert isinstance(deferred, DeferredKey) and not deferred.loaded
    assert "PRIVATE" not in repr(deferred) and "not loaded yet" in repr(deferred)
    assert (await client["v3/ping"].get()).status == 200  # the emulator checked the signature
    assert deferred.loaded and deferred.load() is load_private_key(private_pem(fresh))


async def test_a_deferred_inconsistent_key_fails_its_first_call_before_sending(
    emulator: Emulator, credentials: Credentials, tmp_path: Path
) -> None:
    numbers = credentials.merchant_key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d,
        dmp1=numbers.dmp1 + 2,  # a CRT parameter off: it parses, but signatures would be wrong
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    client = emulator.client(
        private_key=key_file(tmp_path, private_pem(broken)), defer_key_loading=True, merchant_cert=None
    )
    with pytest.raises(KeyLoadError, match="not a valid private key"):
        await client["v3/ping"].get()
    assert list(emulator.received) == []
    with pytest.raises(KeyLoadError):  # eagerly, the same key fails at construction
        emulator.client(private_key=key_file(tmp_path, private_pem(broken)), merchant_cert=None)


async def test_a_deferred_key_decrypts(emulator: Emulator, credentials: Credentials, tmp_path: Path) -> None:
    from wechatpay_chain._keys.sensitive import encrypt

    client = emulator.client(
        private_key=key_file(tmp_path, private_pem(credentials.merchant_key)), defer_key_loading=True
    )
    assert client.decrypt(encrypt(credentials.merchant_key.public_key(), "张三")) == "张三"
