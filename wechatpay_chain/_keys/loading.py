"""Loading RSA keys and certificates from every form users keep them in.

Errors name the parameter and the accepted forms; they never quote the input, which may be a
private key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import re
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .. import _hazmat
from .._errors import KeyLoadError
from .._types import PrivateKeyInput, PublicKeyInput

if TYPE_CHECKING:
    from cryptography import x509

PRIVATE_FORMS = (
    "PEM text or bytes (PKCS#1 'RSA PRIVATE KEY' or PKCS#8 'PRIVATE KEY', optionally encrypted "
    "with a passphrase), a path to the PEM file ('/path/to/apiclient_key.pem', 'file:///path/…' or a "
    "pathlib.Path), 'private.pkcs1://<base64 DER>', 'private.pkcs8://<base64 DER>', or a cryptography RSAPrivateKey"
)
PUBLIC_FORMS = (
    "PEM text or bytes ('PUBLIC KEY', 'RSA PUBLIC KEY' or an X.509 'CERTIFICATE'), a path to the PEM "
    "file ('/path/to/pub_key.pem', 'file:///path/…' or a pathlib.Path), 'public.pkcs1://<base64 DER>', "
    "'public.spki://<base64 DER>', or a cryptography RSAPublicKey or x509.Certificate"
)
_CERTIFICATE_PEM = b"-----BEGIN CERTIFICATE-----"
_PRIVATE_PEM = re.compile(rb"-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----")
_PUBLIC_PEM = re.compile(rb"-----BEGIN (?:RSA )?PUBLIC KEY-----")
_MAX_PATH = 4096  # longer text is no path: key material given in an unrecognised form, most likely
_QUOTED_PATH = 256  # a path is named in messages only when this short and free of base64-like runs
_BASE64_RUN = re.compile(r"[A-Za-z0-9+=]{24,}")
_BASE64_NAME = re.compile(r"[A-Za-z0-9+/=]*")
_NOT_A_PATH = re.compile(r"[\r\n\0]|-----")


def _fail(param: str, problem: str, forms: str) -> KeyLoadError:
    return KeyLoadError(f"{param}: {problem}. Accepted forms: {forms}")


def _is_path(text: str) -> bool:
    """Whether text that is no PEM and no `scheme://` form can be a file name (one line, no PEM marker)."""
    return 0 < len(text) <= _MAX_PATH and _NOT_A_PATH.search(text) is None


def _named(path: str) -> str:
    """` 'path'` for a message, or nothing when the text could be key material (never quote a key).

    Quoted only when short, free of a run of base64 letters as long as a key fragment, and when its
    file name holds something base64 lacks (the dot of `.pem`): a typo in a path is shown, a key
    pasted where a path goes is not.
    """
    if len(path) > _QUOTED_PATH or _BASE64_RUN.search(path) or not _is_path(path):
        return ""
    return "" if _BASE64_NAME.fullmatch(Path(path).name) else f" {path!r}"


def _read_file(value: str | os.PathLike[str], param: str, forms: str) -> bytes:
    """The bytes of the file `value` names (`file://…`, a bare path or a PathLike); never quotes key-like text."""
    text = os.fspath(value)
    if isinstance(text, str) and text.startswith("file://"):
        text = text[len("file://") :]
    if not isinstance(text, str) or not _is_path(text):
        raise _fail(param, "not a recognised key form", forms)
    if Path(text).suffix.lower() in (".p12", ".pfx"):
        raise _fail(param, "a PKCS#12 file (.p12) is not read: give the PEM file (apiclient_key.pem)", forms)
    try:
        return Path(text).expanduser().read_bytes()
    except OSError as exc:
        raise _fail(param, f"cannot read the file{_named(text)} ({exc.strerror})", forms) from None
    except RuntimeError:  # "~someone/…" for a user that does not exist
        raise _fail(param, f"cannot read the file{_named(text)} (no such home folder)", forms) from None


def _misplaced_private(data: bytes, param: str) -> None:
    """KeyLoadError saying what the PEM is when it is a certificate or a public key, not a private key."""
    if _CERTIFICATE_PEM in data:
        what = "a certificate (apiclient_cert.pem, or a platform certificate)"
    elif _PUBLIC_PEM.search(data):
        what = "a public key"
    else:
        return
    raise KeyLoadError(
        f"{param}: this is {what}, not a private key: pass the merchant API private key, apiclient_key.pem"
    )


def _misplaced_public(data: bytes, param: str) -> None:
    if _PRIVATE_PEM.search(data) and _CERTIFICATE_PEM not in data:
        raise KeyLoadError(
            f"{param}: this is a private key; certs takes WeChat Pay's public key (pub_key.pem) or platform "
            "certificates, and a private key never leaves your servers"
        )


def _der(value: str, scheme: str, param: str, forms: str) -> bytes:
    try:
        return base64.b64decode(value[len(scheme) :], validate=True)
    except (binascii.Error, ValueError):
        raise _fail(param, f"the {scheme} value is not valid base64", forms) from None


def load_private_key(
    value: PrivateKeyInput, *, password: str | bytes | None = None, param: str = "private_key"
) -> RSAPrivateKey:
    """Load the merchant's RSA private key from any accepted form (each distinct key is checked once per process)."""
    return _load_private_key(value, password, param, check=True)


