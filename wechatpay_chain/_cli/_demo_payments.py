"""The demo's "Payment and refund" section: the everyday flow, in the three calling styles, offline.

Three JSAPI orders (one per calling style) → the payment parameters the merchant signs
(`jsapi_params`) → the users pay with them in WeChat (the emulator's `pay_with` checks their
`paySign`) → verified TRANSACTION.SUCCESS → three refunds → WeChat Pay settles them → verified
REFUND.SUCCESS → the day's trade bill, SHA-1 checked, with the six rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Any, Protocol

from .._chain.nodes import Chain
from .._client import Client
from .._notifications.parser import Notification
from ..testing import Emulator
from ..testing._time import beijing
from ._inbox import Inbox
from ._styles import styles

APPID = "wxd678efh567hg6787"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
ORDERS = ("PAY10001", "PAY10002", "PAY10003")  # out_trade_no, one per calling style
PRICE = 8_800  # cents: 88.00 CNY
REFUNDED = 1_800  # cents refunded of each order


class Steps(Protocol):
    """The demo's printed account (`_demo.Account`): a heading per section, a checked line per step."""

    def section(self, title: str) -> None:
        """Start a section."""
        ...

    async def step(self, actor: str, action: str, outcome: Awaitable[str]) -> None:
        """Run one step and print what came of it; raise when it failed."""
        ...


class Tour(Protocol):
    """What the section needs of the demo's tour: the emulator, the merchant's client, inbox and account."""

    @property
    def emu(self) -> Emulator:
        """The in-process emulator."""
        ...

    @property
    def client(self) -> Client:
        """The merchant's client."""
        ...

    @property
    def inbox(self) -> Inbox:
        """The merchant's notification endpoint."""
        ...

    @property
    def account(self) -> Steps:
        """The printed account."""
        ...

    @property
    def notify_timeout(self) -> float:
        """How long to wait for each expected notification."""
        ...


class Unexpected(Exception):
    """An answer or a notification other than the one WeChat Pay gives."""


def check(what: str, actual: object, wanted: object) -> None:
    """Raise Unexpected unless `actual == wanted`."""
    if actual != wanted:
        raise Unexpected(f"{what}: expected {wanted!r}, got {actual!r}")


async def payment_and_refund(tour: Tour) -> None:
    """The section: order, pay, notification, refund, notification, bill."""
    await PaymentSection(tour).walk()


