"""What every kind of order serves: a place endpoint per channel, a query by id, a query by number, a close.

`OrderEndpoints` builds the four routes from the kind's paths and specs, and registers the kind's
`view` (its query answer, also its TRANSACTION.SUCCESS resource) with the ledger; each kind
(`orders.py`, `partner.py`, `combined.py`) writes the handlers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from ..._http import Answer
from ..._routing import Route
from ..._validation import Call, Specs
from ._ledger import Ledger
from ._specs import PATH

Target = TypeVar("Target")


class OrderEndpoints(ABC, Generic[Target]):
    """The endpoints of one kind of order: `{base}/{channel}`, `{base}/id/{id}`, `{base}/out-trade-no/{no}[/close]`."""

    kind: ClassVar[str]
    base: ClassVar[str]  # e.g. v3/pay/transactions
    channels: ClassVar[Mapping[str, Specs]]  # the place endpoints' last segment, and their body
    query: ClassVar[Specs] = ()  # of both queries
    close_body: ClassVar[Specs]
    id_name: ClassVar[str] = "transaction_id"
    number_name: ClassVar[str] = "out_trade_no"

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        ledger.views[self.kind] = self.view

    def routes(self) -> list[Route]:
        """Place (one route per channel), query by id and by number, and close."""
        route = partial(self.ledger.route, path=PATH)
        number = f"{self.base}/out-trade-no/{{{self.number_name}}}"
        places = [
            route("POST", f"{self.base}/{channel}", partial(self._place, channel=channel), body=specs)
            for channel, specs in self.channels.items()
        ]
        return [
            *places,
            route("GET", f"{self.base}/id/{{{self.id_name}}}", self._by_id, query=self.query),
            route("GET", number, self._by_number, query=self.query),
            route("POST", number + "/close", self._close, body=self.close_body),
        ]

    @abstractmethod
    def view(self, target: Target) -> dict[str, Any]:
        """The order as the queries answer it (and as TRANSACTION.SUCCESS carries it)."""

    @abstractmethod
    def _place(self, call: Call, *, channel: str) -> Answer: ...

    @abstractmethod
    def _by_id(self, call: Call) -> Answer: ...

    @abstractmethod
    def _by_number(self, call: Call) -> Answer: ...

    @abstractmethod
    def _close(self, call: Call) -> Answer: ...
