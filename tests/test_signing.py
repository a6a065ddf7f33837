"""Request signing: byte-exact messages, verified by the server over the bytes it received."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from wechatpay_chain import Client, ConfigurationError, Request, Response, __version__, signing_message
from wechatpay_chain._hazmat import nonce, rsa_verify
from wechatpay_chain.testing import Answer, Credentials, Emulator, Received

AUTH = re.compile(r"^WECHATPAY2-SHA256-RSA2048 (.+)$")


def auth_fields(header: str) -> dict[str, str]:
    match = AUTH.match(header)
    assert match, header
    return dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))


def verify_independently(credentials: Credentials, received: Received) -> dict[str, str]:
    """Check a received request with cryptography alone, over the exact bytes on the wire."""
    fields = auth_fields(received.headers["Authorization"])
    message = (
        f"{received.method}\n{received.target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode()
        + received.body
        + b"\n"
    )
    credentials.merchant_key.public_key().verify(
        base64.b64decode(fields["signature"]), message, padding.PKCS1v15(), hashes.SHA256()
    )
    assert fields["mchid"] == credentials.mchid and fields["serial_no"] == credentials.serial
    return fields


def test_signing_message_layout() -> None:
    # The layout published in the APIv3 signing guide.
    assert signing_message("GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", b"") == (
        b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    )
    assert signing_message("POST", "/v3/x", "1", "n", '{"a":"中"}'.encode()) == (
        b'POST\n/v3/x\n1\nn\n{"a":"\xe4\xb8\xad"}\n'
    )


def test_nonce_is_32_base62_characters() -> None:
    values = {nonce() for _ in range(200)}
    assert len(values) == 200
    assert all(re.fullmatch(r"[0-9A-Za-z]{32}", v) for v in values)
    assert set("".join(values)) == set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


async def test_injected_clock_and_nonce_give_a_reproducible_signature(credentials: Credentials) -> None:
    client = Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        {credentials.public_key_id: credentials.public_key.public_key()},
        clock=lambda: 1554208460.9,
        nonce=lambda: "593BEC0C930BF1AFEB40B4A08C8FB242",
    )
    request = client.build_request("GET", "v3/certificates", {}, {})
    seen: list[Request] = []

    async def capture(req: Request) -> Response:
        seen.append(req)
        raise RuntimeError("stop before the wire")

    with pytest.raises(RuntimeError):
        await client.signer(request, capture)
    fields = auth_fields(seen[0].headers["Authorization"])
    assert fields["timestamp"] == "1554208460" and fields["nonce_str"] == "593BEC0C930BF1AFEB40B4A08C8FB242"
    expected = credentials.merchant_key.sign(
        b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n", padding.PKCS1v15(), hashes.SHA256()
    )
    assert base64.b64decode(fields["signature"]) == expected


CASES = [
    ("GET", "v3/pay/transactions/id/{id}", {"id": "4200 0000"}, {"query": {"mchid": "1900000109", "x": "a&b"}}),
    ("POST", "v3/inspolicymgr/deduct/authorizations", {}, {"json": {"name": "张三", "note": "用户解约 ✓"}}),
    ("PATCH", "v3/inspolicymgr/deduct/policies/{no}", {"no": "P-1"}, {"json": {"state": "ok"}}),
    ("DELETE", "v3/marketing/items/{id}", {"id": "9"}, {}),
    ("POST", "v3/papay/contracts/{id}/renew", {"id": "c1"}, {"json": {}}),
]


@pytest.mark.parametrize(("method", "template", "values", "options"), CASES, ids=[c[0] for c in CASES])
async def test_server_verifies_what_it_received(
    emulator: Emulator, client: Client, method: str, template: str, values: dict[str, str], options: dict[str, object]
) -> None:
    status = 204 if template.endswith("renew") else 200
    emulator.stub(method, template, Answer(status, {"ok": 1} if status == 200 else None))
    response = await getattr(client[template], method.lower())(**values, **options)
    assert response.status == status
    received = emulator.received[-1]
    verify_independently(emulator.credentials, received)
    assert received.target == response.request.target
    if "json" in options:
        # The exact bytes signed are the bytes sent: compact orjson, UTF-8, no \\u escapes.
        assert received.body == orjson.dumps(options["json"])
        assert received.headers["Content-Type"] == "application/json"
    else:
        assert received.body == b""
    assert received.headers["Accept"] == "application/json"
    assert received.headers["User-Agent"].startswith(f"wechatpay-chain/{__version__} ")
    assert received.headers["Wechatpay-Serial"] == emulator.credentials.public_key_id


@pytest.mark.wechatpay_emulator(key_mode="transition")
async def test_caller_chosen_wechatpay_serial_is_kept(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    serial = emulator.credentials.platform_serial
    response = await client["v3/ping"].get(headers={"Wechatpay-Serial": serial})
    assert emulator.received[-1].headers["Wechatpay-Serial"] == serial
    assert response.headers["Wechatpay-Serial"] == serial  # the emulator answered with the certificate


async def test_raw_body_is_signed_as_given(emulator: Emulator, client: Client) -> None:
    emulator.stub("POST", "v3/raw", {"ok": 1})
    body = b'{ "spaced" :  "json" }'
    await client["v3/raw"].post(body=body, headers={"Content-Type": "application/json"})
    received = emulator.received[-1]
    assert received.body == body
    verify_independently(emulator.credentials, received)


# -- a signer that keeps the key elsewhere -------------------------------------------------

SIGNING_SERVICE = """
import asyncio, sys
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from wechatpay_chain._hazmat import rsa_sign

