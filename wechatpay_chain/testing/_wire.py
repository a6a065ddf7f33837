"""How a route's requests are authenticated and its answers put on the wire: a `Wire`.

APIv3 (`_apiv3.py`) is the default: an Authorization header checked, JSON answers signed with
`Wechatpay-*` headers. A route of another protocol (APIv2: XML, a signature inside the body)
names its own `Wire`; the server then authenticates and seals that route's traffic with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp.payload import Payload

from ._http import Answer, Incoming

FaultParams = Mapping[str, Mapping[str, Any]]
"""The faults that hit a request: kind -> its parameters."""


class Wire(Protocol):
    """A protocol's two ends of an exchange, as the emulated WeChat Pay sees them."""

    def authenticate(self, incoming: Incoming) -> None:
        """Raise `Refusal` when the request fails the protocol's authentication."""
        ...

    def seal(self, incoming: Incoming, answer: Answer, faults: FaultParams) -> tuple[dict[str, str], bytes | Payload]:
        """The headers and body that carry `answer`, encoded and signed as the protocol does (faults applied)."""
        ...
