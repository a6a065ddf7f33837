"""The sync client against the emulator: the async client's calls and errors, blocking, from many threads at once."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from background import emulator_thread, wsgi_server

from wechatpay_chain import (
    ApiError,
    EventLoopError,
    Request,
    Response,
    SignatureError,
    TemplateError,
    TransportError,
    WechatpayError,
)
from wechatpay_chain import Client as AsyncClient
from wechatpay_chain._chain.nodes import Verb
from wechatpay_chain._stack.middleware import Handler
from wechatpay_chain.sync import BlockingVerb, Client
from wechatpay_chain.testing import Answer, Credentials, EmulatorThread, Incoming
from wechatpay_chain.testing._families.certificates import decrypt_sensitive

THREADS = 16
CALLS_PER_THREAD = 8


@pytest.fixture
def served(credentials: Credentials) -> Iterator[EmulatorThread]:
    with emulator_thread(credentials) as served:
        yield served


@pytest.fixture
def wxpay(served: EmulatorThread) -> Iterator[Client]:
    emulator = served.emulator
    served.call(lambda: emulator.stub("GET", "v3/ping", {"ok": 1}))
    with Client(**emulator.client_settings()) as client:
        yield client


def test_three_calling_styles_return_the_same_response(wxpay: Client) -> None:
    for node in (wxpay.v3.ping, wxpay.chain("v3/ping"), wxpay["v3/ping"], wxpay.v3["ping"]):
        response = node.get()
        assert isinstance(response, Response)
        assert (response.status, response.json()) == (200, {"ok": 1})
    assert wxpay.v3.ping == wxpay["v3/ping"] and str(wxpay.v3.pay._id_) == "v3/pay/{id}"


def test_placeholders_and_queries_fill_the_signed_target(wxpay: Client, served: EmulatorThread) -> None:
    emulator = served.emulator
    with pytest.raises(ApiError) as caught:  # the payments family refuses an id that is not digits
        wxpay.v3.pay.transactions.id._transaction_id_.get(transaction_id="42 x", query={"mchid": "1900000109"})
    assert (caught.value.status, caught.value.code) == (400, "PARAM_ERROR")
    assert emulator.received[-1].target == "/v3/pay/transactions/id/42%20x?mchid=1900000109"


def test_the_same_errors_as_the_async_client(wxpay: Client, served: EmulatorThread) -> None:
    emulator = served.emulator
    sent = len(emulator.received)
    with pytest.raises(TemplateError, match="transaction_id"):
        wxpay.v3.pay.transactions.id._transaction_id_.get()
    with pytest.raises(TypeError, match="keyword arguments only"):
        wxpay.v3.ping.get("positional")  # type: ignore[call-arg]
    assert len(emulator.received) == sent  # refused before anything was sent
    served.call(lambda: emulator.fault("bad_signature", "v3/ping", times=1))
    with pytest.raises(SignatureError, match="does not verify"):
        wxpay.v3.ping.get()
    served.call(lambda: emulator.fault("delay", "v3/ping", times=1, seconds=2))
    with pytest.raises(TransportError, match=r"no answer within 0\.2 s"):
        wxpay.v3.ping.get(timeout=0.2)


class Echo:
    """`GET v3/echo/{id}` on the emulator, answering its id after a pause; counts the calls in flight at once."""

    def __init__(self) -> None:
        self.in_flight = self.most = 0

    async def __call__(self, incoming: Incoming) -> Answer | None:
        if not incoming.path.startswith("/v3/echo/"):
            return None
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.02)  # long enough for the other threads' calls to arrive meanwhile
        self.in_flight -= 1
        return Answer(200, {"id": incoming.path.rsplit("/", 1)[1]})


@pytest.fixture
def echo(served: EmulatorThread) -> Echo:
    handler = Echo()
    served.call(served.emulator.add_handler, handler)
    return handler


@pytest.fixture
def verified(wxpay: Client) -> list[str]:
    """The signatures of the answers the client's verifier accepted."""
    accepted: list[str] = []

    async def audit(request: Request, call_next: Handler) -> Response:
        response = await call_next(request)  # the verifier inside has accepted it
        accepted.append(response.headers["Wechatpay-Signature"])
        return response

    wxpay.middleware.insert_before("verifier", "audit", audit)
    return accepted


def at_once(work: Callable[[int], None], threads: int = THREADS) -> None:
    """Run `work(n)` in `threads` threads released together; raises the first failure."""
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as exc:
            failures.append(exc)

    running = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert failures == []


def test_sixteen_threads_at_once_every_answer_verified(wxpay: Client, echo: Echo, verified: list[str]) -> None:
    answers: dict[str, object] = {}

    def work(thread: int) -> None:
        for call in range(CALLS_PER_THREAD):
            ident = f"{thread}-{call}"
            answers[ident] = wxpay.v3.echo._id_.get(id=ident).json()["id"]

    at_once(work)
    assert answers == {key: key for key in answers} and len(answers) == THREADS * CALLS_PER_THREAD
    assert len(verified) == THREADS * CALLS_PER_THREAD and len(set(verified)) == len(verified)
    assert echo.most > 1  # the threads' calls overlapped: none waited for another to finish


