"""Loading RSA keys and certificates from every form users keep them in.

Errors name the parameter and the accepted forms; they never quote the input, which may be a
private key.
"""

from __future__ import annotations

import base64
import binascii
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from .._errors import KeyLoadError
from .._types import PrivateKeyInput, PublicKeyInput

if TYPE_CHECKING:
    from cryptography import x509

PRIVATE_FORMS = (
    "PEM text or bytes (PKCS#1 'RSA PRIVATE KEY' or PKCS#8 'PRIVATE KEY', optionally encrypted "
    "with a passphrase), 'file:///path/to/apiclient_key.pem', 'private.pkcs1://<base64 DER>', "
    "'private.pkcs8://<base64 DER>', or a cryptography RSAPrivateKey"
)
PUBLIC_FORMS = (
    "PEM text or bytes ('PUBLIC KEY', 'RSA PUBLIC KEY' or an X.509 'CERTIFICATE'), "
    "'file:///path/to/key_or_cert.pem', 'public.pkcs1://<base64 DER>', "
    "'public.spki://<base64 DER>', or a cryptography RSAPublicKey or x509.Certificate"
)


def _fail(param: str, problem: str, forms: str) -> KeyLoadError:
    return KeyLoadError(f"{param}: {problem}. Accepted forms: {forms}")


def _read_file(value: str, param: str, forms: str) -> bytes:
    path = Path(value[len("file://") :])
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _fail(param, f"cannot read file {str(path)!r} ({exc.strerror})", forms) from None


def _der(value: str, scheme: str, param: str, forms: str) -> bytes:
    try:
        return base64.b64decode(value[len(scheme) :], validate=True)
    except (binascii.Error, ValueError):
        raise _fail(param, f"the {scheme} value is not valid base64", forms) from None


def load_private_key(
    value: PrivateKeyInput, *, password: str | bytes | None = None, param: str = "private_key"
) -> RSAPrivateKey:
    """Load the merchant's RSA private key from any accepted form."""
    if isinstance(value, RSAPrivateKey):
        return value
    if not isinstance(value, (str, bytes)):
        raise _fail(param, f"got a {type(value).__name__}", PRIVATE_FORMS)
    secret = password.encode() if isinstance(password, str) else password
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    try:
        if text.startswith("file://"):
            key = serialization.load_pem_private_key(_read_file(text, param, PRIVATE_FORMS), secret)
        elif text.startswith(("private.pkcs1://", "private.pkcs8://")):
            scheme = text[: text.index("://") + 3]
            key = serialization.load_der_private_key(_der(text, scheme, param, PRIVATE_FORMS), secret)
        elif "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode("latin-1"), secret)
        else:
            raise _fail(param, "not a recognised key form", PRIVATE_FORMS)
    except KeyLoadError:
        raise
    except TypeError:
        raise _fail(param, "the key is encrypted: pass its passphrase", PRIVATE_FORMS) from None
    except (ValueError, UnicodeError, UnsupportedAlgorithm):
        raise _fail(param, "the data is not a valid private key (or the passphrase is wrong)", PRIVATE_FORMS) from None
    if not isinstance(key, RSAPrivateKey):
        raise _fail(param, f"WeChat Pay needs an RSA key, got {type(key).__name__}", PRIVATE_FORMS)
    return key


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse one PEM X.509 certificate."""
    # Loaded on first need: a client configured with public keys never needs it.
    from cryptography.x509 import load_pem_x509_certificate

    return load_pem_x509_certificate(data)


def is_certificate(item: object) -> TypeGuard[x509.Certificate]:
    """Whether `item` is an X.509 certificate object (without importing x509 when none was ever loaded)."""
    module = sys.modules.get("cryptography.x509")
    return module is not None and isinstance(item, module.Certificate)


def certificate_serial(certificate: x509.Certificate) -> str:
    """A certificate's serial as WeChat Pay writes it: upper-case hex."""
    return f"{certificate.serial_number:X}"


def _public_from_pem(data: bytes) -> RSAPublicKey | x509.Certificate:
    if b"CERTIFICATE-----" in data:
        return load_certificate(data)
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not RSA")
    return key


def _public_from_der(data: bytes, scheme: str) -> RSAPublicKey:
    key = serialization.load_der_public_key(data) if scheme == "public.spki://" else _pkcs1_public(data)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not RSA")
    return key


def _pkcs1_public(der: bytes) -> RSAPublicKey:
    # cryptography has no DER loader for bare PKCS#1 public keys; its PEM loader takes them.
    body = base64.encodebytes(der).decode("ascii")
    pem = f"-----BEGIN RSA PUBLIC KEY-----\n{body}-----END RSA PUBLIC KEY-----\n"
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not RSA")
    return key


def load_public(value: PublicKeyInput, *, param: str) -> RSAPublicKey | x509.Certificate:
    """Load a platform certificate or a WeChat Pay public key, keeping a certificate whole."""
    if isinstance(value, RSAPublicKey) or is_certificate(value):
        return value
    if not isinstance(value, (str, bytes)):
        raise _fail(param, f"got a {type(value).__name__}", PUBLIC_FORMS)
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    try:
        if text.startswith("file://"):
            return _public_from_pem(_read_file(text, param, PUBLIC_FORMS))
        if text.startswith(("public.pkcs1://", "public.spki://")):
            scheme = text[: text.index("://") + 3]
            return _public_from_der(_der(text, scheme, param, PUBLIC_FORMS), scheme)
        if "-----BEGIN" in text:
            return _public_from_pem(text.encode("latin-1"))
    except KeyLoadError:
        raise
    except (ValueError, UnicodeError, UnsupportedAlgorithm):
        raise _fail(param, "the data is not a valid RSA public key or certificate", PUBLIC_FORMS) from None
    raise _fail(param, "not a recognised key form", PUBLIC_FORMS)


def public_key_of(item: RSAPublicKey | x509.Certificate) -> RSAPublicKey:
    """The RSA public key of a key or certificate."""
    if isinstance(item, RSAPublicKey):
        return item
    key = item.public_key()
    if not isinstance(key, RSAPublicKey):
        raise KeyLoadError("certificate: WeChat Pay platform certificates carry RSA keys")
    return key


def load_public_key(value: PublicKeyInput, *, param: str = "public_key") -> RSAPublicKey:
    """Load an RSA public key from any accepted form (a certificate gives its key)."""
    return public_key_of(load_public(value, param=param))
