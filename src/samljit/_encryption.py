"""EncryptedAssertion decryption (XML Encryption 1.1) with ``cryptography`` only.

Every failure is the same ``decryption_failed``: telling a bad padding from a bad key or a bad
format would hand an attacker an oracle (the 2011 XML Encryption CBC attack). The detail goes
to the debug log only.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from ._xml import NS_DS, NS_XENC, XmlLimits, parse_xml, qname
from .errors import AlgorithmForbidden, DecryptionFailed, InputError

__all__ = ["FAILED", "decrypt_element"]

FAILED = (
    "the assertion could not be decrypted with the SP's key(s): check that the IdP encrypts for "
    "the certificate in this SP's metadata"
)
"""The one message of every failure that depends on the ciphertext: no oracle in the text."""

log = logging.getLogger("samljit.decryption")

NS_XENC11 = "http://www.w3.org/2009/xmlenc11#"

_AES_CBC = {
    f"{NS_XENC}aes128-cbc": 16,
    f"{NS_XENC}aes192-cbc": 24,
    f"{NS_XENC}aes256-cbc": 32,
}
_AES_GCM = {
    f"{NS_XENC11}aes128-gcm": 16,
    f"{NS_XENC11}aes192-gcm": 24,
    f"{NS_XENC11}aes256-gcm": 32,
}
_TRIPLEDES = f"{NS_XENC}tripledes-cbc"
_RSA_OAEP_MGF1P = f"{NS_XENC}rsa-oaep-mgf1p"
_RSA_OAEP = f"{NS_XENC11}rsa-oaep"
_RSA_1_5 = f"{NS_XENC}rsa-1_5"
_RETRIEVAL_TYPE = f"{NS_XENC}EncryptedKey"

_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    f"{NS_XENC}sha256": hashes.SHA256,
    f"{NS_XENC}sha512": hashes.SHA512,
    "http://www.w3.org/2001/04/xmldsig-more#sha224": hashes.SHA224,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
}
_MGFS: dict[str, type[hashes.HashAlgorithm]] = {
    f"{NS_XENC11}mgf1sha1": hashes.SHA1,
    f"{NS_XENC11}mgf1sha224": hashes.SHA224,
    f"{NS_XENC11}mgf1sha256": hashes.SHA256,
    f"{NS_XENC11}mgf1sha384": hashes.SHA384,
    f"{NS_XENC11}mgf1sha512": hashes.SHA512,
}

_ENCRYPTED_DATA = qname(NS_XENC, "EncryptedData")
_ENCRYPTED_KEY = qname(NS_XENC, "EncryptedKey")
_ENCRYPTION_METHOD = qname(NS_XENC, "EncryptionMethod")
_CIPHER_VALUE = f"{{{NS_XENC}}}CipherData/{{{NS_XENC}}}CipherValue"
_KEY_INFO = qname(NS_DS, "KeyInfo")


class _Failed(Exception):
    """Internal: why decryption failed, for the debug log only."""


def decrypt_element(
    encrypted: etree._Element,
    *,
    keys: Sequence[tuple[rsa.RSAPrivateKey, x509.Certificate | None]],
    allow_legacy: bool,
    limits: XmlLimits,
    what: str = "assertion",
) -> etree._Element:
    """Decrypt the EncryptedData inside ``encrypted`` (an EncryptedAssertion or EncryptedID)
    and return the plaintext element as the root of a fresh, safely parsed document.

    ``keys`` are the SP's decryption keys (with their certificates, to match KeyInfo hints),
    tried in order after the hinted one, for key rollover.

    Raises:
        AlgorithmForbidden: ``algorithm_forbidden``, RSA PKCS#1 v1.5 or 3DES without
            ``allow_legacy``, or an unknown algorithm.
        DecryptionFailed: ``decryption_failed``, for every other reason.
    """
    if not keys:
        raise DecryptionFailed(
            f"the {what} is encrypted and no SP decryption key is configured",
        )
    data = [child for child in encrypted if child.tag == _ENCRYPTED_DATA]
    if len(data) != 1:
        raise DecryptionFailed(f"the encrypted {what} must hold exactly one EncryptedData")
    encrypted_data = data[0]
    method = _algorithm(encrypted_data)
    _check_data_algorithm(method, allow_legacy)
    candidates = _encrypted_keys(encrypted, encrypted_data)
    for encrypted_key in candidates:
        _check_key_algorithm(encrypted_key, allow_legacy)
    try:
        return _decrypt(
            encrypted_data,
            method,
            candidates,
            keys,
            lambda plaintext: _parse_plaintext(plaintext, encrypted, limits, what),
        )
    except _Failed as exc:
        log.debug("decryption of the %s failed: %s", what, exc)
        raise DecryptionFailed(FAILED) from None


def _algorithm(element: etree._Element) -> str:
    method = element.find(_ENCRYPTION_METHOD)
    return "" if method is None else method.get("Algorithm", "")


def _check_data_algorithm(method: str, allow_legacy: bool) -> None:
    if method in _AES_CBC or method in _AES_GCM or (method == _TRIPLEDES and allow_legacy):
        return
    raise AlgorithmForbidden(
        f"the assertion is encrypted with {method!r}"
        + (", allowed only with allow_legacy_encryption" if method == _TRIPLEDES else ""),
        expected=sorted([*_AES_CBC, *_AES_GCM]),
        found=method or None,
    )


def _check_key_algorithm(encrypted_key: etree._Element, allow_legacy: bool) -> None:
    method = _algorithm(encrypted_key)
    if method in (_RSA_OAEP_MGF1P, _RSA_OAEP):
        element = encrypted_key.find(_ENCRYPTION_METHOD)
        assert element is not None
        digest = element.find(f"{{{NS_DS}}}DigestMethod")
        mgf = element.find(f"{{{NS_XENC11}}}MGF")
        for found, allowed in ((digest, _DIGESTS), (mgf, _MGFS)):
            if found is not None and found.get("Algorithm", "") not in allowed:
                raise AlgorithmForbidden(
                    f"the assertion's key uses {found.get('Algorithm')!r} with RSA-OAEP",
                    expected=sorted(allowed),
                    found=found.get("Algorithm"),
                )
        return
    if method == _RSA_1_5 and allow_legacy:
        return
    raise AlgorithmForbidden(
        f"the assertion's key is transported with {method!r}"
        + (", allowed only with allow_legacy_encryption" if method == _RSA_1_5 else ""),
        expected=[_RSA_OAEP_MGF1P, _RSA_OAEP],
        found=method or None,
    )


MAX_ENCRYPTED_KEYS = 4
"""EncryptedKey elements an encrypted assertion may carry: real IdPs send one. Each is an RSA
private-key operation per SP key, done before anything is authenticated."""


def _encrypted_keys(
    encrypted: etree._Element, encrypted_data: etree._Element
) -> list[etree._Element]:
    """EncryptedKeys in the EncryptedData's KeyInfo, those a RetrievalMethod points at, and
    those beside the EncryptedData (Okta puts them there)."""
    key_info = encrypted_data.find(_KEY_INFO)
    inside = [] if key_info is None else [c for c in key_info if c.tag == _ENCRYPTED_KEY]
    siblings = [child for child in encrypted if child.tag == _ENCRYPTED_KEY]
    if len(inside) + len(siblings) > MAX_ENCRYPTED_KEYS:
        raise DecryptionFailed(
            f"the encrypted assertion carries {len(inside) + len(siblings)} EncryptedKey "
            f"elements; at most {MAX_ENCRYPTED_KEYS} are tried"
        )
    targets = set()
    if key_info is not None:
        for retrieval in key_info.iterchildren(qname(NS_DS, "RetrievalMethod")):
            if retrieval.get("Type", _RETRIEVAL_TYPE) == _RETRIEVAL_TYPE:
                targets.add((retrieval.get("URI") or "").removeprefix("#"))
    found = inside + [k for k in siblings if k.get("Id") in targets]
    found += [k for k in siblings if k not in found]
    if not found:
        raise DecryptionFailed("the encrypted assertion carries no EncryptedKey")
    return found


def _decrypt(
    encrypted_data: etree._Element,
    method: str,
    candidates: list[etree._Element],
    keys: Sequence[tuple[rsa.RSAPrivateKey, x509.Certificate | None]],
    accept: Callable[[bytes], etree._Element],
) -> etree._Element:
    """Try each EncryptedKey with each SP key until one yields a plaintext that parses.

    Parsing inside the loop matters for RSA PKCS#1 v1.5: OpenSSL's implicit rejection turns
    a wrong key into random bytes rather than an error, which now and then even pass the CBC
    padding check; only the parse tells them from the real key.
    """
    cipher_text = _cipher_value(encrypted_data)
    problems: list[str] = []
    for encrypted_key in candidates:
        wrapped = _cipher_value(encrypted_key)
        for key, _ in _ordered(keys, encrypted_key):
            try:
                session_key = _unwrap(encrypted_key, wrapped, key)
                return accept(_decrypt_data(method, session_key, cipher_text))
            except (ValueError, _Failed) as exc:
                problems.append(str(exc) or type(exc).__name__)
    raise _Failed("; ".join(problems) or "no key fits")


def _cipher_value(element: etree._Element) -> bytes:
    value = element.find(_CIPHER_VALUE)
    if value is None or not value.text:
        raise _Failed("no CipherValue")
    try:
        return base64.b64decode("".join(value.text.split()), validate=True)
    except ValueError as exc:
        raise _Failed("CipherValue is not base64") from exc


def _ordered(
    keys: Sequence[tuple[rsa.RSAPrivateKey, x509.Certificate | None]],
    encrypted_key: etree._Element,
) -> list[tuple[rsa.RSAPrivateKey, x509.Certificate | None]]:
    """The key whose certificate the EncryptedKey's KeyInfo names comes first."""
    hint = encrypted_key.find(f"{{{NS_DS}}}KeyInfo/{{{NS_DS}}}X509Data/{{{NS_DS}}}X509Certificate")
    if hint is None or not hint.text:
        return list(keys)
    try:
        offered = base64.b64decode("".join(hint.text.split()))
    except ValueError:
        return list(keys)

    def der(certificate: x509.Certificate | None) -> bytes | None:
        from cryptography.hazmat.primitives.serialization import Encoding

        return None if certificate is None else certificate.public_bytes(Encoding.DER)

    return sorted(keys, key=lambda pair: der(pair[1]) != offered)


