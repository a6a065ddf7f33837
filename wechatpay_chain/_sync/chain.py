"""Blocking chain nodes: the async chain's nodes, each verb run in the portal's loop until it returns.

`client.v3.pay…`, `client.chain("…")` and `client["…"]` build the same async `Chain` node they
build on the async client (one parser, one request builder); this layer only waits for the call.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, overload

from .._chain.nodes import Chain as AsyncChain
from .._chain.nodes import Verb
from .portal import portal

if TYPE_CHECKING:
    from .._models import Response


class BlockingVerb(Verb["Response"], Protocol):
    """The signature shared by the five verbs of a blocking chain node: the async verbs', returning the Response."""


class _Verb:
    """Descriptor giving each node its bound blocking `get`/`post`/... callables."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, node: None, owner: type) -> _Verb: ...
    @overload
    def __get__(self, node: Chain, owner: type) -> BlockingVerb: ...
    def __get__(self, node: Chain | None, owner: type) -> _Verb | BlockingVerb:
        if node is None:
            return self
        return partial(node._call, self.name)


class Chain:
    """A node of the blocking chain: its URI template, and the HTTP verbs to call it."""

    # Children are cached as instance attributes, as the async nodes do.
    __slots__ = ("__dict__", "_node")
    _node: AsyncChain

    def __init__(self, node: AsyncChain) -> None:
        object.__setattr__(self, "_node", node)

    def __getattr__(self, name: str) -> Chain:
        child = Chain(getattr(self._node, name))
        object.__setattr__(self, name, child)
        return child

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"chain nodes are read-only (tried to set {name!r})")

    def __getitem__(self, path: str) -> Chain:
        return Chain(self._node[path])

    def chain(self, path: str) -> Chain:
        """The node for a literal path below this one (`node.chain("a/{b}")` == `node["a/{b}"]`)."""
        return self[path]

    def __str__(self) -> str:
        return str(self._node)

    def __repr__(self) -> str:
        return f"<sync Chain {str(self._node)!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and other._node == self._node

    def __hash__(self) -> int:
        return hash(self._node)

    def _call(self, verb: str, /, *args: object, **arguments: Any) -> Response:
        # The process's portal, looked up per call: a forked worker gets its own.
        response: Response = portal().call(getattr(self._node, verb)(*args, **arguments))
        return response

    get = _Verb("get")
    """GET this template: `node.get(placeholder=value, query={...})`."""
    post = _Verb("post")
    """POST to this template: `node.post(placeholder=value, json={...})`."""
    put = _Verb("put")
    """PUT to this template."""
    patch = _Verb("patch")
    """PATCH this template."""
    delete = _Verb("delete")
    """DELETE this template."""
