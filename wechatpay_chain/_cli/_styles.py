"""The three calling styles of one endpoint, as the demo walks them."""

from __future__ import annotations

from typing import cast

from .._chain.nodes import Chain
from .._client import Client


def styles(client: Client, attribute: object, template: str) -> tuple[tuple[str, Chain], ...]:
    """The same endpoint reached the three ways: attributes (typed), `chain()`, and `[]`: all `Chain`s at run time."""
    return (("attribute", cast(Chain, attribute)), ("chain()", client.chain(template)), ("[ ]", client[template]))
