"""Everyday payments, composed into `Payments` (`emu.payments`): orders, refunds and the bills that list them.

- `orders.py`: a direct merchant's orders (`v3/pay/transactions/…`);
- `partner.py`: a service provider's orders for sub-merchants (`v3/pay/partner/transactions/…`);
- `combined.py`: combined payments (`v3/combine-transactions/…`);
- `refunds.py`: refunds of any of them (`v3/refund/domestic/refunds…`);
- `bill_rows.py`: the rows of a day's trade bill;
- `controls.py`: the payer's WeChat (`pay_with`) and the HTTP controls.

They share the `_ledger.Ledger`: the orders, the clock, ids, notifications and the time-driven
transitions (unpaid orders closing at `time_expire`, refunds settling after `refund_delay`).
Behaviour chosen where WeChat Pay's documentation is silent is listed in `EMULATOR.md`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..._controls import Control
from ..._ids import Ids
from ..._notices import Notify
from ..._routing import Route
from ..bills import Rows
from ._ledger import Ledger
from .bill_rows import trade_rows
from .combined import CombinedOrders
from .controls import WeChatClient, payment_controls
from .orders import DirectOrders
from .partner import PartnerOrders
from .refunds import Decrypt, Refunds


class Payments:
    """A merchant's payments and refunds, and the controls that play the payer and WeChat Pay.

    At the top, as tests call them: `pay`, `fail` (direct orders), `pay_with` (any order, from
    the parameters a merchant built), `settle_refund`, `set_refund_delay`, `set_balance`;
    `partner.pay`/`partner.fail` and `combined.pay`/`combined.fail` for those orders. Each
    returns the resource as the API shows it; a refusal raises `Refusal` with the API's status
    and code.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        notify: Notify,
        mchid: str,
        ids: Ids,
        merchant_key: Callable[[], RSAPublicKey],
        decrypt: Decrypt,
    ) -> None:
        self.ledger = Ledger(clock=clock, notify=notify, ids=ids, mchid=mchid)
        self.orders = DirectOrders(self.ledger)
        self.partner = PartnerOrders(self.ledger)
        self.combined = CombinedOrders(self.ledger)
        self.refunds = Refunds(self.ledger, decrypt)
        self.client = WeChatClient(self.ledger, merchant_key)
        self.pay = self.orders.pay
        self.fail = self.orders.fail
        self.pay_with = self.client.pay_with
        self.settle_refund = self.refunds.settle_refund
        self._timer: asyncio.TimerHandle | None = None
        self.ledger.wake_at = self._wake_at

    @property
    def refund_delay(self) -> float | None:
        """Seconds (emulated clock) after which a refund succeeds by itself; None (default): only `settle_refund`."""
        return self.refunds.refund_delay

    @refund_delay.setter
    def refund_delay(self, seconds: float | None) -> None:
        self.set_refund_delay(seconds)

    def set_refund_delay(self, seconds: float | None = None) -> dict[str, Any]:
        """Refunds applied from now on succeed by themselves `seconds` later (None: only when settled)."""
        if seconds is not None and seconds < 0:
            raise ValueError("seconds must be >= 0, or None for refunds that wait for settle_refund")
        self.refunds.refund_delay = seconds
        return {"refund_delay": seconds}

    def set_balance(self, amount: int | None = None, *, sub_mchid: str | None = None) -> dict[str, Any]:
        """The merchant's funds for refunds, in cents (payments add to them); None: no limit, as by default."""
        owner = (self.ledger.mchid, sub_mchid or "")
        self.ledger.set_balance(owner, amount)
        return {"balance": self.ledger.balances.get(owner)}

    def routes(self) -> list[Route]:
        """Every payment and refund endpoint."""
        return [*self.orders.routes(), *self.partner.routes(), *self.combined.routes(), *self.refunds.routes()]

    def controls(self) -> tuple[Control, ...]:
        """`payments/…`: the payer, WeChat Pay's settlement of refunds, and the settings."""
        return payment_controls(
            self.orders,
            self.partner,
            self.combined,
            self.refunds,
            self.client,
            set_refund_delay=self.set_refund_delay,
            set_balance=self.set_balance,
        )

    def trade_rows(self, bill_date: str, bill_type: str, sub_mchid: str | None) -> Rows:
        """The rows of a day's trade bill: the day's payments and refunds."""
        self.ledger.tick()
        return trade_rows(self.ledger.orders.values(), self.refunds, bill_date, bill_type, sub_mchid)

    # -- time -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Apply the transitions due now (every request and control does this first)."""
        self.ledger.tick()
        self._rearm()

    def clock_moved(self) -> None:
        """The emulated clock moved (`advance`): apply what is due now, from the event loop if one runs."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to deliver notifications from: the next request or control applies them
        self.tick()

    def close(self) -> None:
        """Stop waiting for the next refund to settle by itself."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake_at(self, when: float) -> None:
        # Wake on the real clock when a refund is due by the emulated one (advance() wakes it earlier).
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._timer is not None and self._timer.when() <= loop.time() + max(0.0, when - self.ledger.clock()):
            return
        self.close()
        self._timer = loop.call_later(max(0.0, when - self.ledger.clock()), self._wake)

    def _wake(self) -> None:
        self._timer = None
        self.tick()

    def _rearm(self) -> None:
        due = self.refunds.next_due()
        if due is not None:
            self._wake_at(due)
