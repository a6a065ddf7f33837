"""The emulator's key material: a merchant, a platform certificate, a WeChat Pay public key."""

from __future__ import annotations

import datetime
import ipaddress
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID

from .._hazmat import nonce
from .._keys.loading import certificate_serial
from ._key_modes import KeyMode
from ._notifications import build_notification


def new_rsa_key() -> RSAPrivateKey:
    """A fresh RSA-2048 key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _builder(
    common_name: str, issuer: x509.Name | None, public_key: Any, *, days: int, serial: int | None = None
) -> x509.CertificateBuilder:
    """A certificate for `common_name` valid from yesterday for `days` (self-issued when `issuer` is None)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def self_signed(key: RSAPrivateKey, common_name: str, *, days: int = 1825) -> x509.Certificate:
    """A self-signed certificate for `key` with a random serial (WeChat Pay serials are hex)."""
    return _builder(common_name, None, key.public_key(), days=days).sign(key, hashes.SHA256())


def new_ca() -> tuple[EllipticCurvePrivateKey, x509.Certificate]:
    """The emulator's own certificate authority: it issues the merchant certificate and the HTTPS server's."""
    key = ec.generate_private_key(ec.SECP256R1())  # fast to make: the CA never signs a WeChat Pay message
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # certificates, CRLs
    certificate = (
        _builder("wechatpay_chain emulator CA", None, key.public_key(), days=3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def issue(
    ca: tuple[EllipticCurvePrivateKey, x509.Certificate],
    public_key: Any,
    common_name: str,
    *,
    serial: int | None = None,
    hosts: tuple[str, ...] = (),
    days: int = 1825,
) -> x509.Certificate:
    """A certificate the CA issues: to a merchant (CN = its mchid), or to a server for `hosts`."""
    ca_key, ca_certificate = ca
    builder = _builder(common_name, ca_certificate.subject, public_key, days=days, serial=serial).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        usage = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
    else:
        usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
    return builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False).sign(ca_key, hashes.SHA256())


def private_pem(key: RSAPrivateKey | EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: RSAPrivateKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the public half of a key."""
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def cert_pem(certificate: x509.Certificate) -> bytes:
    """PEM of a certificate."""
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(slots=True)
class PlatformCertificate:
    """One platform certificate of the emulated WeChat Pay, with its private key."""

    key: RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate

    @property
    def serial(self) -> str:
        """The certificate's hex serial."""
        return certificate_serial(self.certificate)

    @classmethod
    def generate(cls) -> PlatformCertificate:
        """A new platform key and certificate."""
        key = new_rsa_key()
        return cls(key, self_signed(key, "Tenpay.com Root CA (emulated)"))


@dataclass(slots=True)
class Credentials:
    """Everything both sides need: the merchant's keys and the emulated platform's keys."""

    mchid: str
    merchant_key: RSAPrivateKey = field(repr=False)
    merchant_certificate: x509.Certificate
    platform: list[PlatformCertificate]  # oldest first; the last one signs by default
    public_key: RSAPrivateKey = field(repr=False)
    public_key_id: str
    apiv3_key: str = field(repr=False)
    apiv2_key: str = field(repr=False)
    ca_key: EllipticCurvePrivateKey = field(repr=False)  # the emulator's CA: it issued merchant_certificate
    ca_certificate: x509.Certificate = field(repr=False)

    @property
    def serial(self) -> str:
        """The merchant API certificate serial."""
        return certificate_serial(self.merchant_certificate)

    @property
    def platform_serial(self) -> str:
        """The serial of the newest platform certificate."""
        return self.platform[-1].serial

    @property
    def ca_pem(self) -> bytes:
        """The emulator CA's certificate, PEM: what a client trusts to reach an `Emulator(tls=True)`."""
        return cert_pem(self.ca_certificate)

    @classmethod
    def generate(cls, mchid: str = "1900000109") -> Credentials:
        """Fresh keys for a merchant and a platform."""
        merchant_key = new_rsa_key()
        ca = new_ca()
        return cls(
            mchid=mchid,
            merchant_key=merchant_key,
            merchant_certificate=issue(ca, merchant_key.public_key(), mchid),
            platform=[PlatformCertificate.generate()],
            public_key=new_rsa_key(),
            public_key_id="PUB_KEY_ID_01" + "".join(secrets.choice("0123456789") for _ in range(20)),
            apiv3_key=nonce(32),
            apiv2_key=nonce(32),
            ca_key=ca[0],
            ca_certificate=ca[1],
        )

    def issue_merchant_certificate(self, mchid: str, key: RSAPrivateKey) -> x509.Certificate:
        """A certificate of this emulator's CA for another merchant (its CN is `mchid`): to test CA_ERROR."""
        return issue((self.ca_key, self.ca_certificate), key.public_key(), mchid)

    def server_certificate(self, key: EllipticCurvePrivateKey, hosts: tuple[str, ...]) -> x509.Certificate:
        """The HTTPS server certificate for `hosts` (IP addresses or names), issued by this emulator's CA."""
        return issue((self.ca_key, self.ca_certificate), key.public_key(), hosts[0], hosts=hosts, days=30)

    def signing_key(self, *, public_key: bool) -> tuple[str, RSAPrivateKey]:
        """(serial, key) the platform signs with: its WeChat Pay public key, or its newest certificate."""
        if public_key:
            return self.public_key_id, self.public_key
        return self.platform[-1].serial, self.platform[-1].key

    def notification(
        self,
        event_type: str,
        resource: dict[str, Any],
        *,
        original_type: str = "transaction",
        summary: str = "",
        public_key: bool = True,
        now: float | None = None,
        notification_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Signed headers and raw body of a notification, as this platform would POST it."""
        serial, key = self.signing_key(public_key=public_key)
        return build_notification(
            apiv3_key=self.apiv3_key,
            signing_key=key,
            serial=serial,
            event_type=event_type,
            summary=summary,
            original_type=original_type,
            resource=resource,
            now=time.time() if now is None else now,
            notification_id=notification_id,
        )

    def rotate(self) -> PlatformCertificate:
        """Issue a new platform certificate; the old ones stay valid until they expire."""
        fresh = PlatformCertificate.generate()
        self.platform.append(fresh)
        return fresh

    def save(self, directory: Path) -> dict[str, str]:
        """Write the keys as PEM files plus `credentials.json`; returns the file map."""
        directory.mkdir(parents=True, exist_ok=True)
        files = {
            "private_key_file": ("apiclient_key.pem", private_pem(self.merchant_key)),
            "merchant_cert_file": ("apiclient_cert.pem", cert_pem(self.merchant_certificate)),
            "platform_cert_file": (
                f"wechatpay_{self.platform_serial}.pem",
                cert_pem(self.platform[-1].certificate),
            ),
            "platform_key_file": ("platform_key.pem", private_pem(self.platform[-1].key)),
            "public_key_file": ("pub_key.pem", public_pem(self.public_key)),
            "public_key_private_file": ("pub_key_private.pem", private_pem(self.public_key)),
            "ca_file": ("emulator_ca.pem", self.ca_pem),
            "ca_key_file": ("emulator_ca_key.pem", private_pem(self.ca_key)),
        }
        paths: dict[str, str] = {}
        for label, (name, data) in files.items():
            path = directory / name
            path.write_bytes(data)
            paths[label] = str(path.resolve())
        meta = {
            "mchid": self.mchid,
            "public_key_id": self.public_key_id,
            "apiv3_key": self.apiv3_key,
            "apiv2_key": self.apiv2_key,
        }
        (directory / "credentials.json").write_text(json.dumps(meta, indent=2))
        return paths

    @classmethod
    def load(cls, directory: Path) -> Credentials:
        """Read keys written by `save`."""
        meta = json.loads((directory / "credentials.json").read_text())
        merchant_key = serialization.load_pem_private_key((directory / "apiclient_key.pem").read_bytes(), None)
        platform_key = serialization.load_pem_private_key((directory / "platform_key.pem").read_bytes(), None)
        public_key = serialization.load_pem_private_key((directory / "pub_key_private.pem").read_bytes(), None)
        cert_files = sorted(directory.glob("wechatpay_*.pem"))
        if not (
            isinstance(merchant_key, RSAPrivateKey)
            and isinstance(platform_key, RSAPrivateKey)
            and isinstance(public_key, RSAPrivateKey)
            and cert_files
        ):
            raise ValueError(f"{directory} does not hold emulator credentials")
        merchant_certificate = x509.load_pem_x509_certificate((directory / "apiclient_cert.pem").read_bytes())
        ca = _load_ca(directory)
        if ca is None:  # keys saved before the emulator had a CA: one is made, the merchant serial kept
            ca = new_ca()
            merchant_certificate = issue(
                ca, merchant_key.public_key(), meta["mchid"], serial=merchant_certificate.serial_number
            )
        return cls(
            mchid=meta["mchid"],
            merchant_key=merchant_key,
            merchant_certificate=merchant_certificate,
            platform=[PlatformCertificate(platform_key, x509.load_pem_x509_certificate(cert_files[-1].read_bytes()))],
            public_key=public_key,
            public_key_id=meta["public_key_id"],
            apiv3_key=meta["apiv3_key"],
            apiv2_key=meta.get("apiv2_key") or nonce(32),
            ca_key=ca[0],
            ca_certificate=ca[1],
        )


def _load_ca(directory: Path) -> tuple[EllipticCurvePrivateKey, x509.Certificate] | None:
    key_file, cert_file = directory / "emulator_ca_key.pem", directory / "emulator_ca.pem"
    if not (key_file.exists() and cert_file.exists()):
        return None
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    if not isinstance(key, EllipticCurvePrivateKey):
        raise ValueError(f"{key_file} is not the emulator CA's key")
    return key, x509.load_pem_x509_certificate(cert_file.read_bytes())


class Platform(Protocol):
    """What the protocol and the certificate family read of the emulated platform, live."""

    credentials: Credentials
    key_mode: KeyMode

    def wire_now(self) -> float:
        """The clock signatures keep to."""
        ...
