"""The CLI as operators feed it: PEM text in the variables, a variable for every flag, messages in flag names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_cli_certificates import cli, echo, environment, no_secrets

from wechatpay_chain._cli import main
from wechatpay_chain.testing import Credentials, Emulator
from wechatpay_chain.testing._credentials import cert_pem, new_rsa_key, self_signed


@pytest.fixture
def files(credentials: Credentials, tmp_path: Path) -> dict[str, str]:
    return credentials.save(tmp_path / "keys")


@pytest.mark.wechatpay_emulator(key_mode="certificate")  # the CLI downloads the certificates with the APIv3 key
async def test_pem_text_in_the_private_key_variable_signs_calls(emulator: Emulator, files: dict[str, str]) -> None:
    emulator.stub("GET", "v3/things", echo)
    pem = Path(files["private_key_file"]).read_text()
    run = await cli("call", "GET", "v3/things", env={**environment(emulator, files), "WECHATPAY_PRIVATE_KEY": pem})
    assert run.code == 0, run.err
    assert json.loads(run.out)["target"] == "/v3/things"
    no_secrets(run, emulator.credentials, files)


@pytest.mark.parametrize("damage", ["cut short", "a line dropped"])
async def test_a_broken_pem_in_the_private_key_variable_is_never_printed(
    emulator: Emulator, files: dict[str, str], damage: str
) -> None:
    lines = Path(files["private_key_file"]).read_text().splitlines()
    pem = "\n".join(lines[:-3]) if damage == "cut short" else "\n".join(lines[:5] + lines[6:])
    run = await cli("call", "GET", "v3/things", env={**environment(emulator, files), "WECHATPAY_PRIVATE_KEY": pem})
    assert run.code == 2
    assert "KeyLoadError: private_key" in run.err
    for line in lines[1:-1]:
        assert line[:24] not in run.err
    no_secrets(run, emulator.credentials, files)


@pytest.mark.parametrize("form", ["path", "PEM text", "paths list"])
async def test_platform_certificates_come_from_their_variable(
    credentials: Credentials, files: dict[str, str], tmp_path: Path, form: str
) -> None:
    async with Emulator(credentials=credentials, key_mode="certificate") as emu:  # answers signed with the certificate
        emu.stub("GET", "v3/things", echo)
        another = cert_pem(self_signed(new_rsa_key(), "another platform certificate"))
        other = tmp_path / "other.pem"
        other.write_bytes(another)
        value = {
            "path": files["platform_cert_file"],
            "PEM text": Path(files["platform_cert_file"]).read_text() + another.decode(),
            "paths list": os.pathsep.join([str(other), files["platform_cert_file"]]),
        }[form]
        env = {**environment(emu, files), "WECHATPAY_PLATFORM_CERT": value}
        del env["WECHATPAY_APIV3_KEY"]  # nothing to download with: the variable's certificate verifies
        run = await cli("call", "GET", "v3/things", env=env)
    assert run.code == 0, run.err
    assert not [r for r in emu.received if r.target.startswith("/v3/certificates")]


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def test_without_a_verifying_key_the_message_names_the_flags(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("WECHATPAY_"):
            monkeypatch.delenv(name)
    argv = ["call", "GET", "v3/things", "--mchid", "1900000109", "--serial", "AB", "--private-key"]
    code, err = run_main([*argv, files["private_key_file"]], capsys)
    assert code == 2
    assert "--public-key" in err and "--platform-cert" in err and "--apiv3-key" in err
    assert "certs=" not in err and "apiv3_key=" not in err


@pytest.mark.parametrize("path", ["v3/things/{id", "v3/things/{id}", "v3/../x"])
def test_a_template_error_exits_2(
    path: str, files: dict[str, str], capsys: pytest.CaptureFixture[str], credentials: Credentials
) -> None:
    argv = ["call", "GET", path, "--mchid", "1900000109", "--serial", "AB", "--private-key", files["private_key_file"]]
    code, err = run_main([*argv, "--apiv3-key", credentials.apiv3_key, "--base-url", "http://127.0.0.1:9/"], capsys)
    assert code == 2
    assert "TemplateError" in err


def test_help_names_a_variable_for_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["call", "--help"])
    out = capsys.readouterr().out
    for flag, variable in [
        ("--mchid", "WECHATPAY_MCHID"),
        ("--serial", "WECHATPAY_SERIAL"),
        ("--private-key", "WECHATPAY_PRIVATE_KEY"),
        ("--apiv3-key", "WECHATPAY_APIV3_KEY"),
        ("--public-key", "WECHATPAY_PUBLIC_KEY"),
        ("--public-key-id", "WECHATPAY_PUBLIC_KEY_ID"),
        ("--platform-cert", "WECHATPAY_PLATFORM_CERT"),
        ("--base-url", "WECHATPAY_BASE_URL"),
    ]:
        assert f"{flag} {variable}" in " ".join(out.split()), flag


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("WECHATPAY_PLATFORM_CERT", "~no-such-user-here/wechatpay_1.pem", "WECHATPAY_PLATFORM_CERT"),
        ("WECHATPAY_PRIVATE_KEY", "~no-such-user-here/apiclient_key.pem", "private_key: cannot read the file"),
        ("WECHATPAY_PLATFORM_CERT", "-----BEGIN CERTIFICATE-----", "WECHATPAY_PLATFORM_CERT"),
    ],
    ids=["platform cert of an unknown user's home", "private key of an unknown user's home", "a cut certificate"],
)
def test_an_unusable_variable_is_a_configuration_error(
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    credentials: Credentials,
    variable: str,
    value: str,
    named: str,
) -> None:
    environment = {
        "WECHATPAY_MCHID": credentials.mchid,
        "WECHATPAY_SERIAL": credentials.serial,
        "WECHATPAY_PRIVATE_KEY": files["private_key_file"],
        "WECHATPAY_APIV3_KEY": credentials.apiv3_key,
        variable: value,
    }
    for name, setting in environment.items():
        monkeypatch.setenv(name, setting)
    code, err = run_main(["call", "GET", "v3/things", "--base-url", "http://127.0.0.1:9/"], capsys)
    assert code == 2 and named in err, err
