"""The client: one merchant's credentials, its middleware stack and the root of its chain."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDict

from . import _downloads, _hazmat, _media, _payparams, _sensitive
from ._certificates import REFRESH_INTERVAL, CertificateStore
from ._chain import Chain
from ._errors import ApiError, ConfigurationError, WechatpayError
from ._keys import PrivateKeyInput, PublicKeyInput, load_private_key
from ._logging import CallLogger
from ._middleware import MiddlewareStack
from ._models import Request, Response
from ._retry import PRIMARY_URL, RetryPolicy
from ._signing import Signer
from ._signing_pool import ProcessPoolSigner
from ._template import encode_query, parse
from ._transport import DEFAULT_TIMEOUT, Transport
from ._verification import VERIFIED_ELSEWHERE, Verifier
from ._version import __version__

DEFAULT_BASE_URL = PRIMARY_URL
USER_AGENT = f"wechatpay-chain/{__version__} aiohttp/{aiohttp.__version__} Python/{platform.python_version()}"


@lru_cache(maxsize=64)
def _split_base(base_url: str) -> tuple[str, str]:
    """(origin, path prefix ending in '/') of a base URL; ConfigurationError when unusable."""
    scheme, sep, rest = base_url.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or rest.startswith("/"):
        raise ConfigurationError(f"base_url {base_url!r} must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}")
    if "?" in rest or "#" in rest:
        raise ConfigurationError(f"base_url {base_url!r} cannot carry a query or fragment")
    host, slash, prefix = rest.partition("/")
    prefix = "/" + prefix if slash else "/"
    return f"{scheme}://{host}", prefix if prefix.endswith("/") else prefix + "/"


def _timeout(value: aiohttp.ClientTimeout | float | None) -> aiohttp.ClientTimeout | None:
    if value is None or isinstance(value, aiohttp.ClientTimeout):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        # A bare number bounds the whole call; connecting keeps its own, shorter default bound.
        return aiohttp.ClientTimeout(
            total=float(value), sock_connect=min(float(value), DEFAULT_TIMEOUT.sock_connect or value)
        )
    raise ConfigurationError(f"timeout must be seconds > 0 or an aiohttp.ClientTimeout, got {value!r}")


class Client:
    """An asyncio WeChat Pay APIv3 client for one merchant.

    Reach any endpoint as `client.v3.pay.transactions.native`, `client.chain("v3/pay/…")`
    or `client["v3/pay/…"]`, then `await node.post(json=…)`.

    Timeouts bound each attempt: by default 30 s in all, of which at most 5 s to connect (waiting for a
    free pooled connection counts only against the total). `timeout=` takes seconds (the total;
    connecting stays within 5 s) or an `aiohttp.ClientTimeout`, per client or per call
    (`node.get(timeout=2)`); running out raises `TransportError` naming the call. Retries and failover
    to the backup host are opt-in: `retry=RetryPolicy()`. Each call is logged once on the
    `wechatpay_chain` logger (the "logging" middleware).

    WeChat Pay's keys: `certs={"PUB_KEY_ID_…": key}` (public key), `{serial: certificate}`, or both
    (the switch between them; `prefer="public_key"|"certificate"` picks the one requests name, the
    public key by default). With `apiv3_key=` and no certificate, the platform certificates are
    downloaded on first need and refreshed every `refresh_interval` seconds (12 h, jittered).

    `signing_workers=n` signs in n worker processes (see ProcessPoolSigner): more calls/s on a
    multi-core machine with many calls in flight, slower calls one at a time.
    """

    def __init__(
        self,
        mchid: str,
        serial: str,
        private_key: PrivateKeyInput,
        certs: Mapping[str, PublicKeyInput] | None = None,
        *,
        apiv3_key: str | bytes | None = None,
        prefer: str | None = None,
        refresh_interval: float = REFRESH_INTERVAL,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: aiohttp.ClientTimeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        private_key_password: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = _hazmat.nonce,
        signing_workers: int | None = None,
    ) -> None:
        if not mchid or not isinstance(mchid, str):
            raise ConfigurationError("mchid: the merchant id (商户号) is required, as a str")
        if not serial or not isinstance(serial, str):
            raise ConfigurationError(
                "serial: the merchant API certificate serial (商户API证书序列号) is required, as a str"
            )
        self.mchid = mchid
        self.serial = serial.upper()
        self._private_key = load_private_key(private_key, password=private_key_password)
        self._apiv3_key = _apiv3_key(apiv3_key)
        self.certificates = CertificateStore(
            certs,
            apiv3_key=self._apiv3_key,
            fetch=self._fetch_certificates,
            prefer=prefer,
            refresh_interval=refresh_interval,
            clock=clock,
            owner=mchid,
        )
        if self.serial in self.certificates:
            raise ConfigurationError(
                f"certs holds the merchant's own serial {self.serial!r}: certs is for WeChat Pay's "
                "platform certificates or public key (PUB_KEY_ID_…), not the merchant API certificate"
            )
        if not len(self.certificates) and self._apiv3_key is None:
            raise ConfigurationError(
                "certs: give the WeChat Pay public key as certs={'PUB_KEY_ID_…': 'file:///path/pub_key.pem'} "
                "or the platform certificates as certs={'<serial>': 'file:///path/wechatpay_<serial>.pem'}, "
                "or pass apiv3_key=… to have the platform certificates downloaded"
            )
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        _split_base(self.base_url)
        self._clock = clock
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._headers = dict(headers or {})
        self._root = Chain(self)
        make_signer: Callable[..., Signer] = (
            Signer if signing_workers is None else partial(ProcessPoolSigner, workers=signing_workers)
        )
        self.signer = make_signer(
            mchid,
            self.serial,
            self._private_key,
            platform_serial=self.certificates.request_serial,
            clock=clock,
            nonce=nonce,
        )
        self.verifier = Verifier(self.certificates.key_for, clock=clock)
        default_timeout = _timeout(timeout) or DEFAULT_TIMEOUT
        self.middleware = MiddlewareStack(Transport(self._get_session, default_timeout))
        self.middleware.append("logging", CallLogger())
        self.middleware.append("signer", self.signer)
        self.middleware.append("verifier", self.verifier)
        if retry is not None:
            if not isinstance(retry, RetryPolicy):
                raise ConfigurationError(f"retry must be a RetryPolicy or None, got {type(retry).__name__}")
            # Outside the signer, so that every attempt is signed afresh.
            self.middleware.insert_before("signer", "retry", retry)

    async def _fetch_certificates(self) -> Response:
        # Through the whole stack (signing, retries, logs); the store verifies the answer itself.
        request = self.build_request("GET", "v3/certificates", {}, {})
        request.extensions[VERIFIED_ELSEWHERE] = True
        return await self.middleware(request)

    # -- lifetime -------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise WechatpayError("this Client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession()
            # aiohttp silently re-sends a GET/PUT/DELETE once when the connection drops, with the
            # same signature and nonce; retries are the RetryPolicy's call, each signed afresh.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    async def close(self) -> None:
        """Release the client's resources (its own aiohttp session, never one passed in)."""
        self._closed = True
        await self.certificates.close()
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
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
        return getattr(self._root, name)  # type: ignore[no-any-return]

    def __getitem__(self, path: str) -> Chain:
        return self._root[path]

    def chain(self, path: str) -> Chain:
        """The chain node for a URI template such as `"v3/pay/transactions/id/{transaction_id}"`."""
        return self._root[path]

    # -- sensitive fields -----------------------------------------------------------------

    async def encrypt(self, text: str, *, sha256: bool = False) -> str:
        """Encrypt a sensitive field for WeChat Pay (RSA-OAEP, SHA-1 unless `sha256=True`).

        Uses the key requests name (see `prefer`), downloading the certificates if needed; the
        requests this task sends next name that key in `Wechatpay-Serial`, as WeChat Pay requires.
        """
        entry = await self.certificates.encryption_key()
        return _sensitive.encrypt(entry.key, text, sha256=sha256)

    def decrypt(self, ciphertext: str, *, sha256: bool = False) -> str:
        """Decrypt a sensitive field WeChat Pay encrypted for this merchant (its private key)."""
        return _sensitive.decrypt(self._private_key, ciphertext, sha256=sha256)

    # -- one call -------------------------------------------------------------------------

    def build_request(
        self, method: str, template: str, values: Mapping[str, object], options: Mapping[str, Any]
    ) -> Request:
        """Turn a chain call into the exact request to send; raises before any I/O on a slip."""
        parsed = parse(template)
        path = parsed.expand(values)
        if path.startswith("v2/"):
            path = path[3:]  # APIv2 paths go on the wire without their prefix
        origin, prefix = _split_base(_base(options.get("base_url")) or self.base_url)
        query = encode_query(parsed.query, options.get("query"))
        target = prefix + path + ("?" + query if query else "")
        headers = CIMultiDict({"Accept": "application/json", "User-Agent": USER_AGENT})
        body = _body(method, template, options.get("json"), options.get("body"), headers)
        headers.update(self._headers)
        headers.update(options.get("headers") or {})
        return Request(
            method=method,
            url=origin + target,
            target=target,
            path=path,
            template=template,
            headers=headers,
            body=body,
            timeout=_timeout(options.get("timeout")),
            extensions={} if options.get("idempotent") is None else {"idempotent": bool(options["idempotent"])},
        )

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
        """Send a built (and possibly adjusted) request through the stack; raises ApiError for a non-2xx answer."""
        response = await self.middleware(request)
        if not response.ok:
            raise ApiError(response, attempts=int(response.request.extensions.get("attempt", 1)))
        return response

    # -- files and payment parameters (see _media, _downloads, _payparams) ------------------

    upload = _media.upload
    download = _downloads.download
    open_download = _downloads.open_download
    download_bill = _downloads.download_bill
    open_bill = _downloads.open_bill
    jsapi_params = _payparams.jsapi_params
    app_params = _payparams.app_params

    def __repr__(self) -> str:
        return f"<Client mchid={self.mchid!r} serial={self.serial!r} base_url={self.base_url!r}>"


def _base(value: str | None) -> str | None:
    if value is None:
        return None
    return value if value.endswith("/") else value + "/"


def _body(method: str, template: str, json: Any, body: bytes | str | None, headers: CIMultiDict[str]) -> bytes:
    if json is not None and body is not None:
        raise ConfigurationError(f"{method} {template}: pass json= or body=, not both")
    if json is not None:
        try:
            data = orjson.dumps(json)
        except TypeError as exc:
            raise ConfigurationError(f"{method} {template}: json= cannot be serialised ({exc})") from None
        headers["Content-Type"] = "application/json"
        return data
    if body is None:
        return b""
    return body.encode() if isinstance(body, str) else bytes(body)


def _apiv3_key(value: str | bytes | None) -> bytes | None:
    if value is None:
        return None
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) != 32:
        raise ConfigurationError(
            f"apiv3_key must be the 32-character APIv3 key set in the merchant platform (got {len(key)} characters)"
        )
    return key
