"""`wechatpay-chain certificates download`: fetch, verify and save the platform certificates."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from .._errors import ConfigurationError, WechatpayError
from .._keys.keyring import PlatformKey
from ._credentials import ENVIRONMENT_HELP, add_arguments, client_from, report

EXAMPLE = f"""\
example (against the emulator: run `wechatpay-chain mock --port 8000 --keys ./emu` first):
  $ export WECHATPAY_APIV3_KEY="$(python -c 'import json;print(json.load(open("emu/credentials.json"))["apiv3_key"])')"
  $ wechatpay-chain certificates download --mchid 1900000109 --serial "$SERIAL" \\
        --private-key ./emu/apiclient_key.pem --base-url http://127.0.0.1:8000/ --output ./certs
  5D0A644AD4338CE1…  valid 2025-01-01 08:00:00 UTC to 2030-01-01 08:00:00 UTC  certs/wechatpay_5D0A644AD4338CE1….pem

  ($SERIAL is the "serial" the mock printed.) For production, drop --base-url and use your own
  merchant id, API certificate serial, apiclient_key.pem and APIv3 key. Each certificate is
  decrypted with the APIv3 key and the list is verified before anything is written. A merchant
  that has only the WeChat Pay public key is told to configure it instead.

{ENVIRONMENT_HELP}"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `certificates` command and its `download` action."""
    parser = subparsers.add_parser(
        "certificates",
        help="download the WeChat Pay platform certificates",
        description="Manage WeChat Pay platform certificates.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    download = actions.add_parser(
        "download",
        help="download, verify and save the platform certificates as wechatpay_<serial>.pem",
        description="Download v3/certificates with the APIv3 key, verify it, and write each certificate "
        "as DIR/wechatpay_<serial>.pem; prints each serial and validity.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(download)
    download.add_argument("--output", "-o", metavar="DIR", type=Path, required=True, help="directory to write to")
    download.set_defaults(func=run_download)


def run_download(args: argparse.Namespace) -> int:
    """Download and save; 0 on success, 2 for missing or wrong configuration, 1 for other failures."""
    try:
        certificates = asyncio.run(download(args))
        paths = [save(entry, args.output) for entry in certificates]
    except WechatpayError as exc:
        return report("certificates download", exc)
    except OSError as exc:
        return report("certificates download", ConfigurationError(f"--output {args.output}: {exc.strerror or exc}"))
    for entry, path in zip(certificates, paths, strict=True):
        print(describe(entry, path))
    return 0


async def download(args: argparse.Namespace) -> list[PlatformKey]:
    """The platform certificates, downloaded and verified."""
    async with client_from(args) as client:
        if client.refresher is None:
            raise ConfigurationError("--apiv3-key (or WECHATPAY_APIV3_KEY) is needed to download the certificates")
        await client.refresher.refresh()
        return client.certificates.certificates()


def save(entry: PlatformKey, directory: Path) -> Path:
    """Write one certificate as `wechatpay_<serial>.pem` in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"wechatpay_{entry.serial}.pem"
    path.write_bytes(entry.pem())
    return path


def describe(entry: PlatformKey, path: Path) -> str:
    """`SERIAL  valid FROM to UNTIL  PATH`."""
    when = "%Y-%m-%d %H:%M:%S UTC"
    assert entry.not_before is not None and entry.not_after is not None
    return f"{entry.serial}  valid {entry.not_before:{when}} to {entry.not_after:{when}}  {path}"
