"""A certificate authority of the lab's own: it signs the certificates of the lab's hosts.

The lab never reaches a public CA, so it makes one (an EC P-256 key and a
self-signed CA certificate) and issues each host a server certificate for its
names and addresses. Clients trust it through ``PIXELFOX_CA_FILE`` (see
``pixelfox_common.tls``), exactly as a production installation trusts an
operator's private CA. The tests use it too, to make a second, unrelated CA
whose certificates must be refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# A lab lives hours; a year leaves room for a long-running developer lab.
LIFETIME = timedelta(days=365)


@dataclass(frozen=True)
class IssuedCertificate:
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class CertificateAuthority:
    cert_file: Path
    key_file: Path

    @classmethod
    def create(cls, folder: Path, name: str = "PixelFox lab CA") -> CertificateAuthority:
        """A new CA in ``folder`` (ca.crt, ca.key); an existing one there is kept."""
        folder.mkdir(parents=True, exist_ok=True)
        ca = cls(folder / "ca.crt", folder / "ca.key")
        if ca.cert_file.exists() and ca.key_file.exists():
            return ca
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_key(ca.key_file, key)
        ca.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return ca

    def issue(self, folder: Path, stem: str, names: Iterable[str]) -> IssuedCertificate:
        """A server certificate for ``names`` (DNS names or IP addresses) as <stem>.crt/.key."""
        ca_key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        names = list(names)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + LIFETIME)
            .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        folder.mkdir(parents=True, exist_ok=True)
        issued = IssuedCertificate(folder / f"{stem}.crt", folder / f"{stem}.key")
        _write_key(issued.key_file, key)
        issued.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return issued


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
