"""The chain: attribute, `chain()` and `[]` access that builds a URI template segment by segment.

`client.v3.papay.insuranceSign.planId._plan_id_` and `client["v3/papay/insurance-sign/plan-id/{plan_id}"]`
are the same node. Attribute names map to segments:
- `_name_` is the placeholder `{name}`;
- one trailing underscore is dropped (`global_`, `delete_`: Python keywords and the verbs);
- camelCase becomes kebab-case (`insuranceSign` -> `insurance-sign`).
String forms are taken literally.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from .template import check_relative

if TYPE_CHECKING:
    from .._models import Response
    from .._types import Headers, PlaceholderValue, Query, TimeoutTypes

_CAPITAL = re.compile(r"[A-Z]")

CALL_OPTIONS = frozenset(
    {"json", "query", "body", "headers", "base_url", "timeout", "idempotent", "xml", "security", "nonceless"}
)
"""The keyword arguments of a verb that are options, not placeholder values."""


class Sender(Protocol):
    """What a chain node hands its calls to (the client)."""

    def send(
        self, method: str, template: str, values: Mapping[str, object], options: Mapping[str, Any]
    ) -> Coroutine[Any, Any, Response]:
        """Build, sign, send and verify one call (a coroutine: nothing happens before it is awaited)."""
        ...


def segment(name: str) -> str:
    """The path segment an attribute name stands for; AttributeError for private names."""
    if len(name) > 2 and name[0] == "_" and name[-1] == "_" and name[1] != "_":
        return "{" + name[1:-1] + "}"
    if name[:1] == "_" or not name:
        raise AttributeError(name)
    if name[-1] == "_":
        name = name[:-1]
    head, tail = name[:1], name[1:]
    return head.lower() + _CAPITAL.sub(lambda m: "-" + m.group().lower(), tail)


def join(base: str, path: str) -> str:
    """Append a literal path to a template."""
    path = path.lstrip("/")
    if not base:
        return path
    if not path:
        return base
    return base + path if base.endswith("/") else base + "/" + path


R_co = TypeVar("R_co", covariant=True)


class Verb(Protocol[R_co]):
    """The signature shared by the five HTTP verbs of a chain node; `R_co` is what a call gives back.

    The async chain's verbs return a coroutine of the `Response` (`AsyncVerb`); the sync client's
    return the `Response` itself (`wechatpay_chain.sync.BlockingVerb`): one signature for both.
    """

    def __call__(
        self,
        *,
        json: Any = None,
        query: Query | None = None,
        body: bytes | str | None = None,
        headers: Headers | None = None,
        base_url: str | None = None,
        timeout: TimeoutTypes | None = None,
        idempotent: bool | None = None,
        xml: Mapping[str, Any] | None = None,
        security: bool | None = None,
        nonceless: bool | None = None,
        placeholders: Mapping[str, PlaceholderValue] | None = None,
        **values: PlaceholderValue,
    ) -> R_co:
        """Fill the placeholders, then build, sign, send and verify the call.

        APIv2 (`v2/…`): `xml=` holds the fields (the client adds nonce_str and sign),
        `security=True` sends the call with the merchant certificate (the calls that need it always
        are), `nonceless=` overrides whether a nonce_str is added.
        A placeholder named like an option (`{json}`, `{query}`, …) takes its value from
        `placeholders={"json": …}`; any other placeholder can be given either way.
        """
        ...


AsyncVerb = Verb[Coroutine[Any, Any, "Response"]]


class _Verb:
    """Descriptor giving each node its bound `get`/`post`/... callables."""

    __slots__ = ("method",)

    def __init__(self, method: str) -> None:
        self.method = method

    @overload
    def __get__(self, node: None, owner: type) -> _Verb: ...
    @overload
    def __get__(self, node: Chain, owner: type) -> AsyncVerb: ...
    def __get__(self, node: Chain | None, owner: type) -> _Verb | AsyncVerb:
        if node is None:
            return self
        verb: AsyncVerb = partial(node._call, self.method)
        # Kept on the node (this descriptor only reads), so that the next `node.get` is a plain
        # attribute read, as a cached hop is.
        object.__setattr__(node, self.method.lower(), verb)
        return verb


class Chain:
    """A node of the chain: its URI template, and the HTTP verbs to call it."""

    # Children are cached as instance attributes, so a repeated hop is a plain attribute read.
    __slots__ = ("__dict__", "_sender", "_template")
    _sender: Sender
    _template: str

    def __init__(self, sender: Sender, template: str = "") -> None:
        object.__setattr__(self, "_sender", sender)
        object.__setattr__(self, "_template", template)

    def __getattr__(self, name: str) -> Chain:
        child = Chain(self._sender, join(self._template, segment(name)))
        object.__setattr__(self, name, child)
        return child

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"chain nodes are read-only (tried to set {name!r})")

    def __getitem__(self, path: str) -> Chain:
        if not isinstance(path, str):
            raise TypeError(f"a chain path is a str, got {type(path).__name__}")
        check_relative(path)
        return Chain(self._sender, join(self._template, path))

    def chain(self, path: str) -> Chain:
        """The node for a literal path below this one (`node.chain("a/{b}")` == `node["a/{b}"]`)."""
        return self[path]

    def __str__(self) -> str:
        return self._template

    def __repr__(self) -> str:
        return f"<Chain {self._template!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and other._template == self._template

    def __hash__(self) -> int:
        return hash(self._template)

    def _call(self, method: str, /, *args: object, **arguments: Any) -> Coroutine[Any, Any, Response]:
        # `Verb` types the arguments; here they are only split into options and placeholder values.
        # A plain function handing back the sender's coroutine (one coroutine less per call): what
        # it raises are TypeErrors about the arguments, raised at the call as Python raises those.
        if args:
            raise TypeError(
                f"{method.lower()}() takes keyword arguments only: placeholder values by name "
                f"(plan_id=…) and options (json=, query=, headers=, …); got {len(args)} positional"
            )
        options = {}
        for name in CALL_OPTIONS.intersection(arguments):
            options[name] = arguments.pop(name)
        named = arguments.pop("placeholders", None)
        if named is not None:
            if not isinstance(named, Mapping):
                raise TypeError(f"placeholders= takes a mapping of placeholder names to values, got {named!r}")
            clash = sorted(set(named).intersection(arguments))
            if clash:
                raise TypeError(f"{method.lower()}(): {clash} given both as keywords and in placeholders=")
            arguments.update(named)
        return self._sender.send(method, self._template, arguments, options)

    get = _Verb("GET")
    """GET this template: `await node.get(placeholder=value, query={...})`."""
    post = _Verb("POST")
    """POST to this template: `await node.post(placeholder=value, json={...})`."""
    put = _Verb("PUT")
    """PUT to this template."""
    patch = _Verb("PATCH")
    """PATCH this template."""
    delete = _Verb("DELETE")
    """DELETE this template."""
