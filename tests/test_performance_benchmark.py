"""The performance benchmark's code runs, at a tiny size, and prints every row of its tables (no timing asserted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from multidict import CIMultiDict, CIMultiDictProxy

from wechatpay_chain.testing import Credentials

pytest.importorskip("wechatpayv3", reason="the bench extra")
pytest.importorskip("uvicorn", reason="the bench extra")

from benchmarks.performance.__main__ import run
from benchmarks.performance.config import CLIENT_CPU, CONCURRENCY, METHODS, MODES, SDKS, WEBHOOK
from benchmarks.performance.docs import BEGIN, END, write_report
from benchmarks.performance.floor import NotificationFloor
from benchmarks.performance.notifications import notifications, transaction
from benchmarks.performance.plot import plot
from benchmarks.performance.report import verdict
from benchmarks.performance.stats import Rounds

ROOT = Path(__file__).resolve().parents[1]


async def test_a_tiny_run_measures_every_part_and_prints_every_row(tmp_path: Path) -> None:
    figures, text = await run("tiny")
    rounds = MODES["tiny"].rounds
    for method in METHODS:
        for c in CONCURRENCY:
            key = f"{method} {c}"
            assert {sdk: len(v) for sdk, v in figures.cpu[key].values.items()} == dict.fromkeys(SDKS, rounds)
            assert re.search(rf"^\| client CPU per call ÷ floor \| {method}, concurrency {c} \| [\d.]+ \|", text, re.M)
            assert f"| {method}, concurrency {c} | " in text.partition("### Calls per second")[2]
            assert f"| {method}, {c} | " in text.partition("### Beyond one core")[2]
        assert re.search(rf"^\| memory per call in flight ÷ floor \| {method}, 40 in flight \|", text, re.M)
    for row in ("notification parse ÷ floor", "webhook deliveries/s ÷ bare handler | aiohttp", "| ASGI, 64 in flight"):
        assert row in text
    target_rows = [line for line in text.splitlines() if re.match(r"\| (client CPU|notification|webhook|memory)", line)]
    assert len(target_rows) == 6 + 1 + 2 + 2
    verdict_cell = re.compile(r"\| (met|\*\*not met\*\*: [+-][\d.]+ \(≈ [+-][\d,]+ \S+\)) \|$")
    assert all(verdict_cell.search(line) for line in target_rows), target_rows
    for heading in ("Machine and versions", "Method", "Targets", "Notifications", "Memory per call in flight"):
        assert f"### {heading}" in text
    layers = text.partition("### Where wechatpay_chain's CPU goes")[2].partition("###")[0]
    for layer in ("logging middleware", "signer middleware", "verifier middleware", "**transport − bare aiohttp**"):
        assert re.search(rf"^\| {re.escape(layer)}.* \| -?[\d.,]+ \(.*\) \| -?[\d.,]+ \(.*\) \|$", layers, re.M)
    assert "load average at end" in text and "cryptography: " in text
    # Every memory test ran to the end: a call's share of the peak is a real figure.
    assert all(len(figures.memory[m].values["floor"]) == 1 for m in METHODS)

    page = tmp_path / "performance.md"
    page.write_text(f"# Performance\n\nbefore\n\n{BEGIN}\nold figures\n{END}\n\nafter\n", encoding="utf-8")
    write_report(page, text)
    written = page.read_text(encoding="utf-8")
    assert "old figures" not in written and text in written
    assert written.startswith("# Performance\n\nbefore\n") and written.endswith(f"{END}\n\nafter\n")
    plot(figures, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_the_docs_page_has_the_markers_the_benchmark_writes_between() -> None:
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1 and text.index(BEGIN) < text.index(END)


def test_a_ratio_is_the_median_of_per_round_ratios_never_a_best_of() -> None:
    rounds = Rounds()
    for floor, ours in ((1.0, 3.0), (2.0, 2.5), (10.0, 10.5)):
        rounds.add("floor", floor)
        rounds.add("ours", ours)
    spread = rounds.ratio("ours", "floor")
    assert spread.median == 1.25  # of the per-round ratios 3, 1.25 and 1.05
    assert rounds.median("ours") / rounds.median("floor") == 1.5  # not the ratio of the medians
    assert min(rounds.values["ours"]) / min(rounds.values["floor"]) == 2.5  # nor of the bests
    assert spread.p10 == pytest.approx(1.09) and spread.p90 == pytest.approx(2.65)


def test_a_verdict_says_met_or_the_gap_in_the_figures_unit() -> None:
    assert verdict(CLIENT_CPU, 1.04, 500.0, "µs/call") == "met"
    assert verdict(CLIENT_CPU, 1.09, 500.0, "µs/call") == "**not met**: +0.040 (≈ +20 µs/call)"
    assert verdict(WEBHOOK, 0.96, 2000.0, "/s") == "met"
    assert verdict(WEBHOOK, 0.80, 2000.0, "/s") == "**not met**: -0.150 (≈ -300 /s)"


def test_the_notification_floor_verifies_and_decrypts_for_real(credentials: Credentials) -> None:
    floor = NotificationFloor({credentials.public_key_id: credentials.public_key.public_key()}, credentials.apiv3_key)
    ((headers, body),) = notifications(credentials, 1, first=7)
    envelope, resource = floor.open_mapping(CIMultiDictProxy(CIMultiDict(headers)), body)
    assert envelope["event_type"] == "TRANSACTION.SUCCESS" and resource == transaction(7)
    with pytest.raises(InvalidSignature):
        floor.open_mapping(CIMultiDictProxy(CIMultiDict(headers)), body.replace(b'"id":"', b'"id":"x'))
