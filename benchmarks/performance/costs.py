"""Where wechatpay_chain's CPU goes: each layer of a call measured on its own, in paired rounds.

Without I/O: the same call through clients whose stacks end in a middleware handing back a real
signed answer (taken from the server beforehand), with the default middlewares added one at a
time; a layer's cost is the per-round difference between the stacks with and without it. An RSA
operation costs 30 to 500 µs and varies by more than a layer costs, so in these stacks (and in the
floor measured alongside) the two RSA primitives are replaced by stand-ins that do the rest of the
work (base64 of a 256-byte signature, hashing excluded); the real primitives are timed on their own.

The I/O: the client's transport against bare aiohttp (`session.request` + `read`) sending the same
requests to the server, unsigned, so that it answers 401 at once without signing.
"""

from __future__ import annotations

import base64
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import cast
from unittest import mock

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from multidict import CIMultiDictProxy
from yarl import URL

from wechatpay_chain import Client, Handler, Request, Response, _hazmat
from wechatpay_chain._config import user_agent
from wechatpay_chain.testing import Credentials

from .config import METHODS, Settings
from .figures import Figures
from .floor import Floor
from .ours import chain_calls, chain_client
from .processes import Child
from .sampling import drive
from .stats import Rounds
from .workload import NATIVE_PATH, QUERY_TEMPLATE, native_order, order_no

LAYERS = ("logging", "signer", "verifier")  # the default stack, outermost first
STACKS = {"none": (), "logging": LAYERS[:1], "signer": LAYERS[:2], "verifier": LAYERS}
TRANSPORT_CONCURRENCY = 16


_SIGNATURE = bytes(256)  # an RSA-2048 signature's size


class _FreeKey:
    """Stands in for the merchant's private key in the floor: a signature of the right size, at no cost."""

    def sign(self, message: bytes, padding: object, algorithm: object) -> bytes:
        return _SIGNATURE


class _FreePublicKey:
    """Stands in for WeChat Pay's public key in the floor: every signature verifies."""

    def verify(self, signature: bytes, message: bytes, padding: object, algorithm: object) -> None:
        return None


def _free_sign(key: object, message: bytes) -> str:
    return base64.b64encode(_SIGNATURE).decode("ascii")


def _free_verify(key: object, message: bytes, signature: str | bytes) -> bool:
    base64.b64decode(signature, validate=True)
    return True


@contextlib.contextmanager
def _free_rsa() -> Iterator[None]:
    """The package's RSA primitives replaced by the stand-ins (every signer and verifier calls them)."""
    with mock.patch.object(_hazmat, "rsa_sign", _free_sign), mock.patch.object(_hazmat, "rsa_verify", _free_verify):
        yield


def _answering(
    status: int, headers: CIMultiDictProxy[str], body: bytes
) -> Callable[[Request, Handler], Awaitable[Response]]:
    async def answer(request: Request, call_next: Handler) -> Response:
        return Response(status, headers, body, request)

    return answer


def _client(creds: Credentials, layers: tuple[str, ...], answer: tuple[int, CIMultiDictProxy[str], bytes]) -> Client:
    client = chain_client(creds)  # its last middleware answers: nothing is sent
    for name in LAYERS:
        if name not in layers:
            client.middleware.remove(name)
    client.middleware.append("answer", _answering(*answer))
    return client


