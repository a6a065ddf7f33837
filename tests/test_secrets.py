"""No repr, str, log record or exception of the package holds a private key, the APIv3 key or a passphrase.

The scan looks for overlapping 24-character pieces of every key's PKCS#8 and PKCS#1 DER base64 (which
covers any PEM line), of its private exponent and prime in decimal and hex, and of the APIv3 key.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

import wechatpay_chain
import wechatpay_chain.testing
from benchmarks.reliability.mutations import b64, secret_fragments
from wechatpay_chain import (
    Client,
    ConfigurationError,
    KeyLoadError,
    NotificationError,
    NotificationParser,
    RetryPolicy,
    TemplateError,
    TransportError,
    V2NotificationParser,
    WechatpayError,
    load_private_key,
)
from wechatpay_chain.testing import Answer, Credentials, Emulator

PASSPHRASE = "correct-horse-battery-staple-7"
ECHO = "v3/secrets/echo"


@pytest.fixture(scope="module")
def fragments(credentials: Credentials) -> list[str]:
    return [*secret_fragments(credentials), PASSPHRASE]


def leaks(texts: Iterable[str], fragments: list[str]) -> list[str]:
    """The secret pieces found in any of the texts (each reported once)."""
    joined = "\n".join(texts)
    return sorted({f for f in fragments if f in joined})


def package_objects(*roots: object) -> list[object]:
    """Every object of a wechatpay_chain type reachable from `roots` through attributes and containers."""
    seen: set[int] = set()
    found: list[object] = []
    todo: deque[object] = deque(roots)
    while todo and len(seen) < 50_000:
        obj = todo.popleft()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type(None))):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            todo.extend([*obj.keys(), *obj.values()])
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            todo.extend(obj)
        elif type(obj).__module__.startswith("wechatpay_chain"):
            found.append(obj)
            todo.extend(_attributes(obj))
    return found


def _attributes(obj: object) -> list[object]:
    values: list[object] = []
    names: set[str] = set()
    for cls in type(obj).__mro__:
        slots = getattr(cls, "__slots__", ())
        names.update([slots] if isinstance(slots, str) else slots)
    with contextlib.suppress(AttributeError):
        names.update(object.__getattribute__(obj, "__dict__"))
    if isinstance(obj, BaseException):
        values.extend([obj.args, obj.__cause__, obj.__context__])
    for name in names - {"__dict__", "__weakref__"}:
        try:
            values.append(object.__getattribute__(obj, name))
        except AttributeError:
            continue
    return values


def texts_of(objects: Iterable[object]) -> list[str]:
    out = []
    for obj in objects:
        out += [repr(obj), str(obj)]
        if isinstance(obj, BaseException):
            out += [repr(obj.args), "".join(traceback.format_exception(obj))]
    return out


def test_the_scan_finds_a_planted_secret(credentials: Credentials, fragments: list[str]) -> None:
    pem = credentials.merchant_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    assert leaks([f"oops {pem.splitlines()[7]} oops"], fragments)
    assert leaks([repr(credentials.apiv3_key.encode())], fragments)
    assert leaks([f"{credentials.platform[0].key.private_numbers().p:x}"], fragments)
    assert leaks([PASSPHRASE], fragments)
    assert not leaks([repr(credentials), credentials.public_key_id, credentials.serial], fragments)


async def _exercise(emu: Emulator, client: Client) -> list[BaseException]:
    """Calls that succeed and calls that fail every way; returns the errors raised."""
    errors: list[BaseException] = []
    await client.chain(ECHO).post(json={"ok": True})
    for kind, params in [("status", {"status": 500}), ("bad_signature", {}), ("drop", {}), ("truncate", {})]:
        emu.fault(kind, ECHO, times=1, **params)
        try:
            await client.chain(ECHO).post(json={"fail": kind})
        except WechatpayError as exc:
            errors.append(exc)
    calls: tuple[Callable[[], Awaitable[object]], ...] = (
        lambda: client.chain("v3/x/{id}").get(),
        lambda: client.chain("v3/x/{id}").get(id=".."),
        lambda: client.chain(ECHO).post(json={1, 2}),
        lambda: client.chain(ECHO).post(timeout=-1),
    )
    for call in calls:
        try:
            await call()
        except WechatpayError as exc:
            errors.append(exc)
    return errors


async def _notification(emu: Emulator, client: Client) -> list[object]:
    creds = emu.credentials
    headers, body = creds.notification("TRANSACTION.SUCCESS", {"out_trade_no": "T1"}, summary="支付成功")
    parser = NotificationParser(client)
    notification = await parser.parse(headers, body)
    try:
        await parser.parse(headers, body[:-2] + b" }")
    except NotificationError as exc:
        return [parser, notification, exc]
    raise AssertionError("a tampered notification was accepted")


async def _apiv2(emu: Emulator, client: Client) -> list[object]:
    """An APIv2 call, a refused one, a mutual-TLS one and a refund notification: what they leave behind."""
    kept: list[object] = [client.merchant_cert, client.apiv2_signer]
    emu.stub("POST", "v2/pay/orderquery", {"result_code": "SUCCESS"})
    kept.append(await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid}))
    emu.fault("bad_signature", "pay/orderquery", times=1)
    calls: tuple[Callable[[], Awaitable[object]], ...] = (
        lambda: client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid}),
        lambda: client.chain("v2").secapi.pay.refund.post(xml={"mch_id": client.mchid}),  # CA_ERROR: plain HTTP
        lambda: emu.client(merchant_cert=None).chain("v2").secapi.pay.refund.post(xml={}),  # refused before I/O
    )
    for call in calls:
        try:
            await call()
        except WechatpayError as exc:
            kept.append(exc)
    parser = V2NotificationParser(client)
    try:
        await parser.parse(
            {}, b"<xml><return_code>SUCCESS</return_code><req_info>AAAAAAAAAAAAAAAAAAAAAA==</req_info></xml>"
        )
    except NotificationError as exc:
        kept += [parser, exc]
    assert len(kept) == 8
    return kept


async def test_no_repr_str_exception_or_traceback_holds_a_secret(
    credentials: Credentials, fragments: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Emulator(credentials=credentials) as emu:
        emu.stub("POST", ECHO, lambda incoming: Answer(200, incoming.json()))
        client = emu.client(retry=RetryPolicy(backoff=0.01, primary_url=emu.base_url, backup_url=None))
        errors = await _exercise(emu, client)
        extra = [*await _notification(emu, client), *await _apiv2(emu, client)]
        objects = package_objects(emu, client, client["v3/pay/transactions/{id}"], errors, extra)
        assert len(errors) == 8 and {type(e).__name__ for e in errors} >= {
            "ApiError",
            "SignatureError",
            "TemplateError",
        }
        assert {c.__name__ for o in objects for c in type(o).__mro__} >= {
            "Client", "Chain", "Signer", "Verifier", "KeyRing", "CertificateRefresher", "MiddlewareStack",
            "RetryPolicy", "Secret", "CallLogger", "Request", "Response", "Emulator", "Credentials",
            "PlatformCertificate", "Notification", "ApiV2Signer", "ApiV2Verifier", "MerchantCertificate",
            "V2NotificationParser",
        }  # fmt: skip
        assert leaks(texts_of(objects), fragments) == []
    # The DEBUG records of those calls, bodies included, formatted and as raw attributes.
    assert len([r for r in caplog.records if r.name == "wechatpay_chain"]) >= 5
    record_texts = [caplog.text] + [repr(vars(r)) for r in caplog.records]
    assert leaks(record_texts, fragments) == []


def test_every_exported_name_has_a_clean_repr(fragments: list[str]) -> None:
    exported = [getattr(wechatpay_chain, n) for n in wechatpay_chain.__all__]
    exported += [getattr(wechatpay_chain.testing, n) for n in wechatpay_chain.testing.__all__]
    assert leaks(texts_of(exported), fragments) == []


def _encrypted_pem(credentials: Credentials) -> bytes:
    return credentials.merchant_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )


def _bad_key_inputs(credentials: Credentials) -> list[Any]:
    pem = credentials.merchant_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = credentials.merchant_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return [
        pem[:-60],  # cut short
        pem.replace(b"PRIVATE KEY", b"PUBLIC KEY"),  # a private key where a public one is expected
        pem.decode().replace("\n", "", 3)[: len(pem) // 2],
        "private.pkcs1://" + b64(der)[:-8] + "!!!!!!!!",
        "private.pkcs1://" + b64(der[:-40]),
        pem.decode()[27:],  # the base64 without its armour
    ]


def test_key_errors_never_quote_the_key_or_the_passphrase(credentials: Credentials, fragments: list[str]) -> None:
    errors: list[BaseException] = []
    for value in _bad_key_inputs(credentials):
        with pytest.raises(KeyLoadError) as caught:
            load_private_key(value)
        errors.append(caught.value)
    with pytest.raises(KeyLoadError) as caught:
        load_private_key(_encrypted_pem(credentials), password=PASSPHRASE + "x")
    errors.append(caught.value)
    assert isinstance(
        load_private_key(_encrypted_pem(credentials), password=PASSPHRASE), type(credentials.merchant_key)
    )
    pem = credentials.merchant_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyLoadError) as caught:  # the private key given as a platform certificate
        Client(credentials.mchid, credentials.serial, credentials.merchant_key, {"ABC": pem})
    errors.append(caught.value)
    with pytest.raises(ConfigurationError) as wrong_length:  # an APIv3 key of the wrong length
        Client(
            credentials.mchid,
            credentials.serial,
            credentials.merchant_key,
            {credentials.public_key_id: credentials.public_key.public_key()},
            apiv3_key=credentials.apiv3_key + "x",
        )
    errors.append(wrong_length.value)
    assert leaks(texts_of(errors), fragments) == []


def test_errors_raised_before_io_carry_no_secret(offline_client: Client, fragments: list[str]) -> None:
    errors: list[BaseException] = []
    for values in ({}, {"id": ""}, {"id": True}):
        with pytest.raises(TemplateError) as caught:
            offline_client.build_request("GET", "v3/x/{id}", values, {})
        errors.append(caught.value)
    errors.append(TransportError("GET v3/x: refused", method="GET", url="https://api.mch.weixin.qq.com/v3/x"))
    assert leaks(texts_of(package_objects(errors, offline_client)), fragments) == []
