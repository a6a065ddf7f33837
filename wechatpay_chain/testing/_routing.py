"""The emulator's one route table: (method, URI template) -> handler(request, path parameters).

Every family declares its endpoints as `Route`s; the `Router` matches a request against all of
them in one place, in the order they were added (stubs go first), and turns a `Refusal` raised by
a handler into its error answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator

from ._http import Answer, Incoming, Refusal
from ._wire import Wire

Params = dict[str, str]
Handler = Callable[[Incoming, Params], "Answer | Awaitable[Answer]"]

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


class Template:
    """A URI template such as `v3/orders/{out_trade_no}`: `{x}` takes one non-empty decoded segment."""

    __slots__ = ("_parts", "names", "text")

    def __init__(self, text: str) -> None:
        self.text = text.lstrip("/").partition("?")[0]
        self.names: tuple[str, ...] = tuple(_PLACEHOLDER.findall(self.text))
        # Per segment: the literal it must equal, the name it binds, or a pattern with several names.
        self._parts: tuple[str | tuple[str] | re.Pattern[str], ...] = tuple(
            _part(segment) for segment in self.text.split("/")
        )

    def __len__(self) -> int:
        return len(self._parts)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    def match(self, segments: tuple[str, ...]) -> Params | None:
        """The path parameters when `segments` fit the template, else None."""
        if len(segments) != len(self._parts):
            return None
        params: Params = {}
        for part, segment in zip(self._parts, segments, strict=True):
            if isinstance(part, str):
                if part != segment:
                    return None
            elif isinstance(part, tuple):
                if not segment:
                    return None
                params[part[0]] = segment
            else:
                found = part.fullmatch(segment)
                if found is None:
                    return None
                params.update(found.groupdict())
        return params


def _part(segment: str) -> str | tuple[str] | re.Pattern[str]:
    names = _PLACEHOLDER.findall(segment)
    if not names:
        return segment
    if segment == "{" + names[0] + "}":
        return (names[0],)
    pieces = _PLACEHOLDER.split(segment)  # literal, name, literal, name, ..., literal
    pattern = "".join(
        re.escape(piece) if i % 2 == 0 else f"(?P<{_group(piece)}>[^/]+)" for i, piece in enumerate(pieces)
    )
    return re.compile(pattern)


def _group(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"placeholder {{{name}}} shares its segment with others: name it like a Python identifier")
    return name


class Route:
    """One endpoint: `method template` answered by `handler(incoming, path_params)`.

    `wire` is the protocol its traffic follows; None is the emulator's default, APIv3.
    """

    __slots__ = ("handler", "method", "template", "wire")

    def __init__(self, method: str, template: str | Template, handler: Handler, *, wire: Wire | None = None) -> None:
        self.method = method.upper()
        self.template = template if isinstance(template, Template) else Template(template)
        self.handler = handler
        self.wire = wire

    def __repr__(self) -> str:
        return f"Route({self.method!r}, {self.template.text!r})"


class Router:
    """The route table: routes by method and segment count, each bucket in priority order."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._buckets: dict[tuple[str, int], list[Route]] = {}
        for route in routes:
            self.add(route)

    def add(self, route: Route, *, first: bool = False) -> None:
        """Serve `route`, after the routes already added (before them when `first`)."""
        bucket = self._buckets.setdefault((route.method, len(route.template)), [])
        if first:
            bucket.insert(0, route)
        else:
            bucket.append(route)

    def __iter__(self) -> Iterator[Route]:
        for bucket in self._buckets.values():
            yield from bucket

    def match(self, method: str, segments: tuple[str, ...]) -> tuple[Route, Params] | None:
        """The first route matching the request, with its path parameters."""
        for route in self._buckets.get((method.upper(), len(segments)), ()):
            params = route.template.match(segments)
            if params is not None:
                return route, params
        return None

    async def answer(self, incoming: Incoming) -> Answer | None:
        """The matching route's answer (a `Refusal` answered as its error), or None when no route matches."""
        found = self.match(incoming.method, incoming.segments)
        return None if found is None else await call(found[0], found[1], incoming)


async def call(route: Route, params: Params, incoming: Incoming) -> Answer:
    """The route's answer to the request; a `Refusal` it raises is answered as its error."""
    try:
        answer = route.handler(incoming, params)
        return answer if isinstance(answer, Answer) else await answer
    except Refusal as refusal:
        return refusal.answer()
