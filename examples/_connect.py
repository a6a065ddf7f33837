"""What the examples share: a client for the local emulator (the default) or for the real WeChat Pay API.

By default each example starts an emulator in-process, receives its notifications on 127.0.0.1,
and plays the user and the insurer through the emulator's controls. To call the real API instead,
set all five of:

    WECHATPAY_MCHID          your merchant id (商户号)
    WECHATPAY_SERIAL         your merchant API certificate serial (商户API证书序列号)
    WECHATPAY_PRIVATE_KEY    path to your merchant private key file (apiclient_key.pem)
    WECHATPAY_PUBLIC_KEY_ID  the WeChat Pay public key id (PUB_KEY_ID_…)
    WECHATPAY_PUBLIC_KEY     path to the WeChat Pay public key file (pub_key.pem)

and optionally WECHATPAY_APIV3_KEY (decrypts notifications), WECHATPAY_NOTIFY_URL (your public
HTTPS notification endpoint) and WECHATPAY_BASE_URL (another server speaking the API, such as
the one `python -m wechatpay_chain mock` runs: its JSON line has every value).

Against the real API the steps a user or insurer takes in WeChat are skipped, and the
placeholder values at the top of each example (appid, plan id, openid, …) must first be
replaced with yours: with the placeholders WeChat Pay answers an error, which the example
prints before exiting with status 1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from wechatpay_chain import ApiError, Client, Notification, Response, handler_for
from wechatpay_chain.testing import Emulator

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com/"
REAL_API = (
    "WECHATPAY_MCHID",
    "WECHATPAY_SERIAL",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
    "WECHATPAY_PUBLIC_KEY",
)
PLACEHOLDER_NOTIFY_URL = "https://merchant.example.com/wechatpay/notify"
BEIJING = dt.timezone(dt.timedelta(hours=8))  # WeChat Pay's dates and times are Beijing time


@dataclass
class Connection:
    """The client, and the emulator behind it (None against the real API)."""

    client: Client
    emulator: Emulator | None
    notify_url: str
    _arrived: asyncio.Queue[Notification] = field(default_factory=asyncio.Queue)

    def today(self) -> dt.date:
        """Today in Beijing, by the emulator's clock when there is one."""
        now = self.emulator.now() if self.emulator is not None else dt.datetime.now().timestamp()
        return dt.datetime.fromtimestamp(now, BEIJING).date()

    async def notification(self, event_type: str, *keys: str, timeout: float = 5.0) -> Notification:
        """The next notification received (emulator only), checked to be of `event_type`; prints `keys`."""
        received = await asyncio.wait_for(self._arrived.get(), timeout)
        if received.event_type != event_type:
            raise RuntimeError(f"expected a {event_type} notification, received {received.event_type}")
        print(f"  notification {event_type}, verified and decrypted: {_pick(received.resource, keys)}")
        return received


def show(label: str, response: Response, *keys: str) -> Any:
    """Print one call's status and its JSON (only `keys`, if given); returns the JSON (None for no content)."""
    body = response.json()
    print(f"{label}: {response.status} " + ("(no content)" if body is None else _pick(body, keys)))
    return body


def _pick(value: Any, keys: tuple[str, ...]) -> str:
    if keys and isinstance(value, dict):
        value = {key: value.get(key) for key in keys}
    return json.dumps(value, ensure_ascii=False)


def _real_client() -> Client:
    missing = [name for name in REAL_API if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"to call the real API set all of {', '.join(REAL_API)} (missing: {', '.join(missing)})")
    env = os.environ
    return Client(
        env["WECHATPAY_MCHID"],
        env["WECHATPAY_SERIAL"],
        "file://" + str(Path(env["WECHATPAY_PRIVATE_KEY"]).resolve()),
        {env["WECHATPAY_PUBLIC_KEY_ID"]: "file://" + str(Path(env["WECHATPAY_PUBLIC_KEY"]).resolve())},
        apiv3_key=env.get("WECHATPAY_APIV3_KEY") or None,
        base_url=env.get("WECHATPAY_BASE_URL") or DEFAULT_BASE_URL,
    )


@asynccontextmanager
async def _receiver(connection: Connection) -> AsyncIterator[str]:
    """A notification endpoint on 127.0.0.1, as you would mount one in your own aiohttp app."""
    app = web.Application()
    app.router.add_post("/wechatpay/notify", handler_for(connection.client, connection._arrived.put))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/wechatpay/notify"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def connect() -> AsyncIterator[Connection]:
    """The real API when the WECHATPAY_* variables are set, else a fresh emulator."""
    if any(os.environ.get(name) for name in REAL_API):
        async with _real_client() as client:
            print(f"WeChat Pay API at {client.base_url}, merchant {client.mchid}")
            yield Connection(client, None, os.environ.get("WECHATPAY_NOTIFY_URL", PLACEHOLDER_NOTIFY_URL))
        return
    async with Emulator() as emulator:
        connection = Connection(emulator.client(), emulator, "")
        async with _receiver(connection) as url:
            connection.notify_url = url
            print(f"local emulator at {emulator.base_url}, merchant {emulator.credentials.mchid}")
            yield connection


def run(example: Callable[[Connection], Awaitable[None]]) -> int:
    """Run an example; an error answer from WeChat Pay is printed and gives exit status 1."""

    async def main() -> int:
        async with connect() as connection:
            try:
                await example(connection)
            except ApiError as exc:
                print(f"WeChat Pay answered {exc}")
                return 1
        return 0

    return asyncio.run(main())
