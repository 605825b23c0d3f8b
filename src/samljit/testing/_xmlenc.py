"""XML Encryption 1.1 for the test IdP: an assertion in, an ``EncryptedAssertion`` out.

Written with ``cryptography`` only, independently of the SP's decryption code, so that a test
round trip checks one against the other. Every algorithm SAML IdPs use is here, the legacy
ones included (RSA PKCS#1 v1.5 key transport, 3DES), so that apps can test their
``allow_legacy_encryption`` policy.
"""

from __future__ import annotations

import base64
import os
import secrets
from typing import Final, Literal, get_args

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from .._xml import NS_DS, NS_SAML, NS_XENC, qname

__all__ = [
    "DATA_ENCRYPTIONS",
    "KEY_PLACEMENTS",
    "KEY_TRANSPORTS",
    "DataEncryption",
    "EncryptedKeyPlacement",
    "KeyTransport",
    "OaepDigest",
    "encrypt_assertion",
]

NS_XENC11: Final = "http://www.w3.org/2009/xmlenc11#"

DataEncryption = Literal[
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "aes128-gcm",
    "aes192-gcm",
    "aes256-gcm",
    "tripledes-cbc",
]
"""Block encryption of the assertion (XML Encryption 1.1 section 5.2)."""
KeyTransport = Literal["rsa-oaep-mgf1p", "rsa-oaep", "rsa-1_5"]
"""How the session key is encrypted for the SP's RSA key (XML Encryption 1.1 section 5.5)."""
EncryptedKeyPlacement = Literal["inline", "retrieval-method", "sibling"]
"""Where the EncryptedKey goes (SAML core 6.2)."""
OaepDigest = Literal["sha1", "sha256"]
"""The OAEP digest, and for ``rsa-oaep`` the MGF1 digest."""

DATA_ENCRYPTIONS: Final[tuple[DataEncryption, ...]] = get_args(DataEncryption)
KEY_TRANSPORTS: Final[tuple[KeyTransport, ...]] = get_args(KeyTransport)
KEY_PLACEMENTS: Final[tuple[EncryptedKeyPlacement, ...]] = get_args(EncryptedKeyPlacement)

# name -> (Algorithm URI, key bytes)
_DATA: Final[dict[str, tuple[str, int]]] = {
    "aes128-cbc": (f"{NS_XENC}aes128-cbc", 16),
    "aes192-cbc": (f"{NS_XENC}aes192-cbc", 24),
    "aes256-cbc": (f"{NS_XENC}aes256-cbc", 32),
    "aes128-gcm": (f"{NS_XENC11}aes128-gcm", 16),
    "aes192-gcm": (f"{NS_XENC11}aes192-gcm", 24),
    "aes256-gcm": (f"{NS_XENC11}aes256-gcm", 32),
    "tripledes-cbc": (f"{NS_XENC}tripledes-cbc", 24),
}
_KEY_TRANSPORT: Final[dict[str, str]] = {
    "rsa-oaep-mgf1p": f"{NS_XENC}rsa-oaep-mgf1p",
    "rsa-oaep": f"{NS_XENC11}rsa-oaep",
    "rsa-1_5": f"{NS_XENC}rsa-1_5",
}
# name -> (DigestMethod URI, MGF URI, hash)
_DIGESTS: Final[dict[str, tuple[str, str, type[hashes.HashAlgorithm]]]] = {
    "sha1": ("http://www.w3.org/2000/09/xmldsig#sha1", f"{NS_XENC11}mgf1sha1", hashes.SHA1),
    "sha256": (f"{NS_XENC}sha256", f"{NS_XENC11}mgf1sha256", hashes.SHA256),
}
_ELEMENT_TYPE: Final = f"{NS_XENC}Element"
_ENCRYPTED_KEY_TYPE: Final = f"{NS_XENC}EncryptedKey"


