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
from ._apiv2 import ApiV2
from ._apiv3 import JSON_TYPE, ApiV3
from ._clock import Clock
from ._controls import PREFIX, Control, Controls
from ._credentials import Credentials
from ._families import Family
from ._families.catalogue import APIV3, SchemaAnswers
from ._families.catalogue.apiv2 import apiv2
from ._families.certificates import Certificates, decrypt_sensitive
from ._families.files import Files
from ._families.insurance import Insurance
from ._families.payments import Payments
from ._families.payments_v2 import PaymentsV2
from ._faults import EVERY_PATH, Fault, Faults
from ._http import Answer, Incoming, Refusal, error, no_such_endpoint, path_segments
from ._ids import Ids
from ._key_modes import DEFAULT_KEY_MODE, KeyMode, has_certificates, has_public_key
from ._key_modes import key_mode as key_mode_of
from ._notices import notice_for
from ._received import Received, log_controls
from ._routing import Params, Route, Router, call
from ._validation import obj, text
from ._webhooks import Delivery, Webhooks
from ._wire import Wire

Fallback = Callable[[Incoming], Awaitable[Answer | None]]
"""A handler added with `add_handler`: answers a request, or None to pass it on."""


class Emulator:
    """The emulated WeChat Pay server (APIv3, and APIv2): `async with Emulator() as emu: client = emu.client()`.

    `key_mode` is which keys WeChat Pay has for the merchant: "public-key" (the default, what a
    merchant gets today), "certificate" (platform certificates only) or "transition" (both; the
    request's `Wechatpay-Serial` picks). `emu.client()` is configured to match. `tls=True` serves
    HTTPS with the emulator's own CA (`credentials.ca_pem`) and asks clients for the merchant
    certificate, which the APIv2 calls that need it must present.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Credentials | None = None,
        keys_dir: str | Path | None = None,
        key_mode: KeyMode = DEFAULT_KEY_MODE,
        clock: Callable[[], float] = time.time,
        notify_backoff: float = 1.0,
        notify_timeout: float = 5.0,
        allow_remote_notify: bool = False,
        received_limit: int = 10_000,
        tls: bool = False,
    ) -> None:
        self.host = host
        self.tls = tls
        self.port = port
        self.credentials = credentials or _credentials_from(keys_dir)
        self.key_mode: KeyMode = key_mode_of(key_mode)
        self.clock = Clock(clock)
        # Bounded, so a long-running `mock` server does not grow without end.
        self.received: deque[Received] = deque(maxlen=received_limit)
        self._faults = Faults()
        self._fallbacks: list[Fallback] = []
        self._runner: web.AppRunner | None = None
        self._clients: list[Client] = []
        self.apiv3 = ApiV3(self)  # the protocol of every route that names no other
        self.apiv2 = ApiV2(self)  # the protocol of the paths outside v3/ (APIv2's, without their v2/)
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
        self.payments = Payments(
            clock=self.now,
            notify=notify,
            mchid=self.credentials.mchid,
            ids=self.ids,
            merchant_key=lambda: self.credentials.merchant_key.public_key(),  # what the payer's WeChat checks
            decrypt=lambda serial, text: decrypt_sensitive(self.credentials, serial, text, key_mode=self.key_mode),
        )
        self.clock.on_change(self.payments.clock_moved)  # refunds due after `advance` settle at once
        self.certificates = Certificates(self)
        # Media uploads and bills (emu.files); trade bills list the day's payments and refunds.
        self.files = Files(lambda: self.base_url, self.credentials.mchid, self.payments.trade_rows)
        self.payments_v2 = PaymentsV2(
            wire=self.apiv2, clock=self.now, ids=self.ids, credentials=lambda: self.credentials, post=self.webhooks.post
        )
        self.router = Router()
        self.controls = Controls(
            (
                Control("GET", "", self._info, doc="the emulator: base URL, ids, clock, control paths (no secrets)"),
                Control("GET", "controls", lambda: self.controls.describe(), doc="every control, its parameters"),
                *self.clock.controls(),
                *self._faults.controls(),
                *log_controls(self.received),
                *self.webhooks.controls(),
                Control(
                    "POST",
                    "notify",
                    self._notified,
                    (
                        text("url", req=True),
                        text("event_type", req=True),
                        obj("resource", req=True),
                        text("summary"),
                        text("original_type"),
                    ),
                    doc="send any notification, signed and encrypted as WeChat Pay sends it; returns its id",
                ),
            )
        )
        for family in (self.insurance, self.payments, self.certificates, self.files, self.payments_v2):
            self.add_family(family)
        # Every other catalogued endpoint, answered from its schema after all routes and fallbacks.
        self.catalogue = SchemaAnswers({"v3": APIV3, "v2": apiv2(self.apiv2)})

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
        context = None
        if self.tls:
            from ._tls import server_context

            context = server_context(self.credentials, self.host)
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        """Cancel pending notifications, close the clients made by `client()` and stop the server."""
        self.payments.close()
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
        """The URL clients use in place of `https://api.mch.weixin.qq.com/` (https with `tls=True`)."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/"

    # -- what clients need ----------------------------------------------------------------

    def certs(self) -> dict[str, Any]:
        """The `certs` map a client of this key mode needs: the public key, the certificates, or both."""
        creds = self.credentials
        out: dict[str, Any] = {}
        if has_public_key(self.key_mode):
            out[creds.public_key_id] = creds.public_key.public_key()
        if has_certificates(self.key_mode):
            for platform in creds.platform:
                out[platform.serial] = platform.certificate
        return out

    def client(self, **overrides: Any) -> Client:
        """A ready `Client` pointed at this emulator; keyword arguments override its settings.

        It has the APIv2 key and the merchant certificate, and with `tls=True` trusts the emulator's
        CA (`emu.client(merchant_cert=None)` gives one without the certificate, as does one whose
        `private_key=None` signs elsewhere: the certificate goes with the merchant's key).
        """
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
            "apiv2_key": creds.apiv2_key,
            "merchant_cert": creds.merchant_certificate,
            "ca_certs": creds.ca_pem if self.tls else None,  # HTTPS: the emulator's CA, not the system's
        }
        settings.update(overrides)
        if settings.get("private_key") is None and "merchant_cert" not in overrides:
            settings["merchant_cert"] = None
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

        A stub comes before every other route, the latest stub first. An APIv2 template (`v2/…`)
        is served on the APIv2 wire: a mapping is answered as signed XML.
        """
        if callable(answer):
            respond = answer
        else:
            fixed = answer if isinstance(answer, Answer) else Answer(status, None if answer is None else dict(answer))

            def respond(incoming: Incoming) -> Answer:
                return fixed

        wire = None
        if template.startswith("v2/"):
            template, wire = template[len("v2/") :], self.apiv2
        self.router.add(Route(method, template, lambda incoming, params: respond(incoming), wire=wire), first=True)

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

    def notify(
        self,
        url: str,
        event_type: str,
        resource: Mapping[str, Any],
        *,
        summary: str | None = None,
        original_type: str | None = None,
    ) -> str:
        """Send a notification of any kind to `url` now, as WeChat Pay would; returns its id.

        The `resource` is encrypted with the APIv3 key, the envelope signed with the key of the
        key mode, and the delivery retried on WeChat Pay's schedule (see `deliveries` and
        `wait_delivered`). `summary` and `original_type` (also the AEAD associated data) default to
        what WeChat Pay sends for the event type: `TRANSACTION.SUCCESS` -> 支付成功, `transaction`.
        """
        return self.webhooks.send(notice_for(url, event_type, resource, summary=summary, original_type=original_type))

    def _notified(
        self,
        url: str,
        event_type: str,
        resource: Mapping[str, Any],
        summary: str | None = None,
        original_type: str | None = None,
    ) -> dict[str, str]:
        notification_id = self.notify(url, event_type, resource, summary=summary, original_type=original_type)
        return {"notification_id": notification_id}

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
            # Only the keys the merchant has in this key mode.
            "platform_serials": [p.serial for p in creds.platform] if has_certificates(self.key_mode) else [],
            "public_key_id": creds.public_key_id if has_public_key(self.key_mode) else None,
            "key_mode": self.key_mode,
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
        peer = request.transport.get_extra_info("peercert") if request.transport is not None else None
        incoming = Incoming(
            request.method,
            request.raw_path,
            raw_path,
            path_segments(raw_path),
            request.query,
            request.headers,
            body,
            tls=request.secure,
            client_certificate=peer or None,
        )
        faults = self._faults.take(incoming.segments)
        if "delay" in faults:
            await asyncio.sleep(float(faults["delay"].params.get("seconds", 1.0)))
        if "drop" in faults:
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # the connection is gone; nothing is answered
        found = self.router.match(incoming.method, incoming.segments)
        generic = self.catalogue.match(incoming.method, incoming.segments) if found is None else None
        route = found or generic
        wire = route[0].wire if route is not None and route[0].wire is not None else self._wire_for(incoming)
        answer = await self._answer(incoming, found, wire, faults, generic)
        response = self._respond(incoming, answer, wire, faults)
        if "truncate" in faults and response.body:
            return await _send_truncated(request, response)
        return response

    async def _answer(
        self,
        incoming: Incoming,
        found: tuple[Route, Params] | None,
        wire: Wire,
        faults: Mapping[str, Fault],
        generic: tuple[Route, Params] | None = None,
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
        if generic is not None:  # a catalogued endpoint no route or fallback answered
            return await call(generic[0], generic[1], incoming)
        return no_such_endpoint(incoming).answer()

    def _wire_for(self, incoming: Incoming) -> Wire:
        """APIv3 for paths under v3/ (hk/v3/, global/v3/…), APIv2 for the others (no route named one)."""
        return self.apiv3 if "v3" in incoming.segments[:2] else self.apiv2

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
