"""Papay insurance-sign: auto-renewing insurance contracts, their policy periods and deductions (insurance-pay).

One product: `contracts.py` (signing, query, termination) and `periods.py` (renewal, the period
plan, scheduling and deductions) over the records of `_records.py`.
"""

from __future__ import annotations

from ...._controls import Control
from ...._routing import Route
from .._common import Context
from ._records import ContractBook
from .contracts import ContractCalls
from .periods import PeriodCalls


class InsuranceSign:
    """The insurance-sign product: routes, controls and records (`book`)."""

    def __init__(self, ctx: Context) -> None:
        self.book = ContractBook(ctx)
        self.contracts = ContractCalls(ctx, self.book)
        self.periods = PeriodCalls(ctx, self.book)

    def routes(self) -> list[Route]:
        """The 12 endpoints of insurance-sign and insurance-pay."""
        return [*self.contracts.routes(), *self.periods.routes()]

    def controls(self) -> tuple[Control, ...]:
        """The user's, WeChat Pay's and the plan's controls."""
        return (*self.contracts.controls(), *self.periods.controls())