def _load_private_key(
    value: PrivateKeyInput, password: str | bytes | None, param: str, *, check: bool
) -> RSAPrivateKey:
    if isinstance(value, RSAPrivateKey):
        return value
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise _fail(param, f"got a {type(value).__name__}", PRIVATE_FORMS)
    secret = password.encode() if isinstance(password, str) else password
    try:
        if isinstance(value, os.PathLike):
            pem = _read_file(value, param, PRIVATE_FORMS)
        else:
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            if text.startswith(("private.pkcs1://", "private.pkcs8://")):
                scheme = text[: text.index("://") + 3]
                key = _private(b"der", _der(text, scheme, param, PRIVATE_FORMS), secret, check)
                return _rsa_private(key, param)
            if "-----BEGIN" in text:
                pem = text.encode("latin-1")
            elif isinstance(value, str) and (text.startswith("file://") or _is_path(text)):
                pem = _read_file(text, param, PRIVATE_FORMS)
            else:
                raise _fail(param, "not a recognised key form", PRIVATE_FORMS)
        _misplaced_private(pem, param)
        key = _private(b"pem", pem, secret, check)
    except KeyLoadError:
        raise
    except TypeError:
        raise _fail(param, "the key is encrypted: pass its passphrase", PRIVATE_FORMS) from None
    except (ValueError, UnicodeError, UnsupportedAlgorithm):
        raise _fail(param, "the data is not a valid private key (or the passphrase is wrong)", PRIVATE_FORMS) from None
    return _rsa_private(key, param)


def _rsa_private(key: object, param: str) -> RSAPrivateKey:
    if not isinstance(key, RSAPrivateKey):
        raise _fail(param, f"WeChat Pay needs an RSA key, got {type(key).__name__}", PRIVATE_FORMS)
    return key


# Keys loaded and checked, by a digest of their bytes: checking an RSA key costs about 40 ms, so a
# process serving many clients with the same key checks it once. Bounded, least recently used out.
_CHECKED: OrderedDict[bytes, PrivateKeyTypes] = OrderedDict()
_CHECKED_SIZE = 1024
_checked_lock = threading.Lock()


def _private(form: bytes, data: bytes, password: bytes | None, check: bool) -> PrivateKeyTypes:
    """Parse a PEM or DER private key; checked (once per distinct key) unless `check` is False."""
    load = serialization.load_pem_private_key if form == b"pem" else serialization.load_der_private_key
    if not check:  # parsed only, to refuse a wrong form or passphrase now; never cached nor used to sign
        return load(data, password, unsafe_skip_rsa_key_validation=True)
    digest = hashlib.sha256(b"\0".join((form, hashlib.sha256(password or b"").digest(), data))).digest()
    with _checked_lock:
        key = _CHECKED.get(digest)
        if key is not None:
            _CHECKED.move_to_end(digest)
            return key
    key = load(data, password)
    with _checked_lock:
        _CHECKED[digest] = key
        while len(_CHECKED) > _CHECKED_SIZE:
            _CHECKED.popitem(last=False)
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
    """A certificate's serial as WeChat Pay writes it: upper-case hex in whole bytes (`keyring.normalise_serial`)."""
    digits = f"{certificate.serial_number:X}"
    return "0" + digits if len(digits) % 2 else digits


def _public_from_pem(data: bytes, param: str) -> RSAPublicKey | x509.Certificate:
    _misplaced_public(data, param)
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
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise _fail(param, f"got a {type(value).__name__}", PUBLIC_FORMS)
    try:
        if isinstance(value, os.PathLike):
            return _public_from_pem(_read_file(value, param, PUBLIC_FORMS), param)
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if text.startswith(("public.pkcs1://", "public.spki://")):
            scheme = text[: text.index("://") + 3]
            return _public_from_der(_der(text, scheme, param, PUBLIC_FORMS), scheme)
        if "-----BEGIN" in text:
            return _public_from_pem(text.encode("latin-1"), param)
        if isinstance(value, str) and (text.startswith("file://") or _is_path(text)):
            return _public_from_pem(_read_file(text, param, PUBLIC_FORMS), param)
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


class DeferredKey:
    """A merchant private key read and parsed now, whose check (the costly part of loading) waits for first use.

    For processes with many merchants: `Client(…, defer_key_loading=True)`. A missing file, a
    wrong passphrase or a non-RSA key still fail at once; the RSA consistency check (about 40 ms)
    runs on the first signature or decryption, in a worker thread when an event loop is running.
    """

    __slots__ = ("_key", "_lock", "_param", "_password", "_value")

    def __init__(
        self, value: str | bytes | os.PathLike[str], *, password: str | bytes | None = None, param: str = "private_key"
    ) -> None:
        key = _load_private_key(value, password, param, check=False)
        del key  # parsed to refuse bad input now; the key that signs is the checked one
        self._value = value
        self._password = password
        self._param = param
        self._key: RSAPrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the key has been checked and loaded."""
        return self._key is not None

    def load(self) -> RSAPrivateKey:
        """The checked key (loaded on the first call; later calls return it)."""
        with self._lock:
            if self._key is None:
                self._key = load_private_key(self._value, password=self._password, param=self._param)
            return self._key

    async def sign(self, message: bytes) -> str:
        """Base64 RSA-SHA256 signature of `message` (the first one checks the key, off the event loop)."""
        key = self._key if self._key is not None else await asyncio.to_thread(self.load)
        return _hazmat.rsa_sign(key, message)

    def __repr__(self) -> str:
        return f"<DeferredKey {'loaded' if self._key is not None else 'not loaded yet'}>"
