"""WeChat Pay's insurance products, one module each, composed into `Insurance` (`emu.insurance`).

- `sign/`: papay insurance-sign contracts, with their policy periods and deductions (insurance-pay);
- `policies.py`: the WeChat policy service (inspolicymgr): authorizations and policies;
- `power_bank.py`: overnight power-bank insurance orders (hire-power-bank);
- `compensation.py`: the platform's insurance-compensation opening (platsolution).

They share `_common.Context`: the merchant's options, the clock, ids, the notify function, the
product switch and the time-driven transitions every request and control applies first.
Behaviour chosen where the documentation is silent is listed in `EMULATOR.md`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..._controls import Control
from ..._ids import Ids
from ..._notices import Notify
from ..._routing import Route
from ..._validation import flag, text
from ._common import PRODUCT_DENIED, Context
from .compensation import InsuranceCompensation
from .policies import PolicyService
from .power_bank import PowerBankInsurance
from .sign import InsuranceSign


class Insurance:
    """The 22 insurance endpoints of one merchant and the controls that play the user, the insurer and WeChat Pay.

    The controls are the products' own methods, at the top level where tests call them:
    `user_sign`, `wechat_terminate`, `settle_pending_termination`, `settle_deduction`,
    `set_plan_frequency` (insurance-sign), `user_grant` (inspolicymgr), `insurer_confirm`,
    `set_user_qualified` (hire-power-bank), `open_compensation`, and `set_product_enabled`
    and `tick` for all. A refusal raises `Refusal` with the status and code the API would answer.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        notify: Notify,
        mchid: str,
        appid_hint: str | None = None,
        enforce_hours: bool = False,
        compensation_delay: float = 0.0,
        ids: Ids | None = None,
    ) -> None:
        self.context = Context(
            clock=clock,
            notify=notify,
            mchid=mchid,
            ids=ids or Ids(),
            appid_hint=appid_hint,
            enforce_hours=enforce_hours,
            compensation_delay=compensation_delay,
        )
        # In this order, which is the order of their time transitions.
        self.sign = InsuranceSign(self.context)
        self.policies = PolicyService(self.context, self.sign.book)
        self.power_bank = PowerBankInsurance(self.context)
        self.compensation = InsuranceCompensation(self.context)
        self.user_sign = self.sign.contracts.user_sign
        self.wechat_terminate = self.sign.contracts.wechat_terminate
        self.settle_pending_termination = self.sign.contracts.settle_pending_termination
        self.settle_deduction = self.sign.periods.settle_deduction
        self.set_plan_frequency = self.sign.periods.set_plan_frequency
        self.user_grant = self.policies.user_grant
        self.insurer_confirm = self.power_bank.insurer_confirm
        self.set_user_qualified = self.power_bank.set_user_qualified
        self.open_compensation = self.compensation.open_compensation
        self.set_product_enabled = self.context.set_product_enabled
        self.tick = self.context.tick

    @property
    def mchid(self) -> str:
        """The merchant the products belong to."""
        return self.context.mchid

    @property
    def appid_hint(self) -> str | None:
        """When set, every request body `appid` must be this one (else 400 APPID_MCHID_NOT_MATCH)."""
        return self.context.appid_hint

    @appid_hint.setter
    def appid_hint(self, value: str | None) -> None:
        self.context.appid_hint = value

    @property
    def enforce_hours(self) -> bool:
        """Whether the documented hours of day of renew, modify, schedule and apply are checked."""
        return self.context.enforce_hours

    @enforce_hours.setter
    def enforce_hours(self, value: bool) -> None:
        self.context.enforce_hours = value

    @property
    def compensation_delay(self) -> float:
        """Seconds until an insurance-compensation opening succeeds (0: at once)."""
        return self.context.compensation_delay

    @compensation_delay.setter
    def compensation_delay(self, value: float) -> None:
        self.context.compensation_delay = value

    def routes(self) -> list[Route]:
        """The 22 endpoints of the four products."""
        return [*self.sign.routes(), *self.policies.routes(), *self.power_bank.routes(), *self.compensation.routes()]

    def controls(self) -> tuple[Control, ...]:
        """The products' controls, and `insurance/set-product-enabled`."""
        switch = Control(
            "POST",
            "insurance/set-product-enabled",
            self.set_product_enabled,
            (text("product", req=True, enum=tuple(PRODUCT_DENIED)), flag("enabled", req=True)),
            doc="withdraw (enabled=false) or restore a product: its calls answer 403",
        )
        products = (self.sign, self.policies, self.power_bank, self.compensation)
        return (*(control for product in products for control in product.controls()), switch)
