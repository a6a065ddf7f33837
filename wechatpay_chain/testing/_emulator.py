"""A local WeChat Pay: a real aiohttp server that authenticates, answers and signs like the real one."""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web
from aiohttp.payload import Payload
from multidict import CIMultiDictProxy, MultiMapping

from .._client import Client
from . import _controls
from ._auth import AuthError, Merchant, authenticate, multipart_meta, sign_answer
from ._credentials import Credentials
from ._files import Files
from ._insurance import InsuranceBook
from ._platform_certificates import certificates_handler
from ._webhooks import Delivery, NoticeLike, Webhooks

CONTROL_PREFIX = "/_emulator/"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(slots=True)
class Incoming:
    """An authenticated request as the emulator's handlers see it."""

    method: str
    target: str  # raw path and query as received
    path: str  # raw path, still percent-encoded, without the query
    segments: tuple[str, ...]  # decoded path segments
    query: MultiMapping[str]
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body) if self.body else None


@dataclass(slots=True)
class Answer:
    """What a handler answers: a status and a JSON body (or raw bytes, or nothing)."""

    status: int = 200
    body: Any = None  # dict/list for JSON, bytes for a file, None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Incoming], Awaitable[Answer | None]]


def error(status: int, code: str, message: str) -> Answer:
    """A WeChat Pay style error answer."""
    return Answer(status, {"code": code, "message": message})


@dataclass(slots=True)
class Fault:
    """A misbehaviour injected for the requests whose path matches `pattern`."""

    kind: str  # delay | status | drop | bad_signature | skew | truncate | tamper_body | unknown_serial
    pattern: re.Pattern[str]
    params: dict[str, Any]
    times: int | None  # how many requests it hits; None = until cleared
    template: str = "{path}"  # as given, for listing

    def as_json(self) -> dict[str, Any]:
        """The fault as JSON-ready data (for the HTTP controls)."""
        return {"kind": self.kind, "path": self.template, "times": self.times, "params": self.params}


