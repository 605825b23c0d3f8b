"""XML-DSig verification of the shapes real IdPs send, with lxml and cryptography directly.

signxml re-parses the signature, the canonical SignedInfo and the signed element before it
digests anything, and finds each part by XPath. For the one shape SAML IdPs send (one enveloped
Reference to the signed element, exclusive canonicalization, the allow-listed algorithms) none
of that is needed: SignedInfo is canonicalized where it stands, its signature is checked with
``cryptography``, and only then is one private copy of the element digested.

It runs after ``check_signed_info`` (the exact shape, the allowed algorithms, a bounded
PrefixList) and only when :func:`lean_shape` says the signature is one it handles exactly as
the signxml path does; anything else goes to signxml. It raises signxml's exception types, with
signxml's messages, so that ``verify_enveloped`` turns both paths' failures into the same
errors. ``tests/test_signature_differential.py`` runs both paths on every corpus and on
mutants and fails on any difference (docs/security.md).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import re
import threading
from base64 import b64decode
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, PSS, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature

from ._signed_info import _ENVELOPED, _EXCLUSIVE_URIS, _SIGNATURE
from ._xml import NS_DS, NS_EXC_C14N, qname

__all__ = ["LeanShape", "LeanVerifier", "lean_shape", "remove_keeping_tail"]

_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
_PKCS1, _PSS, _ECDSA = "pkcs1", "pss", "ecdsa"
_SIGNATURES: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    SignatureMethod.RSA_SHA1.value: (_PKCS1, hashes.SHA1),
    SignatureMethod.RSA_SHA256.value: (_PKCS1, hashes.SHA256),
    SignatureMethod.RSA_SHA384.value: (_PKCS1, hashes.SHA384),
    SignatureMethod.RSA_SHA512.value: (_PKCS1, hashes.SHA512),
    SignatureMethod.SHA256_RSA_MGF1.value: (_PSS, hashes.SHA256),
    SignatureMethod.SHA384_RSA_MGF1.value: (_PSS, hashes.SHA384),
    SignatureMethod.SHA512_RSA_MGF1.value: (_PSS, hashes.SHA512),
    SignatureMethod.ECDSA_SHA256.value: (_ECDSA, hashes.SHA256),
    SignatureMethod.ECDSA_SHA384.value: (_ECDSA, hashes.SHA384),
    SignatureMethod.ECDSA_SHA512.value: (_ECDSA, hashes.SHA512),
}
_DIGESTS = {
    DigestAlgorithm.SHA1.value: "sha1",
    DigestAlgorithm.SHA256.value: "sha256",
    DigestAlgorithm.SHA384.value: "sha384",
    DigestAlgorithm.SHA512.value: "sha512",
}
_SIGNED_INFO = qname(NS_DS, "SignedInfo")
_SIGNATURE_VALUE = qname(NS_DS, "SignatureValue")
_C14N_METHOD = qname(NS_DS, "CanonicalizationMethod")
_SIGNATURE_METHOD = qname(NS_DS, "SignatureMethod")
_REFERENCE = qname(NS_DS, "Reference")
_TRANSFORMS = qname(NS_DS, "Transforms")
_DIGEST_METHOD = qname(NS_DS, "DigestMethod")
_DIGEST_VALUE = qname(NS_DS, "DigestValue")
_INCLUSIVE_NAMESPACES = qname(NS_EXC_C14N, "InclusiveNamespaces")
# A PrefixList as IdPs write it: prefixes (ASCII NCNames) or #default, one space apart. Any
# other spelling is signxml's to read (it splits on single spaces and hands libxml2 the rest).
_PREFIX = r"(?:#default|[A-Za-z_][A-Za-z0-9._-]*)"
_PREFIX_LIST = re.compile(f"{_PREFIX}(?: {_PREFIX})*")
# What may follow the Signature (or the element) for signxml's re-parse of it to succeed: no
# carriage return, which lxml serialises as "&#13;", a reference that is not whitespace there.
_TAIL_SPACE = " \t\n"


@dataclass(frozen=True, slots=True)
class LeanShape:
    """How a signature the lean path handles is canonicalized: SignedInfo, then the element."""

    signed_info_comments: bool
    signed_info_prefixes: tuple[str, ...] | None
    reference_comments: bool
    reference_prefixes: tuple[str, ...] | None


def lean_shape(signed: etree._Element, signature: etree._Element) -> LeanShape | None:
    """The shape of ``signature`` if the lean path verifies it exactly as signxml would, else
    None (signxml's path). Call after ``check_signed_info``; costs no crypto and no copy.

    The lean shape: the SignedInfo canonicalization and the one Reference's transforms are
    exclusive c14n (the Reference's after enveloped-signature, as IdPs write them), any
    PrefixList is spelt plainly, SignedInfo holds no comment or processing instruction (signxml
    reads the Reference from the canonical SignedInfo, which may drop them), and no text but
    whitespace (spaces, tabs, line feeds) follows the Signature, or the signed element when a
    PrefixList makes signxml re-read it (signxml re-parses both serialised with what follows
    them, which other text breaks).
    """
    if (signature.tail or "").strip(_TAIL_SPACE):
        return None
    signed_info = signature.find(_SIGNED_INFO)
    assert signed_info is not None  # check_signed_info made sure
    if next(signed_info.iter(etree.Comment, etree.PI), None) is not None:
        return None
    method = signed_info.find(_C14N_METHOD)
    reference = signed_info.find(_REFERENCE)
    assert method is not None
    assert reference is not None
    transforms = reference.find(_TRANSFORMS)
    if method.get("Algorithm") not in _EXCLUSIVE_URIS or transforms is None or len(transforms) != 2:
        return None
    signature_method = signed_info.find(_SIGNATURE_METHOD)
    digest_method = reference.find(_DIGEST_METHOD)
    if (
        signature_method is None
        or signature_method.get("Algorithm") not in _SIGNATURES
        or digest_method is None
        or digest_method.get("Algorithm") not in _DIGESTS
    ):
        return None  # an algorithm allowed one day but not written here yet
    enveloped, c14n = transforms
    if enveloped.get("Algorithm") != _ENVELOPED or c14n.get("Algorithm") not in _EXCLUSIVE_URIS:
        return None
    lists = (_prefix_list(method), _prefix_list(c14n))
    if any(value is not None and not _PREFIX_LIST.fullmatch(value) for value in lists):
        return None
    signed_info_prefixes, reference_prefixes = (
        None if value is None else tuple(value.split(" ")) for value in lists
    )
    if reference_prefixes and (signed.tail or "").strip(_TAIL_SPACE):
        return None
    return LeanShape(
        signed_info_comments=method.get("Algorithm") == _WITH_COMMENTS,
        signed_info_prefixes=signed_info_prefixes,
        reference_comments=c14n.get("Algorithm") == _WITH_COMMENTS,
        reference_prefixes=reference_prefixes,
    )


def _prefix_list(method: etree._Element) -> str | None:
    """The PrefixList of a c14n method's or transform's InclusiveNamespaces, as signxml reads
    it (``ec:InclusiveNamespaces[@PrefixList]``)."""
    found = method.find(_INCLUSIVE_NAMESPACES)
    return None if found is None else found.get("PrefixList")


_local = threading.local()


def _parser() -> etree.XMLParser:
    """A parser with the settings signxml's has, one per thread (lxml parsers are not
    thread-safe), so that the lean path reads bytes back exactly as signxml does."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(resolve_entities=False)
    return parser


def _parse_canonical(canonical: bytes) -> etree._Element | None:
    """The canonical bytes read back; None when they do not parse, as signxml's
    ``signed_xml`` is then."""
    try:
        return etree.fromstring(canonical, parser=_parser())
    except etree.XMLSyntaxError:
        return None


def remove_keeping_tail(element: etree._Element) -> None:
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


class LeanVerifier:
    """One signature of the lean shape, tried against one pinned certificate at a time.

    What does not depend on the key (the decoded SignatureValue, the canonical SignedInfo) is
    computed once, on the first try. The element is digested only once a key has verified the
    signature: an unauthenticated sender never gets a digest computed.
    """

    def __init__(self, signed: etree._Element, signature: etree._Element, shape: LeanShape) -> None:
        self._signed = signed
        self._signature = signature
        self._shape = shape
        self._signed_info = signature.find(_SIGNED_INFO)
        self._prepared: tuple[bytes, bytes] | None = None

    def _prepare(self) -> tuple[bytes, bytes]:
        if self._prepared is None:
            value = self._signature.find(_SIGNATURE_VALUE)
            assert value is not None
            assert self._signed_info is not None
            raw = b64decode(value.text or "")
            shape = self._shape
            canonical = etree.tostring(
                self._signed_info,
                method="c14n",
                exclusive=True,
                with_comments=shape.signed_info_comments,
                inclusive_ns_prefixes=shape.signed_info_prefixes,
            )
            self._prepared = raw, canonical
        return self._prepared

    def __call__(self, certificate: x509.Certificate) -> etree._Element | None:
        """The signed element re-read from its canonical bytes, if ``certificate``'s key made
        the signature; raises signxml's InvalidSignature if not, InvalidDigest if the element
        changed after signing, another exception if the signature cannot be checked."""
        raw, signed_info = self._prepare()
        assert self._signed_info is not None
        method = self._signed_info.find(_SIGNATURE_METHOD)
        assert method is not None
        kind, hash_type = _SIGNATURES[method.get("Algorithm") or ""]
        _verify_signature(certificate.public_key(), kind, hash_type(), raw, signed_info)
        return self._digested_element()

    def _digested_element(self) -> etree._Element | None:
        assert self._signed_info is not None
        reference = self._signed_info.find(_REFERENCE)
        assert reference is not None
        shape = self._shape
        # The one private copy. Without a PrefixList exclusive c14n renders only the namespaces
        # the subtree uses, which deepcopy keeps; a PrefixList may name one only an ancestor
        # declares, which a serialisation of the element in its context carries along.
        if shape.reference_prefixes:
            payload = etree.fromstring(etree.tostring(self._signed), parser=_parser())
        else:
            payload = copy.deepcopy(self._signed)
        for child in list(payload.iterchildren(_SIGNATURE)):  # one: signature_child() checked
            remove_keeping_tail(child)
        canonical = etree.tostring(
            payload,
            method="c14n",
            exclusive=True,
            with_comments=shape.reference_comments,
            inclusive_ns_prefixes=shape.reference_prefixes,
        )
        digest_method = reference.find(_DIGEST_METHOD)
        digest_value = reference.find(_DIGEST_VALUE)
        if digest_method is None or digest_value is None or not digest_value.text:
            raise InvalidInput("the reference has no digest")
        algorithm = _DIGESTS[digest_method.get("Algorithm") or ""]
        expected = b64decode(digest_value.text)
        if not hmac.compare_digest(expected, hashlib.new(algorithm, canonical).digest()):
            raise InvalidDigest("Digest mismatch for reference 0")
        return _parse_canonical(canonical)


def _verify_signature(
    key: object, kind: str, algorithm: hashes.HashAlgorithm, raw: bytes, data: bytes
) -> None:
    """Check ``raw`` over ``data`` as signxml does, raising what signxml raises."""
    mismatch = "DER encoded key value does not match specified signature algorithm"
    if kind == _ECDSA:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidInput(mismatch)
        # XML-DSig's ECDSA SignatureValue is r || s, each as long as the curve's order.
        half = (key.key_size + 7) // 8
        if len(raw) != 2 * half:
            raise InvalidSignature(f"Expected {2 * half} byte SignatureValue, got {len(raw)}")
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        verify = functools.partial(
            key.verify, encode_dss_signature(r, s), data, ec.ECDSA(algorithm)
        )
    elif not isinstance(key, rsa.RSAPublicKey):
        raise InvalidInput(mismatch)
    elif kind == _PKCS1:
        verify = functools.partial(key.verify, raw, data, PKCS1v15(), algorithm)
    else:
        padding = PSS(mgf=MGF1(algorithm=algorithm), salt_length=algorithm.digest_size)
        verify = functools.partial(key.verify, raw, data, padding, algorithm)
    try:
        verify()
    except BadSignature as exc:
        raise InvalidSignature(f"Signature verification failed: {exc}") from exc
