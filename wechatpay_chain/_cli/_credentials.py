"""What the commands that call WeChat Pay share: credentials in (flags, else `WECHATPAY_*`), errors out.

Secrets (the private key, the APIv3 key) are never printed; prefer the environment variables for
them, since command-line flags are visible to other users of the machine (`ps`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._client import Client
from .._config import DEFAULT_BASE_URL
from .._errors import ApiError, ConfigurationError, WechatpayError
from .._keys.loading import certificate_serial, load_certificate

# flag dest -> environment variable
ENVIRONMENT = {
    "mchid": "WECHATPAY_MCHID",
    "serial": "WECHATPAY_SERIAL",
    "private_key": "WECHATPAY_PRIVATE_KEY",
    "apiv3_key": "WECHATPAY_APIV3_KEY",
    "public_key": "WECHATPAY_PUBLIC_KEY",
    "public_key_id": "WECHATPAY_PUBLIC_KEY_ID",
    "base_url": "WECHATPAY_BASE_URL",
}

ENVIRONMENT_HELP = """\
credentials: each flag falls back to an environment variable
  --mchid WECHATPAY_MCHID, --serial WECHATPAY_SERIAL, --private-key WECHATPAY_PRIVATE_KEY (a PEM file),
  --apiv3-key WECHATPAY_APIV3_KEY, --public-key WECHATPAY_PUBLIC_KEY (a PEM file),
  --public-key-id WECHATPAY_PUBLIC_KEY_ID, --base-url WECHATPAY_BASE_URL.
  Prefer the variables for secrets: flags show in the process list. Secrets are never printed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The credential flags shared by the commands that call WeChat Pay."""
    group = parser.add_argument_group("merchant credentials (flags, or the WECHATPAY_* variables below)")
    group.add_argument("--mchid", help="merchant id (商户号)")
    group.add_argument("--serial", help="merchant API certificate serial (商户API证书序列号)")
    group.add_argument("--private-key", metavar="PATH", help="merchant API private key, apiclient_key.pem")
    group.add_argument("--apiv3-key", metavar="KEY", help="APIv3 key; platform certificates are downloaded with it")
    group.add_argument("--public-key", metavar="PATH", help="WeChat Pay public key, pub_key.pem")
    group.add_argument("--public-key-id", metavar="ID", help="its id, PUB_KEY_ID_…")
    group.add_argument(
        "--platform-cert",
        metavar="PATH",
        action="append",
        default=[],
        help="a platform certificate, wechatpay_<serial>.pem (repeatable)",
    )
    group.add_argument("--base-url", metavar="URL", help=f"API base URL (default: {DEFAULT_BASE_URL})")


def setting(args: argparse.Namespace, name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A credential from its flag, else from its environment variable."""
    value = getattr(args, name, None)
    if value:
        return str(value)
    return (environ if environ is not None else os.environ).get(ENVIRONMENT[name]) or None


def _required(args: argparse.Namespace, name: str) -> str:
    value = setting(args, name)
    if value is None:
        flag = "--" + name.replace("_", "-")
        raise ConfigurationError(f"{flag} (or the {ENVIRONMENT[name]} environment variable) is required")
    return value


def _file(path: str) -> str:
    return "file://" + str(Path(path).expanduser().resolve())


def client_from(args: argparse.Namespace) -> Client:
    """A `Client` for the credentials given; ConfigurationError names what is missing."""
    certs: dict[str, Any] = {}
    public_key, public_key_id = setting(args, "public_key"), setting(args, "public_key_id")
    if bool(public_key) != bool(public_key_id):
        raise ConfigurationError("--public-key and --public-key-id go together (WECHATPAY_PUBLIC_KEY[_ID])")
    if public_key and public_key_id:
        certs[public_key_id] = _file(public_key)
    for path in args.platform_cert:
        certs[_serial_of(path)] = _file(path)
    return Client(
        _required(args, "mchid"),
        _required(args, "serial"),
        _file(_required(args, "private_key")),
        certs or None,
        apiv3_key=setting(args, "apiv3_key"),
        base_url=setting(args, "base_url") or DEFAULT_BASE_URL,
    )


def _serial_of(path: str) -> str:
    """A platform certificate's serial, read from the file (its name may not carry it)."""
    try:
        certificate = load_certificate(Path(path).expanduser().read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"--platform-cert {path}: not a readable PEM certificate ({exc})") from None
    return certificate_serial(certificate)


def report(command: str, exc: WechatpayError) -> int:
    """Print a failure to stderr; returns the exit code (2 for configuration, 1 otherwise)."""
    if isinstance(exc, ApiError):
        fields = {
            "status": exc.status,
            "code": exc.code,
            "message": exc.message,
            "detail": exc.detail,
            "request_id": exc.request_id,
        }
        print(f"wechatpay-chain {command}: {exc}", file=sys.stderr)
        print(json.dumps(fields, ensure_ascii=False, indent=2), file=sys.stderr)
        return 1
    print(f"wechatpay-chain {command}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 2 if isinstance(exc, ConfigurationError) else 1
