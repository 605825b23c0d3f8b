"""The shape and algorithms of an XML-DSig signature as SAML uses it, checked before any crypto.

SignedInfo is canonicalized before the key is used, so its shape bounds what an unsigned message
can cost: exactly the schema's elements, the allow-listed algorithms, a bounded PrefixList.
"""

from __future__ import annotations

from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from ._xml import NS_DS, NS_EXC_C14N, qname
from .errors import AlgorithmForbidden, ReferenceMismatch, SignatureInvalid, TransformForbidden

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


def check_signed_info(
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
