"""The middleware stack: named async functions around the transport.

A middleware is `async def mw(request, call_next) -> Response`. The first in the stack is the
outermost: it sees the request first and the response last.

A middleware with nothing to await (one that only passes a request on, or changes it first) may
be a plain function returning `call_next(request)`: the caller awaits that awaitable directly.
The default middlewares are written so wherever they can, because each coroutine between the
caller and the transport is created, resumed at every wake-up of the call's I/O, and unwound,
on every call (about 1.5 µs a layer, measured in `benchmarks/performance`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from .._models import Request, Response

Handler = Callable[[Request], Awaitable[Response]]
Middleware = Callable[[Request, Handler], Awaitable[Response]]


def _bind(middleware: Middleware, call_next: Handler) -> Handler:
    # A plain function handing back the middleware's awaitable: an `async def` wrapper here
    # would add a coroutine to create, await and unwind per middleware and per call.
    def handler(request: Request) -> Awaitable[Response]:
        return middleware(request, call_next)

    return handler


class MiddlewareStack:
    """An ordered, named list of middlewares ending in the transport."""

    def __init__(self, transport: Handler) -> None:
        self._transport = transport
        self._entries: list[tuple[str, Middleware]] = []
        self._handler: Handler = transport
        self._bypasses: dict[str, Handler] = {}
        self._named: dict[str, Middleware] = {}

    def _index(self, name: str) -> int:
        for i, (entry, _) in enumerate(self._entries):
            if entry == name:
                return i
        raise KeyError(f"no middleware named {name!r}; the stack holds {self.names()}")

    def _insert(self, index: int, name: str, middleware: Middleware) -> None:
        if name in self:
            raise ValueError(f"a middleware named {name!r} is already in the stack")
        self._entries.insert(index, (name, middleware))
        self._rebuild()

    def _rebuild(self) -> None:
        # Composed once per change, so a call pays only the middlewares themselves.
        self._handler = self._compose(None)
        self._bypasses.clear()
        self._named = dict(self._entries)

    def _compose(self, skipped: str | None) -> Handler:
        handler = self._transport
        for name, middleware in reversed(self._entries):
            if name != skipped:
                handler = _bind(middleware, handler)
        return handler

    def bypassing(self, name: str) -> Handler:
        """The stack without the middleware `name` (the certificate download skips the verifier this way)."""
        handler = self._bypasses.get(name)
        if handler is None:
            handler = self._bypasses[name] = self._compose(name)
        return handler

    def append(self, name: str, middleware: Middleware) -> None:
        """Add a middleware innermost (just before the transport)."""
        self._insert(len(self._entries), name, middleware)

    def prepend(self, name: str, middleware: Middleware) -> None:
        """Add a middleware outermost."""
        self._insert(0, name, middleware)

    def insert_before(self, ref: str, name: str, middleware: Middleware) -> None:
        """Add a middleware just outside the one named `ref`."""
        self._insert(self._index(ref), name, middleware)

    def insert_after(self, ref: str, name: str, middleware: Middleware) -> None:
        """Add a middleware just inside the one named `ref`."""
        self._insert(self._index(ref) + 1, name, middleware)

    def replace(self, name: str, middleware: Middleware) -> None:
        """Swap the middleware named `name` for another, keeping its place."""
        self._entries[self._index(name)] = (name, middleware)
        self._rebuild()

    def remove(self, name: str) -> Middleware:
        """Take the middleware named `name` out of the stack and return it."""
        middleware = self._entries.pop(self._index(name))[1]
        self._rebuild()
        return middleware

    def names(self) -> list[str]:
        """The middleware names, outermost first."""
        return [name for name, _ in self._entries]

    def __getitem__(self, name: str) -> Middleware:
        # By name from a dict made per change: notifications ask for the current verifier each time.
        try:
            return self._named[name]
        except KeyError:
            self._index(name)  # raises the KeyError that lists the stack
            raise

    def __contains__(self, name: object) -> bool:
        return any(entry == name for entry, _ in self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<MiddlewareStack {self.names()}>"

    def __call__(self, request: Request) -> Awaitable[Response]:
        # The composed handler's own awaitable: no coroutine of the stack's around the middlewares.
        return self._handler(request)
