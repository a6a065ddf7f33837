"""`wechatpay-chain call`: any signed APIv3 call from the shell, printing the verified JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError, WechatpayError
from .._models import Response
from ._credentials import ENVIRONMENT_HELP, add_arguments, client_from, report

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

EXAMPLE = f"""\
examples (against the emulator: run `wechatpay-chain mock --port 8000 --keys ./emu`, then set
WECHATPAY_MCHID, WECHATPAY_SERIAL, WECHATPAY_PRIVATE_KEY=./emu/apiclient_key.pem,
WECHATPAY_APIV3_KEY and WECHATPAY_BASE_URL=http://127.0.0.1:8000/ from the line it prints):
  $ wechatpay-chain call GET 'v3/hire-power-bank/user-qualifications/{{openid}}' -p openid=o1
  {{
    "qualified_user": true
  }}
  $ wechatpay-chain call GET v3/pay/transactions/out-trade-no/{{no}} -p no=1217752501 --query mchid=1900000109
  (the emulator does not serve this one: its 404 NOT_FOUND is printed on stderr, exit status 1)
  $ wechatpay-chain call POST v3/hire-power-bank/insurance-orders --json @order.json

  The answer is verified before it is printed. A non-2xx answer exits 1 and prints its status,
  code, message, detail and Request-ID on stderr; bad configuration exits 2.

{ENVIRONMENT_HELP}"""


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `call` command."""
    parser = subparsers.add_parser(
        "call",
        help="make one signed APIv3 call and print the verified JSON",
        description="Sign and send one APIv3 request, verify the answer, and print its JSON.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("method", type=str.upper, choices=METHODS, metavar="METHOD", help=", ".join(METHODS))
    parser.add_argument("path", metavar="PATH", help="URI template, e.g. 'v3/refund/domestic/refunds/{out_refund_no}'")
    parser.add_argument("--json", metavar="JSON|@FILE", help="request body: JSON text, or @file to read it from")
    parser.add_argument(
        "--query", metavar="K=V", type=_pair, action="append", default=[], help="query parameter (repeatable)"
    )
    parser.add_argument(
        "-p",
        "--placeholder",
        metavar="NAME=VALUE",
        type=_pair,
        action="append",
        default=[],
        help="value of a {NAME} in PATH (repeatable)",
    )
    parser.add_argument(
        "-H", "--header", metavar="NAME=VALUE", type=_pair, action="append", default=[], help="extra header"
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Make the call; 0 and the JSON on stdout, or non-zero with the error on stderr."""
    try:
        response = asyncio.run(call(args, body_of(args.json)))
    except WechatpayError as exc:
        return report("call", exc)
    show(response)
    return 0


def body_of(option: str | None) -> Any:
    """The `--json` value: parsed JSON text, or the JSON in the file after `@`."""
    if option is None:
        return None
    text = option
    if option.startswith("@"):
        try:
            text = Path(option[1:]).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"--json {option}: cannot read the file ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"--json is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        ) from None


async def call(args: argparse.Namespace, body: Any) -> Response:
    """Send the call described by `args` with the JSON `body`; the answer is verified (ApiError when not 2xx)."""
    async with client_from(args) as client:
        verb = getattr(client.chain(args.path), args.method.lower())
        response: Response = await verb(
            json=body,
            query=args.query or None,
            headers=dict(args.header) or None,
            **dict(args.placeholder),
        )
        return response


def show(response: Response) -> None:
    """Print the answer: indented JSON, or the raw bytes of a file."""
    if not response.body:
        return
    try:
        payload = response.json()
    except ValueError:
        sys.stdout.buffer.write(response.body)
        sys.stdout.flush()
        return
    print(json.dumps(payload, ensure_ascii=False, indent=2))