FAULT_KINDS = frozenset(
    {
        "delay",
        "status",
        "drop",
        "bad_signature",
        "skew",
        "truncate",
        "tamper_body",
        "unknown_serial",
        "missing_header",
    }
)


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the emulator received it, before any check."""

    method: str
    target: str
    headers: CIMultiDictProxy[str]
    body: bytes


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the paths of a URI template (`{x}` = one segment)."""
    path = template.lstrip("/").partition("?")[0]
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("/" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


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
        self._clock = clock
        self.clock_offset = 0.0
        # Bounded, so a long-running `mock` server does not grow without end.
        self.received: deque[Received] = deque(maxlen=received_limit)
        self._faults: list[Fault] = []
        self._merchant_cache: tuple[object, dict[str, Merchant]] = (None, {})
        self._handlers: list[Handler] = []
        self._runner: web.AppRunner | None = None
        self._clients: list[Client] = []
        self._notify_serial: str | None = None  # the Wechatpay-Serial of the latest signed-in request
        self.webhooks = Webhooks(
            apiv3_key=lambda: self.credentials.apiv3_key,
            signing_key=lambda: self._signing_key(self._notify_serial),
            now=self.wire_now,  # signatures follow the wire clock, like answers
            backoff=notify_backoff,
            timeout=notify_timeout,
            allow_remote=allow_remote_notify,
        )
        self.insurance = InsuranceBook(clock=self.now, notify=self._notify, mchid=self.credentials.mchid)
        self.add_handler(self._insurance_handler)
        self.add_handler(certificates_handler(self))
        self.files = Files(lambda: self.base_url, self.credentials.mchid)  # media uploads, bills: emu.files
        self.add_handler(self.files.handle)

    # -- lifetime -------------------------------------------------------------------------

    def now(self) -> float:
        """The emulated business time: the given clock plus `clock_offset` (what `advance` moves).

        Signatures (request timestamps checked, answers and notifications signed) keep to the
        given clock, so that any client, with its own clock, keeps working after `advance`.
        """
        return self._clock() + self.clock_offset

    def wire_now(self) -> float:
        """The protocol's clock, without `clock_offset`: request timestamps are checked and answers signed by it."""
        return self._clock()

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
        client = Client(**settings)
        self._clients.append(client)
        return client

    # -- extension and control ------------------------------------------------------------

    def add_handler(self, handler: Handler) -> None:
        """Serve more endpoints: `handler` answers an authenticated request, or None to pass."""
        self._handlers.append(handler)

    def stub(
        self,
        method: str,
        template: str,
        answer: Answer | Mapping[str, Any] | Callable[[Incoming], Answer] | None = None,
        *,
        status: int = 200,
    ) -> None:
        """Answer `method template` with a fixed JSON body, an Answer, or a function of the request."""
        pattern = template_pattern(template)
        method = method.upper()

        async def handler(incoming: Incoming) -> Answer | None:
            if incoming.method != method or not pattern.match(incoming.path):
                return None
            if callable(answer):
                return answer(incoming)
            if isinstance(answer, Answer):
                return answer
            return Answer(status, dict(answer) if answer is not None else None)

        self._handlers.insert(0, handler)

    def fault(self, kind: str, template: str = "{path}", *, times: int | None = None, **params: Any) -> None:
        """Inject a fault for the paths matching `template` (default: every path).

        Kinds: delay(seconds), status(status, code), drop, bad_signature, skew(seconds),
        truncate, tamper_body, unknown_serial, missing_header(name).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        pattern = re.compile(".*") if template == "{path}" else template_pattern(template)
        self._faults.append(Fault(kind, pattern, params, times, template))

    @property
    def faults(self) -> list[Fault]:
        """The faults injected and not yet used up or cleared."""
        return list(self._faults)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    def rotate_certificate(self) -> str:
        """Issue a new platform certificate that signs from now on; returns its serial."""
        return self.credentials.rotate().serial

    def advance(self, seconds: float) -> float:
        """Move the emulator's clock forward (or back, if negative); returns the new `now()`."""
        self.clock_offset += float(seconds)
        return self.now()

    @property
    def deliveries(self) -> list[Delivery]:
        """Every notification delivery attempt so far, oldest first."""
        return self.webhooks.deliveries

    async def wait_delivered(self, event_type: str | None = None, *, timeout: float = 5.0) -> Delivery:
        """The next acknowledged notification (of `event_type`) not returned before; TimeoutError after `timeout`."""
        return await self.webhooks.wait_delivered(event_type, timeout=timeout)

    def _notify(self, notice: NoticeLike) -> None:
        self.webhooks.send(notice)

    async def _insurance_handler(self, incoming: Incoming) -> Answer | None:
        reply = self.insurance.handle(incoming.method, incoming.segments, incoming.query, incoming.body)
        return None if reply is None else Answer(reply.status, reply.body)

    # -- the server -----------------------------------------------------------------------

    def _merchants(self) -> dict[str, Merchant]:
        # Derived once per merchant key: deriving the public key costs more than verifying with it.
        creds = self.credentials
        key, merchants = self._merchant_cache
        if key is not creds.merchant_key or creds.mchid not in merchants:
            merchants = {creds.mchid: Merchant(creds.mchid, creds.serial, creds.merchant_key.public_key())}
            self._merchant_cache = (creds.merchant_key, merchants)
        return merchants

    def _active_faults(self, path: str) -> list[Fault]:
        active = []
        for fault in self._faults:
            if fault.pattern.match(path):
                active.append(fault)
                if fault.times is not None:
                    fault.times -= 1
        self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        return active

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path.startswith(CONTROL_PREFIX):
            return await self._control(request, body)
        self.received.append(Received(request.method, request.raw_path, request.headers, body))
        faults = {f.kind: f for f in self._active_faults(request.raw_path.partition("?")[0])}
        if "delay" in faults:
            await asyncio.sleep(float(faults["delay"].params.get("seconds", 1.0)))
        if "drop" in faults:
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # the connection is gone; nothing is answered
        answer = await self._answer(request, body, faults)
        response = self._respond(request, answer, faults)
        if "truncate" in faults and response.body:
            return await _send_truncated(request, response)
        return response

    async def _answer(self, request: web.Request, body: bytes, faults: Mapping[str, Fault]) -> Answer:
        if "status" in faults:
            params = faults["status"].params
            status = int(params.get("status", 500))
            return error(status, params.get("code", "SYSTEM_ERROR"), params.get("message", "injected fault"))
        signed_body = multipart_meta(request.headers.get("Content-Type", ""), body)
        try:
            authenticate(
                self._merchants(),
                request.method,
                request.raw_path,
                request.headers,
                body if signed_body is None else signed_body,
                self.wire_now(),
            )
        except AuthError as exc:
            return error(401, "SIGN_ERROR", str(exc))
        self._notify_serial = request.headers.get("Wechatpay-Serial", self._notify_serial)
        raw_path = request.raw_path.partition("?")[0]
        incoming = Incoming(
            request.method,
            request.raw_path,
            raw_path,
            tuple(unquote(s) for s in raw_path.split("/")[1:]),
            request.query,
            request.headers,
            body,
        )
        for handler in self._handlers:
            answer = await handler(incoming)
            if answer is not None:
                return answer
        return error(404, "NOT_FOUND", f"no such endpoint: {request.method} {request.path}")

    def _signing_key(self, requested: str | None) -> tuple[str, Any]:
        creds = self.credentials
        return creds.signing_key(public_key=self.public_key_only or requested == creds.public_key_id)

    def _respond(self, request: web.Request, answer: Answer, faults: Mapping[str, Fault]) -> web.Response:
        headers = {"Request-ID": uuid.uuid4().hex.upper(), **answer.headers}
        if isinstance(answer.body, Payload):  # a streamed file: unsigned, as WeChat Pay's downloads are
            return web.Response(status=answer.status, body=answer.body, headers=headers)
        if isinstance(answer.body, (bytes, bytearray)):
            body = bytes(answer.body)
        elif answer.body is not None:
            body = orjson.dumps(answer.body)
            headers["Content-Type"] = JSON_TYPE
        else:
            body = b""
        if 200 <= answer.status < 300 and "Wechatpay-Signature" not in headers:
            headers.update(self._sign(request, body, faults))
        if "tamper_body" in faults and body:
            body = body[:-1] + (b" " if body[-1:] != b" " else b"\t")
        if "missing_header" in faults:
            headers.pop(faults["missing_header"].params.get("name", "Wechatpay-Signature"), None)
        return web.Response(status=answer.status, body=body, headers=headers)

    def _sign(self, request: web.Request, body: bytes, faults: Mapping[str, Fault]) -> dict[str, str]:
        serial, key = self._signing_key(request.headers.get("Wechatpay-Serial"))
        timestamp = int(self.wire_now())
        if "skew" in faults:
            # Rounded away from now, so a skew of 301 s stays past the 300 s window however the
            # client's clock falls within the second.
            skewed = self.wire_now() + float(faults["skew"].params.get("seconds", 600))
            timestamp = math.ceil(skewed) if skewed > timestamp else math.floor(skewed)
        signed = sign_answer(key, serial, body, timestamp)
        if "bad_signature" in faults:
            other = sign_answer(key, serial, body + b"x", timestamp)
            signed["Wechatpay-Signature"] = other["Wechatpay-Signature"]
        if "unknown_serial" in faults:
            signed["Wechatpay-Serial"] = "0123456789ABCDEF0123456789ABCDEF01234567"
        return signed

    async def _control(self, request: web.Request, body: bytes) -> web.StreamResponse:
        return await _controls.serve(self, request.method, request.path[len(CONTROL_PREFIX) :], request.query, body)


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
