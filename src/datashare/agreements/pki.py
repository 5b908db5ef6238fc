"""The demo's certificate authority and agency signing certificate (``cryptography``).

Production agencies configure their own key and certificate (``AGREEMENT_SIGNING_KEY_FILE``,
``AGREEMENT_SIGNING_CERT_FILE``, the issuing CA in ``AGREEMENT_CA_CERT_FILE``); the demo and the
tests make a throwaway CA and a signing certificate it issued, so the chain check is real.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class PkiFiles:
    ca_cert: Path
    signing_key: Path
    signing_cert: Path


def files_in(folder: Path) -> PkiFiles:
    return PkiFiles(ca_cert=folder / "ca.pem", signing_key=folder / "signing-key.pem", signing_cert=folder / "signing.pem")


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)]
    )


def ensure_demo_pki(folder: Path, *, agency: str, now: dt.datetime | None = None) -> PkiFiles:
    """Create the demo CA and signing certificate in ``folder`` unless they are there already.
    The CA's private key is not kept: nothing else is ever issued from it."""
    files = files_in(folder)
    if files.ca_cert.exists() and files.signing_key.exists() and files.signing_cert.exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = now or dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{agency} demo agreements CA", agency)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{agency} agreement seal", agency))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.signing_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.signing_key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.signing_key.chmod(0o600)
    return files
