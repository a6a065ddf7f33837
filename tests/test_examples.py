"""Every script in examples/ runs against the emulator as a separate process and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
RUN_TIMEOUT = 60.0  # each takes about a second; the bound only stops a hang
# What the quick example and each family's run must show: the notification the flow sends, or
# the final state. Other examples (by other topics) must at least exit 0.
SHOWS = {
    "quickstart.py": "notification REFUND.SUCCESS: SUCCESS 100",
    "payments.py": 'query: 200 {"trade_state": "CLOSED"',
    "refunds.py": "today's trade bill: 2 rows ['SUCCESS', 'REFUND'], SHA-1 verified: True",
    "partner_payments.py": "notification REFUND.SUCCESS",
    "papay_insurance_sign.py": "notification INSURANCE_ENTRUST.TERMINATE",
    "papay_insurance_pay.py": '"policy_period_state": "PAID"',
    "inspolicymgr_deduct.py": "notification INSURANCE_POLICY_MANAGEMENT.GRANTED",
    "hire_power_bank.py": "notification HIRE_POWER_BANK.RECEIVE_INSURANCE",
    "platsolution_compensation.py": '"opened": true',
    "apiv2_micropay_refund.py": "notification REFUND.SUCCESS, req_info decrypted",
    "flask_app.py": "contracts: {'C20240808001': 'SIGNED'}",
    "django_app.py": "orders: {'PB20240808001': 'RECEIVED'}",
}


def offline_env() -> dict[str, str]:
    """This environment without WECHATPAY_* variables: the examples' default, the emulator."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WECHATPAY_")}


def run_example(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=RUN_TIMEOUT,
        env={**env, "PYTHONIOENCODING": "utf-8"},
        cwd=EXAMPLES.parent,
        check=False,
    )


def test_each_family_has_its_example() -> None:
    assert set(SHOWS) <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_runs_against_the_emulator(script: Path) -> None:
    done = run_example(script, offline_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert SHOWS.get(script.name, "") in done.stdout, done.stdout
    assert "Traceback" not in done.stderr


def test_an_incomplete_real_api_setting_is_refused_before_any_call() -> None:
    done = run_example(EXAMPLES / "hire_power_bank.py", {**offline_env(), "WECHATPAY_MCHID": "1900000109"})
    assert done.returncode == 1
    assert "missing: WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY" in done.stderr
    assert done.stdout == ""
