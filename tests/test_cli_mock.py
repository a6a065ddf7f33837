"""`wechatpay-chain mock`: started as a real process, read like another language's test suite would."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from wechatpay_chain import ApiError, Client
from wechatpay_chain._cli import main
from wechatpay_chain._cli._mock import CERTIFICATE_FIELDS, PUBLIC_KEY_FIELDS, fields_for

START_TIMEOUT = 30.0  # generous: a cold interpreter on a busy CI box, plus RSA key generation
STOP_TIMEOUT = 10.0


class Mock:
    """A running `mock` process and the JSON line it printed."""

    def __init__(self, process: asyncio.subprocess.Process, info: dict[str, Any]) -> None:
        self.process = process
        self.info = info

    async def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        """Send `signum`; return the exit code and what the process wrote to stderr."""
        self.process.send_signal(signum)
        _, stderr = await asyncio.wait_for(self.process.communicate(), STOP_TIMEOUT)
        assert self.process.returncode is not None
        return self.process.returncode, stderr.decode()


@asynccontextmanager
async def mock(*args: str) -> AsyncIterator[Mock]:
    """Start `python -m wechatpay_chain mock --port 0 ARGS` and wait for its JSON line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wechatpay_chain",
        "mock",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        assert line, f"mock exited without announcing itself (exit {await process.wait()})"
        yield Mock(process, json.loads(line))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def client_from(info: dict[str, Any], *, verify_with: str) -> Client:
    """A client built from the printed values and key files only, as any SDK would be."""
    public_key = {info["public_key_id"]: "file://" + info["public_key_file"]} if "public_key_id" in info else {}
    certificate = {info["platform_serial"]: "file://" + info["platform_cert_file"]} if "platform_serial" in info else {}
    certs: dict[str, str] | None = {
        "public_key": public_key,
        "certificate": certificate,
        "both": {**public_key, **certificate},
        "download": None,  # only the APIv3 key: the certificates are downloaded
    }[verify_with]
    return Client(
        info["mchid"],
        info["serial"],
        "file://" + info["private_key_file"],
        certs,
        apiv3_key=info["apiv3_key"],
        base_url=info["base_url"],
    )


async def test_mock_prints_one_json_line_then_serves_signed_calls_until_sigint() -> None:
    async with mock() as running:
        info = running.info
        assert list(info) == list(fields_for("public-key"))  # the default: WeChat Pay public key only
        assert info["key_mode"] == "public-key"
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert info["public_key_id"].startswith("PUB_KEY_ID_")
        assert len(info["apiv3_key"]) == 32
        for name in ("private_key_file", "public_key_file"):
            assert Path(info[name]).is_file()

        async with client_from(info, verify_with="public_key") as wxpay:
            order = wxpay.v3.hirePowerBank.insuranceOrders
            created = await order.post(json={"out_order_no": "PB1", "openid": "o1", "service_id": "500001"})
            assert created.json()["order_receive_state"] == "RECEIVING"
            assert created.headers["Wechatpay-Serial"] == info["public_key_id"]
            with pytest.raises(ApiError) as refused:
                await wxpay.v3.hirePowerBank.insuranceOrders._out_order_no_.get(out_order_no="NOPE")
            assert refused.value.response.status == 404

            # The insurer's move, over the unsigned HTTP controls another language's tests would use.
            async with aiohttp.ClientSession() as http:
                control = info["controls_url"] + "insurance/insurer-confirm"
                async with http.post(control, json={"out_order_no": "PB1"}) as reply:
                    assert reply.status == 200, await reply.text()
            fetched = await wxpay.v3.hirePowerBank.insuranceOrders._out_order_no_.get(out_order_no="PB1")
            assert fetched.json()["order_receive_state"] == "RECEIVED"

        code, stderr = await running.stop(signal.SIGINT)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert not Path(info["private_key_file"]).exists()  # the temporary key directory is gone


async def test_mock_tls_serves_https_and_apiv2_over_mutual_tls_from_the_printed_files(tmp_path: Path) -> None:
    async with mock("--tls", "--keys", str(tmp_path / "keys")) as running:
        info = running.info
        assert info["base_url"].startswith("https://127.0.0.1:") and len(info["apiv2_key"]) == 32
        for name in ("merchant_cert_file", "ca_file"):
            assert Path(info[name]).is_file()
        client = Client(
            info["mchid"],
            info["serial"],
            "file://" + info["private_key_file"],
            apiv2_key=info["apiv2_key"],
            merchant_cert="file://" + info["merchant_cert_file"],
            ca_certs="file://" + info["ca_file"],
            base_url=info["base_url"],
        )
        async with client as wxpay:
            order = {
                "appid": "wxd678efh567hg6787",
                "mch_id": info["mchid"],
                "body": "goods",
                "out_trade_no": "T1",
                "total_fee": 100,
                "spbill_create_ip": "127.0.0.1",
                "auth_code": "134567890123456789",
            }
            await wxpay.chain("v2").pay.micropay.post(xml=order)
            refund = {"appid": order["appid"], "mch_id": info["mchid"], "out_trade_no": "T1", "out_refund_no": "R1"}
            answer = await wxpay.chain("v2").secapi.pay.refund.post(xml={**refund, "total_fee": 100, "refund_fee": 100})
            assert answer.xml()["result_code"] == "SUCCESS"
        code, stderr = await running.stop(signal.SIGINT)
    assert code == 0, stderr


