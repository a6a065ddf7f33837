"""`wechatpay-chain demo`: the Quick start command passes, and fails loudly when WeChat Pay misbehaves."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from wechatpay_chain._cli import main
from wechatpay_chain._cli._demo import tour
from wechatpay_chain.testing import Emulator

DEMO_TIMEOUT = 60.0  # it takes well under a few seconds; the bound only stops a hang


def test_demo_exits_0_as_a_process_and_accounts_for_every_step() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wechatpay_chain", "demo"],
        capture_output=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    out = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, out + done.stderr.decode()
    summary = re.search(r"All (\d+) steps behaved", out)
    assert summary is not None, out
    good = [line for line in out.splitlines() if line.lstrip().startswith(("✓", "+ "))]
    assert len(good) == int(summary.group(1))
    assert "✗" not in out
    for seed in ("insurance-compensation-contracts", "insurance-orders", "authorizations", "renew", "terminate"):
        assert seed in out
    for call in ("POST pay/transactions/jsapi", "POST refund/domestic/refunds"):
        assert out.count(call) == 3  # the payment section: an order and a refund in each style
    for style in ("attribute", "chain()", "[ ]"):
        assert out.count(f" {style} ") >= 7  # every seed call and the payment calls in every style
    assert "6 rows (3 payments, 3 refunds), SHA-1 verified" in out
    for event in (
        "TRANSACTION.SUCCESS",
        "REFUND.SUCCESS",
        "INSURANCE_ENTRUST.SIGN",
        "INSURANCE_ENTRUST.RENEW",
        "INSURANCE_ENTRUST.TERMINATE",
        "INSURANCE_POLICY_MANAGEMENT.GRANTED",
        "HIRE_POWER_BANK.RECEIVE_INSURANCE",
    ):
        assert f"{event} verified" in out


async def test_demo_stops_with_exit_1_at_the_step_that_misbehaved() -> None:
    def tampered() -> Emulator:
        emulator = Emulator()
        renew = "v3/papay/insurance-sign/contracts/plan-id/{plan_id}/contract-id/{contract_id}/renew"
        emulator.fault("bad_signature", renew)
        return emulator

    out = io.StringIO()  # no encoding: the account falls back to ASCII marks
    assert await tour(out, emulator_factory=tampered) == 1
    lines = out.getvalue().splitlines()
    failed = [line for line in lines if line.startswith("  x ")]
    assert len(failed) == 1, out.getvalue()
    assert "renew DEMO1" in failed[0] and "SignatureError" in failed[0]
    assert "terminate" not in out.getvalue()  # later steps depend on it: not run
    assert lines[-1].startswith("Stopped after")


async def test_demo_reports_a_notification_that_never_verifies() -> None:
    def wrong_key() -> Emulator:
        emulator = Emulator()
        emulator.webhooks.backoff = 0.0  # retries at once: the demo's wait must not hang
        real = emulator.client

        def client_with_another_key(**overrides: object) -> object:
            return real(apiv3_key="0" * 32, **overrides)

        emulator.client = client_with_another_key  # type: ignore[method-assign,assignment]
        return emulator

    out = io.StringIO()
    assert await tour(out, emulator_factory=wrong_key, notify_timeout=0.5) == 1
    failed = [line for line in out.getvalue().splitlines() if line.startswith("  x ")]
    assert len(failed) == 1 and "TRANSACTION.SUCCESS" in failed[0], out.getvalue()  # the first notification
    assert "HTTP 500" in failed[0]  # the receiver refused it, and the account says so


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("wechatpay-chain 0.")
