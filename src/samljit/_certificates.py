"""X.509 helpers shared by metadata parsing and signature verification."""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from DER, or from a PEM file that a tool base64-encoded once more.

    Raises ValueError when neither. Certificates that break RFC 5280 in harmless ways (a zero
    serial number) make cryptography warn; a pinned key is not path-validated, so they load.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 fingerprint in lowercase hex.

    Not cached: it costs microseconds, and certificates from a message's KeyInfo, which anyone
    can send, would make a cache keyed by them grow by their size.
    """
    return certificate.fingerprint(hashes.SHA256()).hex()
