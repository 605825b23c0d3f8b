"""The signing and encryption knobs of :meth:`TestIdP.issue_response`, as small values."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from ._keys import PrivateKey
from ._xmlenc import DataEncryption, EncryptedKeyPlacement, KeyTransport, OaepDigest


@dataclass(frozen=True, slots=True, kw_only=True)
class Signing:
    """How the test IdP signs a response: ``issue_response(..., signing=Signing(...))``.

    The default signs the assertion, not the Response, with the IdP's own key.
    """

    key: PrivateKey | None = None
    """The signing key; the IdP's own when None (sign with another to test a foreign key)."""
    certificate: x509.Certificate | None = None
    """The certificate put in KeyInfo; the IdP's own when None."""
    algorithm: str | None = None
    """signxml's name, such as ``"rsa-sha1"``; RSA-SHA256 or ECDSA-SHA256 (by key) when None."""
    digest: str = "sha256"
    """The reference digest, such as ``"sha1"``."""
    response: bool = False
    """Sign the Response (after the assertion is signed and, if so, encrypted)."""
    assertion: bool = True
    """Sign the Assertion."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Encryption:
    """Encrypt the assertion for the SP: ``issue_response(..., encryption=Encryption(...))``.

    The fields are those of :func:`~samljit.testing.encrypt_assertion`.
    """

    certificate: x509.Certificate
    """The SP's encryption certificate."""
    data: DataEncryption = "aes256-gcm"
    """The block cipher of the assertion."""
    key_transport: KeyTransport = "rsa-oaep-mgf1p"
    """How the session key is encrypted for the SP's RSA key."""
    oaep_digest: OaepDigest = "sha1"
    mgf: OaepDigest = "sha1"
    """The MGF1 digest of ``rsa-oaep``."""
    key_placement: EncryptedKeyPlacement = "inline"
    """Where the EncryptedKey goes (SAML core 6.2)."""
    key_hint: bool = True
    """Put the SP certificate's KeyInfo in the EncryptedKey."""
