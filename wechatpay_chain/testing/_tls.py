"""The emulator's HTTPS: a server certificate from its own CA, and the client certificates it asks for.

`Emulator(tls=True)` serves HTTPS and asks every client for a certificate (optional in the
handshake, as WeChat Pay's servers do); the calls that need one check that the certificate was
issued by the emulator's CA to this merchant (its common name is the mchid).
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ._credentials import Credentials, cert_pem, private_pem

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def server_context(credentials: Credentials, host: str) -> ssl.SSLContext:
    """A server context for `host` (and the loopback names) that asks clients for a certificate of the CA."""
    hosts = tuple(dict.fromkeys((host, *LOOPBACK_NAMES)))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = credentials.server_certificate(key, hosts)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cadata=credentials.ca_pem.decode("ascii"))
    context.verify_mode = ssl.CERT_OPTIONAL  # asked of every client, required by the calls that need it
    with tempfile.TemporaryDirectory(prefix="wechatpay-emulator-tls-") as directory:
        path = Path(directory) / "server.pem"
        path.write_bytes(cert_pem(certificate) + private_pem(key))
        context.load_cert_chain(path)
    return context


def common_name(peer: Mapping[str, Any] | None) -> str | None:
    """The common name of a verified client certificate (as `SSLSocket.getpeercert()` gives it), or None."""
    for rdn in (peer or {}).get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None
