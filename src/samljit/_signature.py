"""XML-DSig verification pinned to metadata certificates, returning only the signed element."""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from ._certificates import fingerprint, load_certificate
from ._xml import NS_DS, NS_EXC_C14N, NSMAP, qname
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
_STRONG_DIGESTS = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N = frozenset(m.value for m in CanonicalizationMethod)
_ALLOWED_TRANSFORMS = _C14N | {_ENVELOPED}
_EXCLUSIVE = frozenset(
    {
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS,
    }
)

_EXCLUSIVE_URIS = frozenset(m.value for m in _EXCLUSIVE)

_SIGNATURE = qname(NS_DS, "Signature")
_KEY_INFO = qname(NS_DS, "KeyInfo")


def signature_methods(allow_sha1: bool) -> frozenset[SignatureMethod]:
    return _STRONG_SIGNATURES | {SignatureMethod.RSA_SHA1} if allow_sha1 else _STRONG_SIGNATURES


def digest_algorithms(allow_sha1: bool) -> frozenset[DigestAlgorithm]:
    return _STRONG_DIGESTS | {DigestAlgorithm.SHA1} if allow_sha1 else _STRONG_DIGESTS


@dataclass(frozen=True, slots=True)
class Verified:
    """The element a signature covers, re-read from its canonical form, and the key that signed."""

    element: etree._Element
    certificate: x509.Certificate


class _PinnedVerifier(XMLVerifier):
    """signxml's verifier, narrowed to the one shape SAML uses, with two SAML-specific rules.

    - Certificate validity dates are not enforced: trust comes from pinning the metadata key,
      and the SAML metadata interoperability profile (section 2.5.1) says validity periods of
      such certificates are not to be used. Expiry is reported as a metadata warning instead.
    - The element handed in is the signed element itself, and its one Reference points at it
      (checked by :func:`_check_signed_info` before any crypto). So the reference needs no
      document-wide ID lookup, and one private copy of the element is enough to apply the
      enveloped-signature transform; signxml's general path makes three. signxml still does
      the SignedInfo canonicalisation and the public-key verification.
    """

    def get_root(self, data: Any) -> Any:
        return data

    def _check_cert_validity(self, cert: Any, cert_source: Any) -> None:
        return None

    def _verify_reference(
        self,
        reference: etree._Element,
        index: int,
        root: etree._Element,
        uri_resolver: Any,
        c14n_algorithm: Any,
        signature: etree._Element,
        signature_key_used: Any,
    ) -> VerifyResult:
        if reference.get("URI") != f"#{root.get('ID')}":
            raise InvalidInput("the reference does not point at the signed element")
        transforms = reference.findall("ds:Transforms/ds:Transform", NSMAP)
        algorithms = [t.get("Algorithm") for t in transforms]
        c14n_transforms = [t for t in transforms if t.get("Algorithm") in _C14N]
        if len(c14n_transforms) > 1:
            raise InvalidInput("more than one canonicalization transform")
        if c14n_transforms:
            method = CanonicalizationMethod(c14n_transforms[0].get("Algorithm"))
            prefixes = self._get_inclusive_ns_prefixes(c14n_transforms[0])  # type: ignore[no-untyped-call]
        else:
            method, prefixes = self.config.default_reference_c14n_method, None
        # A private copy to apply the enveloped-signature transform to. Exclusive c14n without
        # an InclusiveNamespaces list renders only the namespaces the subtree uses, which
        # deepcopy keeps; every other form may need the ancestors' declarations, which only a
        # serialisation of the element in its context carries along.
        if method in _EXCLUSIVE and not prefixes:
            payload = copy.deepcopy(root)
        else:
            payload = self._fromstring(etree.tostring(root))  # type: ignore[no-untyped-call]
        if _ENVELOPED in algorithms:
            for child in payload.iterchildren(_SIGNATURE):  # one, as signature_child() made sure
                _remove_keeping_tail(child)
        canonical = self._c14n(payload, algorithm=method, inclusive_ns_prefixes=prefixes)
        digest_method = reference.find("ds:DigestMethod", NSMAP)
        digest_value = reference.find("ds:DigestValue", NSMAP)
        if digest_method is None or digest_value is None or not digest_value.text:
            raise InvalidInput("the reference has no digest")
        digest_algorithm = DigestAlgorithm(digest_method.get("Algorithm"))
        self.check_digest_alg_expected(digest_algorithm)  # type: ignore[no-untyped-call]
        expected = base64.b64decode(digest_value.text)
        if not hmac.compare_digest(expected, self._get_digest(canonical, digest_algorithm)):
            raise InvalidDigest(f"Digest mismatch for reference {index}")
        # What callers read: the canonical bytes parsed again, so nothing unsigned survives.
        key = signature_key_used.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        signed_xml = self._fromstring(canonical)  # type: ignore[no-untyped-call]
        return VerifyResult(canonical, signed_xml, signature, signature_key=key)


