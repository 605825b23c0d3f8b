"""XML-DSig verification pinned to metadata certificates, returning only the signed element."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidSignature, SignXMLException

from ._xml import NS_DS, NSMAP, qname
from .errors import (
    AlgorithmForbidden,
    ReferenceMismatch,
    SignatureInvalid,
    SignatureMisplaced,
    TransformForbidden,
    UntrustedKey,
)

_STRONG_SIGNATURES = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
        SignatureMethod.SHA256_RSA_MGF1,
        SignatureMethod.SHA384_RSA_MGF1,
        SignatureMethod.SHA512_RSA_MGF1,
    }
)
_STRONG_DIGESTS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N = frozenset(m.value for m in CanonicalizationMethod)
_ALLOWED_TRANSFORMS = _C14N | {_ENVELOPED}

_SIGNATURE = qname(NS_DS, "Signature")


def signature_methods(allow_sha1: bool) -> frozenset[SignatureMethod]:
    return _STRONG_SIGNATURES | {SignatureMethod.RSA_SHA1} if allow_sha1 else _STRONG_SIGNATURES


def digest_algorithms(allow_sha1: bool) -> frozenset[DigestAlgorithm]:
    return _STRONG_DIGESTS | {DigestAlgorithm.SHA1} if allow_sha1 else _STRONG_DIGESTS


@dataclass(frozen=True, slots=True)
class Verified:
    """The element a signature covers, re-read from its canonical form, and the key that signed."""

    element: etree._Element
    certificate: x509.Certificate


class _PinnedVerifier(XMLVerifier):  # type: ignore[misc]
    """signxml's verifier with two SAML-specific changes.

    - The document handed in is the root of a tree that samljit's own parser just built and
      never shares, so signxml's defensive re-serialisation of it is skipped.
    - Certificate validity dates are not enforced: trust comes from pinning the metadata key,
      and the SAML metadata interoperability profile (section 2.5.1) says validity periods of
      such certificates are not to be used. Expiry is reported as a metadata warning instead.
    """

    def get_root(self, data: Any) -> Any:
        return data

    def _check_cert_validity(self, cert: Any, cert_source: Any) -> None:
        return None


def signature_child(element: etree._Element, what: str) -> etree._Element | None:
    """The ds:Signature child of ``element``, or None; more than one is refused."""
    found = [child for child in element if child.tag == _SIGNATURE]
    if len(found) > 1:
        raise SignatureMisplaced(f"the {what} carries {len(found)} signatures; at most one is allowed")
    return found[0] if found else None


def verify_enveloped(
    document: etree._Element,
    signed: etree._Element,
    signature: etree._Element,
    *,
    location: str,
    certificates: tuple[x509.Certificate, ...],
    allow_sha1: bool,
    what: str,
) -> Verified:
    """Verify the enveloped ``signature`` of ``signed`` with one of ``certificates``.

    ``document`` is the root of the parsed message, ``location`` the XPath (relative to it) of
    the signature's parent, as signxml expects. Only the element the signature references is
    returned, re-parsed from its canonical form, so nothing unsigned (not even a comment) can
    be read afterwards.

    Raises:
        AlgorithmForbidden, TransformForbidden, ReferenceMismatch, SignatureInvalid,
        UntrustedKey.
    """
    element_id = signed.get("ID")
    _check_signed_info(signature, element_id, allow_sha1=allow_sha1, what=what)
    config = SignatureConfiguration(
        location=location,
        expect_references=1,
        signature_methods=signature_methods(allow_sha1),
        digest_algorithms=digest_algorithms(allow_sha1),
        ignore_ambiguous_key_info=True,
    )
    offered = _offered_certificate(signature)
    for certificate in _ordered(certificates, offered):
        try:
            result = _PinnedVerifier().verify(
                document, x509_cert=certificate, expect_config=config, id_attribute="ID"
            )
        except InvalidDigest as exc:
            raise SignatureInvalid(
                f"the {what} was changed after it was signed (digest mismatch)"
            ) from exc
        except InvalidSignature:
            continue
        except (SignXMLException, ValueError, etree.LxmlError) as exc:
            raise SignatureInvalid(f"the {what} signature cannot be verified: {exc}") from exc
        element = result.signed_xml
        if element is None or element.tag != signed.tag or element.get("ID") != element_id:
            raise ReferenceMismatch(f"the {what} signature does not cover the {what} itself")
        return Verified(element=element, certificate=certificate)

    trusted = [_fingerprint(c) for c in certificates]
    if offered is not None and offered not in certificates:
        raise UntrustedKey(
            f"the {what} is signed with a certificate that is not in the IdP metadata: update "
            "the metadata if the IdP rotated its key",
            expected=trusted,
            found=_fingerprint(offered),
        )
    raise SignatureInvalid(
        f"the {what} signature does not verify with any of the {len(certificates)} signing "
        "certificate(s) in the IdP metadata",
        expected=trusted,
    )


def _check_signed_info(
    signature: etree._Element, element_id: str | None, *, allow_sha1: bool, what: str
) -> None:
    signed_info = signature.find("ds:SignedInfo", NSMAP)
    if signed_info is None:
        raise SignatureInvalid(f"the {what} signature has no SignedInfo")
    method = _algorithm(signed_info.find("ds:SignatureMethod", NSMAP))
    allowed_methods = {m.value for m in signature_methods(allow_sha1)}
    if method not in allowed_methods:
        raise AlgorithmForbidden(
            f"the {what} is signed with {method or 'no algorithm'}, which is not allowed"
            + ("" if allow_sha1 or "sha1" not in (method or "") else " (SHA-1 needs allow_sha1)"),
            expected=sorted(allowed_methods),
            found=method,
        )
    c14n = _algorithm(signed_info.find("ds:CanonicalizationMethod", NSMAP))
    if c14n not in _C14N:
        raise TransformForbidden(
            f"the {what} signature uses canonicalization {c14n!r}", expected=sorted(_C14N), found=c14n
        )
    references = signed_info.findall("ds:Reference", NSMAP)
    if len(references) != 1:
        raise ReferenceMismatch(
            f"the {what} signature has {len(references)} references; SAML requires exactly one",
            expected=1,
            found=len(references),
        )
    reference = references[0]
    if not element_id or reference.get("URI") != f"#{element_id}":
        raise ReferenceMismatch(
            f"the {what} signature references {reference.get('URI')!r}, not the {what} that "
            "contains it",
            expected=f"#{element_id}",
            found=reference.get("URI"),
        )
    for transform in reference.iterfind("ds:Transforms/ds:Transform", NSMAP):
        algorithm = transform.get("Algorithm")
        if algorithm not in _ALLOWED_TRANSFORMS:
            raise TransformForbidden(
                f"the {what} signature uses the transform {algorithm!r}; only enveloped-signature "
                "and canonicalization are allowed",
                expected=sorted(_ALLOWED_TRANSFORMS),
                found=algorithm,
            )
    digest = _algorithm(reference.find("ds:DigestMethod", NSMAP))
    allowed_digests = {d.value for d in digest_algorithms(allow_sha1)}
    if digest not in allowed_digests:
        raise AlgorithmForbidden(
            f"the {what} signature uses the digest {digest or 'none'}, which is not allowed"
            + ("" if allow_sha1 or "sha1" not in (digest or "") else " (SHA-1 needs allow_sha1)"),
            expected=sorted(allowed_digests),
            found=digest,
        )


def _algorithm(element: etree._Element | None) -> str | None:
    return None if element is None else element.get("Algorithm")


def _offered_certificate(signature: etree._Element) -> x509.Certificate | None:
    """The certificate the message's KeyInfo names: a hint for which key to try, never trusted."""
    element = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NSMAP)
    if element is None or not element.text:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(element.text.split())))
    except (binascii.Error, ValueError):
        return None


def _ordered(
    certificates: tuple[x509.Certificate, ...], offered: x509.Certificate | None
) -> list[x509.Certificate]:
    return sorted(certificates, key=lambda c: c != offered)


def _fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()