# Per key mode: the key files the line names, how an SDK is set up with them, and who signs.
MODES = {
    "public-key": (PUBLIC_KEY_FIELDS, ("public_key",), "public_key_id"),
    "certificate": (CERTIFICATE_FIELDS, ("certificate", "download"), "platform_serial"),
    "transition": (PUBLIC_KEY_FIELDS + CERTIFICATE_FIELDS, ("public_key", "certificate", "both"), None),
}


@pytest.mark.parametrize("mode", list(MODES))
async def test_each_key_mode_names_only_its_key_files_and_a_client_set_up_for_it_works(mode: str) -> None:
    named, setups, signer = MODES[mode]
    async with mock("--key-mode", mode) as running:
        info = running.info
        assert info["key_mode"] == mode
        assert {f for f in PUBLIC_KEY_FIELDS + CERTIFICATE_FIELDS if f in info} == set(named)
        for setup in setups:
            async with client_from(info, verify_with=setup) as wxpay:
                answer = await wxpay.v3.hirePowerBank.userQualifications._openid_.get(openid="o1")
                assert answer.json() == {"qualified_user": True}
                # Outside transition one key signs whatever the request names; in transition the request picks.
                expected = info[signer] if signer else wxpay.certificates.request_serial()
                assert answer.headers["Wechatpay-Serial"] == expected
        if mode == "public-key":  # as WeChat Pay answers a merchant without certificates
            async with client_from(info, verify_with="public_key") as wxpay:
                with pytest.raises(ApiError) as none:
                    await wxpay.v3.certificates.get()
                assert (none.value.status, none.value.code) == (404, "RESOURCE_NOT_EXISTS")
        await running.stop()


def test_mock_help_says_which_client_setup_fits_which_key_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["mock", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--key-mode {public-key,certificate,transition}" in text
    assert "public-key (default) the WeChat Pay public key signs everything: configure the SDK with" in text
    assert (
        "certificate the platform certificate signs everything: configure platform_serial and platform_cert_file"
        in text
    )
    assert "transition both exist and the request's Wechatpay-Serial picks the signer" in text


async def test_mock_keys_persist_across_runs_with_keys_dir(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    async with mock("--keys", str(keys)) as first:
        code, _ = await first.stop(signal.SIGTERM)
    assert code == 0
    async with mock("--keys", str(keys)) as second:
        code, _ = await second.stop(signal.SIGINT)
    assert code == 0
    same = ("mchid", "serial", "apiv3_key", "apiv2_key", "public_key_id", "private_key_file")
    assert {k: second.info[k] for k in same} == {k: first.info[k] for k in same}
    assert first.info["base_url"] != "" and Path(second.info["private_key_file"]).is_file()


async def test_mock_without_keys_dir_makes_new_keys_each_run() -> None:
    serials = []
    for _ in range(2):
        async with mock() as running:
            serials.append(running.info["serial"])
            await running.stop()
    assert serials[0] != serials[1]


async def test_an_example_in_real_api_mode_talks_to_the_mock_through_its_printed_files() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "hire_power_bank.py"
    async with mock() as running:
        info = running.info
        env = {k: v for k, v in os.environ.items() if not k.startswith("WECHATPAY_")}
        env.update(
            WECHATPAY_MCHID=info["mchid"],
            WECHATPAY_SERIAL=info["serial"],
            WECHATPAY_PRIVATE_KEY=info["private_key_file"],
            WECHATPAY_PUBLIC_KEY_ID=info["public_key_id"],
            WECHATPAY_PUBLIC_KEY=info["public_key_file"],
            WECHATPAY_BASE_URL=info["base_url"],
            PYTHONIOENCODING="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(example), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
        await running.stop()
    out = stdout.decode()
    assert process.returncode == 0, out + stderr.decode()
    assert f"WeChat Pay API at {info['base_url']}" in out
    assert 'create order: 200 {"order_id"' in out
    assert "notification" not in out  # nobody plays the insurer in real-API mode


def test_mock_on_a_busy_port_says_so_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["mock", "--port", str(port)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in captured.err
    assert captured.out == ""  # no JSON line for an emulator that never started


def test_mock_refuses_a_keys_dir_it_did_not_make(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "credentials.json").write_text("{}")
    assert main(["mock", "--port", "0", "--keys", str(tmp_path)]) == 1
    assert "cannot use the keys in" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["mock", "demo"])
def test_help_shows_a_working_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "example:" in text
    assert f"wechatpay_chain {command}" in text or f"wechatpay-chain {command}" in text


def test_mock_help_says_the_printed_apiv3_key_is_a_throwaway(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["mock", "--help"])
    assert "throwaway key" in capsys.readouterr().out
