"""Keys and signatures for the test IdP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.signer import XMLSigner

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def make_certificate(
    *,
    key_type: Literal["rsa", "ec"] = "rsa",
    common_name: str = "samljit test IdP",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    rsa_bits: int = 2048,
) -> tuple[PrivateKey, x509.Certificate]:
    """A fresh private key and a self-signed certificate for it (SHA-256)."""
    key: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        if key_type == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    start = not_before or datetime(2020, 1, 1, tzinfo=UTC)
    end = not_after or datetime(2045, 1, 1, tzinfo=UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


class _Signer(XMLSigner):
    # The test IdP may sign with SHA-1 so that apps can test their allow_sha1 policy.
    def check_deprecated_methods(self) -> None:
        return None


def sign(
    element: etree._Element,
    reference_id: str,
    *,
    key: PrivateKey,
    cert: list[x509.Certificate],
    alg: str,
    digest: str,
) -> etree._Element:
    signer = _Signer(
        signature_algorithm=alg,
        digest_algorithm=digest,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed: Any = signer.sign(element, key=key, cert=cert, reference_uri=reference_id)
    assert isinstance(signed, etree._Element)
    return signed


def default_algorithm(key: PrivateKey) -> str:
    return "ecdsa-sha256" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-sha256"