def _unwrap(encrypted_key: etree._Element, wrapped: bytes, key: rsa.RSAPrivateKey) -> bytes:
    method = encrypted_key.find(_ENCRYPTION_METHOD)
    assert method is not None  # _check_key_algorithm saw it
    algorithm = method.get("Algorithm", "")
    if algorithm == _RSA_1_5:
        # Decrypting with PKCS#1 v1.5 and then checking the length keeps the failure uniform.
        return key.decrypt(wrapped, padding.PKCS1v15())
    digest_method = method.find(f"{{{NS_DS}}}DigestMethod")
    digest = _DIGESTS.get(
        "http://www.w3.org/2000/09/xmldsig#sha1"
        if digest_method is None
        else digest_method.get("Algorithm", ""),
    )
    if digest is None:
        raise _Failed("unsupported OAEP digest")
    mgf_digest: type[hashes.HashAlgorithm] = hashes.SHA1
    if algorithm == _RSA_OAEP:
        mgf = method.find(f"{{{NS_XENC11}}}MGF")
        if mgf is not None:
            found = _MGFS.get(mgf.get("Algorithm", ""))
            if found is None:
                raise _Failed("unsupported MGF")
            mgf_digest = found
    label_element = method.find(f"{{{NS_XENC}}}OAEPparams")
    label = (
        base64.b64decode(label_element.text)
        if label_element is not None and label_element.text
        else None
    )
    return key.decrypt(
        wrapped,
        padding.OAEP(mgf=padding.MGF1(algorithm=mgf_digest()), algorithm=digest(), label=label),
    )


