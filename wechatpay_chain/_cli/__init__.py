"""The `wechatpay-chain` command line (also `python -m wechatpay_chain`).

Each subcommand is a module with `register(subparsers)`, which adds its parser and sets
`func(args) -> int`; adding a command is adding its module to `COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from .._version import __version__
from . import _call, _certificates, _demo, _mock

COMMANDS: tuple[ModuleType, ...] = (_demo, _mock, _certificates, _call)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="wechatpay-chain",
        description="WeChat Pay APIv3 from the command line: a guided demo, a local emulator, and more.",
        epilog="Start here: wechatpay-chain demo",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:
        # The reader went away (`… | head`): silence the flush at exit instead of a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code
