"""The SP's own key pair: what signs its AuthnRequests and logout messages."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ._certificates import load_certificate
from .errors import ConfigError

__all__ = ["load_or_create_key_pair"]


def load_or_create_key_pair(
    key_file: str | os.PathLike[str],
    certificate_file: str | os.PathLike[str],
    *,
    common_name: str,
    days: int = 3650,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """The SP's RSA key and certificate from two PEM files, created when both are missing: a
    3072-bit key (file mode 0600) and a self-signed SHA-256 certificate.

    A self-signed certificate is what SAML expects here: the IdP trusts the key because it
    is in the SP metadata its administrator installed, not because of who signed it.

    Raises:
        ConfigError: ``configuration_invalid``, only one of the files exists, or they do
            not hold an RSA key and its certificate.
    """
    key_path, cert_path = Path(key_file), Path(certificate_file)
    if not key_path.exists() and not cert_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return key, certificate
    try:
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        certificate = load_certificate(cert_path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot load the SP key pair {key_path}, {cert_path}: {exc}") from exc
    if not isinstance(loaded, rsa.RSAPrivateKey) or (
        certificate.public_key().public_numbers() != loaded.public_key().public_numbers()  # type: ignore[union-attr]
    ):
        raise ConfigError(f"{cert_path} is not the certificate of the RSA key in {key_path}")
    return loaded, certificate
