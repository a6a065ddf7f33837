"""What the chain itself costs: attribute hops, template expansion, request building."""

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


def per_op_ns(stmt: Callable[[], object], number: int) -> float:
    """Best of 5 runs, ns per call of `stmt`."""
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e9


def measure_chain(figures: Figures, creds: Credentials, base_url: str, settings: Settings) -> None:
    """ns per attribute hop (cached, uncached), per template expansion, per whole request build."""
    client = chain_client(creds, base_url)
    n = settings.micro
    node = client.v3.pay.transactions
    node.outTradeNo  # noqa: B018 (cache the child)
    figures.micro["cached hop (node.child)"] = per_op_ns(lambda: node.outTradeNo, n)
    figures.micro["cached hop from the client (client.v3)"] = per_op_ns(lambda: client.v3, n)
    figures.micro["cached 5-hop path, per hop"] = (
        per_op_ns(lambda: client.v3.pay.transactions.outTradeNo._out_trade_no_, n) / 5
    )
    rounds = []  # a hop is uncached once per parent, so each round hops from fresh parents
    for _ in range(5):
        parents = [Chain(client, "v3/pay/transactions") for _ in range(n // 5)]
        hop = iter(parents).__next__
        start = time.perf_counter()
        for _ in range(len(parents)):
            hop().outTradeNo  # noqa: B018
        rounds.append((time.perf_counter() - start) / len(parents) * 1e9)
    figures.micro["uncached hop (new child node)"] = min(rounds)
    template = parse("v3/pay/transactions/out-trade-no/{out_trade_no}")
    values = {"out_trade_no": "1217752501201407033233368018"}
    figures.micro["template expansion (one placeholder)"] = per_op_ns(lambda: template.expand(values), n)
    options = {"json": None, "query": {"mchid": creds.mchid}, "body": None, "headers": None}
    figures.micro["build_request (template, query, headers)"] = per_op_ns(
        lambda: client.build_request("GET", template.source, values, options), n // 10
    )
