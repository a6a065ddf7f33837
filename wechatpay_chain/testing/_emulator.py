"""A local WeChat Pay: a real aiohttp server that authenticates, answers and signs like the real one.

The emulator composes the product families (`_families/`) into one route table and one control
table; it owns what is protocol rather than product: authentication, signing, faults, the
request log, the clocks and webhook delivery.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.payload import Payload

from .._client import Client
from ._apiv3 import JSON_TYPE, ApiV3
from ._clock import Clock
from ._controls import PREFIX, Control, Controls
from ._credentials import Credentials
from ._families import Family
from ._families.certificates import Certificates
from ._families.files import Files
from ._families.insurance import Insurance
from ._faults import EVERY_PATH, Fault, Faults
from ._http import Answer, Incoming, Refusal, error, no_such_endpoint, path_segments
from ._ids import Ids
from ._received import Received, log_controls
from ._routing import Params, Route, Router, call
from ._webhooks import Delivery, Webhooks
from ._wire import Wire

Fallback = Callable[[Incoming], Awaitable[Answer | None]]
"""A handler added with `add_handler`: answers a request, or None to pass it on."""


class Emulator:
    """The emulated WeChat Pay APIv3 server: `async with Emulator() as emu: client = emu.client()`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Credentials | None = None,
        keys_dir: str | Path | None = None,
        public_key_only: bool = False,
        clock: Callable[[], float] = time.time,
        notify_backoff: float = 1.0,
        notify_timeout: float = 5.0,
        allow_remote_notify: bool = False,
        received_limit: int = 10_000,
    ) -> None:
        self.host = host
        self.port = port
        self.credentials = credentials or _credentials_from(keys_dir)
        self.public_key_only = public_key_only
        self.clock = Clock(clock)
        # Bounded, so a long-running `mock` server does not grow without end.
        self.received: deque[Received] = deque(maxlen=received_limit)
        self._faults = Faults()
        self._fallbacks: list[Fallback] = []
        self._runner: web.AppRunner | None = None
        self._clients: list[Client] = []
        self.apiv3 = ApiV3(self)  # the protocol of every route that names no other
        self.webhooks = Webhooks(
            apiv3_key=lambda: self.credentials.apiv3_key,
            signing_key=lambda: self.apiv3.signing_key(self.apiv3.notify_serial),
            now=self.wire_now,  # signatures follow the wire clock, like answers
            backoff=notify_backoff,
            timeout=notify_timeout,
            allow_remote=allow_remote_notify,
        )
        self.ids = Ids()  # one sequence for the ids every family hands out
        notify = self.webhooks.send
        self.insurance = Insurance(clock=self.now, notify=notify, mchid=self.credentials.mchid, ids=self.ids)
        self.certificates = Certificates(self)
        self.files = Files(lambda: self.base_url, self.credentials.mchid)  # media uploads, bills: emu.files
        self.router = Router()
        self.controls = Controls(
            (
                Control("GET", "", self._info, doc="the emulator: base URL, ids, clock, control paths (no secrets)"),
                Control("GET", "controls", lambda: self.controls.describe(), doc="every control, its parameters"),
                *self.clock.controls(),
                *self._faults.controls(),
                *log_controls(self.received),
                *self.webhooks.controls(),
            )
        )
        for family in (self.insurance, self.certificates, self.files):
            self.add_family(family)

    # -- lifetime -------------------------------------------------------------------------

    def now(self) -> float:
        """The emulated business time: the given clock plus `clock_offset` (what `advance` moves).

        Signatures (request timestamps checked, answers and notifications signed) keep to the
        given clock, so that any client, with its own clock, keeps working after `advance`.
        """
        return self.clock.now()

    def wire_now(self) -> float:
        """The protocol's clock, without `clock_offset`: request timestamps are checked and answers signed by it."""
        return self.clock.wall()

    @property
    def clock_offset(self) -> float:
        """Seconds business time is ahead of the wall clock (negative: behind)."""
        return self.clock.offset

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        self.clock.offset = float(seconds)

    def advance(self, seconds: float) -> float:
        """Move the emulator's clock forward (or back, if negative); returns the new `now()`."""
        return self.clock.advance(seconds)

    async def start(self) -> Emulator:
        """Bind the server (a free port unless one was given)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        """Cancel pending notifications, close the clients made by `client()` and stop the server."""
        await self.webhooks.close()
        for client in self._clients:
            await client.close()
        self._clients.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """The URL clients use in place of `https://api.mch.weixin.qq.com/`."""
        return f"http://{self.host}:{self.port}/"

    # -- what clients need ----------------------------------------------------------------

    def certs(self) -> dict[str, Any]:
        """The `certs` map a client needs: the public key, and the certificates unless public-key-only."""
        creds = self.credentials
        out: dict[str, Any] = {creds.public_key_id: creds.public_key.public_key()}
        if not self.public_key_only:
            for platform in creds.platform:
                out[platform.serial] = platform.certificate
        return out

    def client(self, **overrides: Any) -> Client:
        """A ready `Client` pointed at this emulator; keyword arguments override its settings."""
        client = Client(**self.client_settings(**overrides))
        self._clients.append(client)
        return client

    def client_settings(self, **overrides: Any) -> dict[str, Any]:
        """The keyword arguments of a client of this emulator (for a client it does not close, a sync one)."""
        creds = self.credentials
        settings: dict[str, Any] = {
            "mchid": creds.mchid,
            "serial": creds.serial,
            "private_key": creds.merchant_key,
            "certs": self.certs(),
            "apiv3_key": creds.apiv3_key,
            "base_url": self.base_url,
        }
        settings.update(overrides)
        return settings

    # -- extension and control ------------------------------------------------------------

    def add_family(self, family: Family) -> None:
        """Serve a product family: its routes after those already served, its controls under `/_emulator/`."""
        for route in family.routes():
            self.router.add(route)
        for control in family.controls():
            self.controls.add(control)

    def add_handler(self, handler: Fallback) -> None:
        """Serve more endpoints: `handler` answers a request no route answered, or None to pass."""
        self._fallbacks.append(handler)

    def stub(
        self,
        method: str,
        template: str,
        answer: Answer | Mapping[str, Any] | Callable[[Incoming], Answer] | None = None,
        *,
        status: int = 200,
    ) -> None:
        """Answer `method template` with a fixed JSON body, an Answer, or a function of the request.

        A stub comes before every other route, the latest stub first.
        """
        if callable(answer):
            respond = answer
        else:
            fixed = answer if isinstance(answer, Answer) else Answer(status, None if answer is None else dict(answer))

            def respond(incoming: Incoming) -> Answer:
                return fixed

        self.router.add(Route(method, template, lambda incoming, params: respond(incoming)), first=True)

    def fault(self, kind: str, template: str = EVERY_PATH, *, times: int | None = None, **params: Any) -> None:
        """Inject a fault for the paths matching `template` (default: every path).

        Kinds: delay(seconds), status(status, code), drop, bad_signature, skew(seconds),
        truncate, tamper_body, unknown_serial, missing_header(name).
        """
        self._faults.add(kind, template, times=times, **params)

    @property
    def faults(self) -> list[Fault]:
        """The faults injected and not yet used up or cleared."""
        return list(self._faults)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    def rotate_certificate(self) -> str:
        """Issue a new platform certificate that signs from now on; returns its serial."""
        return self.certificates.rotate()

    @property
    def deliveries(self) -> list[Delivery]:
        """Every notification delivery attempt so far, oldest first."""
        return self.webhooks.deliveries

    async def wait_delivered(self, event_type: str | None = None, *, timeout: float = 5.0) -> Delivery:
        """The next acknowledged notification (of `event_type`) not returned before; TimeoutError after `timeout`."""
        return await self.webhooks.wait_delivered(event_type, timeout=timeout)

    def _info(self) -> dict[str, Any]:
        creds = self.credentials
        return {
            "base_url": self.base_url,
            "mchid": creds.mchid,
            "serial": creds.serial,
            "platform_serials": [p.serial for p in creds.platform],
            "public_key_id": creds.public_key_id,
            "public_key_only": self.public_key_only,
            "now": self.now(),
            "clock_offset": self.clock_offset,
            "pending_notifications": self.webhooks.pending,
            "controls": self.controls.paths,
        }

    # -- the server -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path.startswith(PREFIX):
            return await self._control(request, body)
        self.received.append(Received(request.method, request.raw_path, request.headers, body))
        raw_path = request.raw_path.partition("?")[0]
        incoming = Incoming(
            request.method, request.raw_path, raw_path, path_segments(raw_path), request.query, request.headers, body
        )
        faults = self._faults.take(incoming.segments)
        if "delay" in faults:
            await asyncio.sleep(float(faults["delay"].params.get("seconds", 1.0)))
        if "drop" in faults:
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # the connection is gone; nothing is answered
        found = self.router.match(incoming.method, incoming.segments)
        wire = found[0].wire if found is not None and found[0].wire is not None else self.apiv3
        answer = await self._answer(incoming, found, wire, faults)
        response = self._respond(incoming, answer, wire, faults)
        if "truncate" in faults and response.body:
            return await _send_truncated(request, response)
        return response

    async def _answer(
        self, incoming: Incoming, found: tuple[Route, Params] | None, wire: Wire, faults: Mapping[str, Fault]
    ) -> Answer:
        if "status" in faults:  # answered before anything is checked
            params = faults["status"].params
            status = int(params.get("status", 500))
            return error(status, params.get("code", "SYSTEM_ERROR"), params.get("message", "injected fault"))
        try:
            wire.authenticate(incoming)  # before routing: an unsigned call to an unknown path is 401
        except Refusal as refusal:
            return refusal.answer()
        if found is not None:
            return await call(found[0], found[1], incoming)
        for handler in self._fallbacks:
            try:
                answer = await handler(incoming)
            except Refusal as refusal:
                return refusal.answer()
            if answer is not None:
                return answer
        return no_such_endpoint(incoming).answer()

    def _respond(self, incoming: Incoming, answer: Answer, wire: Wire, faults: Mapping[str, Fault]) -> web.Response:
        sealed, body = wire.seal(incoming, answer, {kind: fault.params for kind, fault in faults.items()})
        headers = {"Request-ID": uuid.uuid4().hex.upper(), **sealed}
        if isinstance(body, Payload):  # a stream: sent as it comes
            return web.Response(status=answer.status, body=body, headers=headers)
        if "tamper_body" in faults and body:
            body = body[:-1] + (b" " if body[-1:] != b" " else b"\t")
        if "missing_header" in faults:
            headers.pop(faults["missing_header"].params.get("name", "Wechatpay-Signature"), None)
        return web.Response(status=answer.status, body=body, headers=headers)

    async def _control(self, request: web.Request, body: bytes) -> web.StreamResponse:
        answer = await self.controls.answer(request.method, request.path[len(PREFIX) :], request.query, body)
        return web.Response(status=answer.status, body=orjson.dumps(answer.body), headers={"Content-Type": JSON_TYPE})


async def _send_truncated(request: web.Request, response: web.Response) -> web.StreamResponse:
    """Announce the whole length, send half of the body, then drop the connection."""
    body = response.body if isinstance(response.body, bytes) else b""
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()
    return stream


def _credentials_from(keys_dir: str | Path | None) -> Credentials:
    if keys_dir is None:
        return Credentials.generate()
    directory = Path(keys_dir)
    if (directory / "credentials.json").exists():
        return Credentials.load(directory)
    credentials = Credentials.generate()
    credentials.save(directory)
    return credentials
