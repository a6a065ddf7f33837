"""wechatpay_chain as a user runs it: the default client and the order query through the attribute chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wechatpay_chain import Client
from wechatpay_chain.testing import Credentials

from .config import order_no
from .sampling import Call

if TYPE_CHECKING:
    from wechatpay_chain._typed import V3PayTransactionsOutTradeNoGetQuery


def chain_client(creds: Credentials, base_url: str, **options: Any) -> Client:
    """A wechatpay_chain client with its default stack, pointed at the benchmark server."""
    return Client(
        creds.mchid,
        creds.serial,
        creds.merchant_key,
        {creds.public_key_id: creds.public_key.public_key()},
        apiv3_key=creds.apiv3_key,
        base_url=base_url,
        **options,
    )


def chain_call(client: Client) -> Call:
    """One order query through the chain, written as a user writes it; the verified answer, unparsed."""
    query: V3PayTransactionsOutTradeNoGetQuery = {"mchid": client.mchid}  # the typed chain's query type

    async def call(i: int) -> object:
        return await client.v3.pay.transactions.outTradeNo._out_trade_no_.get(out_trade_no=order_no(i), query=query)

    return call
