"""`wechatpay-chain mock`: the emulator as a standalone server for any language's SDK."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

from ..testing import Emulator
from ..testing._controls import PREFIX
from ..testing._key_modes import DEFAULT_KEY_MODE, KEY_MODES, KeyMode, has_certificates, has_public_key

EXAMPLE = """\
example:
  $ wechatpay-chain mock --port 8000 --keys ./emulator-keys
  {"base_url": "http://127.0.0.1:8000/", "mchid": "1900000109", "serial": "5E6F…", "key_mode": "public-key", …}

  Point any WeChat Pay SDK at base_url with the printed mchid, serial and private_key_file, and
  verify with the key files the line names; they depend on --key-mode:
    public-key   (default) the WeChat Pay public key signs everything: configure the SDK with
                 public_key_id and public_key_file, as WeChat Pay documents it for merchants today;
                 v3/certificates answers 404 RESOURCE_NOT_EXISTS.
    certificate  the platform certificate signs everything: configure platform_serial and
                 platform_cert_file, or only apiv3_key to download the certificates.
    transition   both exist and the request's Wechatpay-Serial picks the signer: configure
                 either of the above, or both.
  Play the user, WeChat Pay, the insurer and the clock over unsigned JSON (GET controls_url lists
  them), e.g. the user pays an order:
  $ curl -X POST http://127.0.0.1:8000/_emulator/payments/pay -d '{"out_trade_no": "T1"}'
  Stop with Ctrl-C. The printed apiv3_key and apiv2_key are throwaway keys the emulator generated
  (kept in --keys DIR when given), never a real merchant's keys.

  APIv2 calls that need the merchant certificate (refunds, red packets, transfers) need --tls:
  base_url is then https, served with a certificate of the emulator's CA (ca_file, to trust), and
  the client presents merchant_cert_file with private_key_file.
"""

# The fields printed at start, in this order: what any SDK needs to talk to the emulator, then
# where a test suite plays the user, the insurer and the clock (unsigned JSON, GET lists them).
FIELDS = (
    "base_url",
    "mchid",
    "serial",
    "private_key_file",
    "merchant_cert_file",
    "apiv3_key",
    "apiv2_key",
    "key_mode",
    "platform_serial",
    "platform_cert_file",
    "public_key_id",
    "public_key_file",
    "ca_file",
    "controls_url",
)
CERTIFICATE_FIELDS = ("platform_serial", "platform_cert_file")
PUBLIC_KEY_FIELDS = ("public_key_id", "public_key_file")


def fields_for(mode: KeyMode) -> tuple[str, ...]:
    """The fields printed in `mode`: the key files named are only those that verify its answers."""
    left_out = (() if has_certificates(mode) else CERTIFICATE_FIELDS) + (
        () if has_public_key(mode) else PUBLIC_KEY_FIELDS
    )
    return tuple(name for name in FIELDS if name not in left_out)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `mock` command."""
    parser = subparsers.add_parser(
        "mock",
        help="run the WeChat Pay emulator until interrupted",
        description="Run the WeChat Pay APIv3 emulator standalone: it prints one JSON line with the\n"
        "base URL, ids and key files any SDK needs, then serves until SIGINT or SIGTERM.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "--keys",
        metavar="DIR",
        type=Path,
        help="keep the keys in DIR, reusing them on the next run (default: a temporary directory removed at exit)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with the emulator's CA (ca_file) and ask for the merchant certificate (APIv2 refunds…)",
    )
    parser.add_argument(
        "--key-mode",
        choices=KEY_MODES,
        default=DEFAULT_KEY_MODE,
        help="which keys WeChat Pay has for the merchant, see below (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; 0 on a clean stop, 1 when the emulator cannot start."""
    with ExitStack() as stack:
        keys = args.keys or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wechatpay-emulator-")))
        try:
            asyncio.run(serve(args.host, args.port, keys, tls=args.tls, key_mode=args.key_mode))
        except CannotStart as exc:
            print(f"wechatpay-chain mock: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:  # platforms without loop signal handlers
            pass
    return 0


class CannotStart(Exception):
    """The emulator cannot start; the message says what to fix."""


async def serve(host: str, port: int, keys: Path, *, tls: bool = False, key_mode: KeyMode = DEFAULT_KEY_MODE) -> None:
    """Start the emulator, announce it on stdout, and serve until SIGINT/SIGTERM."""
    try:
        emulator = Emulator(host=host, port=port, keys_dir=keys, tls=tls, key_mode=key_mode)
    except (OSError, ValueError, KeyError) as exc:
        raise CannotStart(f"cannot use the keys in {keys} ({exc}); give an empty or emulator-made --keys DIR") from None
    try:
        await emulator.start()
    except OSError as exc:
        raise CannotStart(f"cannot listen on {host}:{port} ({exc.strerror or exc}); try another --port") from None
    try:
        stop = _stop_on_signals()  # before the announcement: whoever reads it may signal at once
        print(json.dumps(announcement(emulator, keys), ensure_ascii=False), flush=True)
        await stop.wait()
    finally:
        await emulator.close()


def announcement(emulator: Emulator, keys: Path) -> dict[str, Any]:
    """The start-up JSON line: base URL, ids, the key mode and the key files that verify in it (written into `keys`)."""
    credentials = emulator.credentials
    files = credentials.save(keys)
    values: dict[str, Any] = {
        "base_url": emulator.base_url,
        "mchid": credentials.mchid,
        "serial": credentials.serial,
        "apiv3_key": credentials.apiv3_key,
        "apiv2_key": credentials.apiv2_key,
        "key_mode": emulator.key_mode,
        "platform_serial": credentials.platform_serial,
        "public_key_id": credentials.public_key_id,
        "controls_url": emulator.base_url + PREFIX.lstrip("/"),
        **files,
    }
    return {name: values[name] for name in fields_for(emulator.key_mode)}


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers: there Ctrl-C arrives as KeyboardInterrupt instead.
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return stop
