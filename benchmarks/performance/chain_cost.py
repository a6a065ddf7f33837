"""What the chain itself costs, in ns per operation: attribute hops, template expansion, request building."""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable

from wechatpay_chain._chain.nodes import Chain
from wechatpay_chain._chain.template import parse
from wechatpay_chain.testing import Credentials

from .config import Settings
from .figures import Figures
from .ours import chain_client
from .workload import QUERY_TEMPLATE, native_order, order_no


def _ns(stmt: Callable[[], object], number: int) -> float:
    return timeit.timeit(stmt, number=number) / number * 1e9


def _uncached_hop_ns(client: object, number: int) -> float:
    # A hop is uncached once per parent, so each one hops from a fresh parent.
    parents = [Chain(client, "v3/pay/transactions") for _ in range(number)]  # type: ignore[arg-type]
    started = time.perf_counter()
    for parent in parents:
        parent.outTradeNo  # noqa: B018
    return (time.perf_counter() - started) / number * 1e9


def measure_chain(figures: Figures, creds: Credentials, settings: Settings) -> None:
    """ns per operation, one value per round (the median is reported)."""
    client = chain_client(creds)
    n = settings.micro
    node = client.v3.pay.transactions
    node.outTradeNo  # noqa: B018 (cache the child)
    template = parse(QUERY_TEMPLATE)
    values = {"out_trade_no": order_no(1)}
    get = {"json": None, "query": {"mchid": creds.mchid}, "body": None, "headers": None}
    post = {"json": native_order(creds.mchid, 1), "query": None, "body": None, "headers": None}
    figures_of: dict[str, Callable[[], float]] = {
        "cached hop (node.child)": lambda: _ns(lambda: node.outTradeNo, n),
        "cached hop from the client (client.v3)": lambda: _ns(lambda: client.v3, n),
        "cached 5-hop path, per hop": lambda: _ns(lambda: client.v3.pay.transactions.outTradeNo._out_trade_no_, n) / 5,
        "uncached hop (new child node)": lambda: _uncached_hop_ns(client, n // 10),
        "template expansion (one placeholder)": lambda: _ns(lambda: template.expand(values), n),
        "build_request, GET (template, query, headers)": lambda: _ns(
            lambda: client.build_request("GET", QUERY_TEMPLATE, values, get), n // 10
        ),
        "build_request, POST (JSON body, headers)": lambda: _ns(
            lambda: client.build_request("POST", "v3/pay/transactions/native", {}, post), n // 10
        ),
    }
    for _ in range(settings.micro_rounds):
        for name, measure in figures_of.items():
            figures.micro.add(name, measure())