_CONFIGS = {
    allow_sha1: SignatureConfiguration(
        location="./",
        expect_references=1,
        signature_methods=signature_methods(allow_sha1),
        digest_algorithms=digest_algorithms(allow_sha1),
        ignore_ambiguous_key_info=True,  # KeyInfo is never trusted, so never compared either
    )
    for allow_sha1 in (False, True)
}


def _remove_keeping_tail(element: etree._Element) -> None:
    """Detach ``element``; the text after it (its tail) stays in the document, as XML-DSig's
    enveloped-signature transform removes the element node only."""
    parent = element.getparent()
    assert parent is not None
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def signature_child(element: etree._Element, what: str) -> etree._Element | None:
    """The ds:Signature child of ``element``, or None; more than one is refused."""
    found = [child for child in element if child.tag == _SIGNATURE]
    if len(found) > 1:
        raise SignatureMisplaced(
            f"the {what} carries {len(found)} signatures; at most one is allowed"
        )
    return found[0] if found else None


def verify_enveloped(
    signed: etree._Element,
    signature: etree._Element,
    *,
    certificates: tuple[x509.Certificate, ...],
    allow_sha1: bool,
    what: str,
) -> Verified:
    """Verify the enveloped ``signature`` of ``signed`` with one of ``certificates``.

    signxml sees only ``signed`` (the Response, or the Assertion on its own), so the reference
    can only resolve inside it. Only the element the signature references is returned,
    re-parsed from its canonical form, so nothing unsigned (not even a comment) can be read
    afterwards.

    Raises:
        AlgorithmForbidden, TransformForbidden, ReferenceMismatch, SignatureInvalid,
        UntrustedKey.
    """
    element_id = signed.get("ID")
    method = _check_signed_info(signature, element_id, allow_sha1=allow_sha1, what=what)
    config = _CONFIGS[allow_sha1]
    offered = _offered_certificate(signature) if len(certificates) > 1 else None
    # During a rollover the metadata may hold keys of two types; only those of the signature
    # algorithm's type can have made it.
    wants_ec = "ecdsa" in method
    for certificate in _ordered(certificates, offered):
        if _is_ec(certificate) is not wants_ec:
            continue
        try:
            result = _PinnedVerifier().verify(
                signed,
                x509_cert=certificate,
                expect_config=config,
                validate_schema=False,  # _check_signed_info has checked the shape signxml reads
            )
        except InvalidDigest as exc:
            raise SignatureInvalid(
                f"the {what} was changed after it was signed (digest mismatch)"
            ) from exc
        except InvalidSignature:
            continue
        except Exception as exc:
            raise SignatureInvalid(f"the {what} signature cannot be verified: {exc}") from exc
        element = result.signed_xml if isinstance(result, VerifyResult) else None
        if element is None or element.tag != signed.tag or element.get("ID") != element_id:
            raise ReferenceMismatch(f"the {what} signature does not cover the {what} itself")
        return Verified(element=element, certificate=certificate)

    trusted = [fingerprint(c) for c in certificates]
    offered = _offered_certificate(signature)
    if offered is not None and offered not in certificates:
        raise UntrustedKey(
            f"the {what} is signed with a certificate that is not in the IdP metadata: update "
            "the metadata if the IdP rotated its key",
            expected=trusted,
            found=fingerprint(offered),
        )
    raise SignatureInvalid(
        f"the {what} signature does not verify with any of the {len(certificates)} signing "
        "certificate(s) in the IdP metadata",
        expected=trusted,
    )


