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
from ._chain.requests import CallCheck, RequestBuilder, check_reserved
from ._config import DEFAULT_BASE_URL, DEFAULT_LIMITS, DEFAULT_TIMEOUT, REFRESH_INTERVAL, BaseURL, Limits, Timeout
from ._errors import ApiError, ConfigurationError, TransportError
from ._identity import check_mchid, check_serial
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
    from ssl import SSLContext

    from typing_extensions import Unpack

    from . import endpoints
    from ._files.downloads import Downloaded, Opening
    from ._keys.cache import CertificateCache
    from ._keys.certificates import CertificateRefresher
    from ._stack.retry import RetryPolicy
    from ._v2.signing import ApiV2Signer
    from ._v2.tls import CaInput, MerchantCertificate, MerchantCertInput

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

    APIv2 (`client.v2.pay.micropay.post(xml={…})`) signs with `apiv2_key=`; the calls that move money
    out go over mutual TLS with `merchant_cert=` (apiclient_cert.pem with `private_key`, or the
    apiclient_cert.p12 file and `merchant_cert_password=`). `ca_certs=` replaces the system's CAs
    (an emulator's, a TLS-inspecting proxy's).

    Timeouts bound each attempt: by default 30 s in all, of which at most 5 s to connect.
    `timeout=` takes seconds (the total), a `Timeout` or an `aiohttp.ClientTimeout`, per client or
    per call; running out raises `TransportError` naming the call. `limits=Limits(answer=, error=)`
    bounds the bytes read of an answer (8 MiB, and 64 KiB for an error). Retries and failover to the
    backup host are opt-in: `retry=RetryPolicy()`. Each call is logged once on the
    `wechatpay_chain` logger (the "logging" middleware). With `strict=True`, each call is checked
    against the catalogue of documented endpoints before any I/O (TemplateError, SchemaError).

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
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        headers: Headers | None = None,
        private_key_password: str | bytes | None = None,
        defer_key_loading: bool = False,
        clock: Clock = time.time,
        nonce: Callable[[], str] = _hazmat.nonce,
        strict: bool = False,
        # APIv2 and mutual TLS
        apiv2_key: str | bytes | None = None,
        merchant_cert: MerchantCertInput | None = None,
        merchant_cert_password: str | bytes | None = None,
        ca_certs: CaInput | None = None,
    ) -> None:
        self.mchid = check_mchid(mchid)
        self.serial = check_serial(serial)
        self._private_key = _private_key(private_key, private_key_password, signer, defer_key_loading)
        self.apiv3_key = Secret.of(apiv3_key, name="apiv3_key", length=32)
        self.apiv2_key = Secret.of(apiv2_key, name="apiv2_key", length=32)
        self.certificates = KeyRing(certs, prefer=prefer, clock=clock)
        _check_keys(self.certificates, self.serial, self.apiv3_key, self.apiv2_key)
        base = BaseURL.parse(base_url)
        self.base_url = str(base)
        self.merchant_cert, trust = self._tls(merchant_cert, merchant_cert_password, ca_certs)
        certificate = self.merchant_cert.context if self.merchant_cert is not None else None
        check = _strict_check() if strict else None
        self._builder = RequestBuilder(base, headers, check=check, certificate=certificate)
        self._clock = clock
        self._sessions = Sessions(session)  # one event loop at a time; see _session
        self.refresher = self._refresher(refresh_interval, certificate_cache)
        self._transport = Transport(self._sessions.get, Timeout.of(timeout), limits or DEFAULT_LIMITS, ssl=trust)
        self.middleware = MiddlewareStack(self._transport)
        self.middleware.append("logging", CallLogger())
        self.middleware.append("pool", self._transport.pool)  # wait for a connection, then sign
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
        refresher = self.refresher
        if refresher is not None:
            lookup, held = refresher.key_for, refresher.held
        else:
            lookup, held = self.certificates.lookup, self.certificates.get
        self.middleware.append("verifier", Verifier(lookup, held=held, clock=clock))
        # APIv2's pair, loaded with the first client: a bare import of the package stays light.
        from ._v2.signing import ApiV2Signer
        from ._v2.verification import ApiV2Verifier

        self.middleware.append("apiv2-signer", ApiV2Signer(self.mchid, self.apiv2_key))
        self.middleware.append("apiv2-verifier", ApiV2Verifier(self.apiv2_key))
        if retry is not None:
            from ._stack.retry import RetryPolicy  # features load on first use: a bare import stays light

            if not isinstance(retry, RetryPolicy):
                raise ConfigurationError(f"retry must be a RetryPolicy or None, got {type(retry).__name__}")
            # Outside the signer, so that every attempt is signed afresh, and outside the pool, so
            # that a backoff does not hold a connection's turn.
            self.middleware.insert_before("pool", "retry", retry)
        self._root = Chain(self)

    def _tls(
        self, cert: MerchantCertInput | None, password: str | bytes | None, ca_certs: CaInput | None
    ) -> tuple[MerchantCertificate | None, SSLContext | bool]:
        """The merchant certificate (None without one) and the transport's trust (True: the system's CAs)."""
        if cert is None and ca_certs is None:
            return None, True
        from ._v2.tls import MerchantCertificate, trust_context  # loaded only by clients that use TLS options

        trust = True if ca_certs is None else trust_context(ca_certs)
        if cert is None:
            return None, trust
        key = self._private_key.load() if isinstance(self._private_key, DeferredKey) else self._private_key
        holder = MerchantCertificate(cert, private_key=key, password=password, mchid=self.mchid, ca_certs=ca_certs)
        return holder, trust

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
    def apiv2_signer(self) -> ApiV2Signer:
        """The stack's "apiv2-signer": it signs APIv2 calls with the APIv2 key (`signer` is the APIv3 one)."""
        return self.middleware["apiv2-signer"]  # type: ignore[return-value]

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
        """Release the client's resources (its own aiohttp session, never one passed in).

        Calls still waiting for a connection end with `TransportError(sent=False)`; calls already
        sent end with the `TransportError` of their broken connection.
        """
        self._transport.close()
        if self.refresher is not None:  # before the session: a download in flight ends as "closed"
            await self.refresher.close()
        await self._sessions.close()
        for name in self.middleware:  # middlewares holding resources of their own (a remote signer's connections)
            aclose = getattr(self.middleware[name], "aclose", None)
            if aclose is not None:
                await aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the chain ------------------------------------------------------------------------

    if TYPE_CHECKING:
        # The typed chain: type checkers and IDEs see the documented segments, verbs, placeholders,
        # queries, bodies and answers (stubs generated from the catalogue: wechatpay_chain/endpoints);
        # at run time these are the dynamic Chain nodes __getattr__ makes. String paths stay dynamic.
        v2: endpoints.v2
        v3: endpoints.v3
        hk: endpoints.hk
    else:

        def __getattr__(self, name: str) -> Chain:
            if name.startswith("_"):  # dunders and private names (copy, pickle, half-built instances)
                raise AttributeError(name)
            node: Chain = getattr(self._root, name)
            # Kept as an instance attribute, so that `client.v3` is a plain attribute read from
            # now on (as hops below it are), not a call of this method per call.
            self.__dict__[name] = node
            return node

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
        """Build, sign, send and verify one call; raises ApiError for a non-2xx answer (or an APIv2 FAIL)."""
        # `execute`'s three steps written out, not awaited through it: one coroutine less per call.
        request = self.build_request(method, template, values, options)
        if not self._ready():
            await self._prepare(request)
        return _answered(await self.middleware(request))

    async def execute(self, request: Request) -> Response:
        """Send a built request through the stack; raises ApiError for a non-2xx answer."""
        if not self._ready():
            await self._prepare(request)
        return _answered(await self.middleware(request))

    def _ready(self) -> bool:
        """Whether a call can go straight into the stack: every call but a loop's first, once a key is held."""
        return self._sessions.here() and (self.refresher is None or self.certificates.current() is not None)

    async def _prepare(self, request: Request) -> None:
        await self._sessions.enter()
        if self.refresher is not None and self.certificates.current() is None:
            await self._name_a_key(request)

    async def _name_a_key(self, request: Request) -> None:
        """Download the platform certificates before a call when none is held, so the call names one.

        Every request names WeChat Pay's key in `Wechatpay-Serial` (as the Go and Java SDKs do, which
        download at start-up); a client made with the APIv3 key alone downloads on its first call.
        """
        assert self.refresher is not None
        try:
            await self.refresher.current()
        except TransportError as exc:  # about v3/certificates: the call itself was never sent
            raise TransportError(
                f"{request.method} {request.template}: not sent: downloading the platform certificates "
                f"first failed ({exc})",
                method=request.method,
                url=request.url,
                sent=False,
            ) from exc

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
        APIv2 (`v2/secapi/mch/uploadmedia`): `meta` holds the form's fields (mch_id…); the file's
        `media_hash` and the `sign` are added.
        """
        values = _placeholders(values, placeholders)
        check_reserved(template, values, UPLOAD_OPTIONS)
        from ._files import uploads as _uploads

        _uploads.check_upload(file, filename, meta)
        request = self.build_request(
            "POST", template, values, {"headers": headers, "base_url": base_url, "timeout": timeout}
        )
        if request.api == "v2":
            from ._v2.uploads import upload_media

            return await upload_media(
                self.execute,
                self.apiv2_signer.sign,
                request,
                file,
                filename=filename,
                fields=meta,
                content_type=content_type,
            )
        return await _uploads.upload(
            self.execute, request, file, filename=filename, meta=meta, content_type=content_type
        )

    def open_download(self, source: str, /, **options: Unpack[DownloadOptions]) -> Opening:
        """Open an unsigned download (a `download_url`, or a template with `placeholders=`): `async with … as s`.

        `expected` is the announced hex digest (`hash_type` SHA1, SHA256, SM3 …); statements are
        checked against their `Wechatpay-Statement-Sha1` header. gzip=True inflates the content
        (the digest is over the inflated bytes); decompress=False hands out the gzip bytes as sent.
        An APIv2 bill (`v2/pay/downloadbill`, `v2/pay/downloadfundflow`) takes its fields as `xml=`.
        """
        if source.startswith("v2/"):
            from ._v2 import bills

            return bills.open_download(self, source, **options)
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


def _answered(response: Response) -> Response:
    if not response.ok:
        raise ApiError(response, attempts=response.request.attempt)
    return response


def _strict_check() -> CallCheck:
    from ._catalogue.strict import StrictCheck  # the catalogue loads only for a strict client

    return StrictCheck()


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


def _check_keys(ring: KeyRing, serial: str, apiv3_key: Secret | None, apiv2_key: Secret | None) -> None:
    if serial in ring:
        raise ConfigurationError(
            f"certs holds the merchant's own serial {serial!r}: certs is for WeChat Pay's "
            "platform certificates or public key (PUB_KEY_ID_…), not the merchant API certificate"
        )
    if not len(ring) and apiv3_key is None and apiv2_key is None:
        raise ConfigurationError(
            "certs: give the WeChat Pay public key as certs={'PUB_KEY_ID_…': 'file:///path/pub_key.pem'} "
            "or the platform certificates as certs={'<serial>': 'file:///path/wechatpay_<serial>.pem'}, "
            "or pass apiv3_key=… to have the platform certificates downloaded (an APIv2-only client: apiv2_key=…)"
        )


def _placeholders(values: dict[str, Any], named: Mapping[str, str | int] | None) -> dict[str, Any]:
    if not named:
        return values
    clash = sorted(set(named).intersection(values))
    if clash:
        raise TypeError(f"{clash} given both as keywords and in placeholders=")
    return {**values, **named}