def encrypt_assertion(
    assertion: etree._Element | bytes,
    *,
    certificate: x509.Certificate,
    data_encryption: DataEncryption = "aes256-gcm",
    key_transport: KeyTransport = "rsa-oaep-mgf1p",
    oaep_digest: OaepDigest = "sha1",
    mgf: OaepDigest = "sha1",
    encrypted_key_placement: EncryptedKeyPlacement = "inline",
    include_key_hint: bool = True,
    recipient: str | None = None,
) -> etree._Element:
    """Encrypt an assertion for the SP whose encryption certificate is ``certificate``.

    Args:
        assertion: the (already signed, if it is to be signed) ``saml:Assertion`` element, or
            bytes used verbatim as the plaintext, to test what an SP does with hostile
            plaintext.
        certificate: the SP's encryption certificate (an RSA key).
        data_encryption: the block cipher for the assertion. CBC modes use a random IV and
            ISO 10126 padding (random bytes, the last one the padding length); GCM modes a
            random 12-byte IV, the 16-byte tag appended to the ciphertext.
        key_transport: ``"rsa-oaep-mgf1p"`` (XML Encryption 1.0, MGF1 with SHA-1),
            ``"rsa-oaep"`` (1.1, with an explicit MGF) or ``"rsa-1_5"`` (legacy).
        oaep_digest: the OAEP ``DigestMethod`` for both OAEP transports.
        mgf: the MGF1 digest for ``"rsa-oaep"``; ``"rsa-oaep-mgf1p"`` always uses SHA-1.
        encrypted_key_placement: ``"inline"`` puts the EncryptedKey in the EncryptedData's
            KeyInfo; ``"retrieval-method"`` beside the EncryptedData, which points at it with a
            ``ds:RetrievalMethod`` (as Okta does); ``"sibling"`` beside it, without a pointer.
        include_key_hint: put ``certificate`` in the EncryptedKey's KeyInfo, so that an SP
            with several keys knows which one to use.
        recipient: the EncryptedKey's ``Recipient`` (SAML core 6.2: the SP's entity ID).

    Returns:
        A ``saml:EncryptedAssertion`` element, to put where the Assertion was.

    Raises:
        ValueError: an unknown algorithm name or placement, or ``mgf`` other than SHA-1 with
            ``"rsa-oaep-mgf1p"``.
        TypeError: ``certificate`` does not hold an RSA public key.
    """
    if data_encryption not in _DATA:
        raise ValueError(f"unknown data_encryption {data_encryption!r}; use {DATA_ENCRYPTIONS}")
    if key_transport not in _KEY_TRANSPORT:
        raise ValueError(f"unknown key_transport {key_transport!r}; use {KEY_TRANSPORTS}")
    if encrypted_key_placement not in KEY_PLACEMENTS:
        raise ValueError(
            f"unknown encrypted_key_placement {encrypted_key_placement!r}; use {KEY_PLACEMENTS}"
        )
    if oaep_digest not in _DIGESTS or mgf not in _DIGESTS:
        raise ValueError(f"oaep_digest and mgf take one of {tuple(_DIGESTS)}")
    if key_transport == "rsa-oaep-mgf1p" and mgf != "sha1":
        raise ValueError("rsa-oaep-mgf1p fixes MGF1 with SHA-1; use key_transport='rsa-oaep'")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("XML Encryption key transport needs an RSA certificate")

    plaintext = (
        assertion
        if isinstance(assertion, bytes)
        else etree.tostring(assertion, encoding="UTF-8", xml_declaration=False)
    )
    data_uri, key_size = _DATA[data_encryption]
    session_key = _session_key(data_encryption, key_size)
    cipher_value = _encrypt_data(data_encryption, session_key, plaintext)

    data_id = _new_id()
    encrypted_assertion = etree.Element(
        qname(NS_SAML, "EncryptedAssertion"), nsmap={"saml": NS_SAML}
    )
    encrypted_data = etree.SubElement(
        encrypted_assertion,
        qname(NS_XENC, "EncryptedData"),
        nsmap={"xenc": NS_XENC, "ds": NS_DS},
        Id=data_id,
        Type=_ELEMENT_TYPE,
    )
    etree.SubElement(encrypted_data, qname(NS_XENC, "EncryptionMethod"), Algorithm=data_uri)
    encrypted_key = _encrypted_key(
        session_key,
        public_key,
        certificate if include_key_hint else None,
        key_transport=key_transport,
        oaep_digest=oaep_digest,
        mgf=mgf,
        recipient=recipient,
    )
    if encrypted_key_placement == "inline":
        key_info = etree.SubElement(encrypted_data, qname(NS_DS, "KeyInfo"))
        key_info.append(encrypted_key)
    else:
        key_id = _new_id()
        encrypted_key.set("Id", key_id)
        if encrypted_key_placement == "retrieval-method":
            key_info = etree.SubElement(encrypted_data, qname(NS_DS, "KeyInfo"))
            etree.SubElement(
                key_info,
                qname(NS_DS, "RetrievalMethod"),
                Type=_ENCRYPTED_KEY_TYPE,
                URI=f"#{key_id}",
            )
        # XML Encryption 1.1 section 3.5.1: a detached key lists the data it encrypts.
        references = etree.SubElement(encrypted_key, qname(NS_XENC, "ReferenceList"))
        etree.SubElement(references, qname(NS_XENC, "DataReference"), URI=f"#{data_id}")
        # SAML core 6.2: EncryptedKey elements may follow the EncryptedData as its peers.
        encrypted_assertion.append(encrypted_key)
    # After KeyInfo, as the schema orders EncryptedData's children.
    _cipher_data(encrypted_data, cipher_value)
    return encrypted_assertion