_METHOD_URIS = {
    allow_sha1: frozenset(m.value for m in signature_methods(allow_sha1))
    for allow_sha1 in (False, True)
}
_DIGEST_URIS = {
    allow_sha1: frozenset(d.value for d in digest_algorithms(allow_sha1))
    for allow_sha1 in (False, True)
}


def _one(
    parent: etree._Element, local: str, what: str, *, optional: bool = False
) -> etree._Element:
    found = parent.findall(qname(NS_DS, local))
    if len(found) == 1 or (optional and not found):
        return found[0] if found else parent
    raise SignatureInvalid(
        f"the {what} signature must have exactly one {local}, it has {len(found)}",
        expected=1,
        found=len(found),
    )


def _check_signed_info(
    signature: etree._Element, element_id: str | None, *, allow_sha1: bool, what: str
) -> str:
    """Check the signature's shape and algorithms before any crypto runs.

    signxml reads the first of each element it needs; demanding exactly one of each here
    is what its schema validation would give, for a fraction of the cost, and it rules out a
    second SignedInfo or Reference that one reader sees and another does not. The exact shape
    also bounds the canonicalization of SignedInfo, which runs before the key is used: nothing
    but the schema's elements, and no more than MAX_INCLUSIVE_PREFIXES prefixes.
    """
    value = _one(signature, "SignatureValue", what)
    if len(value) or not (value.text or "").strip():
        raise SignatureInvalid(f"the {what} signature has no usable SignatureValue")
    signed_info = _one(signature, "SignedInfo", what)
    method = _one(signed_info, "SignatureMethod", what).get("Algorithm")
    method = _require_allowed(
        method, _METHOD_URIS[allow_sha1], f"the {what} is signed with", allow_sha1
    )
    c14n_method = _one(signed_info, "CanonicalizationMethod", what)
    c14n = c14n_method.get("Algorithm")
    if c14n not in _C14N:
        raise TransformForbidden(
            f"the {what} signature uses canonicalization {c14n!r}",
            expected=sorted(_C14N),
            found=c14n,
        )
    references = signed_info.findall(qname(NS_DS, "Reference"))
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
    transforms = _one(reference, "Transforms", what, optional=True)
    for transform in transforms.iterchildren(qname(NS_DS, "Transform")):
        algorithm = transform.get("Algorithm")
        if algorithm not in _ALLOWED_TRANSFORMS:
            raise TransformForbidden(
                f"the {what} signature uses the transform {algorithm!r}; only enveloped-signature "
                "and canonicalization are allowed",
                expected=sorted(_ALLOWED_TRANSFORMS),
                found=algorithm,
            )
    _one(reference, "DigestValue", what)
    digest = _one(reference, "DigestMethod", what).get("Algorithm")
    _require_allowed(
        digest, _DIGEST_URIS[allow_sha1], f"the {what} signature uses the digest", allow_sha1
    )
    _check_shape(signature, what)
    return method


_DS = f"{{{NS_DS}}}"
_INCLUSIVE_NAMESPACES = qname(NS_EXC_C14N, "InclusiveNamespaces")
MAX_INCLUSIVE_PREFIXES = 16
"""Prefixes an InclusiveNamespaces PrefixList may name; real IdPs name at most three."""

# XML-DSig's schema for the elements SAML uses, as the element children each may have: one
# tuple per allowed sequence. Signature/Object, Manifest, HMACOutputLength and the rest of the
# schema's options have no use in SAML and are refused.
_SHAPES: dict[str, tuple[tuple[str, ...], ...]] = {
    "Signature": (("SignedInfo", "SignatureValue"), ("SignedInfo", "SignatureValue", "KeyInfo")),
    "SignedInfo": (("CanonicalizationMethod", "SignatureMethod", "Reference"),),
    "SignatureMethod": ((),),
    "Reference": (("DigestMethod", "DigestValue"), ("Transforms", "DigestMethod", "DigestValue")),
    "Transforms": (("Transform",), ("Transform", "Transform")),
    "DigestMethod": ((),),
    "DigestValue": ((),),
    "SignatureValue": ((),),
}


