"""X.509 helpers shared by metadata parsing and signature verification."""

from __future__ import annotations

import functools
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from DER, or from a PEM file that a tool base64-encoded once more.

    Raises ValueError when neither, and when cryptography cannot read a part samljit uses
    later: the public key, the validity dates, the signature algorithm. cryptography reports
    those oddities (an invalid X.509 version, an unknown key or signature algorithm OID) with
    ``InvalidVersion``, ``UnsupportedAlgorithm`` or ``ValueError``, some only when the part
    is first read; reading them all here turns each into one ValueError, once, where the
    certificate enters. Certificates that break RFC 5280 in harmless ways (a zero serial
    number) make cryptography warn; a pinned key is not path-validated, so they load.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            if data.lstrip().startswith(b"-----BEGIN"):
                certificate = x509.load_pem_x509_certificate(data)
            else:
                certificate = x509.load_der_x509_certificate(data)
            certificate.public_key()
            certificate.not_valid_before_utc  # noqa: B018 - read to fail here, not later
            certificate.not_valid_after_utc  # noqa: B018
            certificate.signature_hash_algorithm  # noqa: B018
    except ValueError:
        raise
    except Exception as exc:  # InvalidVersion, UnsupportedAlgorithm, or what else it may add
        raise ValueError(f"the certificate cannot be read: {type(exc).__name__}: {exc}") from exc
    return certificate


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 fingerprint in lowercase hex.

    Not cached: it costs microseconds, and certificates from a message's KeyInfo, which anyone
    can send, would make a cache keyed by them grow by their size.
    """
    return certificate.fingerprint(hashes.SHA256()).hex()


@functools.lru_cache(maxsize=64)
def pinned_fingerprint(certificate: x509.Certificate) -> str:
    """:func:`fingerprint` of a certificate from IdP metadata, which every login reads again:
    cached, for a few dozen certificates. Never for a certificate a message carries."""
    return fingerprint(certificate)
