"""Tampering: every forged or altered answer of every insurance endpoint is refused.

Two sweeps: each endpoint stubbed (so that forgeries can set the `Wechatpay-*` headers themselves),
and each endpoint's real, stateful handler, called from fresh state (`stateful.SCENARIOS`) with
each emulator fault on its answer.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from wechatpay_chain import Client, WechatpayError
from wechatpay_chain._chain.template import parse
from wechatpay_chain.testing import Answer, Credentials, Emulator, Insurance
from wechatpay_chain.testing._auth import sign_answer

from .calls import outcome
from .stateful import SCENARIOS

TAMPER_FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("bad_signature", {}),
    ("skew", {"seconds": 301}),
    ("skew", {"seconds": -301}),
    ("tamper_body", {}),
    ("unknown_serial", {}),
    ("truncate", {}),
    *(("missing_header", {"name": n}) for n in ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature")),
    ("missing_header", {"name": "Wechatpay-Serial"}),
)
# Forgeries the emulator's faults do not make: answers whose Wechatpay-* headers the stub sets itself.
FORGERIES = ("replayed headers", "foreign key, real serial", "other signature type", "timestamp not a number")


@dataclass
class TamperFigures:
    """How many tampered answers were sent, how each was refused, and any that was accepted."""

    endpoints: int = 0
    controls_accepted: int = 0
    tampered_calls: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    accepted_unverified: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    stateful_endpoints: int = 0
    stateful_controls_accepted: int = 0
    stateful_tampered: int = 0
    stateful_not_applicable: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, object]]:
        """The figures as (label, value) rows of the report."""
        return [
            ("insurance endpoints", self.endpoints),
            ("untampered answers accepted (control)", f"{self.controls_accepted} / {self.endpoints}"),
            ("tampered answers", self.tampered_calls),
            ("not applicable (empty 204 body)", len(self.not_applicable)),
            ("stateful handlers (real calls from fresh state)", self.stateful_endpoints),
            (
                "untampered stateful calls accepted (control)",
                f"{self.stateful_controls_accepted} / {self.stateful_endpoints}",
            ),
            ("tampered stateful answers", self.stateful_tampered),
            ("  not applicable (empty 204 body)", len(self.stateful_not_applicable)),
            *((f"  rejected as {k}", v) for k, v in sorted(self.rejected.items())),
            ("accepted unverified responses (both sweeps)", len(self.accepted_unverified)),
        ]


def insurance_endpoints() -> list[tuple[str, str, int]]:
    """(method, template, status) of the 22 insurance endpoints; `renew` answers 204."""
    routes = Insurance(clock=time.time, notify=print, mchid="1900000109").routes()
    return [(r.method, r.template.text, 204 if r.template.text.endswith("/renew") else 200) for r in routes]


def _answer_for(template: str, status: int) -> Any:
    return None if status == 204 else {"endpoint": template, "state": "已受理", "amount": {"total": 100}}


def _forged_headers(emu: Emulator, kind: str, body: bytes) -> dict[str, str]:
    creds = emu.credentials
    now = int(emu.now())
    if kind == "replayed headers":  # genuine headers of another answer
        return sign_answer(creds.public_key, creds.public_key_id, body + b" ", now)
    if kind == "foreign key, real serial":
        return sign_answer(creds.platform[0].key, creds.public_key_id, body, now)
    headers = sign_answer(creds.public_key, creds.public_key_id, body, now)
    if kind == "other signature type":
        headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    else:
        headers["Wechatpay-Timestamp"] = f"{now}.0"
    return headers


def _values(template: str) -> dict[str, str]:
    return {name: f"{name}-1" for name in parse(template).placeholders}


async def _tamper_call(client: Client, method: str, template: str) -> BaseException | None:
    node = client.chain(template)
    verb = getattr(node, method.lower())
    try:
        await verb(json=None if method == "GET" else {"k": "v"}, **_values(template))
    except WechatpayError as exc:
        return exc
    return None


async def tampering(credentials: Credentials | None = None) -> TamperFigures:
    """Each tampering of each insurance endpoint's signed answer, stubbed and stateful; none may be accepted."""
    figures = TamperFigures()
    async with Emulator(credentials=credentials) as emu:
        await _stubbed(emu, emu.client(timeout=5), figures)
    async with Emulator(credentials=credentials) as emu:  # no stubs here: the real handlers answer
        await _stateful(emu, emu.client(timeout=5), figures)
    return figures


async def _stubbed(emu: Emulator, client: Client, figures: TamperFigures) -> None:
    for method, template, status in insurance_endpoints():
        figures.endpoints += 1
        body = _answer_for(template, status)
        emu.stub(method, template, Answer(status, body))
        if await _tamper_call(client, method, template) is None:
            figures.controls_accepted += 1
        for kind, params in TAMPER_FAULTS:
            label = f"{kind}({params.get('name') or params.get('seconds') or ''})"
            if body is None and kind in ("tamper_body", "truncate"):
                figures.not_applicable.append(f"{method} {template}: {label}")
                continue
            emu.fault(kind, template, times=1, **params)
            figures.tampered_calls += 1
            _count(figures, f"{method} {template}: {label}", await _tamper_call(client, method, template))
        raw = orjson.dumps(body) if body is not None else b""
        for kind in FORGERIES:
            # An answer with a body even for the 204 endpoint: headers signed over another body.
            sent = raw or b'{"injected":true}'
            forged = {"Content-Type": "application/json", **_forged_headers(emu, kind, sent)}
            emu.stub(method, template, Answer(200, sent, forged))
            figures.tampered_calls += 1
            _count(figures, f"{method} {template}: {kind}", await _tamper_call(client, method, template))
        emu.stub(method, template, Answer(status, body))


async def _stateful(emu: Emulator, client: Client, figures: TamperFigures) -> None:
    """Each fault on the answer of each real handler, every call made from fresh state."""
    for name, prepare in SCENARIOS.items():
        figures.stateful_endpoints += 1
        control = await prepare(client, emu)
        response = await control.send(client)  # untampered, it must pass: the rejections below are real
        figures.stateful_controls_accepted += response.ok
        for kind, params in TAMPER_FAULTS:
            label = f"stateful {name}: {kind}({params.get('name') or params.get('seconds') or ''})"
            if response.status == 204 and kind in ("tamper_body", "truncate"):
                figures.stateful_not_applicable.append(label)
                continue
            call = await prepare(client, emu)
            emu.fault(kind, call.template, times=1, **params)
            try:
                await call.send(client)
                error: BaseException | None = None
            except WechatpayError as exc:
                error = exc
            emu.clear_faults()
            figures.stateful_tampered += 1
            _count(figures, label, error)


def _count(figures: TamperFigures, label: str, error: BaseException | None) -> None:
    if error is None:
        figures.accepted_unverified.append(label)
    else:
        figures.rejected[outcome(error)] += 1
