"""What an APIv2 call sends: its XML body (or a GET's query) with `nonce_str` and `sign_type`, and its TLS needs.

The request builder asks this module for a `v2/…` call's body and query before any I/O; the
signer then adds `sign` over the fields as they are sent (`signing.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict

from .. import _hazmat
from .._errors import ConfigurationError
from .._types import Query
from . import endpoints, xml
from .signing import prepared, prepared_query

ACCEPT = "text/xml, text/plain, application/x-gzip"  # XML answers, and bills as text or gzip
CONTENT_TYPE = "text/xml; charset=utf-8"


def encode_call(
    method: str, path: str, options: Mapping[str, Any], headers: CIMultiDict[str], *, where: str
) -> tuple[Query | None, bytes | None]:
    """(query, XML body or None) of a v2 call; sets its Accept and Content-Type headers."""
    fields = options.get("xml")
    nonceless = options.get("nonceless")
    if nonceless is not None and not isinstance(nonceless, bool):
        raise ConfigurationError(f"{where}: nonceless= is True, False or None (the endpoint's default)")
    headers["Accept"] = ACCEPT
    nonce = _hazmat.nonce()
    if fields is None:
        if method == "GET":
            return prepared_query(path, options.get("query"), nonceless=nonceless, nonce=nonce, where=where), None
        return options.get("query"), None
    if options.get("json") is not None or options.get("body") is not None:
        raise ConfigurationError(f"{where}: pass xml= alone (not with json= or body=): it is the body")
    headers["Content-Type"] = CONTENT_TYPE
    body = xml.dumps(prepared(path, fields, nonceless=nonceless, nonce=nonce, where=where))
    return options.get("query"), body


def needs_certificate(path: str, security: object, where: str) -> bool:
    """Whether the call goes over mutual TLS: always for the endpoints that require it, else when `security=True`."""
    if security is not None and not isinstance(security, bool):
        raise ConfigurationError(f"{where}: security= is True or False")
    return bool(security) or path in endpoints.CERTIFICATE