def _decrypt_data(method: str, session_key: bytes, data: bytes) -> bytes:
    if method in _AES_GCM:
        if len(session_key) != _AES_GCM[method] or len(data) < 12 + 16:
            raise _Failed("bad GCM key or data length")
        try:
            return AESGCM(session_key).decrypt(data[:12], data[12:], None)
        except Exception as exc:
            raise _Failed("GCM authentication failed") from exc
    if method in _AES_CBC:
        if len(session_key) != _AES_CBC[method]:
            raise _Failed("bad AES key length")
        cipher_algorithm: algorithms.AES | TripleDES = algorithms.AES(session_key)
        block = 16
    else:
        if len(session_key) != 24:
            raise _Failed("bad 3DES key length")
        cipher_algorithm = TripleDES(session_key)
        block = 8
    if len(data) < 2 * block or len(data) % block:
        raise _Failed("bad CBC data length")
    decryptor = Cipher(cipher_algorithm, modes.CBC(data[:block])).decryptor()
    plain = decryptor.update(data[block:]) + decryptor.finalize()
    # XML Encryption uses ISO 10126 padding: only the last byte (the length) is defined.
    pad = plain[-1]
    if not 1 <= pad <= block:
        raise _Failed("bad padding")
    return plain[:-pad]


def _parse_plaintext(
    plaintext: bytes, encrypted: etree._Element, limits: XmlLimits, what: str
) -> etree._Element:
    # The plaintext is an element that may use prefixes declared around the EncryptedAssertion;
    # it is parsed inside a wrapper declaring them, then made the root of its own document.
    declarations = "".join(
        f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'
        for prefix, uri in encrypted.nsmap.items()
    )
    wrapped = f"<samljit-decrypted{declarations}>".encode() + plaintext + b"</samljit-decrypted>"
    try:
        wrapper = parse_xml(wrapped, limits, what=f"decrypted {what}")
    except InputError as exc:
        raise _Failed(f"the decrypted {what} does not parse: {exc.message}") from None
    elements = [child for child in wrapper if isinstance(child.tag, str)]
    if len(elements) != 1 or (wrapper.text or "").strip():
        raise _Failed(f"the decrypted {what} is not exactly one element")
    try:
        return parse_xml(etree.tostring(elements[0]), limits, what=f"decrypted {what}")
    except InputError as exc:  # pragma: no cover - the wrapper parse applied the same limits
        raise _Failed(f"the decrypted {what} does not parse on its own: {exc.code}") from None
