"""Certificates that cryptography refuses to read, each in its own way, built from a valid one.

Each variant patches a few bytes of a valid DER certificate, so it is still one well-formed
ASN.1 structure, and fails in cryptography at a different moment: on loading, on reading the
public key, on reading the signature algorithm, on reading the validity.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

_VERSION_3 = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2 (v3)
_RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")  # 1.2.840.113549.1.1.1
_SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")  # 1.2.840.113549.1.1.11
_ECDSA_WITH_SHA256 = bytes.fromhex("06082a8648ce3d040302")  # 1.2.840.10045.4.3.2
_UNKNOWN_OID_9 = bytes.fromhex("06092a864886f70d01017f")  # 1.2.840.113549.1.1.127
_UNKNOWN_OID_8 = bytes.fromhex("06082a8648ce3d04037f")  # 1.2.840.10045.4.3.127
_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
_UNKNOWN_OID_7 = bytes.fromhex("06072a8648ce3d027f")  # 1.2.840.10045.2.127


def _patch_last(der: bytes, old: bytes, new: bytes) -> bytes:
    """``der`` with the last occurrence of ``old`` replaced (same length, so lengths hold)."""
    assert len(old) == len(new), "a patch must keep every ASN.1 length valid"
    at = der.rindex(old)
    return der[:at] + new + der[at + len(old) :]


def _patch_first(der: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new), "a patch must keep every ASN.1 length valid"
    at = der.index(old)
    return der[:at] + new + der[at + len(old) :]


def odd_certificates(certificate: x509.Certificate) -> dict[str, bytes]:
    """DER variants of ``certificate`` (RSA or P-256, SHA-256, validity ending in 2045 as
    :func:`samljit.testing.make_certificate` makes them) that cryptography cannot read.

    - ``invalid_version``: X.509 version 8; ``InvalidVersion`` on loading.
    - ``unknown_key_algorithm``: an unknown SubjectPublicKeyInfo algorithm OID;
      ``UnsupportedAlgorithm`` on reading the public key.
    - ``unknown_signature_algorithm``: an unknown outer signatureAlgorithm OID;
      ``UnsupportedAlgorithm`` on reading the signature hash algorithm.
    - ``invalid_validity``: a notAfter in month 13; ``ValueError`` on loading.
    - ``truncated``: the DER cut short; ``ValueError`` on loading.
    """
    der = certificate.public_bytes(Encoding.DER)
    if _RSA_ENCRYPTION in der:
        key_oid, unknown_key = _RSA_ENCRYPTION, _UNKNOWN_OID_9
        signature_oid, unknown_signature = _SHA256_WITH_RSA, _UNKNOWN_OID_9
    else:
        key_oid, unknown_key = _EC_PUBLIC_KEY, _UNKNOWN_OID_7
        signature_oid, unknown_signature = _ECDSA_WITH_SHA256, _UNKNOWN_OID_8
    variants = {
        "invalid_version": _patch_first(der, _VERSION_3, bytes.fromhex("a003020107")),
        "unknown_key_algorithm": _patch_first(der, key_oid, unknown_key),
        "unknown_signature_algorithm": _patch_last(der, signature_oid, unknown_signature),
        "invalid_validity": _patch_first(der, b"450101", b"451301"),
        "truncated": der[: len(der) // 2],
    }
    assert tuple(variants) == ODD_VARIANTS
    return variants


ODD_VARIANTS = (
    "invalid_version",
    "unknown_key_algorithm",
    "unknown_signature_algorithm",
    "invalid_validity",
    "truncated",
)


def with_certificate(xml: bytes, der: bytes, *, index: int = 0) -> bytes:
    """``xml`` whose ``index``-th ``ds:X509Certificate`` holds ``der`` instead."""
    root = etree.fromstring(xml)
    found = list(root.iter("{http://www.w3.org/2000/09/xmldsig#}X509Certificate"))
    found[index].text = base64.b64encode(der).decode("ascii")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
