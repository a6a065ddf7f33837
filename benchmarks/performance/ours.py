"""wechatpay_chain as a user runs it: the default client, each call written through the attribute chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wechatpay_chain import Client
from wechatpay_chain.testing import Credentials

from .sampling import Call
from .workload import native_order, order_no

KEYS_ONLY = "http://127.0.0.1:9/"  # for a client that only holds keys (notifications): nothing listens there

if TYPE_CHECKING:
    from wechatpay_chain.endpoints import V3PayTransactionsOutTradeNoGetQuery


def chain_client(creds: Credentials, base_url: str = KEYS_ONLY, **options: Any) -> Client:
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


def chain_calls(client: Client) -> dict[str, Call]:
    """The GET and the POST, written as a user writes them, each returning the verified answer's JSON."""
    query: V3PayTransactionsOutTradeNoGetQuery = {"mchid": client.mchid}  # the typed chain's query type

    async def get(i: int) -> object:
        return (
            await client.v3.pay.transactions.outTradeNo._out_trade_no_.get(out_trade_no=order_no(i), query=query)
        ).json()

    async def post(i: int) -> object:
        return (await client.v3.pay.transactions.native.post(json=native_order(client.mchid, i))).json()

    return {"GET": get, "POST": post}