def test_views_of_a_real_wsgi_server_call_it_from_sixteen_threads(
    wxpay: Client, echo: Echo, verified: list[str]
) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., object]) -> list[bytes]:
        order = environ["PATH_INFO"].rsplit("/", 1)[1]
        answer = wxpay.v3.echo._id_.get(id=order)  # in the server's request thread
        start_response("200 OK", [("Content-Type", "application/json")])
        return [answer.body]

    pages: dict[int, bytes] = {}
    with wsgi_server(app) as base:

        def browse(n: int) -> None:
            with urllib.request.urlopen(f"{base}/orders/O{n}", timeout=30) as page:
                pages[n] = page.read()

        at_once(browse)
    assert pages == {n: f'{{"id":"O{n}"}}'.encode() for n in range(THREADS)}
    assert len(verified) == THREADS and echo.most > 1


def test_close_and_with(served: EmulatorThread) -> None:
    emulator = served.emulator
    served.call(lambda: emulator.stub("GET", "v3/ping", {"ok": 1}))
    with Client(**emulator.client_settings()) as client:
        assert client.v3.ping.get().status == 200
    with pytest.raises(WechatpayError, match="closed"):
        client.v3.ping.get()
    client.close()  # closing twice is harmless


def test_files_and_sensitive_fields(wxpay: Client, served: EmulatorThread, tmp_path: Path) -> None:
    emulator = served.emulator
    logo = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    media_id = wxpay.upload("v3/merchant/media/upload", logo, filename="logo.png").json()["media_id"]
    assert emulator.files.media[media_id].content == logo
    bill = wxpay.download_bill("2024-06-01", tmp_path / "bill.csv")
    assert bill.verified and bill.digest == hashlib.sha1((tmp_path / "bill.csv").read_bytes()).hexdigest()
    sealed = wxpay.encrypt("张三")
    assert decrypt_sensitive(emulator.credentials, sealed.serial, sealed) == "张三"
    params = wxpay.jsapi_params("wxd678efh567hg6787", "wx201410272009395522657a690389285100")
    assert params["signType"] == "RSA" and params["package"].startswith("prepay_id=")


def test_a_proxy_session_is_made_in_the_clients_loop(served: EmulatorThread) -> None:
    import aiohttp

    emulator = served.emulator
    served.call(lambda: emulator.stub("GET", "v3/ping", {"ok": 1}))
    made: list[aiohttp.ClientSession] = []

    def session() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession(headers={"Via": "1.1 proxy"}))
        return made[-1]

    with Client(**emulator.client_settings(session=session)) as client:
        client.v3.ping.get()
        client.v3.ping.get()
    assert len(made) == 1 and made[0].closed
    assert emulator.received[-1].headers["Via"] == "1.1 proxy"


def test_an_aiohttp_session_object_is_refused_with_the_way_out(served: EmulatorThread) -> None:
    emulator = served.emulator

    async def make() -> object:
        import aiohttp

        return aiohttp.ClientSession()

    session = served.run(make())
    with pytest.raises(WechatpayError, match=r"session= a function that makes it"):
        Client(**emulator.client_settings(session=session))
    served.run(session.close())  # type: ignore[attr-defined]


def test_calling_from_its_own_loop_fails_at_once(wxpay: Client) -> None:
    async def reentrant(request: Request, call_next: Handler) -> Response:
        wxpay.v3.ping.get()  # a blocking call inside the client's own loop would wait forever
        return await call_next(request)

    wxpay.middleware.prepend("reentrant", reentrant)
    with pytest.raises(EventLoopError, match="await the async Client"):
        wxpay.v3.ping.get()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_a_forked_worker_gets_its_own_loop(wxpay: Client) -> None:
    # gunicorn --preload: the client is made, and used, in the master before the workers fork.
    assert wxpay.v3.ping.get().status == 200
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the status of one call, then leave without cleanup
        try:
            status = wxpay.v3.ping.get().status
            os.write(write, str(status).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        reported = pipe.read()
    os.waitpid(pid, 0)
    assert reported == b"200"
    assert wxpay.v3.ping.get().status == 200  # the parent's client is untouched


def test_the_sync_api_mirrors_the_async_signatures() -> None:
    def parameters(function: object) -> list[tuple[str, object, object]]:
        found = inspect.signature(function)  # type: ignore[arg-type]
        return [(p.name, p.kind, p.default) for p in found.parameters.values()]

    assert parameters(Client) == parameters(AsyncClient)
    assert parameters(BlockingVerb.__call__) == parameters(Verb.__call__)
    mirrored = ("send", "execute", "encrypt", "upload", "download", "download_bill", "jsapi_params", "app_params")
    for name in (*mirrored, "build_request", "decrypt"):
        assert parameters(getattr(Client, name)) == parameters(getattr(AsyncClient, name)), name
        assert getattr(Client, name).__doc__ == getattr(AsyncClient, name).__doc__


def test_secrets_stay_out_of_its_repr(wxpay: Client) -> None:
    text = repr(wxpay) + repr(vars(wxpay))
    assert wxpay.apiv3_key is not None
    assert wxpay.apiv3_key.reveal().decode() not in text
    assert "PRIVATE KEY" not in text
