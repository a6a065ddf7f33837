"""TLS contexts: the CA certificates a client trusts, and the merchant certificate for mutual TLS.

Calls that move money out (refunds, red packets, transfers…) present the merchant's API
certificate (`apiclient_cert.pem` with its private key, or the `apiclient_cert.p12` bundle) in the
TLS handshake. The context holding it is made on first use and used only for those calls.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from .._errors import ConfigurationError, KeyLoadError
from .._keys.loading import certificate_serial

if TYPE_CHECKING:
    from cryptography import x509

MerchantCertInput = Union[str, bytes, "os.PathLike[str]", "x509.Certificate"]
"""`merchant_cert=`: apiclient_cert.pem (PEM text or bytes, a path, 'file://…', a certificate) or a PKCS#12 file."""

CaInput = Union[str, bytes, "os.PathLike[str]"]
"""`ca_certs=`: PEM text or bytes of CA certificates, or a path to them ('file://…' too)."""

CERT_FORMS = (
    "apiclient_cert.pem as PEM text or bytes, a path or 'file:///path/apiclient_cert.pem', or an "
    "x509.Certificate (with the client's private_key); or apiclient_cert.p12 (PKCS#12) as a path or bytes, "
    "with merchant_cert_password= (WeChat Pay sets the merchant id as its password)"
)


def trust_context(ca_certs: CaInput) -> ssl.SSLContext:
    """A client context trusting exactly the CA certificates given (the emulator's, a TLS-inspecting proxy's)."""
    data = _read(ca_certs, "ca_certs", "PEM CA certificates, or a path to them")
    try:
        return ssl.create_default_context(cadata=data.decode("ascii"))
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise ConfigurationError("ca_certs: no PEM CA certificate could be read from it") from None


class MerchantCertificate:
    """The merchant API certificate and its key, for the TLS handshakes of the calls that need them."""

    def __init__(
        self,
        cert: MerchantCertInput,
        *,
        private_key: RSAPrivateKey | None,
        password: str | bytes | None = None,
        mchid: str = "",
        ca_certs: CaInput | None = None,
    ) -> None:
        certificate, key = _load(cert, private_key, password, mchid)
        self.serial = certificate_serial(certificate)
        self._pem = certificate.public_bytes(serialization.Encoding.PEM)
        self._key = key
        self._ca = None if ca_certs is None else _read(ca_certs, "ca_certs", "PEM CA certificates").decode("ascii")
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        """The client TLS context presenting the certificate (made once, on first use)."""
        if self._context is None:
            self._context = self._make()
        return self._context

    def _make(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self._ca) if self._ca else ssl.create_default_context()
        # ssl loads a certificate chain from files only: the key goes there encrypted with a
        # throwaway password, in a private directory removed at once.
        password = secrets.token_urlsafe(24).encode()
        sealed = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
        with tempfile.TemporaryDirectory(prefix="wechatpay-tls-") as directory:
            path = Path(directory) / "merchant.pem"
            path.write_bytes(self._pem + sealed)
            context.load_cert_chain(path, password=password)
        return context

    def __repr__(self) -> str:
        return f"<MerchantCertificate serial={self.serial!r}>"


def _load(
    cert: MerchantCertInput, private_key: RSAPrivateKey | None, password: str | bytes | None, mchid: str
) -> tuple[x509.Certificate, RSAPrivateKey]:
    from cryptography import x509  # loaded with the first merchant certificate: a bare import stays light

    if isinstance(cert, x509.Certificate):
        return cert, _matching(cert, private_key)
    data = _read(cert, "merchant_cert", CERT_FORMS)
    if b"-----BEGIN" in data:
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise KeyLoadError(f"merchant_cert: not a PEM certificate. Accepted forms: {CERT_FORMS}") from None
        return certificate, _matching(certificate, private_key)
    return _pkcs12(data, private_key, password, mchid)


def _pkcs12(
    data: bytes, private_key: RSAPrivateKey | None, password: str | bytes | None, mchid: str
) -> tuple[x509.Certificate, RSAPrivateKey]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    secret = (password.encode() if isinstance(password, str) else password) if password is not None else mchid.encode()
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        told = "the merchant_cert_password given" if password is not None else "the merchant id (its default password)"
        raise KeyLoadError(
            f"merchant_cert: not a PKCS#12 file, or {told} does not open it. Accepted forms: {CERT_FORMS}"
        ) from None
    if certificate is None or not isinstance(key, RSAPrivateKey):
        raise KeyLoadError("merchant_cert: the PKCS#12 file holds no certificate with an RSA key")
    if private_key is not None:
        _matching(certificate, private_key)
    return certificate, key


def _matching(certificate: x509.Certificate, private_key: RSAPrivateKey | None) -> RSAPrivateKey:
    if private_key is None:
        raise ConfigurationError(
            "merchant_cert: a PEM certificate needs the client's private_key (apiclient_key.pem) for the TLS "
            "handshake; with signer= instead, pass the PKCS#12 file apiclient_cert.p12"
        )
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(*spki) != private_key.public_key().public_bytes(*spki):
        raise ConfigurationError(
            "merchant_cert: the certificate is not the one of the client's private_key "
            "(apiclient_cert.pem and apiclient_key.pem come from the same download)"
        )
    return private_key


def _read(value: object, param: str, forms: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.encode("ascii", "replace")
    if isinstance(value, (str, os.PathLike)):
        path = Path(os.fspath(value).removeprefix("file://"))
        try:
            return path.read_bytes()
        except OSError as exc:
            raise KeyLoadError(f"{param}: cannot read file {str(path)!r} ({exc.strerror})") from None
    raise KeyLoadError(f"{param}: got a {type(value).__name__}. Accepted forms: {forms}")
