"""`certificates download` and `call` as an operator runs them: subprocesses against the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from wechatpay_chain._cli import main
from wechatpay_chain.testing import Answer, Credentials, Emulator, Incoming
from wechatpay_chain.testing._credentials import cert_pem

ROOT = Path(__file__).resolve().parents[1]
# The commands download certificates and verify with either key: the merchant here has both.
pytestmark = pytest.mark.wechatpay_emulator(key_mode="transition")


@dataclass
class Run:
    code: int
    out: str
    err: str


async def cli(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run `python -m wechatpay_chain ARGS` while this loop keeps serving the emulator."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WECHATPAY_")}
    base["PYTHONPATH"] = str(ROOT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wechatpay_chain",
        *args,
        env={**base, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@pytest.fixture
def files(credentials: Credentials, tmp_path: Path) -> dict[str, str]:
    return credentials.save(tmp_path / "keys")


def flags(emu: Emulator, files: dict[str, str]) -> list[str]:
    creds = emu.credentials
    return [
        "--mchid",
        creds.mchid,
        "--serial",
        creds.serial,
        "--private-key",
        files["private_key_file"],
        "--apiv3-key",
        creds.apiv3_key,
        "--base-url",
        emu.base_url,
    ]


def environment(emu: Emulator, files: dict[str, str]) -> dict[str, str]:
    creds = emu.credentials
    return {
        "WECHATPAY_MCHID": creds.mchid,
        "WECHATPAY_SERIAL": creds.serial,
        "WECHATPAY_PRIVATE_KEY": files["private_key_file"],
        "WECHATPAY_APIV3_KEY": creds.apiv3_key,
        "WECHATPAY_BASE_URL": emu.base_url,
    }


def no_secrets(run: Run, creds: Credentials, files: dict[str, str]) -> None:
    private = Path(files["private_key_file"]).read_text()
    body = private.splitlines()[1]
    for text in (run.out, run.err):
        assert creds.apiv3_key not in text and body not in text


# -- certificates download -------------------------------------------------------------------


async def test_download_writes_each_certificate(emulator: Emulator, files: dict[str, str], tmp_path: Path) -> None:
    creds = emulator.credentials
    old = creds.platform_serial
    new = emulator.rotate_certificate()
    out = tmp_path / "certs"
    run = await cli("certificates", "download", *flags(emulator, files), "--output", str(out))
    assert run.code == 0, run.err
    for platform in creds.platform:
        path = out / f"wechatpay_{platform.serial}.pem"
        assert path.read_bytes() == cert_pem(platform.certificate)
        line = next(line for line in run.out.splitlines() if line.startswith(platform.serial))
        assert f"{platform.certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC" in line and str(path) in line
    assert {old, new} == {p.name[len("wechatpay_") : -len(".pem")] for p in out.iterdir()}
    no_secrets(run, creds, files)


async def test_download_from_the_environment(emulator: Emulator, files: dict[str, str], tmp_path: Path) -> None:
    run = await cli("certificates", "download", "-o", str(tmp_path / "c"), env=environment(emulator, files))
    assert run.code == 0, run.err
    assert (tmp_path / "c" / f"wechatpay_{emulator.credentials.platform_serial}.pem").exists()
    no_secrets(run, emulator.credentials, files)


async def test_download_for_a_public_key_only_merchant(
    credentials: Credentials, files: dict[str, str], tmp_path: Path
) -> None:
    async with Emulator(credentials=credentials, key_mode="public-key") as emu:
        run = await cli("certificates", "download", *flags(emu, files), "--output", str(tmp_path / "c"))
    assert run.code == 2
    assert "RESOURCE_NOT_EXISTS" in run.err and "certs={'PUB_KEY_ID_" in run.err
    assert not (tmp_path / "c").exists()
    no_secrets(run, credentials, files)


async def test_download_with_a_wrong_apiv3_key(emulator: Emulator, files: dict[str, str], tmp_path: Path) -> None:
    env = {**environment(emulator, files), "WECHATPAY_APIV3_KEY": "w" * 32}
    run = await cli("certificates", "download", "-o", str(tmp_path / "c"), env=env)
    assert run.code == 1
    assert "does not decrypt with the APIv3 key" in run.err and "w" * 32 not in run.err
    assert not (tmp_path / "c").exists()


async def test_download_names_what_is_missing(tmp_path: Path) -> None:
    run = await cli("certificates", "download", "-o", str(tmp_path))
    assert run.code == 2 and "--mchid (or the WECHATPAY_MCHID environment variable) is required" in run.err


# -- call ------------------------------------------------------------------------------------


def echo(incoming: Incoming) -> Answer:
    return Answer(
        200,
        {
            "method": incoming.method,
            "target": incoming.target,
            "json": incoming.json(),
            "header": incoming.headers.get("X-Trace"),
        },
    )


async def test_call_prints_the_verified_json(emulator: Emulator, files: dict[str, str], tmp_path: Path) -> None:
    emulator.stub("POST", "v3/things/{id}", echo)
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"name": "张三"}, ensure_ascii=False), encoding="utf-8")
    args = ["call", "post", "v3/things/{id}", "-p", "id=7 8", "--query", "a=1", "--query", "a=2"]
    run = await cli(*args, "--json", f"@{body}", "-H", "X-Trace=t1", env=environment(emulator, files))
    assert run.code == 0, run.err
    assert json.loads(run.out) == {
        "method": "POST",
        "target": "/v3/things/7%208?a=1&a=2",
        "json": {"name": "张三"},
        "header": "t1",
    }
    no_secrets(run, emulator.credentials, files)


async def test_call_with_flags_and_inline_json(emulator: Emulator, files: dict[str, str]) -> None:
    emulator.stub("PATCH", "v3/things", echo)
    run = await cli("call", "PATCH", "v3/things", "--json", '{"n": 1}', *flags(emulator, files))
    assert run.code == 0, run.err
    assert json.loads(run.out)["json"] == {"n": 1}


async def test_call_with_the_public_key_only(credentials: Credentials, files: dict[str, str]) -> None:
    async with Emulator(credentials=credentials, key_mode="public-key") as emu:
        emu.stub("GET", "v3/things", echo)
        env = {
            **environment(emu, files),
            "WECHATPAY_PUBLIC_KEY": files["public_key_file"],
            "WECHATPAY_PUBLIC_KEY_ID": credentials.public_key_id,
        }
        del env["WECHATPAY_APIV3_KEY"]
        run = await cli("call", "GET", "v3/things", env=env)
    assert run.code == 0, run.err
    assert json.loads(run.out)["target"] == "/v3/things"


async def test_call_reports_the_api_error(emulator: Emulator, files: dict[str, str]) -> None:
    emulator.stub("GET", "v3/things", Answer(400, {"code": "PARAM_ERROR", "message": "缺少参数", "detail": {"f": 1}}))
    run = await cli("call", "GET", "v3/things", env=environment(emulator, files))
    assert run.code == 1 and run.out == ""
    fields = json.loads(run.err[run.err.index("{") :])
    assert fields["status"] == 400 and fields["code"] == "PARAM_ERROR" and fields["message"] == "缺少参数"
    assert fields["detail"] == {"f": 1} and fields["request_id"]
    no_secrets(run, emulator.credentials, files)


async def test_call_refuses_an_answer_that_does_not_verify(emulator: Emulator, files: dict[str, str]) -> None:
    emulator.stub("GET", "v3/things", echo)
    emulator.fault("bad_signature", "v3/things")
    run = await cli("call", "GET", "v3/things", env=environment(emulator, files))
    assert run.code == 1 and run.out == ""
    assert "SignatureError" in run.err


# In-process: these fail before any I/O, so they need no emulator and no subprocess.


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--json", "{nope"], "--json is not valid JSON"),
        (["--json", "@/no/such/file.json"], "cannot read the file"),
        (["-p", "novalue"], "expected NAME=VALUE"),
        (["--public-key-id", "PUB_KEY_ID_0114"], "--public-key and --public-key-id go together"),
    ],
)
def test_call_usage_errors(
    extra: list[str], message: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["call", "POST", "v3/things", "--mchid", "1", "--serial", "AB", "--private-key", files["private_key_file"]]
    try:
        code = main([*argv, *extra, "--base-url", "http://127.0.0.1:9/"])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    assert code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("command", [["certificates", "download"], ["call"]])
def test_help_shows_a_working_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "example" in out and "wechatpay-chain " + " ".join(command) in out
    assert "WECHATPAY_APIV3_KEY" in out