_MOST_CHILDREN = 16


def _check_shape(signature: etree._Element, what: str) -> None:
    """Refuse every element the SAML use of XML-DSig has no place for; one pass, no crypto."""
    pending = [signature]
    while pending:
        element = pending.pop()
        local = element.tag[len(_DS) :] if element.tag.startswith(_DS) else None
        if len(element) > _MOST_CHILDREN:  # comments included: no shape needs this many
            raise SignatureInvalid(
                f"the {what} signature's {local} holds {len(element)} children, which XML-DSig "
                "as SAML uses it does not allow",
                found=len(element),
            )
        children = [child for child in element if isinstance(child.tag, str)]
        if local in ("CanonicalizationMethod", "Transform"):
            _check_c14n_parameters(element, children, what)
            continue
        # Clark notation for the rest, so that a SignedInfo in no namespace ("{}SignedInfo")
        # cannot pass for ds:SignedInfo.
        names = tuple(
            child.tag[len(_DS) :] if child.tag.startswith(_DS) else _clark(child)
            for child in children
        )
        assert local is not None  # only ds elements are queued
        if names not in _SHAPES[local]:
            shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
            raise SignatureInvalid(
                f"the {what} signature's {local} holds <{shown}>, which XML-DSig as SAML uses "
                "it does not allow",
                found=list(names[:16]),
            )
        pending.extend(child for child in children if child.tag != _KEY_INFO)


def _clark(element: etree._Element) -> str:
    name = etree.QName(element)
    return f"{{{name.namespace or ''}}}{name.localname}"


def _check_c14n_parameters(
    element: etree._Element, children: list[etree._Element], what: str
) -> None:
    """A canonicalization method or transform may carry one InclusiveNamespaces list, and
    only for exclusive canonicalization."""
    if not children:
        return
    if (
        len(children) > 1
        or children[0].tag != _INCLUSIVE_NAMESPACES
        or element.get("Algorithm") not in _EXCLUSIVE_URIS
        or len(children[0])
    ):
        raise SignatureInvalid(
            f"the {what} signature has unexpected content in a canonicalization method",
            found=[str(child.tag) for child in children[:16]],
        )
    prefixes = (children[0].get("PrefixList") or "").split()
    if len(prefixes) > MAX_INCLUSIVE_PREFIXES:
        raise SignatureInvalid(
            f"the {what} signature's InclusiveNamespaces names {len(prefixes)} prefixes; at "
            f"most {MAX_INCLUSIVE_PREFIXES} are accepted",
            expected=MAX_INCLUSIVE_PREFIXES,
            found=len(prefixes),
        )


def _is_ec(certificate: x509.Certificate) -> bool | None:
    """Whether the key is an EC key; None when cryptography cannot read it (a certificate
    built by the host app rather than read from metadata), which then verifies nothing."""
    try:
        key = certificate.public_key()
    except Exception:  # UnsupportedAlgorithm, ValueError: an unusable key, not an error here
        return None
    return isinstance(key, ec.EllipticCurvePublicKey)


def _require_allowed(
    algorithm: str | None, allowed: frozenset[str], prefix: str, allow_sha1: bool
) -> str:
    if algorithm is not None and algorithm in allowed:
        return algorithm
    hint = "" if allow_sha1 or "sha1" not in (algorithm or "") else " (SHA-1 needs allow_sha1)"
    raise AlgorithmForbidden(
        f"{prefix} {algorithm!r}, which is not allowed{hint}",
        expected=sorted(allowed),
        found=algorithm,
    )


def _offered_certificate(signature: etree._Element) -> x509.Certificate | None:
    """The certificate the message's KeyInfo names: a hint for which key to try, never trusted."""
    element = signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NSMAP)
    if element is None or not element.text:
        return None
    try:
        return load_certificate(base64.b64decode("".join(element.text.split())))
    except (binascii.Error, ValueError):
        return None


def _ordered(
    certificates: tuple[x509.Certificate, ...], offered: x509.Certificate | None
) -> list[x509.Certificate]:
    return sorted(certificates, key=lambda c: c != offered)
