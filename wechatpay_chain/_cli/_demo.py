"""`wechatpay-chain demo`: a payment and its refund, then the five insurance seed calls, in three styles, offline.

An emulator runs in-process, a notification endpoint listens on 127.0.0.1, and the tour plays
the merchant over signed HTTP, the user and the insurer through the emulator's controls, and
checks every answer and notification on the way. One line per step; exit 0 only if all behaved.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TextIO

from .._chain.nodes import Chain
from .._client import Client
from .._notifications.parser import Notification
from ..testing import Emulator
from ..testing._time import BEIJING
from ._demo_payments import payment_and_refund
from ._demo_v2 import walk_apiv2
from ._inbox import Inbox
from ._styles import styles

if TYPE_CHECKING:
    from ..endpoints import V3PapayInsuranceSignContractsPreEntrustSignAppPostBody as PreSignBody

EXAMPLE = """\
example:
  $ python -m wechatpay_chain demo
  …
  Payment and refund (v3/pay/transactions, v3/refund/domestic/refunds)
    ✓ attribute  POST pay/transactions/jsapi PAY10001           → prepay_id wx2024060110…
    …
  All 44 steps behaved: 36 signed calls answered and verified, 19 notifications verified and decrypted, in 0.6 s.
"""

APPID = "wxd678efh567hg6787"
PLAN_ID = 12535
SUB_MCHID = "1900000109"
CONTRACTS = ("DEMO1", "DEMO2", "DEMO3")  # out_contract_code, one per calling style
PREMIUM = 1000  # cents
STYLES_LEGEND = """\
calling styles:  attribute  client.v3.hirePowerBank.insuranceOrders
                 chain()    client.chain("v3/hire-power-bank/insurance-orders")
                 [ ]        client["v3/hire-power-bank/insurance-orders"]"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` command."""
    parser = subparsers.add_parser(
        "demo",
        help="walk a payment, its refund and the insurance calls against an in-process emulator (offline)",
        description="Start a WeChat Pay emulator in-process and walk a payment and its refund, then the five\n"
        "insurance seed calls, in the three calling styles (attributes, chain('…'), ['…']), with the\n"
        "queries that show each state change and the notifications received. Exit code 0 only if\n"
        "every step behaved.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the tour, printing to stdout."""
    return asyncio.run(tour(sys.stdout))


class Misbehaved(Exception):
    """A step got an answer other than the one WeChat Pay gives."""


class Stopped(Exception):
    """A step failed; the steps after it depend on it."""


def expect(what: str, actual: object, wanted: object) -> None:
    """Raise Misbehaved unless `actual == wanted`."""
    if actual != wanted:
        raise Misbehaved(f"{what}: expected {wanted!r}, got {actual!r}")


def _marks(out: TextIO) -> tuple[str, str, str]:
    """Good, bad and arrow marks; plain ASCII where the terminal cannot show the others."""
    try:
        "✓✗→…".encode(getattr(out, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "+", "x", "->"
    return "✓", "✗", "→"


class Account:
    """The printed account: a heading per family, a ✓/✗ line per step."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.good, self.bad, self.arrow = _marks(out)
        self.steps = 0

    def say(self, text: str) -> None:
        """Print one line now (the tour is short; a reader watches it live)."""
        print(text, file=self.out, flush=True)

    def section(self, title: str) -> None:
        """Start a family's block."""
        self.say(f"\n{title}")

    async def step(self, actor: str, action: str, outcome: Awaitable[str]) -> None:
        """Run one step (`actor` does `action`); print what came of it; raise Stopped when it failed."""
        try:
            text = await outcome
        except Exception as exc:  # any failure is the demo's finding: report it, stop there
            self._line(self.bad, actor, action, f"{type(exc).__name__}: {exc}")
            raise Stopped from exc
        self.steps += 1
        self._line(self.good, actor, action, text)

    def _line(self, mark: str, actor: str, action: str, text: str) -> None:
        self.say(f"  {mark} {actor:<10} {action:<46} {self.arrow} {text}")


class Tour:
    """The walk itself: the merchant's calls, the user's and insurer's moves, the checks."""

    def __init__(
        self, emulator: Emulator, client: Client, inbox: Inbox, account: Account, *, notify_timeout: float
    ) -> None:
        self.emu = emulator
        self.notify_timeout = notify_timeout
        self.client = client
        self.inbox = inbox
        self.account = account
        self.contract_ids: dict[str, str] = {}  # out_contract_code -> contract_id, learnt from SIGN

    @property
    def today(self) -> dt.date:
        """The emulator's date in Beijing, WeChat Pay's time zone."""
        return dt.datetime.fromtimestamp(self.emu.now(), BEIJING).date()

    async def walk(self) -> None:
        """Every family in turn."""
        await payment_and_refund(self)  # what users do first: take a payment and refund it
        for family in (self.compensation, self.power_bank, self.authorizations, self.renew, self.terminate):
            await family()

    # -- 1. platsolution: insurance compensation ------------------------------------------

    async def compensation(self) -> None:
        """Seed: POST insurance-compensation-contracts (idempotent on out_apply_no)."""
        self.account.section("Insurance compensation (platsolution)")
        template = "v3/platsolution/ecommerce/insurance-compensation-contracts"
        nodes = styles(self.client, self.client.v3.platsolution.ecommerce.insuranceCompensationContracts, template)
        body = {
            "out_apply_no": "No123456",
            "sub_mchid": SUB_MCHID,
            "agreement_list": [
                {
                    "agreement_code": "微信支付运营功能服务协议(平台二级商户)",
                    "agreement_version": "20240815",
                    "sign_organization": "温州名优贸易",
                    "sign_time": dt.datetime.fromtimestamp(self.emu.now(), BEIJING).isoformat(timespec="seconds"),
                }
            ],
        }
        first: list[Any] = []

        async def apply(node: Chain) -> str:
            answer = (await node.post(json=body)).json()
            if first:
                expect("answer to the same out_apply_no", answer, first[0])
                return "same answer (out_apply_no is idempotent)"
            expect("opened", answer.get("opened"), False)
            first.append(answer)
            return "opened: false (pending)"

        for name, node in nodes:
            await self.account.step(name, "POST insurance-compensation-contracts", apply(node))
        await self.account.step("WeChat Pay", "completes the opening (emulator control)", self._open_compensation())
        await self.account.step("query", "POST .../sub-mchid/{sub_mchid}/check-opened", self._check_opened())

    async def _open_compensation(self) -> str:
        return f"opened at {self.emu.insurance.open_compensation(SUB_MCHID)['success_time']}"

    async def _check_opened(self) -> str:
        node = self.client.v3.platsolution.ecommerce.insuranceCompensationContracts.subMchid._sub_mchid_.checkOpened
        answer = (await node.post(sub_mchid=SUB_MCHID)).json()
        expect("opened", answer.get("opened"), True)
        return f"opened: true since {answer['success_time']}"

    # -- 2. hire-power-bank: overnight insurance orders -----------------------------------

    async def power_bank(self) -> None:
        """Seed: POST hire-power-bank/insurance-orders; the insurer confirms; a notification arrives."""
        self.account.section("Power-bank overnight insurance (hire-power-bank)")
        template = "v3/hire-power-bank/insurance-orders"
        nodes = styles(self.client, self.client.v3.hirePowerBank.insuranceOrders, template)
        await self.account.step("query", "GET user-qualifications/o_power_1", self._qualified("o_power_1", True))
        for number, (name, node) in enumerate(nodes, 1):
            await self.account.step(name, f"POST insurance-orders PB{number}", self._order(node, number))
        await self.account.step("insurer", "confirms PB1-PB3 (emulator control)", self._confirm_orders())
        await self.account.step("query", "GET insurance-orders/PB1", self._order_state("PB1", "RECEIVED"))
        await self.account.step("query", "GET user-qualifications/o_power_1", self._qualified("o_power_1", False))

    async def _qualified(self, openid: str, wanted: bool) -> str:
        node = self.client.v3.hirePowerBank.userQualifications._openid_
        answer = (await node.get(openid=openid)).json()
        expect("qualified_user", answer.get("qualified_user"), wanted)
        return f"qualified_user: {str(wanted).lower()}"

    async def _order(self, node: Chain, number: int) -> str:
        body = {
            "out_order_no": f"PB{number}",
            "openid": f"o_power_{number}",
            "notify_url": self.inbox.url,
            "service_id": "500001",
        }
        answer = (await node.post(json=body)).json()
        expect("order_receive_state", answer.get("order_receive_state"), "RECEIVING")
        return f"RECEIVING, order_id {answer['order_id']}"

    async def _confirm_orders(self) -> str:
        for number in range(1, 4):
            self.emu.insurance.insurer_confirm(f"PB{number}")
        notes = await self._received("HIRE_POWER_BANK.RECEIVE_INSURANCE", 3)
        expect("states notified", {n.resource["order_receive_state"] for n in notes}, {"RECEIVED"})
        return "3 x HIRE_POWER_BANK.RECEIVE_INSURANCE verified: RECEIVED"

    async def _order_state(self, out_order_no: str, wanted: str) -> str:
        answer = (
            await self.client.v3.hirePowerBank.insuranceOrders._out_order_no_.get(out_order_no=out_order_no)
        ).json()
        expect("order_receive_state", answer.get("order_receive_state"), wanted)
        return f"{out_order_no} {wanted}"

    # -- 3. inspolicymgr: policy authorizations (and the contracts they belong to) --------

    async def authorizations(self) -> None:
        """Seed: POST inspolicymgr/deduct/authorizations; the contract is signed; the user grants."""
        self.account.section("Policy authorizations (inspolicymgr) and their auto-renew contracts (papay)")
        template = "v3/inspolicymgr/deduct/authorizations"
        nodes = styles(self.client, self.client.v3.inspolicymgr.deduct.authorizations, template)
        for number, (name, node) in enumerate(nodes, 1):
            await self.account.step(name, f"POST authorizations INS{number}", self._authorize(node, number))
        await self.account.step("merchant", "POST pre-entrust-sign/app x3, sign-and-pay", self._pre_sign())
        await self.account.step("users", "sign DEMO1-DEMO3 in WeChat (emulator control)", self._sign())
        await self.account.step("query", "GET authorizations/INS1", self._auth_state("AUTH_STATE_PENDING"))
        await self.account.step("user", "grants INS1 in WeChat (emulator control)", self._grant())
        await self.account.step("query", "GET authorizations/INS1", self._auth_state("AUTH_STATE_GRANTED"))

    async def _authorize(self, node: Chain, number: int) -> str:
        body = {
            "out_insurance_no": f"INS{number}",
            "appid": APPID,
            "plan_id": str(PLAN_ID),  # a string here, a number in papay: as documented
            "out_contract_code": CONTRACTS[number - 1],
            "insurance_name": "微医保·百万医疗险",
        }
        answer = (await node.post(json=body)).json()
        expect("auth_state", answer.get("auth_state"), "AUTH_STATE_INIT")
        return "AUTH_STATE_INIT (contract not signed yet)"

    async def _pre_sign(self) -> str:
        node = self.client.v3.papay.insuranceSign.contracts.preEntrustSign.app
        ids = [(await node.post(json=self._pre_sign_body(code))).json()["pre_entrustweb_id"] for code in CONTRACTS]
        return f"pre_entrustweb_id {ids[0]}, …"

    def _pre_sign_body(self, code: str) -> PreSignBody:
        today = self.today
        return {
            "appid": APPID,
            "plan_id": PLAN_ID,
            "out_contract_code": code,
            "insured_display_name": "张*",
            "contract_notify_url": self.inbox.url,
            "policy_start_date": today.isoformat(),
            "policy_end_date": (today + dt.timedelta(days=364)).isoformat(),
            "policy_periods": [
                {
                    "policy_period_id": 1,
                    "estimated_deduct_date": today.isoformat(),
                    "estimated_deduct_amount": {"total": PREMIUM, "currency": "CNY"},
                }
            ],
            # Sign-and-pay: the first premium is paid at signing, which makes the contract renewable.
            "amount": {"total": PREMIUM, "currency": "CNY"},
            "out_trade_no": f"T{code}",
            "description": "百万医疗险 首期保费",
            "can_auto_insure": True,
        }

    async def _sign(self) -> str:
        for code in CONTRACTS:
            self.emu.insurance.user_sign(code, openid=f"o_{code}")
        notes = await self._received("INSURANCE_ENTRUST.SIGN", len(CONTRACTS))
        for note in notes:
            expect("contract_state", note.resource["contract_state"], "SIGNED")
            self.contract_ids[note.resource["out_contract_code"]] = note.resource["contract_id"]
        return "3 x INSURANCE_ENTRUST.SIGN verified: SIGNED"

    async def _auth_state(self, wanted: str) -> str:
        node = self.client.v3.inspolicymgr.deduct.authorizations._out_insurance_no_
        answer = (await node.get(out_insurance_no="INS1")).json()
        expect("auth_state", answer.get("auth_state"), wanted)
        return f"INS1 {wanted}"

    async def _grant(self) -> str:
        self.emu.insurance.user_grant("INS1")
        (note,) = await self._received("INSURANCE_POLICY_MANAGEMENT.GRANTED")
        expect("auth_state", note.resource["auth_state"], "AUTH_STATE_GRANTED")
        return "INSURANCE_POLICY_MANAGEMENT.GRANTED verified"

    # -- 4. papay insurance-sign: renew (204) ---------------------------------------------

    async def renew(self) -> None:
        """Seed: POST .../contract-id/{contract_id}/renew, answered 204 No Content."""
        self.account.section("Contract renewal (papay insurance-sign)")
        template = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/contract-id/{contract_id}/renew"
        attribute = self.client.v3.papay.insuranceSign.contracts.planId._plan_id_.contractId._contract_id_.renew
        await self.account.step("query", "GET contracts/.../out-contract-code/DEMO1", self._contract("TO_BE_RENEWED"))
        for code, (name, node) in zip(CONTRACTS, styles(self.client, attribute, template), strict=True):
            await self.account.step(name, f"POST .../renew {code}", self._renew(node, code))
        await self.account.step(
            "merchant", "receives the notifications", self._notified("INSURANCE_ENTRUST.RENEW", "SIGNED")
        )
        await self.account.step("query", "GET policy_periods/.../out-contract-code/DEMO1", self._periods())

    async def _renew(self, node: Chain, code: str) -> str:
        body = {
            "appid": APPID,
            "policy_periods": [
                {
                    "policy_period_id": 2,
                    "estimated_deduct_date": (self.today + dt.timedelta(days=30)).isoformat(),
                    "estimated_deduct_amount": {"total": PREMIUM, "currency": "CNY"},
                }
            ],
        }
        response = await node.post(plan_id=PLAN_ID, contract_id=self.contract_ids[code], json=body)
        expect("status", response.status, 204)
        expect("body", response.body, b"")
        return "204 No Content"

    async def _periods(self) -> str:
        node = self.client.v3.papay.insuranceSign.policy_periods.planId._plan_id_.outContractCode._out_contract_code_
        answer = (await node.get(plan_id=PLAN_ID, out_contract_code=CONTRACTS[0], query={"limit": 10})).json()
        states = [(p["policy_period_id"], p["policy_period_state"]) for p in answer["data"]]
        expect("periods", states, [(1, "PAID"), (2, "NO_SCHEDULED")])
        return "period 1 PAID, period 2 NO_SCHEDULED (renewed)"

    # -- 5. papay insurance-sign: terminate -----------------------------------------------

    async def terminate(self) -> None:
        """Seed: POST .../out-contract-code/{out_contract_code}/terminate."""
        self.account.section("Contract termination (papay insurance-sign)")
        template = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/out-contract-code/{out_contract_code}/terminate"
        contracts = self.client.v3.papay.insuranceSign.contracts
        attribute = contracts.planId._plan_id_.outContractCode._out_contract_code_.terminate
        for code, (name, node) in zip(CONTRACTS, styles(self.client, attribute, template), strict=True):
            await self.account.step(name, f"POST .../terminate {code}", self._terminate(node, code))
        await self.account.step(
            "merchant", "receives the notifications", self._notified("INSURANCE_ENTRUST.TERMINATE", "TERMINATED")
        )
        await self.account.step("query", "GET contracts/.../out-contract-code/DEMO1", self._contract("TERMINATED"))

    async def _terminate(self, node: Chain, code: str) -> str:
        body = {"contract_termination_remark": "用户解约"}
        answer = (await node.post(plan_id=PLAN_ID, out_contract_code=code, json=body)).json()
        expect("contract_state", answer.get("contract_state"), "TERMINATED")
        return f"TERMINATED by {answer['contract_terminate_info']['contract_termination_mode']}"

    # -- shared -----------------------------------------------------------------------------

    async def _received(self, event_type: str, count: int = 1) -> list[Notification]:
        """The notifications of `event_type` the merchant's endpoint verified; TimeoutError says why not."""
        try:
            return await self.inbox.wait(event_type, count, timeout=self.notify_timeout)
        except TimeoutError as exc:
            failed = [d.error for d in self.emu.deliveries if d.event_type == event_type and d.error]
            raise TimeoutError(f"{exc}; delivery errors: {failed[-3:] or 'none'}") from None

    async def _contract(self, wanted: str) -> str:
        node = self.client.v3.papay.insuranceSign.contracts.planId._plan_id_.outContractCode._out_contract_code_
        answer = (await node.get(plan_id=PLAN_ID, out_contract_code=CONTRACTS[0])).json()
        expect("contract_state", answer.get("contract_state"), wanted)
        return f"{CONTRACTS[0]} {wanted}"

    async def _notified(self, event_type: str, state: str) -> str:
        notes = await self._received(event_type, len(CONTRACTS))
        expect("contract states", {n.resource["contract_state"] for n in notes}, {state})
        return f"3 x {event_type} verified: {state}"


async def tour(out: TextIO, *, emulator_factory: Callable[[], Emulator] = Emulator, notify_timeout: float = 5.0) -> int:
    """Walk every family against a fresh emulator; 0 if every step behaved, else 1.

    `notify_timeout`: how long to wait for each expected notification.
    """
    account = Account(out)
    started = time.perf_counter()
    async with emulator_factory() as emulator:
        emulator.insurance.compensation_delay = 3600  # so the opening is visibly pending at first
        client = emulator.client()
        async with Inbox(client) as inbox:
            account.say(f"WeChat Pay emulator at {emulator.base_url} (merchant {client.mchid})")
            account.say(f"notifications to {inbox.url}")
            account.say(STYLES_LEGEND)
            try:
                await Tour(emulator, client, inbox, account, notify_timeout=notify_timeout).walk()
                await walk_apiv2(account, emulator, notify_timeout=notify_timeout)
            except Stopped:
                account.say(f"\nStopped after {account.steps} good steps: the one marked {account.bad} misbehaved.")
                return 1
            calls, notes = len(emulator.received), len(inbox.received)
    elapsed = time.perf_counter() - started
    account.say(
        f"\nAll {account.steps} steps behaved: {calls} signed calls answered and verified, "
        f"{notes} notifications verified and decrypted, in {elapsed:.1f} s."
    )
    return 0
