"""XML-DSig verification of the shapes real IdPs send, with lxml and cryptography directly.

signxml re-parses the signature, the canonical SignedInfo and the signed element before it
digests anything, and finds each part by XPath. For the one shape SAML IdPs send (one enveloped
Reference to the signed element, exclusive canonicalization, the allow-listed algorithms) none
of that is needed: SignedInfo is canonicalized where it stands, its signature is checked with
``cryptography``, and only then is the element digested (on a private copy, or in place when
the caller owns the document).

It runs only when :func:`lean_signature` finds the signature spelt exactly as IdPs send it (a
shape ``check_signed_info`` accepts, which the lean path therefore need not run); anything else
goes to ``check_signed_info`` and signxml. It raises signxml's exception types, with signxml's
messages, so that ``verify_enveloped`` turns both paths' failures into the same errors.
``tests/test_signature_differential.py`` runs both paths on every corpus and on mutants and
fails on any difference (docs/security.md).
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
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, PSS, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature

from ._signed_info import (
    _DIGEST_URIS,
    _ENVELOPED,
    _EXCLUSIVE_URIS,
    _METHOD_URIS,
    _SIGNATURE,
    MAX_INCLUSIVE_PREFIXES,
)
from ._xml import NS_DS, NS_EXC_C14N, qname

__all__ = ["LeanShape", "LeanSignature", "LeanVerifier", "lean_signature", "remove_keeping_tail"]

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
_HASHES = {uri: getattr(hashlib, name) for uri, name in _DIGESTS.items()}
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


@dataclass(frozen=True, slots=True)
class LeanSignature:
    """A signature of the lean shape, its parts found once by :func:`lean_signature`."""

    shape: LeanShape
    signed_info: etree._Element
    signature_value: str
    method: str
    digest: str
    digest_value: str


_LEAN_METHODS = {sha1: _METHOD_URIS[sha1] & _SIGNATURES.keys() for sha1 in (False, True)}
_LEAN_DIGESTS = {sha1: _DIGEST_URIS[sha1] & _DIGESTS.keys() for sha1 in (False, True)}
_SIGNATURE_CHILDREN = (
    (_SIGNED_INFO, _SIGNATURE_VALUE),
    (_SIGNED_INFO, _SIGNATURE_VALUE, qname(NS_DS, "KeyInfo")),
)
_SIGNED_INFO_CHILDREN = [_C14N_METHOD, _SIGNATURE_METHOD, _REFERENCE]
_REFERENCE_CHILDREN = [_TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE]
_TRANSFORM_PAIR = [qname(NS_DS, "Transform")] * 2


def lean_signature(
    signed: etree._Element, signature: etree._Element, *, allow_sha1: bool
) -> LeanSignature | None:
    """``signature``'s parts if the lean path verifies it exactly as signxml would, else None
    (``check_signed_info``, then signxml). Costs no crypto and no copy.

    The lean shape is the one real IdPs send, spelt exactly: the schema's elements and nothing
    else (no comment, no processing instruction, no Object, no second anything), the allowed
    algorithms, one Reference to the signed element's ID whose transforms are enveloped-
    signature then exclusive c14n, exclusive c14n for SignedInfo, any PrefixList spelt plainly
    and naming at most MAX_INCLUSIVE_PREFIXES prefixes, and no text but whitespace (spaces, tabs,
    line feeds) after the Signature, or after the signed element when a PrefixList makes signxml
    re-read it (signxml re-parses both serialised with what follows them, which other text
    breaks). Every signature accepted here passes ``check_signed_info``: the differential test
    checks that too.
    """
    # Each element's children are counted before they are listed, so that a flood of them
    # costs nothing here (check_signed_info then refuses it).
    if len(signature) not in (2, 3):
        return None
    children = list(signature)
    if tuple(child.tag for child in children) not in _SIGNATURE_CHILDREN:
        return None
    signed_info, value = children[0], children[1]
    text = value.text
    if len(value) or not text or not text.strip():
        return None
    if len(signed_info) != 3:
        return None
    parts = list(signed_info)
    if [part.tag for part in parts] != _SIGNED_INFO_CHILDREN:
        return None
    c14n, method, reference = parts
    element_id = signed.get("ID")
    if (
        len(method)
        or method.get("Algorithm") not in _LEAN_METHODS[allow_sha1]
        or not element_id
        or reference.get("URI") != f"#{element_id}"
    ):
        return None
    if len(reference) != 3:
        return None
    parts = list(reference)
    if [part.tag for part in parts] != _REFERENCE_CHILDREN:
        return None
    transforms, digest_method, digest_value = parts
    digest = digest_method.get("Algorithm")
    if len(digest_method) or len(digest_value) or digest not in _LEAN_DIGESTS[allow_sha1]:
        return None
    if not digest_value.text:
        return None
    if len(transforms) != 2:
        return None
    pair = list(transforms)
    if [transform.tag for transform in pair] != _TRANSFORM_PAIR:
        return None
    enveloped, transform = pair
    if len(enveloped) or enveloped.get("Algorithm") != _ENVELOPED:
        return None
    signed_info_prefixes, reference_prefixes = _exclusive(c14n), _exclusive(transform)
    if signed_info_prefixes is False or reference_prefixes is False:
        return None
    tails = (signature.tail, signed.tail if reference_prefixes else None)
    if any(tail and tail.strip(_TAIL_SPACE) for tail in tails):
        return None
    return LeanSignature(
        shape=LeanShape(
            signed_info_comments=c14n.get("Algorithm") == _WITH_COMMENTS,
            signed_info_prefixes=signed_info_prefixes,
            reference_comments=transform.get("Algorithm") == _WITH_COMMENTS,
            reference_prefixes=reference_prefixes,
        ),
        signed_info=signed_info,
        signature_value=text,
        method=str(method.get("Algorithm")),
        digest=str(digest),
        digest_value=digest_value.text,
    )


def _exclusive(method: etree._Element) -> tuple[str, ...] | Literal[False] | None:
    """The PrefixList of an exclusive c14n method or transform (None without one), or False
    when it is not exclusive c14n spelt plainly: at most one InclusiveNamespaces, empty."""
    if method.get("Algorithm") not in _EXCLUSIVE_URIS:
        return False
    if not len(method):
        return None
    if len(method) > 1:
        return False
    inclusive = method[0]
    if inclusive.tag != _INCLUSIVE_NAMESPACES or len(inclusive):
        return False
    value = inclusive.get("PrefixList")
    if value is None:
        return None
    # Counted before the pattern reads it: a long list costs nothing here.
    if value.count(" ") >= MAX_INCLUSIVE_PREFIXES or not _PREFIX_LIST.fullmatch(value):
        return False
    return tuple(value.split(" "))


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

    def __init__(self, signed: etree._Element, lean: LeanSignature, *, consume: bool) -> None:
        self._signed = signed
        self._consume = consume
        self._lean = lean
        self._prepared: tuple[bytes, bytes] | None = None

    def _prepare(self) -> tuple[bytes, bytes]:
        if self._prepared is None:
            shape = self._lean.shape
            canonical = etree.tostring(
                self._lean.signed_info,
                method="c14n",
                exclusive=True,
                with_comments=shape.signed_info_comments,
                inclusive_ns_prefixes=shape.signed_info_prefixes,
            )
            self._prepared = b64decode(self._lean.signature_value), canonical
        return self._prepared

    def __call__(self, certificate: x509.Certificate) -> etree._Element | None:
        """The signed element re-read from its canonical bytes, if ``certificate``'s key made
        the signature; raises signxml's InvalidSignature if not, InvalidDigest if the element
        changed after signing, another exception if the signature cannot be checked."""
        raw, signed_info = self._prepare()
        kind, hash_type = _SIGNATURES[self._lean.method]
        _verify_signature(certificate.public_key(), kind, hash_type(), raw, signed_info)
        return self._digested_element()

    def _digested_element(self) -> etree._Element | None:
        lean = self._lean
        canonical = _enveloped_c14n(self._signed, lean.shape, consume=self._consume)
        expected = b64decode(lean.digest_value)
        if not hmac.compare_digest(expected, _HASHES[lean.digest](canonical).digest()):
            raise InvalidDigest("Digest mismatch for reference 0")
        return _parse_canonical(canonical)


def _enveloped_c14n(signed: etree._Element, shape: LeanShape, *, consume: bool) -> bytes:
    """The exclusive c14n of ``signed`` without its Signature (the enveloped-signature
    transform): on ``signed`` itself when the caller gave it up (``consume``), the Signature
    then taken out for good, else on one private copy. (Not out and back in: lxml re-declares
    the namespaces of an element put back into a tree, which would change the document.)"""
    if consume:
        # In place the element keeps the namespaces its ancestors declare, which a PrefixList
        # may name, as the serialisation below carries them along.
        payload = signed
    elif shape.reference_prefixes:
        payload = etree.fromstring(etree.tostring(signed), parser=_parser())
    else:
        # Without a PrefixList exclusive c14n renders only the namespaces the subtree uses,
        # which deepcopy keeps.
        payload = copy.deepcopy(signed)
    for child in list(payload.iterchildren(_SIGNATURE)):  # one: signature_child() checked
        remove_keeping_tail(child)
    return etree.tostring(
        payload,
        method="c14n",
        exclusive=True,
        with_comments=shape.reference_comments,
        inclusive_ns_prefixes=shape.reference_prefixes,
    )


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