class PaymentSection:
    """The steps of the payment section, against the tour's emulator and client."""

    def __init__(self, tour: Tour) -> None:
        self.tour = tour
        self.emu = tour.emu
        self.client = tour.client
        self.prepay_ids: dict[str, str] = {}
        self.params: list[dict[str, str]] = []

    async def walk(self) -> None:
        """Every step, in order; the first that fails stops the section."""
        account = self.tour.account
        account.section("Payment and refund (v3/pay/transactions, v3/refund/domestic/refunds)")
        orders = styles(self.client, self.client.v3.pay.transactions.jsapi, "v3/pay/transactions/jsapi")
        for number, (name, node) in zip(ORDERS, orders, strict=True):
            await account.step(name, f"POST pay/transactions/jsapi {number}", self._order(node, number))
        await account.step("merchant", "signs the JSAPI payment parameters", self._sign())
        await account.step("users", "pay with them in WeChat (emulator control)", self._pay())
        await account.step("merchant", "receives the notifications", self._paid())
        await account.step("query", f"GET pay/transactions/out-trade-no/{ORDERS[0]}", self._state(ORDERS[0]))
        refunds = styles(self.client, self.client.v3.refund.domestic.refunds, "v3/refund/domestic/refunds")
        for number, (name, node) in zip(ORDERS, refunds, strict=True):
            await account.step(name, f"POST refund/domestic/refunds R{number}", self._refund(node, number))
        await account.step("WeChat Pay", "settles the refunds (emulator control)", self._settle())
        await account.step("merchant", "receives the notifications", self._refunded())
        await account.step("merchant", "downloads today's trade bill", self._bill())

    async def _order(self, node: Chain, number: str) -> str:
        body = {
            "appid": APPID,
            "mchid": self.client.mchid,
            "description": "Image形象店-深圳腾大-QQ公仔",
            "out_trade_no": number,
            "notify_url": self.tour.inbox.url,
            "amount": {"total": PRICE, "currency": "CNY"},
            "payer": {"openid": OPENID},
        }
        answer = (await node.post(json=body)).json()
        self.prepay_ids[number] = answer["prepay_id"]
        return f"prepay_id {answer['prepay_id'][:12]}…"

    async def _sign(self) -> str:
        self.params = [await self.client.jsapi_params(APPID, self.prepay_ids[n]) for n in ORDERS]
        return f"3 x paySign (RSA), package prepay_id={self.prepay_ids[ORDERS[0]][:12]}…"

    async def _pay(self) -> str:
        states = {self.emu.payments.pay_with(params)["trade_state"] for params in self.params}
        check("trade states", states, {"SUCCESS"})
        return "3 x paySign checked, paid: SUCCESS"

    async def _paid(self) -> str:
        notes = await self._received("TRANSACTION.SUCCESS")
        check("orders notified", sorted(n.resource["out_trade_no"] for n in notes), list(ORDERS))
        check("amounts", {n.resource["amount"]["payer_total"] for n in notes}, {PRICE})
        return f"3 x TRANSACTION.SUCCESS verified: SUCCESS, {PRICE / 100:.2f} CNY each"

    async def _state(self, number: str) -> str:
        node = self.client.v3.pay.transactions.outTradeNo._out_trade_no_
        answer = (await node.get(out_trade_no=number, query={"mchid": self.client.mchid})).json()
        check("trade_state", answer.get("trade_state"), "SUCCESS")
        return f"SUCCESS, transaction_id {answer['transaction_id']}"

    async def _refund(self, node: Chain, number: str) -> str:
        body = {
            "out_trade_no": number,
            "out_refund_no": f"R{number}",
            "reason": "商品已售完",
            "notify_url": self.tour.inbox.url,
            "amount": {"refund": REFUNDED, "total": PRICE, "currency": "CNY"},
        }
        answer = (await node.post(json=body)).json()
        check("status", answer.get("status"), "PROCESSING")
        return f"PROCESSING, refund_id {answer['refund_id']}"

    async def _settle(self) -> str:
        states = {self.emu.payments.settle_refund(f"R{n}")["status"] for n in ORDERS}
        check("refund states", states, {"SUCCESS"})
        return "3 x SUCCESS"

    async def _refunded(self) -> str:
        notes = await self._received("REFUND.SUCCESS")
        check("refunds notified", sorted(n.resource["out_refund_no"] for n in notes), [f"R{n}" for n in ORDERS])
        check("refunded", {n.resource["amount"]["refund"] for n in notes}, {REFUNDED})
        return f"3 x REFUND.SUCCESS verified: {REFUNDED / 100:.2f} CNY each"

    async def _bill(self) -> str:
        day: dt.date = beijing(self.emu.now()).date()
        content = b""
        async with self.client.open_bill(day) as stream:
            async for chunk in stream:
                content += chunk  # a small bill; the stream checks its SHA-1 at the end
        rows = [line.split(",") for line in content.decode("utf-8").splitlines()[1:-2]]
        listed = sorted((row[6].lstrip("`"), row[9].lstrip("`")) for row in rows)
        check("bill rows", listed, sorted([(n, "SUCCESS") for n in ORDERS] + [(n, "REFUND") for n in ORDERS]))
        return f"{len(rows)} rows (3 payments, 3 refunds), SHA-1 verified"

    async def _received(self, event_type: str) -> list[Notification]:
        try:
            return await self.tour.inbox.wait(event_type, len(ORDERS), timeout=self.tour.notify_timeout)
        except TimeoutError as exc:
            failed: list[Any] = [d.error for d in self.emu.deliveries if d.event_type == event_type and d.error]
            raise TimeoutError(f"{exc}; delivery errors: {failed[-3:] or 'none'}") from None
