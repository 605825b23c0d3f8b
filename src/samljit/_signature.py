"""XML-DSig verification pinned to metadata certificates, returning only the signed element.

The shapes real IdPs send take the lean path (``_lean_signature``), every other one signxml.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from ._certificates import fingerprint, load_certificate
from ._lean_signature import LeanVerifier, lean_signature, remove_keeping_tail
from ._signed_info import (
    _C14N,
    _ENVELOPED,
    _EXCLUSIVE,
    _SIGNATURE,
    check_signed_info,
    digest_algorithms,
    signature_methods,
)
from ._xml import NSMAP
from .errors import (
    ReferenceMismatch,
    SignatureInvalid,
    SignatureMisplaced,
    UntrustedKey,
)


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
      (checked by ``check_signed_info`` before any crypto). So the reference needs no
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
                remove_keeping_tail(child)
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


def signature_child(element: etree._Element, what: str) -> etree._Element | None:
    """The ds:Signature child of ``element``, or None; more than one is refused."""
    found = list(element.iterchildren(_SIGNATURE))
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
    lean: bool = True,
    consume: bool = False,
) -> Verified:
    """Verify the enveloped ``signature`` of ``signed`` with one of ``certificates``.

    A signature of the exact shape real IdPs send (see ``lean_signature``) is verified by the
    lean path (``_lean_signature``: lxml c14n and cryptography); any other is checked by
    ``check_signed_info`` and verified by signxml, which sees only ``signed`` (the Response, or
    the Assertion on its own), so the reference can only resolve inside it. ``lean=False``
    sends every signature to signxml (the differential test runs both). Only the element the
    signature references is returned, re-parsed from its canonical form, so nothing unsigned
    (not even a comment) can be read afterwards. ``consume=True`` says the caller will not read
    ``signed`` again: the lean path may then take the signature out of it rather than copy it.

    Raises:
        AlgorithmForbidden, TransformForbidden, ReferenceMismatch, SignatureInvalid,
        UntrustedKey.
    """
    element_id = signed.get("ID")
    found = lean_signature(signed, signature, allow_sha1=allow_sha1) if lean else None
    attempt: Callable[[x509.Certificate], etree._Element | None]
    if found is not None:
        method = found.method
        attempt = LeanVerifier(signed, found, consume=consume)
    else:
        method = check_signed_info(signature, element_id, allow_sha1=allow_sha1, what=what)
        attempt = functools.partial(_verify_with_signxml, signed, _CONFIGS[allow_sha1])
    offered = _offered_certificate(signature) if len(certificates) > 1 else None
    # During a rollover the metadata may hold keys of two types; only those of the signature
    # algorithm's type can have made it.
    wants_ec = "ecdsa" in method
    for certificate in _ordered(certificates, offered):
        if _is_ec(certificate) is not wants_ec:
            continue
        try:
            element = attempt(certificate)
        except InvalidDigest as exc:
            raise SignatureInvalid(
                f"the {what} was changed after it was signed (digest mismatch)"
            ) from exc
        except InvalidSignature:
            continue
        except Exception as exc:
            raise SignatureInvalid(f"the {what} signature cannot be verified: {exc}") from exc
        if element is None or element.tag != signed.tag or element.get("ID") != element_id:
            raise ReferenceMismatch(f"the {what} signature does not cover the {what} itself")
        return Verified(element=element, certificate=certificate)

    trusted = [fingerprint(c) for c in certificates]
    if len(certificates) <= 1:  # else read above already
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


def _verify_with_signxml(
    signed: etree._Element, config: SignatureConfiguration, certificate: x509.Certificate
) -> etree._Element | None:
    result = _PinnedVerifier().verify(
        signed,
        x509_cert=certificate,
        expect_config=config,
        validate_schema=False,  # check_signed_info has checked the shape signxml reads
    )
    return result.signed_xml if isinstance(result, VerifyResult) else None


def _is_ec(certificate: x509.Certificate) -> bool | None:
    """Whether the key is an EC key; None when cryptography cannot read it (a certificate
    built by the host app rather than read from metadata), which then verifies nothing."""
    try:
        key = certificate.public_key()
    except Exception:  # UnsupportedAlgorithm, ValueError: an unusable key, not an error here
        return None
    return isinstance(key, ec.EllipticCurvePublicKey)


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
) -> tuple[x509.Certificate, ...] | list[x509.Certificate]:
    if offered is None:
        return certificates
    return sorted(certificates, key=lambda c: c != offered)