key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)

async def sign(request):
    return web.Response(text=rsa_sign(key, await request.read()))

async def main():
    runner = web.AppRunner(web.Application())
    runner.app.router.add_post("/sign", sign)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

# Private key objects referenced from anything the garbage collector tracks (the keys themselves are not tracked).
KEYS_HELD = "sum(isinstance(r, RSAPrivateKey) for o in gc.get_objects() for r in gc.get_referents(o))"

REMOTE_CLIENT = """
import asyncio, gc, json, sys
import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from wechatpay_chain import Client

class ServiceSigner:
    '''Signs by asking the signing service; this process never sees the private key.'''
    def __init__(self, url):
        self.url, self.session, self.calls = url, None, 0
    async def sign(self, message):
        self.session = self.session or aiohttp.ClientSession()
        self.calls += 1
        async with self.session.post(self.url, data=message) as answer:
            return await answer.text()
    async def aclose(self):
        await self.session.close()

async def main(base_url, mchid, serial, key_id, pub_key, service):
    signer = ServiceSigner(service)
    async with Client(mchid, serial, signer=signer, certs={key_id: "file://" + pub_key}, base_url=base_url) as c:
        answer = (await c.v3.ping.post(json={"n": 1})).json()
        params = await c.jsapi_params("wx8888888888888888", "prepay_1")
        try:
            c.decrypt("AAAA")
        except Exception as exc:
            refused = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"answer": answer, "params": params, "calls": signer.calls,
                          "private_keys": KEYS_HELD, "decrypt": refused}))

asyncio.run(main(*sys.argv[1:]))
""".replace("KEYS_HELD", KEYS_HELD)


async def test_a_client_signing_through_a_remote_service_never_loads_the_key(
    emulator: Emulator, tmp_path: Path
) -> None:
    creds = emulator.credentials
    files = creds.save(tmp_path / "keys")
    emulator.stub("POST", "v3/ping", lambda incoming: Answer(200, {"signed_as": incoming.json()}))
    service = subprocess.Popen(
        [sys.executable, "-c", SIGNING_SERVICE, files["private_key_file"]], stdout=subprocess.PIPE, text=True
    )
    try:
        assert service.stdout is not None
        port = int(await asyncio.wait_for(asyncio.to_thread(service.stdout.readline), 30))
        args = [emulator.base_url, creds.mchid, creds.serial, creds.public_key_id, files["public_key_file"]]
        run = await asyncio.create_subprocess_exec(
            sys.executable, "-c", REMOTE_CLIENT, *args, f"http://127.0.0.1:{port}/sign", stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(run.communicate(), 60)
    finally:
        service.terminate()
        service.wait(30)
    result = json.loads(out)
    assert result["answer"] == {"signed_as": {"n": 1}}  # the emulator checked the signature
    params = result["params"]
    message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    assert rsa_verify(creds.merchant_key.public_key(), message, params["paySign"])
    assert result["calls"] == 2 and result["private_keys"] == 0
    assert eval(KEYS_HELD, {"gc": gc, "RSAPrivateKey": RSAPrivateKey}) > 0  # the count sees a key where one is held
    assert result["decrypt"].startswith("ConfigurationError") and "private_key=" in result["decrypt"]


def test_a_client_needs_a_private_key_or_a_signer(credentials: Credentials) -> None:
    certs = {credentials.public_key_id: credentials.public_key.public_key()}
    with pytest.raises(ConfigurationError, match="unless signer="):
        Client(credentials.mchid, credentials.serial, None, certs)
    with pytest.raises(ConfigurationError, match="async sign"):
        Client(credentials.mchid, credentials.serial, certs=certs, signer=object())  # type: ignore[arg-type]
