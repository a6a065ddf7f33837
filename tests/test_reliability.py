"""The reliability suite at test size (`python -m benchmarks.reliability` runs it at full size)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization

from benchmarks.reliability.faults import FAULT_CASES, FaultCase, faults_one
from benchmarks.reliability.fuzz import Fuzzer
from benchmarks.reliability.overload import overload
from benchmarks.reliability.sizes import SIZES
from benchmarks.reliability.soak import soak
from benchmarks.reliability.tampering import FORGERIES, TAMPER_FAULTS, tampering
from benchmarks.reliability.wire_fuzz import WireFuzzer
from wechatpay_chain import KeyLoadError, load_private_key
from wechatpay_chain.testing import Credentials

SMALL = SIZES["tiny"]


async def test_soak_makes_every_call_and_leaves_nothing_open(credentials: Credentials) -> None:
    figures = await soak(SMALL.calls, SMALL.concurrency, credentials)
    assert figures.errors == {}
    assert len(figures.latencies) == SMALL.calls
    assert figures.in_use_after == 0
    assert 0 < figures.pooled_after <= SMALL.concurrency
    assert (figures.leaked_fds, figures.leaked_tasks) == (0, 0)


@pytest.mark.parametrize("case", FAULT_CASES, ids=lambda case: case.name)
async def test_each_fault_gives_its_typed_error_or_a_retried_success(credentials: Credentials, case: FaultCase) -> None:
    result = await faults_one(credentials, case)
    assert (result.got, result.attempts) == (result.case.expect, result.case.attempts)
    assert result.seconds <= result.bound  # the timeout plus one second


async def test_no_tampered_insurance_answer_is_accepted(credentials: Credentials) -> None:
    figures = await tampering(credentials)
    assert figures.endpoints == 22
    assert figures.controls_accepted == 22  # the same calls untampered do pass: the rejections are real
    assert figures.accepted_unverified == []
    assert figures.tampered_calls == 22 * (len(TAMPER_FAULTS) + len(FORGERIES)) - len(figures.not_applicable)
    # The real handlers, each call from fresh state: the controls pass, every tampering is refused.
    assert figures.stateful_endpoints == figures.stateful_controls_accepted == 22
    assert figures.stateful_tampered == 22 * len(TAMPER_FAULTS) - len(figures.stateful_not_applicable)
    assert len(figures.stateful_not_applicable) == 2  # renew answers 204: no body to tamper with or cut
    assert {"SignatureError:signature", "SignatureError:timestamp", "SignatureError:headers"} <= set(figures.rejected)


async def test_overload_fails_calls_before_sending_never_after(credentials: Credentials) -> None:
    figures = await overload(SMALL.overload, SMALL.overload_timeout, credentials)
    assert figures.ok > 0  # calls were served while the others waited
    assert figures.failed_after_sending == 0 and figures.other == {}
    assert figures.ok + figures.failed_before_sending == SMALL.overload


@pytest.fixture(scope="module")
def fuzzer(credentials: Credentials) -> Iterator[Fuzzer]:
    fuzzer = Fuzzer(credentials)
    yield fuzzer
    fuzzer.close()


@pytest.mark.parametrize(
    "target",
    ["chain_names", "templates", "placeholders", "inline_queries", "request_headers", "cli_environment"],
    ids=lambda name: name.replace("_", " "),
)
def test_fuzzing_lets_only_typed_errors_escape(fuzzer: Fuzzer, target: str) -> None:
    figure = getattr(fuzzer, target)(SMALL.examples)
    assert figure.examples > SMALL.examples // 2


@pytest.fixture(scope="module")
def wire_fuzzer(credentials: Credentials) -> Iterator[WireFuzzer]:
    fuzzer = WireFuzzer(credentials)
    yield fuzzer
    fuzzer.close()


@pytest.mark.parametrize("target", ["answers", "notifications"])
def test_fuzzing_what_arrives_accepts_only_the_genuine_message(wire_fuzzer: WireFuzzer, target: str) -> None:
    figure = getattr(wire_fuzzer, target)(SMALL.examples)
    assert figure.examples > SMALL.examples // 2


def test_fuzzing_key_inputs_lets_only_key_load_errors_escape(fuzzer: Fuzzer) -> None:
    figure = fuzzer.keys(SMALL.examples)
    assert figure.examples > SMALL.examples // 2


def test_a_key_of_an_unknown_algorithm_is_a_key_load_error(credentials: Credentials) -> None:
    pem = credentials.merchant_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = serialization.load_pem_private_key(pem, None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    rsa_oid = bytes.fromhex("2a864886f70d010101")
    unknown = der.replace(rsa_oid, bytes.fromhex("29864886f70d010101"), 1)  # 1.1.840.113549.1.1.1
    with pytest.raises(KeyLoadError):
        load_private_key("private.pkcs8://" + base64.b64encode(unknown).decode())
