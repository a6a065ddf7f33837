"""The demo's APIv2 section: a micropay, an order paid and notified, a refund over mutual TLS and its notification.

It runs its own emulator with TLS (the refund presents the merchant certificate), with the
keys of the tour's emulator, and an APIv2 notification endpoint on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from .._client import Client
from .._errors import ConfigurationError
from .._v2.notifications import V2Notification, v2_handler_for
from ..testing import Emulator
from ._inbox import Inbox

if TYPE_CHECKING:  # the typed chain's field types: for type checkers only
    from ..endpoints import V2PayMicropayPostXml as Micropay
    from ..endpoints import V2PayRefundqueryPostXml as RefundQuery
    from ..endpoints import V2SecapiPayRefundPostXml as RefundFields

APPID = "wxd678efh567hg6787"
AUTH_CODE = "134567890123456789"  # a customer's payment code


class Account(Protocol):
    """The tour's printed account (`_demo.Account`)."""

    def section(self, title: str) -> None:
        """Start a block."""
        ...

    async def step(self, actor: str, action: str, outcome: Awaitable[str]) -> None:
        """Run one step and print what came of it."""
        ...


class Misbehaved(Exception):
    """An APIv2 step got an answer other than the one WeChat Pay gives."""


def _expect(what: str, actual: object, wanted: object) -> None:
    if actual != wanted:
        raise Misbehaved(f"{what}: expected {wanted!r}, got {actual!r}")


async def walk_apiv2(account: Account, emulator: Emulator, *, notify_timeout: float = 5.0) -> None:
    """The APIv2 section of the tour, against an emulator with TLS and the same keys as `emulator`."""
    account.section("APIv2 (XML): micropay, an order paid, a refund over mutual TLS, notifications")
    async with Emulator(credentials=emulator.credentials, tls=True) as bank:
        client = bank.client()
        async with Inbox(client, v2_handler_for) as inbox:
            await _V2Tour(account, bank, client, inbox, notify_timeout).walk()


class _V2Tour:
    def __init__(self, account: Account, bank: Emulator, client: Client, inbox: Inbox, notify_timeout: float) -> None:
        self.account = account
        self.bank = bank
        self.client = client
        self.inbox = inbox
        self.notify_timeout = notify_timeout

    async def walk(self) -> None:
        step = self.account.step
        await step("attribute", "POST v2/pay/micropay M1 (MD5)", self._micropay())
        await step("chain()", "POST v2/pay/orderquery M1 (HMAC-SHA256)", self._orderquery())
        await step("[ ]", "POST v2/pay/unifiedorder N1 (NATIVE)", self._unifiedorder())
        await step("user", "pays N1 (emulator control)", self._pay())
        await step("merchant", "POST v2/secapi/pay/refund R1, mutual TLS", self._refund())
        await step("WeChat Pay", "settles R1 (emulator control)", self._settle())
        await step("query", "POST v2/pay/refundquery R1", self._refundquery())
        await step("merchant", "refund without the certificate", self._refused())

    def _fields(self, **fields: Any) -> dict[str, Any]:
        return {"appid": APPID, "mch_id": self.client.mchid, **fields}

    def _refund_of(self, out_refund_no: str, refund_fee: int) -> RefundFields:
        return {
            "appid": APPID,
            "mch_id": self.client.mchid,
            "out_trade_no": "N1",
            "out_refund_no": out_refund_no,
            "total_fee": 3000,
            "refund_fee": refund_fee,
        }

    async def _micropay(self) -> str:
        order: Micropay = {  # checked against the documented fields by a type checker
            "appid": APPID,
            "mch_id": self.client.mchid,
            "body": "面包",
            "out_trade_no": "M1",
            "total_fee": 1200,
            "spbill_create_ip": "127.0.0.1",
            "auth_code": AUTH_CODE,
        }
        paid = (await self.client.v2.pay.micropay.post(xml=order)).xml()
        _expect("result_code", paid.get("result_code"), "SUCCESS")
        return f"SUCCESS, transaction_id {paid['transaction_id']}, answer sign verified"

    async def _orderquery(self) -> str:
        query = self._fields(out_trade_no="M1", sign_type="HMAC-SHA256")
        answer = (await self.client.chain("v2/pay/orderquery").post(xml=query)).xml()
        _expect("trade_state", answer.get("trade_state"), "SUCCESS")
        return f"trade_state SUCCESS, sign {len(answer['sign'])} hex digits (HMAC-SHA256)"

    async def _unifiedorder(self) -> str:
        order = self._fields(
            body="会员卡",
            out_trade_no="N1",
            total_fee=3000,
            spbill_create_ip="127.0.0.1",
            notify_url=self.inbox.url,
            trade_type="NATIVE",
        )
        placed = (await self.client["v2/pay/unifiedorder"].post(xml=order)).xml()
        return f"NOTPAY, code_url {placed['code_url']}"

    async def _pay(self) -> str:
        self.bank.payments_v2.user_pay("N1")
        (note,) = await self._received("TRANSACTION.SUCCESS")
        _expect("out_trade_no", note.resource.get("out_trade_no"), "N1")
        return "TRANSACTION.SUCCESS verified (sign checked), answered SUCCESS"

    async def _refund(self) -> str:
        refund = self._refund_of("R1", 1000)
        refund["notify_url"] = self.inbox.url
        made = (await self.client.v2.secapi.pay.refund.post(xml=refund)).xml()
        return f"PROCESSING, refund_id {made['refund_id']}"

    async def _settle(self) -> str:
        self.bank.payments_v2.settle_refund("R1")
        (note,) = await self._received("REFUND.SUCCESS")
        _expect("refund_status", note.resource.get("refund_status"), "SUCCESS")
        refunded = note.resource
        return f"REFUND.SUCCESS: req_info decrypted, {refunded['out_refund_no']} refunded {refunded['refund_fee']}"

    async def _refundquery(self) -> str:
        query: RefundQuery = {"appid": APPID, "mch_id": self.client.mchid, "out_refund_no": "R1"}
        answer = (await self.client.v2.pay.refundquery.post(xml=query)).xml()
        _expect("refund_status_0", answer.get("refund_status_0"), "SUCCESS")
        return "refund_status_0 SUCCESS"

    async def _refused(self) -> str:
        without = self.bank.client(merchant_cert=None)
        try:
            await without.v2.secapi.pay.refund.post(xml=self._refund_of("R2", 1))
        except ConfigurationError:
            return "ConfigurationError before any I/O: merchant_cert= needed"
        raise Misbehaved("a refund without the merchant certificate was sent")

    async def _received(self, event_type: str) -> list[V2Notification]:
        try:
            return await self.inbox.wait(event_type, timeout=self.notify_timeout)
        except TimeoutError as exc:
            failed = [d.error for d in self.bank.deliveries if d.event_type == event_type and d.error]
            raise TimeoutError(f"{exc}; delivery errors: {failed[-3:] or 'none'}") from None
