"""The emulator on the wire, driven by a hand-rolled client: only `cryptography`, aiohttp and the key files.

Nothing from wechatpay_chain's client side is used here, so these tests show the emulator accepts any
client that follows the protocol and that its answers verify outside our SDK.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wechatpay_chain.testing import Answer, Credentials, Emulator, Incoming

SCHEME = "WECHATPAY2-SHA256-RSA2048"
ORDERS = "/v3/hire-power-bank/insurance-orders"


@dataclass
class Keys:
    """What a merchant holds, read from the files the emulator writes (as `mock --keys DIR` does)."""

    mchid: str
    serial: str
    private_key: rsa.RSAPrivateKey
    platform: dict[str, rsa.RSAPublicKey]  # serial or PUB_KEY_ID -> key
    public_key_id: str


def read_keys(directory: Path, credentials: Credentials) -> Keys:
    paths = credentials.save(directory)
    meta = json.loads((directory / "credentials.json").read_text())
    private_key = serialization.load_pem_private_key(Path(paths["private_key_file"]).read_bytes(), None)
    merchant_cert = x509.load_pem_x509_certificate((directory / "apiclient_cert.pem").read_bytes())
    platform_cert = x509.load_pem_x509_certificate(Path(paths["platform_cert_file"]).read_bytes())
    public_key = serialization.load_pem_public_key(Path(paths["public_key_file"]).read_bytes())
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert isinstance(public_key, rsa.RSAPublicKey)
    platform_key = platform_cert.public_key()
    assert isinstance(platform_key, rsa.RSAPublicKey)
    return Keys(
        mchid=meta["mchid"],
        serial=whole_bytes(merchant_cert.serial_number),
        private_key=private_key,
        platform={whole_bytes(platform_cert.serial_number): platform_key, meta["public_key_id"]: public_key},
        public_key_id=meta["public_key_id"],
    )


def whole_bytes(serial: int) -> str:
    """A serial as WeChat Pay and openssl write it: upper-case hex in whole bytes."""
    return f"{serial:0{(serial.bit_length() + 7) // 8 * 2}X}"


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def authorization(keys: Keys, method: str, target: str, body: bytes, **fields: str) -> str:
    """An Authorization header, signed over exactly `body`; `fields` override any part of it."""
    values = {
        "mchid": keys.mchid,
        "nonce_str": secrets.token_hex(16),
        "timestamp": str(int(time.time())),
        "serial_no": keys.serial,
    }
    values.update({k: v for k, v in fields.items() if k != "signature"})
    message = f"{method}\n{target}\n{values['timestamp']}\n{values['nonce_str']}\n".encode() + body + b"\n"
    values["signature"] = fields.get("signature", rsa_sign(keys.private_key, message))
    return SCHEME + " " + ",".join(f'{k}="{v}"' for k, v in values.items())


def verifies(keys: Keys, headers: Any, body: bytes) -> bool:
    """Check a signed answer the way the protocol says, with nothing but `cryptography`."""
    key = keys.platform[headers["Wechatpay-Serial"]]
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
    try:
        key.verify(base64.b64decode(headers["Wechatpay-Signature"]), message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return abs(time.time() - int(headers["Wechatpay-Timestamp"])) <= 300


@dataclass
class Wire:
    emulator: Emulator
    keys: Keys
    session: aiohttp.ClientSession

    async def call(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
        signed_body: bytes | None = None,
        **fields: str,
    ) -> tuple[int, Any, bytes]:
        """Send raw bytes, signed over `signed_body` (default: the body); returns status, headers, body."""
        sent = {"Accept": "application/json", "Content-Type": "application/json"}
        sent["Authorization"] = authorization(
            self.keys, method, target, body if signed_body is None else signed_body, **fields
        )
        sent.update(headers or {})
        url = self.emulator.base_url.rstrip("/") + target
        async with self.session.request(method, url, data=body, headers=sent) as response:
            return response.status, response.headers, await response.read()


@pytest.fixture
async def wire(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Wire]:
    async with aiohttp.ClientSession() as session:
        yield Wire(emulator, read_keys(tmp_path, emulator.credentials), session)


def order(number: str) -> dict[str, str]:
    return {"out_order_no": number, "openid": "o_user", "notify_url": "https://api.test.com", "service_id": "svc"}


# -- answers verify outside the SDK ---------------------------------------------------------------


async def test_a_signed_answer_verifies_with_cryptography_alone(wire: Wire) -> None:
    status, headers, body = await wire.call("POST", ORDERS, json.dumps(order("w1")).encode())
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Request-ID"]
    assert headers["Wechatpay-Signature-Type"] == SCHEME
    assert verifies(wire.keys, headers, body)
    assert json.loads(body)["out_order_no"] == "w1"


async def test_a_tampered_answer_does_not_verify_with_cryptography(wire: Wire) -> None:
    wire.emulator.fault("tamper_body", "v3/hire-power-bank/insurance-orders", times=1)
    status, headers, body = await wire.call("POST", ORDERS, json.dumps(order("w2")).encode())
    assert status == 200
    assert not verifies(wire.keys, headers, body)


@pytest.mark.parametrize(
    "dump",
    [
        lambda d: json.dumps(d, indent=2).encode(),
        lambda d: json.dumps(d, separators=(" , ", " : ")).encode(),
        lambda d: b"\n  " + json.dumps(d).encode() + b"\r\n",
        lambda d: json.dumps(d, ensure_ascii=True).encode(),
        lambda d: json.dumps(d, ensure_ascii=False, sort_keys=True).encode("utf-8"),
    ],
    ids=["indented", "odd-separators", "surrounding-whitespace", "ascii-escapes", "raw-utf8-sorted"],
)
async def test_any_json_spacing_is_accepted_because_the_raw_bytes_are_verified(
    wire: Wire, dump: Callable[[dict[str, str]], bytes]
) -> None:
    payload = {**order("spacing"), "service_id": "服务·一"}
    status, headers, body = await wire.call("POST", ORDERS, dump(payload))
    assert status == 200, body
    assert verifies(wire.keys, headers, body)
    status, _, body = await wire.call("GET", ORDERS + "/spacing")
    assert status == 200
    assert json.loads(body)["out_order_no"] == "spacing"


async def test_a_signature_over_other_spacing_than_sent_is_refused(wire: Wire) -> None:
    sent = json.dumps(order("w3"), indent=2).encode()
    status, _, body = await wire.call("POST", ORDERS, sent, signed_body=json.dumps(order("w3")).encode())
    assert status == 401
    assert json.loads(body)["code"] == "SIGN_ERROR"


# -- multipart uploads: the signature covers the meta part, found by the header's boundary ---------


def multipart(boundary: str, meta: bytes, content: bytes) -> bytes:
    return (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="meta";\r\nContent-Type: application/json\r\n\r\n'
        + meta
        + f"\r\n--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="a.png";\r\nContent-Type: image/png\r\n\r\n'
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


@pytest.mark.parametrize("quoted", [False, True])
async def test_a_multipart_upload_is_verified_over_its_meta_part(wire: Wire, quoted: bool) -> None:
    def upload(incoming: Incoming) -> Answer:
        return Answer(200, {"media_id": "m-" + str(len(incoming.body))})

    wire.emulator.stub("POST", "v3/merchant/media/upload", upload)
    boundary = "----hand-rolled" + secrets.token_hex(8)
    meta = b'{ "filename": "a.png", "sha256": "' + b"0" * 64 + b'" }'
    body = multipart(boundary, meta, b"\x89PNG\r\n--not-a-boundary\r\n" + bytes(range(256)))
    content_type = (
        f'multipart/form-data; boundary="{boundary}"' if quoted else f"multipart/form-data; boundary={boundary}"
    )
    target = "/v3/merchant/media/upload"
    status, headers, answer = await wire.call(
        "POST", target, body, signed_body=meta, headers={"Content-Type": content_type}
    )
    assert status == 200, answer
    assert verifies(wire.keys, headers, answer)
    status, _, answer = await wire.call("POST", target, body, headers={"Content-Type": content_type})
    assert status == 401  # signed over the whole multipart body, not the meta: refused
    assert json.loads(answer)["code"] == "SIGN_ERROR"


# -- which key signs the answer ------------------------------------------------------------------


async def test_in_transition_the_request_wechatpay_serial_chooses_certificate_or_public_key(wire: Wire) -> None:
    wire.emulator.key_mode = "transition"
    cert_serial = wire.emulator.credentials.platform_serial
    for asked, expected in [
        (None, cert_serial),
        (cert_serial, cert_serial),
        (wire.keys.public_key_id, wire.keys.public_key_id),
    ]:
        extra = {"Wechatpay-Serial": asked} if asked else {}
        status, headers, body = await wire.call("GET", "/v3/hire-power-bank/user-qualifications/o_x", headers=extra)
        assert status == 200
        assert headers["Wechatpay-Serial"] == expected
        assert verifies(wire.keys, headers, body)


@pytest.mark.parametrize(("mode", "signer"), [("public-key", "public_key_id"), ("certificate", "platform_serial")])
async def test_outside_transition_one_key_signs_whatever_the_request_names(wire: Wire, mode: str, signer: str) -> None:
    wire.emulator.key_mode = mode  # type: ignore[assignment]
    creds = wire.emulator.credentials
    expected = getattr(creds, signer)
    for asked in (None, creds.platform_serial, creds.public_key_id):
        extra = {"Wechatpay-Serial": asked} if asked else {}
        status, headers, body = await wire.call("GET", "/v3/hire-power-bank/user-qualifications/o_x", headers=extra)
        assert status == 200
        assert headers["Wechatpay-Serial"] == expected
        assert verifies(wire.keys, headers, body)


def test_the_default_key_mode_is_the_public_key_and_others_are_refused(credentials: Credentials) -> None:
    assert Emulator(credentials=credentials).key_mode == "public-key"
    with pytest.raises(ValueError, match="key_mode must be one of public-key, certificate, transition"):
        Emulator(credentials=credentials, key_mode="both")  # type: ignore[arg-type]


# -- every rejection path of the authenticator ----------------------------------------------------

QUALIFY = "/v3/hire-power-bank/user-qualifications/o_check"


def _without(field: str) -> Callable[[str], str]:
    def drop(header: str) -> str:
        scheme, _, params = header.partition(" ")
        kept = [p for p in params.split(",") if not p.startswith(field + "=")]
        return scheme + " " + ",".join(kept)

    return drop


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"headers": {"Authorization": ""}}, "Authorization header is missing"),
        ({"rewrite": lambda h: h.replace(SCHEME, "WECHATPAY2-SHA256-RSA4096")}, "unsupported authorization scheme"),
        ({"rewrite": lambda h: "Bearer " + h.partition(" ")[2]}, "unsupported authorization scheme"),
        ({"rewrite": _without("mchid")}, "lacks mchid"),
        ({"rewrite": _without("nonce_str")}, "lacks nonce_str"),
        ({"rewrite": _without("signature")}, "lacks signature"),
        ({"rewrite": _without("timestamp")}, "lacks timestamp"),
        ({"rewrite": _without("serial_no")}, "lacks serial_no"),
        ({"fields": {"mchid": "1230000109"}}, "is not a known merchant"),
        ({"fields": {"serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"}}, "serial_no"),
        ({"fields": {"timestamp": str(int(time.time()) - 3600)}}, "away from the server clock"),
        ({"fields": {"timestamp": str(int(time.time()) + 3600)}}, "away from the server clock"),
        ({"fields": {"timestamp": "soon"}}, "timestamp is not a number"),
        ({"fields": {"signature": base64.b64encode(b"x" * 256).decode()}}, "signature does not verify"),
        ({"fields": {"signature": "not base64!"}}, "signature does not verify"),
        ({"signed_target": QUALIFY + "?limit=1"}, "signature does not verify"),
        ({"signed_method": "POST"}, "signature does not verify"),
    ],
    ids=[
        "missing-header",
        "other-scheme",
        "bearer-scheme",
        "no-mchid",
        "no-nonce",
        "no-signature",
        "no-timestamp",
        "no-serial",
        "unknown-mchid",
        "wrong-serial",
        "timestamp-past",
        "timestamp-future",
        "timestamp-text",
        "forged-signature",
        "garbage-signature",
        "other-target",
        "other-method",
    ],
)
async def test_the_authenticator_refuses_with_401_naming_the_check(
    wire: Wire, change: dict[str, Any], check: str
) -> None:
    method = change.get("signed_method", "GET")
    header = authorization(wire.keys, method, change.get("signed_target", QUALIFY), b"", **change.get("fields", {}))
    header = change.get("rewrite", lambda h: h)(header)
    headers = {"Authorization": header, **change.get("headers", {})}
    if not headers["Authorization"]:
        del headers["Authorization"]
    url = wire.emulator.base_url.rstrip("/") + QUALIFY
    async with wire.session.get(url, headers=headers) as response:
        body = await response.json()
        assert response.status == 401
        assert response.headers["Request-ID"]
        assert "Wechatpay-Signature" not in response.headers  # errors are not signed
    assert body["code"] == "SIGN_ERROR"
    assert check in body["message"]


async def test_a_body_changed_after_signing_is_refused(wire: Wire) -> None:
    signed = json.dumps(order("w4")).encode()
    changed = json.dumps(order("w5")).encode()
    status, _, body = await wire.call("POST", ORDERS, changed, signed_body=signed)
    assert status == 401
    assert json.loads(body) == {
        "code": "SIGN_ERROR",
        "message": "signature does not verify over the method, target, timestamp, nonce and body received",
    }
    status, _, _ = await wire.call("GET", ORDERS + "/w5")
    assert status == 404  # nothing was created by the refused call


@pytest.mark.parametrize(("offset", "accepted"), [(300, True), (-300, True), (301, False), (-301, False)])
async def test_the_clock_window_is_five_minutes(
    credentials: Credentials, tmp_path: Path, offset: int, accepted: bool
) -> None:
    frozen = float(int(time.time()))
    async with Emulator(credentials=credentials, clock=lambda: frozen) as emu, aiohttp.ClientSession() as session:
        keys = read_keys(tmp_path, credentials)
        header = authorization(keys, "GET", QUALIFY, b"", timestamp=str(int(frozen) + offset))
        async with session.get(emu.base_url.rstrip("/") + QUALIFY, headers={"Authorization": header}) as response:
            assert (response.status == 200) is accepted


# -- paths that do not exist ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/v3/no/such/endpoint"),
        ("GET", ORDERS),  # a real path, but not with GET
        ("DELETE", ORDERS + "/x"),
        ("POST", "/v3/papay/insurance-sign/contracts/plan-id/1/out-contract-code/c/terminate/extra"),
    ],
)
async def test_an_unknown_endpoint_answers_404_not_found(wire: Wire, method: str, target: str) -> None:
    status, headers, body = await wire.call(method, target, b"{}" if method == "POST" else b"")
    assert status == 404
    assert json.loads(body)["code"] == "NOT_FOUND"
    assert headers["Request-ID"]
