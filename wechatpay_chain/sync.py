"""The sync API, for Flask, Django, Celery and scripts: the async client's calls, blocking.

    from wechatpay_chain.sync import Client

    with Client(mchid, serial, private_key, certs) as wxpay:
        r = wxpay.v3.pay.transactions.id._transaction_id_.get(transaction_id="…", query={…})

Same constructor, same three calling styles (`wxpay.v3.…`, `wxpay.chain("v3/…")`, `wxpay["v3/…"]`),
same `Response`, same errors. Every call runs on the async core (one signer, one verifier, one
refresher) in an event loop that the process's sync clients share, in a thread of its own; any
number of threads may call one client at once. Notifications: `WebhookEndpoint(client, on_event)`
answers them in a view (`status, body = endpoint.respond(headers, raw_body)`), `wsgi_app` serves
them as a WSGI app; `on_event` runs in the calling thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ._client import Client as AsyncClient
from ._errors import ConfigurationError
from ._sync.chain import BlockingVerb, Chain
from ._sync.portal import portal
from ._sync.webhooks import WebhookEndpoint, WsgiWebhook, wsgi_app

if TYPE_CHECKING:
    from ._keys.certificates import CertificateRefresher
    from ._keys.keyring import KeyRing
    from ._secret import Secret
    from ._stack.middleware import MiddlewareStack
    from ._stack.signing import Signer
    from ._stack.verification import Verifier

__all__ = ["BlockingVerb", "Chain", "Client", "WebhookEndpoint", "WsgiWebhook", "wsgi_app"]

P = ParamSpec("P")
R = TypeVar("R")


def _arguments_of(
    init: Callable[Concatenate[AsyncClient, P], None],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Client, P], None]]:
    """Give the decorated `__init__` the async client's parameters (for type checkers and help())."""

    def adopt(function: Callable[..., None]) -> Callable[Concatenate[Client, P], None]:
        function.__signature__ = inspect.signature(init)  # type: ignore[attr-defined]
        return function

    return adopt


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Client, P], R]:
    """The async client's coroutine `method`, run in the portal's loop until it returns."""

    def run(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return portal().call(method(self.aio, *args, **kwargs))

    return _named_after(method, run)


def _delegated(method: Callable[Concatenate[AsyncClient, P], R]) -> Callable[Concatenate[Client, P], R]:
    """The async client's plain `method` (no I/O), called in the caller's thread."""

    def run(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self.aio, *args, **kwargs)

    return _named_after(method, run)


def _named_after(
    method: Callable[..., Any], run: Callable[Concatenate[Client, P], R]
) -> Callable[Concatenate[Client, P], R]:
    """`run`, presented as `method`: its name, docstring and signature (for help() and editors)."""
    run.__name__ = run.__qualname__ = method.__name__
    run.__doc__ = method.__doc__
    run.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    return run


class Client:
    """A blocking WeChat Pay APIv3 client for one merchant: the async `Client`'s constructor and calls.

    Reach any endpoint as `client.v3.pay.transactions.native`, `client.chain("v3/pay/…")` or
    `client["v3/pay/…"]`, then `node.post(json=…)`, which returns the `Response` once verified.
    Safe to share between threads. `session=` takes a function that makes the aiohttp session
    (called in the client's event loop, e.g. `lambda: aiohttp.ClientSession(proxy=…)`); the client
    closes it. Close the client with `close()` or `with`.
    """

    @_arguments_of(AsyncClient.__init__)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        session = kwargs.get("session")
        if session is not None and not callable(session):
            raise ConfigurationError(
                "the sync Client runs its calls in its own event loop, where an aiohttp session made "
                "elsewhere cannot be used: pass session= a function that makes it, "
                "e.g. session=lambda: aiohttp.ClientSession(proxy='http://proxy:3128')"
            )
        self.aio = AsyncClient(*args, **kwargs)
        """The async client underneath (its middleware, keys and refresher are this client's)."""
        self.mchid = self.aio.mchid
        self.serial = self.aio.serial
        self.base_url = self.aio.base_url
        self._root = Chain(self.aio.chain(""))

    # -- what the async client holds ------------------------------------------------------

    @property
    def apiv3_key(self) -> Secret | None:
        """The APIv3 key (redacted in any repr)."""
        return self.aio.apiv3_key

    @property
    def certificates(self) -> KeyRing:
        """WeChat Pay's keys held by the client."""
        return self.aio.certificates

    @property
    def refresher(self) -> CertificateRefresher | None:
        """The platform certificate refresher (with `apiv3_key=`)."""
        return self.aio.refresher

    @property
    def middleware(self) -> MiddlewareStack:
        """The async client's middleware stack (the calls made here go through it)."""
        return self.aio.middleware

    @property
    def signer(self) -> Signer:
        """The stack's "signer"."""
        return self.aio.signer

    @property
    def verifier(self) -> Verifier:
        """The stack's "verifier" (notifications are checked by it)."""
        return self.aio.verifier

    # -- the chain ------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Chain:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._root, name)  # type: ignore[no-any-return]

    def __getitem__(self, path: str) -> Chain:
        return self._root[path]

    def chain(self, path: str) -> Chain:
        """The blocking chain node for a URI template such as `"v3/pay/transactions/id/{transaction_id}"`."""
        return self._root[path]

    # -- calls ----------------------------------------------------------------------------

    build_request = _delegated(AsyncClient.build_request)
    decrypt = _delegated(AsyncClient.decrypt)
    send = _blocking(AsyncClient.send)
    execute = _blocking(AsyncClient.execute)
    encrypt = _blocking(AsyncClient.encrypt)
    upload = _blocking(AsyncClient.upload)
    download = _blocking(AsyncClient.download)
    download_bill = _blocking(AsyncClient.download_bill)
    jsapi_params = _blocking(AsyncClient.jsapi_params)
    app_params = _blocking(AsyncClient.app_params)

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the client's session and stop its background refresh; calls fail from now on."""
        portal().call(self.aio.close())

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<sync Client mchid={self.mchid!r} serial={self.serial!r} base_url={self.base_url!r}>"
