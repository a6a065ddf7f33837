"""The platform's insurance compensation (v3/platsolution/ecommerce/insurance-compensation-contracts).

Applying opens compensation for a sub-merchant; the opening succeeds `compensation_delay`
seconds later (at once by default), or when the `open_compensation` control says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from ..._controls import Control
from ..._http import Answer
from ..._replay import Claims, fingerprint
from ..._routing import Route
from ..._time import rfc3339
from ..._validation import Call, array, obj, text
from ._common import ID, TEXT, Context, not_found

SUB_MCHID = text("sub_mchid", req=True, max_len=ID, fmt="digits")
APPLY = (
    text("out_apply_no", req=True, max_len=ID),
    SUB_MCHID,
    array(
        "agreement_list",
        obj(
            "agreement",
            text("agreement_code", req=True, max_len=TEXT),
            text("agreement_version", req=True, max_len=ID),
            text("sign_organization", req=True, max_len=TEXT),
            text("sign_time", req=True, fmt="rfc3339"),
        ),
        req=True,
        min_items=1,
    ),
)
_CONTRACTS = "v3/platsolution/ecommerce/insurance-compensation-contracts"


@dataclass(slots=True)
class Opening:
    """A sub-merchant's compensation opening: applied, then successful."""

    applied: float
    success: float | None = None


class InsuranceCompensation:
    """The insurance-compensation product: one opening per sub-merchant."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.claims = Claims()
        self.openings: dict[str, Opening] = {}  # by sub_mchid
        ctx.on_tick(self.tick)

    def routes(self) -> list[Route]:
        """Apply, and check-opened (a POST without a body)."""
        route = partial(self.ctx.route, "insurance-compensation", path={"sub_mchid": SUB_MCHID})
        return [
            route("POST", _CONTRACTS, self._apply, body=APPLY),
            route("POST", _CONTRACTS + "/sub-mchid/{sub_mchid}/check-opened", self._check_opened),
        ]

    def controls(self) -> tuple[Control, ...]:
        """`insurance/open-compensation`."""
        return (
            Control(
                "POST",
                "insurance/open-compensation",
                self.open_compensation,
                (text("sub_mchid", req=True),),
                doc="an applied opening succeeds now",
            ),
        )

    def tick(self) -> None:
        """Openings whose delay has passed succeed (at the time they were due)."""
        now = self.ctx.clock()
        for opening in self.openings.values():
            due = opening.applied + self.ctx.compensation_delay
            if opening.success is None and now >= due:
                opening.success = due

    def open_compensation(self, sub_mchid: str) -> dict[str, Any]:
        """Complete a pending insurance-compensation opening now."""
        self.ctx.tick()
        opening = self.openings.get(sub_mchid)
        if opening is None:
            raise not_found(f"no opening applied for sub_mchid {sub_mchid}")
        if opening.success is None:
            opening.success = self.ctx.clock()
        return self._view(sub_mchid)

    def _apply(self, call: Call) -> Answer:
        request = call.body
        sub_mchid, number = request["sub_mchid"], request["out_apply_no"]
        if not self.claims.is_replay("out_apply_no", number, fingerprint(request)):
            self.claims.claim("out_apply_no", number, fingerprint(request))
            self.openings.setdefault(sub_mchid, Opening(self.ctx.clock()))
            self.ctx.tick()
        return Answer(200, self._view(sub_mchid))

    def _check_opened(self, call: Call) -> Answer:
        return Answer(200, self._view(call.path["sub_mchid"]))

    def _view(self, sub_mchid: str) -> dict[str, Any]:
        opening = self.openings.get(sub_mchid)
        if opening is None or opening.success is None:
            return {"sub_mchid": sub_mchid, "opened": False}
        return {"sub_mchid": sub_mchid, "opened": True, "success_time": rfc3339(opening.success)}