def _session_key(data_encryption: str, size: int) -> bytes:
    if data_encryption != "tripledes-cbc":
        return secrets.token_bytes(size)
    # Three distinct DES keys: with two equal halves 3DES degenerates to single DES.
    while True:
        key = secrets.token_bytes(size)
        if key[:8] != key[8:16] and key[8:16] != key[16:]:
            return key


def _encrypt_data(data_encryption: str, key: bytes, plaintext: bytes) -> bytes:
    if data_encryption.endswith("-gcm"):
        # XML Encryption 1.1 section 5.2.4: a 96-bit IV, then ciphertext and 128-bit tag.
        iv = os.urandom(12)
        return iv + AESGCM(key).encrypt(iv, plaintext, None)
    if data_encryption == "tripledes-cbc":
        # 3DES lives in cryptography's "decrepit" module, so using it raises no warning.
        algorithm: algorithms.AES | TripleDES = TripleDES(key)
        block = 8
    else:
        algorithm = algorithms.AES(key)
        block = 16
    # XML Encryption 1.1 section 5.2: the padding is arbitrary bytes whose last byte is the
    # number of padding bytes (1 to the block size), ISO 10126 style.
    pad = block - len(plaintext) % block
    padded = plaintext + os.urandom(pad - 1) + bytes([pad])
    iv = os.urandom(block)
    encryptor = Cipher(algorithm, modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padded) + encryptor.finalize()


def _encrypted_key(
    session_key: bytes,
    public_key: rsa.RSAPublicKey,
    hint: x509.Certificate | None,
    *,
    key_transport: str,
    oaep_digest: str,
    mgf: str,
    recipient: str | None,
) -> etree._Element:
    encrypted_key = etree.Element(
        qname(NS_XENC, "EncryptedKey"), nsmap={"xenc": NS_XENC, "ds": NS_DS}
    )
    if recipient is not None:
        encrypted_key.set("Recipient", recipient)
    method = etree.SubElement(
        encrypted_key,
        qname(NS_XENC, "EncryptionMethod"),
        Algorithm=_KEY_TRANSPORT[key_transport],
    )
    if key_transport == "rsa-1_5":
        wrapped = public_key.encrypt(session_key, padding.PKCS1v15())
    else:
        digest_uri, _, digest = _DIGESTS[oaep_digest]
        mgf_uri, mgf_digest = _DIGESTS[mgf][1], _DIGESTS[mgf][2]
        etree.SubElement(method, qname(NS_DS, "DigestMethod"), Algorithm=digest_uri)
        if key_transport == "rsa-oaep":
            etree.SubElement(
                method, qname(NS_XENC11, "MGF"), nsmap={"xenc11": NS_XENC11}, Algorithm=mgf_uri
            )
        wrapped = public_key.encrypt(
            session_key,
            padding.OAEP(mgf=padding.MGF1(algorithm=mgf_digest()), algorithm=digest(), label=None),
        )
    if hint is not None:
        key_info = etree.SubElement(encrypted_key, qname(NS_DS, "KeyInfo"))
        data = etree.SubElement(key_info, qname(NS_DS, "X509Data"))
        etree.SubElement(data, qname(NS_DS, "X509Certificate")).text = base64.b64encode(
            hint.public_bytes(serialization.Encoding.DER)
        ).decode("ascii")
    _cipher_data(encrypted_key, wrapped)
    return encrypted_key


def _cipher_data(parent: etree._Element, value: bytes) -> None:
    cipher_data = etree.SubElement(parent, qname(NS_XENC, "CipherData"))
    etree.SubElement(cipher_data, qname(NS_XENC, "CipherValue")).text = base64.b64encode(
        value
    ).decode("ascii")


def _new_id() -> str:
    # xs:ID must not start with a digit.
    return "_" + secrets.token_hex(16)
