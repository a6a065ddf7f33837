"""What the commands that call WeChat Pay share: credentials in (flags, else `WECHATPAY_*`), errors out.

Secrets (the private key, the APIv3 key) are never printed; prefer the environment variables for
them, since command-line flags are visible to other users of the machine (`ps`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._client import Client
from .._config import DEFAULT_BASE_URL
from .._errors import ApiError, ConfigurationError, TemplateError, WechatpayError
from .._keys.loading import certificate_serial, load_certificate

# flag dest -> environment variable
ENVIRONMENT = {
    "mchid": "WECHATPAY_MCHID",
    "serial": "WECHATPAY_SERIAL",
    "private_key": "WECHATPAY_PRIVATE_KEY",
    "apiv3_key": "WECHATPAY_APIV3_KEY",
    "public_key": "WECHATPAY_PUBLIC_KEY",
    "public_key_id": "WECHATPAY_PUBLIC_KEY_ID",
    "platform_cert": "WECHATPAY_PLATFORM_CERT",
    "base_url": "WECHATPAY_BASE_URL",
}

ENVIRONMENT_HELP = f"""\
credentials: each flag falls back to an environment variable
  --mchid WECHATPAY_MCHID, --serial WECHATPAY_SERIAL, --private-key WECHATPAY_PRIVATE_KEY,
  --apiv3-key WECHATPAY_APIV3_KEY, --public-key WECHATPAY_PUBLIC_KEY,
  --public-key-id WECHATPAY_PUBLIC_KEY_ID, --platform-cert WECHATPAY_PLATFORM_CERT,
  --base-url WECHATPAY_BASE_URL.
  Keys and certificates are a PEM file's path or the PEM text itself; WECHATPAY_PLATFORM_CERT holds
  one or more certificates' PEM text, or paths separated by {os.pathsep!r}.
  Prefer the variables for secrets: flags show in the process list. Secrets are never printed.
"""
NO_VERIFYING_KEY = (
    "no key to verify WeChat Pay's answers: give --public-key and --public-key-id (WECHATPAY_PUBLIC_KEY, "
    "WECHATPAY_PUBLIC_KEY_ID), --platform-cert (WECHATPAY_PLATFORM_CERT), or --apiv3-key (WECHATPAY_APIV3_KEY) "
    "to have the platform certificates downloaded"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The credential flags shared by the commands that call WeChat Pay."""
    group = parser.add_argument_group("merchant credentials (flags, or the WECHATPAY_* variables below)")
    group.add_argument("--mchid", help="merchant id (商户号)")
    group.add_argument("--serial", help="merchant API certificate serial (商户API证书序列号)")
    group.add_argument(
        "--private-key", metavar="PATH", help="merchant API private key, apiclient_key.pem (its path or PEM text)"
    )
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


def _required(args: argparse.Namespace, name: str, environ: Mapping[str, str] | None) -> str:
    value = setting(args, name, environ)
    if value is None:
        flag = "--" + name.replace("_", "-")
        raise ConfigurationError(f"{flag} (or the {ENVIRONMENT[name]} environment variable) is required")
    return value


def _key(value: str) -> str | Path:
    """A key as the client takes it: PEM text as it is, else the path of its file (`~` is expanded when loading)."""
    return value if "-----BEGIN" in value else Path(value)


def client_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Client:
    """A `Client` for the credentials given (flags, else `environ` or os.environ); ConfigurationError if any lacks."""
    certs: dict[str, Any] = {}
    public_key, public_key_id = setting(args, "public_key", environ), setting(args, "public_key_id", environ)
    if bool(public_key) != bool(public_key_id):
        raise ConfigurationError("--public-key and --public-key-id go together (WECHATPAY_PUBLIC_KEY[_ID])")
    if public_key and public_key_id:
        certs[public_key_id] = _key(public_key)
    certs.update(_platform_certificates(args, environ))
    apiv3_key = setting(args, "apiv3_key", environ)
    mchid, serial = _required(args, "mchid", environ), _required(args, "serial", environ)
    private_key = _key(_required(args, "private_key", environ))
    if not certs and apiv3_key is None:
        raise ConfigurationError(NO_VERIFYING_KEY)
    return Client(
        mchid,
        serial,
        private_key,
        certs or None,
        apiv3_key=apiv3_key,
        base_url=setting(args, "base_url", environ) or DEFAULT_BASE_URL,
    )


_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _platform_certificates(args: argparse.Namespace, environ: Mapping[str, str] | None) -> dict[str, Any]:
    """Platform certificates by serial, from the --platform-cert flags, else from WECHATPAY_PLATFORM_CERT."""
    flags: list[str] = list(getattr(args, "platform_cert", None) or [])
    variable = "" if flags else (environ if environ is not None else os.environ).get(ENVIRONMENT["platform_cert"], "")
    if "-----BEGIN" in variable:
        found = _CERTIFICATE.findall(variable)
        if not found:
            raise ConfigurationError("WECHATPAY_PLATFORM_CERT: no complete PEM certificate in it")
        return {_serial_of(pem.encode(), "WECHATPAY_PLATFORM_CERT"): pem for pem in found}
    paths = flags or [p for p in variable.split(os.pathsep) if p]
    where = "--platform-cert" if flags else "WECHATPAY_PLATFORM_CERT"
    certificates = {}
    for path in paths:
        pem = _read(path, where)
        certificates[_serial_of(pem, f"{where} {path}")] = pem
    return certificates


def _read(path: str, where: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{where} {path}: cannot read the file ({exc.strerror or exc})") from None
    except (ValueError, RuntimeError):  # a NUL in the path; "~someone" of no such user
        raise ConfigurationError(f"{where} {path!r}: not a path to a readable file") from None


def _serial_of(pem: bytes, where: str) -> str:
    """A platform certificate's serial, read from it (a file's name may not carry it)."""
    try:
        certificate = load_certificate(pem)
    except ValueError:
        raise ConfigurationError(f"{where}: not a PEM certificate") from None
    return certificate_serial(certificate)


def report(command: str, exc: WechatpayError) -> int:
    """Print a failure to stderr; returns the exit code (2 for configuration or a bad PATH template, 1 otherwise)."""
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
    return 2 if isinstance(exc, (ConfigurationError, TemplateError)) else 1
