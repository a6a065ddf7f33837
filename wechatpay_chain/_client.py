"""The client: one merchant's credentials, its middleware stack and the root of its chain.

The top of the core: it assembles the parts (key ring, refresher, request builder, stack) and
hands each feature what it needs; nothing below imports it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from . import _hazmat
from ._chain.nodes import Chain
from ._chain.requests import RequestBuilder, check_reserved
from ._config import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, REFRESH_INTERVAL, BaseURL, Timeout
from ._errors import ApiError, ConfigurationError
from ._keys import sensitive as _sensitive
from ._keys.keyring import KeyRing
from ._keys.loading import DeferredKey, load_private_key
from ._keys.sensitive import Encrypted
from ._models import Request, Response
from ._secret import Secret
from ._session import Sessions
from ._stack.logging import CallLogger
from ._stack.middleware import MiddlewareStack
from ._stack.signing import Signer
from ._stack.transport import Transport
from ._stack.verification import Verifier
from ._types import (
    BillOptions,
    Clock,
    DownloadOptions,
    Headers,
    PrivateKeyInput,
    PublicKeyInput,
    SigningKey,
    TimeoutTypes,
    UploadSource,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._files.downloads import Downloaded, Opening
    from ._keys.cache import CertificateCache
    from ._keys.certificates import CertificateRefresher
    from ._stack.retry import RetryPolicy

UPLOAD_OPTIONS = frozenset({"filename", "meta", "content_type", "headers", "base_url", "timeout", "placeholders"})


class Client:
    """An asyncio WeChat Pay APIv3 client for one merchant.

    Reach any endpoint as `client.v3.pay.transactions.native`, `client.chain("v3/pay/…")`
    or `client["v3/pay/…"]`, then `await node.post(json=…)`.

    The merchant signs with `private_key` (its `apiclient_key.pem`), or with `signer=`, any object
    with `async sign(message: bytes) -> str` (an HSM, a signing service: then no private key needs to
    be loaded here). WeChat Pay's keys: `certs={"PUB_KEY_ID_…": key}` (public key), `{serial:
    certificate}`, or both (the switch between them; `prefer="public_key"|"certificate"` picks the one
    requests name, the public key by default). With `apiv3_key=` and no certificate, the platform
    certificates are downloaded on first need and refreshed every `refresh_interval` seconds;
    `certificate_cache=` (e.g. `RedisCertificateCache`) shares them between worker processes.

    Loading a private key checks it (about 40 ms); each distinct key is checked once per process,
    however many clients load it. `defer_key_loading=True` reads and parses the key now (a wrong
    path or passphrase still fails here) and checks it on first use: for processes that create
    many merchants' clients, most of which may never call.

    `session=`: an aiohttp session to send through (yours: the client never closes it), or a
    function that makes one (a proxy: `session=lambda: aiohttp.ClientSession(proxy=…)`), called in
    each event loop the client runs in; the sessions it makes, like the one made by default, are
    the client's and closed by it.

    Timeouts bound each attempt: by default 30 s in all, of which at most 5 s to connect.
    `timeout=` takes seconds (the total), a `Timeout` or an `aiohttp.ClientTimeout`, per client or
    per call; running out raises `TransportError` naming the call. Retries and failover to the
    backup host are opt-in: `retry=RetryPolicy()`. Each call is logged once on the
    `wechatpay_chain` logger (the "logging" middleware).

    A client runs in one event loop at a time: the first it is used in, until that loop is closed
    (successive `asyncio.run()` calls work); a call from another loop that is still open raises
    `EventLoopError` at once. From threads, use `wechatpay_chain.sync.Client`.
    """

    def __init__(
        self,
        mchid: str,
        serial: str,
        private_key: PrivateKeyInput | None = None,
        certs: Mapping[str, PublicKeyInput] | None = None,
        *,
        signer: SigningKey | None = None,
        apiv3_key: str | bytes | None = None,
        prefer: str | None = None,
        refresh_interval: float = REFRESH_INTERVAL,
        certificate_cache: CertificateCache | None = None,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | Callable[[], aiohttp.ClientSession] | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Headers | None = None,
        private_key_password: str | bytes | None = None,
        defer_key_loading: bool = False,
        clock: Clock = time.time,
        nonce: Callable[[], str] = _hazmat.nonce,
    ) -> None:
        self.mchid = _required(mchid, "mchid", "the merchant id (商户号)")
        self.serial = _required(serial, "serial", "the merchant API certificate serial (商户API证书序列号)").upper()
        self._private_key = _private_key(private_key, private_key_password, signer, defer_key_loading)
        self.apiv3_key = Secret.of(apiv3_key, name="apiv3_key", length=32)
        self.certificates = KeyRing(certs, prefer=prefer, clock=clock)
        _check_keys(self.certificates, self.serial, self.apiv3_key)
        base = BaseURL.parse(base_url if base_url.endswith("/") else base_url + "/")
        self.base_url = str(base)
        self._builder = RequestBuilder(base, headers)
        self._clock = clock
        self._sessions = Sessions(session)  # one event loop at a time; see _session
        self.refresher = self._refresher(refresh_interval, certificate_cache)
        self.middleware = MiddlewareStack(Transport(self._sessions.get, Timeout.of(timeout)))
        self.middleware.append("logging", CallLogger())
        self.middleware.append(
            "signer",
            Signer(
                self.mchid,
                self.serial,
                signer if signer is not None else self._private_key,
                platform_serial=self.certificates.request_serial,
                clock=clock,
                nonce=nonce,
            ),
        )
        lookup = self.refresher.key_for if self.refresher is not None else self.certificates.lookup
        self.middleware.append("verifier", Verifier(lookup, clock=clock))
        if retry is not None:
            from ._stack.retry import RetryPolicy  # features load on first use: a bare import stays light

            if not isinstance(retry, RetryPolicy):
                raise ConfigurationError(f"retry must be a RetryPolicy or None, got {type(retry).__name__}")
            # Outside the signer, so that every attempt is signed afresh.
            self.middleware.insert_before("signer", "retry", retry)
        self._root = Chain(self)

    def _refresher(self, interval: float, cache: CertificateCache | None) -> CertificateRefresher | None:
        if self.apiv3_key is None:
            if cache is not None:
                raise ConfigurationError("certificate_cache= shares downloaded certificates: it needs apiv3_key=")
            return None
        from ._keys.certificates import CertificateRefresher

        async def fetch() -> Response:
            # Through the stack without its verifier: the refresher checks the list itself, with the
            # stack's verifier, against the keys the list may carry.
            request = self.build_request("GET", "v3/certificates", {}, {})
            await self._sessions.enter()
            return await self.middleware.bypassing("verifier")(request)

        async def check(headers: Mapping[str, str], body: bytes, **options: Any) -> str:
            return await self.verifier.check(headers, body, **options)

        return CertificateRefresher(
            self.certificates,
            fetch,
            self.apiv3_key,
            check,
            interval=interval,
            clock=self._clock,
            owner=self.mchid,
            cache=cache,
        )

    # -- the one signer and the one verifier: the stack's ------------------------------------

    @property
    def signer(self) -> Signer:
        """The stack's current "signer": every signature the client makes goes through its `sign`."""
        return self.middleware["signer"]  # type: ignore[return-value]

    @property
    def verifier(self) -> Verifier:
        """The stack's current "verifier": answers, notifications and certificate lists are checked by it."""
        return self.middleware["verifier"]  # type: ignore[return-value]

    async def _sign(self, message: bytes) -> str:
        sign = getattr(self.middleware["signer"], "sign", None)
        if sign is None:
            raise ConfigurationError("the stack's 'signer' has no sign(message) method to sign payment parameters")
        return await sign(message)  # type: ignore[no-any-return]

    # -- lifetime -------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        return self._sessions.get()

    async def close(self) -> None:
        """Release the client's resources (its own aiohttp session, never one passed in)."""
        await self._sessions.close()
        if self.refresher is not None:
            await self.refresher.close()
        for name in self.middleware:  # middlewares holding resources of their own (a signing pool)
            aclose = getattr(self.middleware[name], "aclose", None)
            if aclose is not None:
                await aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the chain ------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Chain:
        if name.startswith("_"):  # dunders and private names (copy, pickle, half-built instances)
            raise AttributeError(name)
        return getattr(self._root, name)  # type: ignore[no-any-return]

    def __getitem__(self, path: str) -> Chain:
        return self._root[path]

    def chain(self, path: str) -> Chain:
        """The chain node for a URI template such as `"v3/pay/transactions/id/{transaction_id}"`."""
        return self._root[path]

    # -- one call -------------------------------------------------------------------------

    def build_request(
        self, method: str, template: str, values: Mapping[str, object], options: Mapping[str, Any]
    ) -> Request:
        """Turn a chain call into the exact request to send; raises before any I/O on a slip."""
        return self._builder.build(method, template, values, options)

    async def send(
        self, method: str, template: str, values: Mapping[str, object], options: Mapping[str, Any]
    ) -> Response:
        """Build, sign, send and verify one call; raises ApiError for a non-2xx answer."""
        request = self.build_request(method, template, values, options)
        if template.startswith("v2/"):
            raise ConfigurationError(
                f"{template!r} is an APIv2 (XML) endpoint; this version of wechatpay_chain speaks APIv3 only"
            )
        return await self.execute(request)

    async def execute(self, request: Request) -> Response:
        """Send a built request through the stack; raises ApiError for a non-2xx answer."""
        await self._sessions.enter()
        response = await self.middleware(request)
        if not response.ok:
            raise ApiError(response, attempts=response.request.attempt)
        return response

    # -- sensitive fields -----------------------------------------------------------------

    async def encrypt(self, text: str, *, sha256: bool = False) -> Encrypted:
        """Encrypt a sensitive field for WeChat Pay (RSA-OAEP, SHA-1 unless `sha256=True`).

        Uses the key requests name (see `prefer`), downloading the certificates if needed. The result
        is a str that remembers that key: a `json=` body holding it is sent naming the key in
        `Wechatpay-Serial`, as WeChat Pay requires (set that header yourself for a `body=`).
        """
        entry = await self.refresher.current() if self.refresher is not None else self.certificates.current()
        if entry is None:
            raise ConfigurationError(
                "no platform certificate or public key to encrypt with: configure certs= or apiv3_key="
            )
        return Encrypted(_sensitive.encrypt(entry.key, text, sha256=sha256), entry.serial)

    def decrypt(self, ciphertext: str, *, sha256: bool = False) -> str:
        """Decrypt a sensitive field WeChat Pay encrypted for this merchant (its private key)."""
        key = self._private_key.load() if isinstance(self._private_key, DeferredKey) else self._private_key
        return _sensitive.decrypt(key, ciphertext, sha256=sha256)

    # -- files ------------------------------------------------------------------------------

    async def upload(
        self,
        template: str,
        file: UploadSource,
        /,
        *,
        filename: str | None = None,
        meta: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        headers: Headers | None = None,
        base_url: str | None = None,
        timeout: TimeoutTypes | None = None,
        placeholders: Mapping[str, str | int] | None = None,
        **values: str | int,
    ) -> Response:
        """Upload `file` (bytes, a path or an async stream) to an upload endpoint; returns the answer.

        `filename` defaults to the path's name (required for bytes and streams); `meta` adds fields
        to the signed `meta` part. Example: `await client.upload("v3/merchant/media/upload", "logo.png")`.
        """
        values = _placeholders(values, placeholders)
        check_reserved(template, values, UPLOAD_OPTIONS)
        from ._files import uploads as _uploads

        _uploads.check_upload(file, filename, meta)
        request = self.build_request(
            "POST", template, values, {"headers": headers, "base_url": base_url, "timeout": timeout}
        )
        return await _uploads.upload(
            self.execute, request, file, filename=filename, meta=meta, content_type=content_type
        )

    def open_download(self, source: str, /, **options: Unpack[DownloadOptions]) -> Opening:
        """Open an unsigned download (a `download_url`, or a template with `placeholders=`): `async with … as s`.

        `expected` is the announced hex digest (`hash_type` SHA1, SHA256, SM3 …); statements are
        checked against their `Wechatpay-Statement-Sha1` header. gzip=True inflates the content
        (the digest is over the inflated bytes); decompress=False hands out the gzip bytes as sent.
        """
        from ._files import downloads as _downloads

        return _downloads.open_download(self, source, **options)

    async def download(
        self, source: str, to: str | os.PathLike[str], /, **options: Unpack[DownloadOptions]
    ) -> Downloaded:
        """Stream an unsigned download to the path `to`, which appears only once complete and verified."""
        async with self.open_download(source, **options) as stream:
            return await stream.save(to)

    def open_bill(self, bill_date: str | dt.date, /, **options: Unpack[BillOptions]) -> Opening:
        """Apply for a day's bill (`kind` "tradebill" or "fundflowbill") and open its file, SHA-1 checked."""
        from ._files import downloads as _downloads

        return _downloads.open_bill(self, bill_date, **options)

    async def download_bill(
        self, bill_date: str | dt.date, to: str | os.PathLike[str], /, **options: Unpack[BillOptions]
    ) -> Downloaded:
        """Download a day's bill to the path `to`, checking its SHA-1; options as for `open_bill`.

        Example: `await client.download_bill("2024-06-01", "trade-2024-06-01.csv", tar_type="GZIP")`.
        """
        async with self.open_bill(bill_date, **options) as stream:
            return await stream.save(to)

    # -- payment parameters -----------------------------------------------------------------

    async def jsapi_params(
        self, appid: str, prepay_id: str, *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        """The JSAPI / mini-program parameters (`appId, timeStamp, nonceStr, package, signType, paySign`).

        Pass them to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` or `wx.requestPayment(…)`.
        """
        from . import _payparams

        return await _payparams.jsapi_params(
            self._sign, appid, prepay_id, timestamp=timestamp, nonce=nonce, clock=self._clock
        )

    async def app_params(
        self,
        appid: str,
        prepay_id: str,
        *,
        partnerid: str | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """The APP parameters (`appid, partnerid, prepayid, package, noncestr, timestamp, sign`).

        `partnerid` defaults to the client's mchid (a service provider passes the sub-merchant's).
        """
        from . import _payparams

        return await _payparams.app_params(
            self._sign,
            appid,
            prepay_id,
            partnerid=partnerid or self.mchid,
            timestamp=timestamp,
            nonce=nonce,
            clock=self._clock,
        )

    def __repr__(self) -> str:
        return f"<Client mchid={self.mchid!r} serial={self.serial!r} base_url={self.base_url!r}>"


def _required(value: object, name: str, what: str) -> str:
    if not value or not isinstance(value, str):
        raise ConfigurationError(f"{name}: {what} is required, as a str")
    return value


def _private_key(
    value: PrivateKeyInput | None, password: str | bytes | None, signer: SigningKey | None, defer: bool
) -> RSAPrivateKey | DeferredKey | None:
    if value is None:
        if signer is None:
            raise ConfigurationError(
                "private_key: the merchant API private key (apiclient_key.pem) is required to sign, "
                "unless signer= signs elsewhere (an HSM, a signing service)"
            )
        return None
    if defer and not isinstance(value, RSAPrivateKey):
        return DeferredKey(value, password=password)
    return load_private_key(value, password=password)


def _check_keys(ring: KeyRing, serial: str, apiv3_key: Secret | None) -> None:
    if serial in ring:
        raise ConfigurationError(
            f"certs holds the merchant's own serial {serial!r}: certs is for WeChat Pay's "
            "platform certificates or public key (PUB_KEY_ID_…), not the merchant API certificate"
        )
    if not len(ring) and apiv3_key is None:
        raise ConfigurationError(
            "certs: give the WeChat Pay public key as certs={'PUB_KEY_ID_…': 'file:///path/pub_key.pem'} "
            "or the platform certificates as certs={'<serial>': 'file:///path/wechatpay_<serial>.pem'}, "
            "or pass apiv3_key=… to have the platform certificates downloaded"
        )


def _placeholders(values: dict[str, Any], named: Mapping[str, str | int] | None) -> dict[str, Any]:
    if not named:
        return values
    clash = sorted(set(named).intersection(values))
    if clash:
        raise TypeError(f"{clash} given both as keywords and in placeholders=")
    return {**values, **named}
