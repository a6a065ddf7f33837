"""Parsing a notification (verify, parse, decrypt) against its floor, in this process: paired rounds of CPU time."""

from __future__ import annotations

import random
import time
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from wechatpay_chain import NotificationParser
from wechatpay_chain.testing import Credentials

from .config import FLOOR, OURS, Settings
from .figures import Figures
from .floor import NotificationFloor
from .ours import chain_client
from .server import ORDER

KINDS = 200  # distinct notifications, each parsed in turn


def transaction(i: int) -> dict[str, Any]:
    """The resource of payment notification `i`: a paid order."""
    return {**ORDER, "out_trade_no": f"NOTIFY{i:012d}"}


def notifications(creds: Credentials, count: int, first: int = 0) -> list[tuple[dict[str, str], bytes]]:
    """`count` signed payment notifications with distinct ids, as WeChat Pay POSTs them."""
    return [
        creds.notification("TRANSACTION.SUCCESS", transaction(i), summary="支付成功")
        for i in range(first, first + count)
    ]


async def measure_notifications(figures: Figures, creds: Credentials, settings: Settings) -> None:
    """CPU µs per notification of `NotificationParser.parse` and of the floor, each round in a shuffled order."""
    client = chain_client(creds)
    parser = NotificationParser(client, seen_ids=False)
    floor = NotificationFloor({creds.public_key_id: creds.public_key.public_key()}, creds.apiv3_key)
    # The headers as aiohttp.web hands them over (the ASGI form is measured with the adapters).
    batch = [(CIMultiDictProxy(CIMultiDict(h)), body) for h, body in notifications(creds, KINDS)]
    n = settings.notifications

    async def ours() -> float:
        started = time.process_time()
        for i in range(n):
            headers, body = batch[i % KINDS]
            await parser.parse(headers, body)
        return time.process_time() - started

    async def bare() -> float:
        started = time.process_time()
        for i in range(n):
            headers, body = batch[i % KINDS]
            floor.open_mapping(headers, body)
        return time.process_time() - started

    contestants = {FLOOR: bare, OURS: ours}
    await ours(), await bare()  # warm up
    shuffle = random.Random(15).shuffle
    for _ in range(settings.notification_rounds):
        order = list(contestants)
        shuffle(order)
        for name in order:
            figures.notifications.add(name, await contestants[name]() / n * 1e6)
    await client.close()
