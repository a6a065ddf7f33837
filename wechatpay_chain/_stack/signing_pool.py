"""Signing in worker processes: the opt-in `ProcessPoolSigner`, for merchants whose calls are CPU-bound.

Each worker is a process with one pipe; the event loop watches the pipes itself (add_reader).
A concurrent.futures.ProcessPoolExecutor was measured first: its manager and feeder threads cost
the event loop's process 200-300 µs of CPU per signature (GIL hand-offs between three threads),
a third of the signature itself; a pipe read by the loop costs 60-80 µs.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
import weakref
from collections import deque
from multiprocessing.connection import Connection

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from .. import _hazmat
from .._errors import ConfigurationError, WechatpayError
from .._keys.loading import load_private_key
from .._types import PrivateKeyInput

_SENT_PER_WORKER = 4  # messages in a worker's pipe at once; the others wait in the signer's queue
_FAILED = b"!"  # starts a worker's answer when signing raised (base64 never starts with it)
_STOP_TIMEOUT = 5.0  # seconds a worker has to exit once its pipe is closed; then it is killed


def _serve(conn: Connection, pkcs8_der: bytes) -> None:
    """A worker process: load the key once, then sign each message received, in order, until EOF."""
    key = serialization.load_der_private_key(pkcs8_der, password=None)
    assert isinstance(key, RSAPrivateKey)
    # Ctrl+C reaches the whole process group; the parent handles it and closes the pipes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):  # the pipe was closed: by aclose(), or because the parent died
            return
        try:
            answer = _hazmat.rsa_sign(key, message).encode("ascii")
        except Exception as exc:  # answer anyway: the parent is waiting for this message's turn
            answer = _FAILED + type(exc).__name__.encode()
        try:
            conn.send_bytes(answer)
        except OSError:  # closed while this one was signed: nobody waits for it, so leave quietly
            return


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (containers, taskset)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_Pending = tuple[bytes, "asyncio.Future[str]"]


class _Worker:
    """One signing process, its end of the pipe, and the messages it has not answered yet, in order."""

    def __init__(self, pkcs8_der: bytes) -> None:
        # "spawn", never "fork": forking a process that runs an event loop, aiohttp and other
        # threads copies their locks mid-use, and the child can deadlock. A spawned worker starts
        # from a fresh interpreter and holds only its own end of its own pipe, so it reads EOF
        # and exits as soon as this process closes the pipe or dies, however it dies.
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        # Daemonic: multiprocessing terminates it at interpreter exit if nobody closed the signer.
        self.process = context.Process(
            target=_serve, args=(child, pkcs8_der), name="wechatpay_chain signer", daemon=True
        )
        self.process.start()
        child.close()
        self.sent: deque[_Pending] = deque()
        self.answered = 0


def _stop(workers: list[_Worker]) -> None:
    """Close the pipes, so the workers exit; wait for them (killing any that do not exit)."""
    for worker in workers:
        worker.conn.close()
    for worker in workers:
        worker.process.join(_STOP_TIMEOUT)
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
        worker.process.close()


class ProcessPoolSigner:
    """A signing key that signs in worker processes, so that a busy client uses every core.

    An RSA-2048 signature is most of a call's CPU, and `cryptography` holds the GIL while it signs,
    so a client signing in its own process tops out at one core. This signer sends each message to
    one of `workers` processes (default: one per usable core) and awaits the signature. Opt in
    with `Client(mchid, serial, signer=ProcessPoolSigner(private_key, workers=n), …)`; the client
    stops the workers in `close()` (its signer's `aclose()`).

    When it helps: many calls in flight at once on a machine with 2 or more cores. Measured on 2
    cores, it breaks even at about 4 calls in flight and gives 1.4-1.5 times the calls/s of
    in-process signing from 8 on. When it hurts:
    one call at a time, where each call also waits for the round trip to a worker (about 0.2 ms,
    15 % fewer calls/s) and nothing else runs meanwhile. Each worker is a Python process of its
    own (about 50 MB resident).

    The private key is sent to each worker once, when it starts (PKCS#8 DER, through the start-up
    pipe); it never travels with a message and is never in a repr, log line or exception.
    The workers start on first use, all at once, and stop on `aclose()`, when the signer is
    garbage-collected, at interpreter exit, or when this process dies. A worker that dies is
    replaced and its messages signed again (one that dies while starting fails its calls with the
    reason instead). The workers are started with the "spawn" method, which
    re-imports the program's main module in each worker: guard the entry point of the script that
    creates the client with `if __name__ == "__main__":`, as any multiprocessing program must.
    POSIX only (Linux, macOS): the event loop watches the workers' pipes. One event loop at a time.
    """

    def __init__(
        self,
        private_key: PrivateKeyInput,
        *,
        workers: int | None = None,
        password: str | bytes | None = None,
    ) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ConfigurationError(f"signing workers must be a number of processes >= 1, got {workers!r}")
        if sys.platform == "win32":
            raise ConfigurationError("signing in worker processes needs Linux or macOS; sign in-process on Windows")
        self._private_key = load_private_key(private_key, password=password)
        self.workers = workers or _usable_cpus()
        self._pool: list[_Worker] = []
        self._queue: deque[_Pending] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Forgotten, never closed: the workers stop when the signer is collected (the list, not
        # self, is what the finalizer holds).
        self._finalizer = weakref.finalize(self, _stop, self._pool)

    async def sign(self, message: bytes) -> str:
        """Base64 RSA-SHA256 signature of `message`, made in a worker process."""
        future: asyncio.Future[str] = self._running_loop().create_future()
        self._queue.append((message, future))
        self._dispatch()
        return await future

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise WechatpayError("this ProcessPoolSigner is closed (its Client was closed, or aclose() was called)")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None and not self._loop.is_closed():
                for worker in self._pool:
                    self._loop.remove_reader(worker.conn.fileno())
            self._loop = loop
            for worker in self._pool:
                loop.add_reader(worker.conn.fileno(), self._on_readable, worker)
        if not self._pool:
            for _ in range(self.workers):
                self._start_worker()
        return loop

    def _start_worker(self) -> _Worker:
        assert self._loop is not None
        der = self._private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        worker = _Worker(der)
        self._pool.append(worker)
        self._loop.add_reader(worker.conn.fileno(), self._on_readable, worker)
        return worker

    def _dispatch(self) -> None:
        """Send queued messages to the least busy workers, up to _SENT_PER_WORKER each."""
        while self._queue and self._pool:
            worker = min(self._pool, key=lambda w: len(w.sent))
            if len(worker.sent) >= _SENT_PER_WORKER:
                return
            message, future = self._queue.popleft()
            if future.done():  # its call was cancelled: no signature needed
                continue
            worker.sent.append((message, future))
            # On failure the worker has died: its pipe reads EOF next, and _replace resends its messages.
            with contextlib.suppress(OSError):
                worker.conn.send_bytes(message)

    def _on_readable(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                answer = worker.conn.recv_bytes()
                worker.answered += 1
                _, future = worker.sent.popleft()
                _settle(future, answer)
        except (EOFError, OSError):
            self._replace(worker)
        self._dispatch()

    def _replace(self, worker: _Worker) -> None:
        """A worker died: start another and send its messages again, unless it died while starting."""
        assert self._loop is not None
        self._loop.remove_reader(worker.conn.fileno())
        self._pool.remove(worker)
        _stop([worker])
        if worker.answered:  # it ran, then was killed (out of memory, a signal): carry on without it
            self._queue.extendleft(reversed(worker.sent))
            self._start_worker()
            return
        # Starting another would fail the same way, so its callers get the reason instead.
        error = WechatpayError(
            "a signing worker process exited while starting (its error is on stderr); if the script that "
            "creates the client has no `if __name__ == '__main__':` guard, add one: each worker re-imports it"
        )
        waiting = [*worker.sent, *(() if self._pool else self._queue)]  # no worker left: fail the queue too
        if not self._pool:
            self._queue.clear()
        for _, future in waiting:
            if not future.done():
                future.set_exception(error)

    async def aclose(self) -> None:
        """Stop the worker processes (calls still waiting for a signature fail); `Client.close()` calls it."""
        self._closed = True
        workers = self._pool[:]
        self._pool.clear()
        if self._loop is not None and not self._loop.is_closed():
            for worker in workers:
                self._loop.remove_reader(worker.conn.fileno())
        error = WechatpayError("the ProcessPoolSigner was closed before this call was signed")
        for _, future in [*self._queue, *(item for worker in workers for item in worker.sent)]:
            if not future.done():
                future.set_exception(error)
        self._queue.clear()
        await asyncio.to_thread(_stop, workers)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._pool else "not started"
        return f"<ProcessPoolSigner workers={self.workers} {state}>"


def _settle(future: asyncio.Future[str], answer: bytes) -> None:
    if future.done() or future.get_loop().is_closed():  # cancelled, or its event loop is gone
        return
    if answer.startswith(_FAILED):
        future.set_exception(WechatpayError(f"signing failed in a worker process ({answer[1:].decode()})"))
    else:
        future.set_result(answer.decode("ascii"))