async def _answer(
    session: aiohttp.ClientSession, floor: Floor, base_url: str, method: str
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    target, body = floor.request(method, 0)
    url = URL(base_url.rstrip("/") + target, encoded=True)
    async with session.request(method, url, data=body or None, headers=floor.signed_headers(method, target, body)) as r:
        return r.status, r.headers, await r.read()


def _timed(action: Callable[[int], object], n: int) -> float:
    started = time.process_time()
    for i in range(n):
        action(i)
    return (time.process_time() - started) / n * 1e6


async def _timed_calls(call: Callable[[int], Awaitable[object]], n: int) -> float:
    started = time.process_time()
    for i in range(n):
        await call(i)
    return (time.process_time() - started) / n * 1e6


async def measure_costs(figures: Figures, creds: Credentials, api: Child, settings: Settings) -> None:
    """µs per call of each layer, for GET and POST; the transport against bare aiohttp."""
    keys = {creds.public_key_id: creds.public_key.public_key()}
    async with aiohttp.ClientSession() as session, chain_client(creds, api.url) as bare_client:
        for name in LAYERS:
            bare_client.middleware.remove(name)  # the transport alone: requests go unsigned
        floor = Floor(creds.mchid, creds.serial, creds.merchant_key, keys, api.url, session, user_agent())
        free_keys = {creds.public_key_id: cast(RSAPublicKey, _FreePublicKey())}
        free = Floor(
            creds.mchid, creds.serial, cast(RSAPrivateKey, _FreeKey()), free_keys, api.url, session, user_agent()
        )
        for method in METHODS:
            answer = await _answer(session, floor, api.url, method)
            await _layers(figures.costs[method], creds, free, method, answer, settings)
            await _transport(figures.costs[method], bare_client, session, method, settings)


def _pure_work(
    creds: Credentials, floor: Floor, method: str, answer: tuple[int, CIMultiDictProxy[str], bytes], n: int
) -> dict[str, Callable[[], float]]:
    """The real RSA signature and verification alone, and the (RSA-free) floor's work around its I/O."""
    key, public = creds.merchant_key, creds.public_key.public_key()
    status, headers, payload = answer
    target, body = floor.request(method, 1)
    message = f"{method}\n{target}\n1700000000\n{'n' * 32}\n".encode() + body + b"\n"
    signed = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + payload + b"\n"
    signature = headers["Wechatpay-Signature"]

    def floor_work(i: int) -> object:
        target, body = floor.request(method, i)
        floor.signed_headers(method, target, body)
        return floor.accept(status, headers, payload)

    sign, verify = _hazmat.rsa_sign, _hazmat.rsa_verify  # the real ones, whatever is patched later
    return {
        "rsa sign": lambda: _timed(lambda i: sign(key, message), n),
        "rsa verify": lambda: _timed(lambda i: verify(public, signed, signature), n),
        "floor": lambda: _timed(floor_work, n),
    }


async def _layers(
    rounds: Rounds,
    creds: Credentials,
    floor: Floor,
    method: str,
    answer: tuple[int, CIMultiDictProxy[str], bytes],
    settings: Settings,
) -> None:
    n = settings.cost_calls
    clients = {name: _client(creds, layers, answer) for name, layers in STACKS.items()}
    calls = {name: chain_calls(client)[method] for name, client in clients.items()}
    pure = _pure_work(creds, floor, method, answer, n)
    shuffle = random.Random(15).shuffle
    with _free_rsa():
        for call in calls.values():
            await call(0)  # warm up
        for _ in range(settings.cost_rounds):
            names = [*calls, *pure]
            shuffle(names)
            for name in names:
                rounds.add(name, await _timed_calls(calls[name], n) if name in calls else pure[name]())
    for client in clients.values():
        await client.close()


async def _transport(
    rounds: Rounds, client: Client, session: aiohttp.ClientSession, method: str, settings: Settings
) -> None:
    get = method == "GET"
    template = QUERY_TEMPLATE if get else NATIVE_PATH
    values = {"out_trade_no": order_no(1)} if get else {}
    options = {"query": {"mchid": client.mchid}} if get else {"json": native_order(client.mchid, 1)}

    async def transport(i: int) -> object:
        return await client.middleware(client.build_request(method, template, values, options))

    async def bare(i: int) -> object:
        request = client.build_request(method, template, values, options)  # the same work on both sides
        url = URL(request.url, encoded=True)
        async with session.request(method, url, data=request.body or None, headers=request.headers) as answer:
            return await answer.read()

    runs = {"transport": transport, "bare aiohttp": bare}
    for run in runs.values():
        await drive(run, 2 * TRANSPORT_CONCURRENCY, TRANSPORT_CONCURRENCY)
    shuffle = random.Random(15).shuffle
    for _ in range(settings.cost_rounds):
        names = list(runs)
        shuffle(names)
        for name in names:
            rounds.add(name, (await drive(runs[name], settings.cost_calls, TRANSPORT_CONCURRENCY)).cpu_us)
