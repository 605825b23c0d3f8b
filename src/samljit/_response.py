"""verify_response(): decode, parse, verify and validate one SAML Response (HTTP-POST binding).

Verification is pure: :func:`verify_response_xml` returns what it verified with the replay key
and its expiry, and its caller (the one-shot :func:`verify_response`, or the login service once
every other check has passed) records that key in its replay cache.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from ._config import SPConfig
from ._encryption import FAILED as DECRYPTION_FAILED
from ._encryption import decrypt_element
from ._models import Assertion
from ._peek import PeekedResponse
from ._schema import check_assertion_schema, check_response_schema
from ._signature import Verified, signature_child, verify_enveloped
from ._time import LATEST, require_aware
from ._web_sso import Checker
from ._xml import NS_DS, NS_SAML, NS_SAMLP, parse_xml, qname, text_of
from .bindings import decode_post_response
from .errors import (
    AssertionMissing,
    DecryptionFailed,
    DuplicateId,
    EncryptionRequired,
    MalformedResponse,
    MultipleAssertions,
    Replayed,
    SamlError,
    SignatureMisplaced,
    SignatureMissing,
    StatusNotSuccess,
    UnsolicitedResponse,
)
from .metadata import IdentityProvider

if TYPE_CHECKING:
    from .protocols import ReplayCache

__all__ = ["VerifiedResponse", "decode_post_response", "verify_response", "verify_response_xml"]

DecryptionKey = rsa.RSAPrivateKey | tuple[rsa.RSAPrivateKey, x509.Certificate]

decryption_log = logging.getLogger("samljit.decryption")

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"

_P = f"{{{NS_SAMLP}}}"
_RESPONSE = qname(NS_SAMLP, "Response")
_ASSERTION = qname(NS_SAML, "Assertion")
_ENCRYPTED_ASSERTION = qname(NS_SAML, "EncryptedAssertion")
_SIGNATURE = qname(NS_DS, "Signature")
_STATUS = qname(NS_SAMLP, "Status")
_STATUS_CODE = qname(NS_SAMLP, "StatusCode")


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedResponse:
    """What :func:`verify_response_xml` verified, and what its caller must record so that
    the assertion is accepted once (signxml's ``VerifyResult``: the caller keeps the state)."""

    assertion: Assertion
    """The assertion, built only from signed content."""
    replay_key: str
    """The key to add to the replay cache: the issuer and the assertion ID."""
    replay_expires_at: datetime
    """Until when the key must be remembered: the assertion's end, plus the clock skew."""


def verify_response(
    saml_response: str | bytes,
    *,
    idp: IdentityProvider,
    sp: SPConfig,
    now: datetime,
    replay_cache: ReplayCache,
    in_response_to: str | None = None,
    allow_unsolicited: bool = False,
    decryption_keys: Sequence[DecryptionKey] = (),
) -> Assertion:
    """Verify the ``SAMLResponse`` form value POSTed to the ACS and return its assertion.

    Args:
        saml_response: the form field exactly as received (base64).
        idp: the account's trusted IdP, from :func:`~samljit.parse_idp_metadata`.
        sp: what this SP expects (entity ID, ACS URL, clock skew, algorithms, limits).
        now: the current instant, timezone-aware.
        replay_cache: records the assertion ID; a second use of it is refused.
        in_response_to: the ID of the AuthnRequest this SP sent (SP-initiated login). When
            given, the response must answer exactly that request. An empty string is no
            request: it never matches an empty ``InResponseTo``.
        allow_unsolicited: accept IdP-initiated responses (no ``in_response_to``). Their
            ``InResponseTo``, when present, must be empty (some IdPs send ``""``).
        decryption_keys: the SP's RSA private keys (or ``(key, certificate)`` pairs, so that
            a KeyInfo hint picks the right one first), tried in order: old and new during a
            key rollover.

    Returns:
        The :class:`~samljit.Assertion`, built only from signed content.

    Raises:
        SamlError: one subclass per rule, each with a stable ``code``; see ``docs/errors.md``.
            ``replayed`` when ``replay_cache`` already holds the assertion.
    """
    _check_solicitation(in_response_to or None, allow_unsolicited)
    xml = decode_post_response(saml_response, max_bytes=sp.limits.max_bytes)
    verified = verify_response_xml(
        xml,
        idp=idp,
        sp=sp,
        now=now,
        in_response_to=in_response_to,
        allow_unsolicited=allow_unsolicited,
        decryption_keys=decryption_keys,
    )
    record_replay(replay_cache, verified, now=now)
    return verified.assertion


def record_replay(replay_cache: ReplayCache, verified: VerifiedResponse, *, now: datetime) -> None:
    """Use up the assertion in ``replay_cache``; refuse it if it was used before.

    Raises:
        Replayed: ``replayed``.
    """
    if not replay_cache.add(verified.replay_key, expires_at=verified.replay_expires_at, now=now):
        raise replayed(verified.assertion)


def replayed(assertion: Assertion) -> Replayed:
    """The error for an assertion that the replay cache already holds."""
    return Replayed(
        f"assertion {assertion.assertion_id} was already used to log in; each assertion is "
        "accepted once",
        found=assertion.assertion_id,
    )


def verify_response_xml(
    xml: bytes | PeekedResponse,
    *,
    idp: IdentityProvider,
    sp: SPConfig,
    now: datetime,
    in_response_to: str | None = None,
    allow_unsolicited: bool = False,
    decryption_keys: Sequence[DecryptionKey] = (),
) -> VerifiedResponse:
    """Verify a Response already decoded to XML bytes (or peeked at with
    :func:`~samljit._response.peek_response`, so that it is parsed once), as
    :func:`verify_response` does, without recording it: pure, it writes nothing.

    Returns:
        A :class:`VerifiedResponse`: the assertion, and the replay key and its expiry that the
        caller must add to its replay cache (only once every other check of its own passed).

    Raises:
        SamlError: as :func:`verify_response`, except ``replayed`` and the decoding errors.
    """
    now = require_aware(now)
    in_response_to = in_response_to or None
    _check_solicitation(in_response_to, allow_unsolicited)
    if isinstance(xml, PeekedResponse):
        document = xml.document(sp.limits)
    else:
        document = parse_xml(xml, sp.limits, what="SAML response")
    _check_structure(document)
    _check_status(document)
    keys = [k if isinstance(k, tuple) else (k, None) for k in decryption_keys]
    response, assertion, verified = _verify_signatures(document, idp, sp, keys)
    checker = Checker(sp=sp, idp=idp, now=now)
    checker.response(response, signed="response" in verified, in_response_to=in_response_to)
    result = checker.assertion(
        assertion,
        in_response_to=in_response_to,
        response_id=response.get("ID", ""),
        verified=verified,
    )
    # An assertion ID is an xs:ID (no spaces), so the last space splits the key unambiguously.
    return VerifiedResponse(
        assertion=result,
        replay_key=f"{result.issuer} {result.assertion_id}",
        replay_expires_at=min(result.not_on_or_after, LATEST - sp.clock_skew) + sp.clock_skew,
    )


def _check_solicitation(in_response_to: str | None, allow_unsolicited: bool) -> None:
    # Decided before looking at the message: nothing in it can change the answer.
    if in_response_to is None and not allow_unsolicited:
        raise UnsolicitedResponse(
            "this login was not started by the SP (no request ID) and unsolicited, "
            "IdP-initiated responses are not allowed for this account"
        )


# --- structure (before any signature is checked) ------------------------------------------


# SAML's ID attributes are unqualified; a signature reference names one of them.
_ID_VALUES = etree.XPath("//@ID", smart_strings=False)


def _duplicate_id(element: etree._Element) -> str | None:
    """The first ID value that appears twice under ``element``; found in C, one pass."""
    ids = _ID_VALUES(element)
    assert isinstance(ids, list)
    if len(set(ids)) == len(ids):
        return None
    counts = Counter(ids)
    return str(next(value for value in ids if counts[value] > 1))


def _check_structure(document: etree._Element) -> None:
    """Refuse every shape that signature-wrapping attacks need, before any crypto runs."""
    if document.tag != _RESPONSE:
        raise MalformedResponse(
            f"expected a SAML 2.0 <samlp:Response>, got <{etree.QName(document).localname}> "
            f"in namespace {etree.QName(document).namespace!r}",
            expected="Response",
            found=etree.QName(document).localname,
        )
    if document.get("Version") != "2.0" or not document.get("ID"):
        raise MalformedResponse(
            "the Response is not a SAML 2.0 Response with an ID "
            f"(Version={document.get('Version')!r})",
            expected="2.0",
            found=document.get("Version"),
        )
    duplicate = _duplicate_id(document)
    if duplicate is not None:
        raise DuplicateId(
            f"the ID {duplicate!r} appears twice in the response (signature wrapping?)",
            found=duplicate,
        )
    assertions = 0
    for element in document.iter(_ASSERTION, _ENCRYPTED_ASSERTION, _SIGNATURE):
        parent = element.getparent()
        if element.tag != _SIGNATURE:
            assertions += 1
            if parent is not document:
                raise MultipleAssertions(
                    "an assertion is nested outside the Response's own assertion slot "
                    "(signature wrapping?)"
                )
        elif parent is not document and (parent is None or parent.tag != _ASSERTION):
            raise SignatureMisplaced(
                "a Signature appears where SAML allows none: only the Response and the "
                "Assertion may be signed"
            )
    if assertions > 1:
        raise MultipleAssertions(
            f"the response carries {assertions} assertions; exactly one is accepted",
            expected=1,
            found=assertions,
        )
    check_response_schema(document)


def _check_decrypted(assertion: etree._Element) -> None:
    """The same shape rules for an assertion that arrived encrypted."""
    if assertion.tag != _ASSERTION:
        raise MalformedResponse("the decrypted content is not a SAML 2.0 Assertion")
    if _duplicate_id(assertion) is not None:
        raise DuplicateId("an ID appears twice in the decrypted assertion")
    for element in assertion.iter(_ASSERTION, _ENCRYPTED_ASSERTION, _SIGNATURE):
        if element is assertion:
            continue
        if element.tag != _SIGNATURE:
            raise MultipleAssertions("the decrypted assertion holds another assertion")
        if element.getparent() is not assertion:
            raise SignatureMisplaced("a Signature appears where SAML allows none")
    check_assertion_schema(assertion)


def _check_status(document: etree._Element) -> None:
    parent = next(document.iterchildren(_STATUS), None)
    status = None if parent is None else next(parent.iterchildren(_STATUS_CODE), None)
    code = None if status is None else status.get("Value")
    if code == STATUS_SUCCESS:
        return
    if status is None:
        raise MalformedResponse("the response has no Status")
    nested = status.find(f"{_P}StatusCode")
    message = text_of(document.find(f"{_P}Status/{_P}StatusMessage"))
    detail = f" / {nested.get('Value')!r}" if nested is not None else ""
    raise StatusNotSuccess(
        f"the IdP answered with status {code!r}{detail}"
        + (f": {_printable(message)[:200]!r}" if message and message.strip() else ""),
        expected=STATUS_SUCCESS,
        found=code,
    )


def _verify_signatures(
    document: etree._Element,
    idp: IdentityProvider,
    sp: SPConfig,
    decryption_keys: Sequence[tuple[rsa.RSAPrivateKey, x509.Certificate | None]],
) -> tuple[etree._Element, etree._Element, dict[str, Verified]]:
    """Verify every signature present, decrypting the assertion if it is encrypted; return
    the views to read: signed content only."""
    raw_assertion = document.find(_ASSERTION)
    encrypted = document.find(_ENCRYPTED_ASSERTION)
    if raw_assertion is None and encrypted is None:
        raise AssertionMissing("the response carries no assertion")
    if encrypted is None and sp.require_encryption:
        raise EncryptionRequired(
            "this account requires encrypted assertions and the IdP sent a plain one: turn "
            "assertion encryption on at the IdP"
        )
    response_signature = signature_child(document, "Response")
    assertion_signature = None
    if raw_assertion is not None and response_signature is None:
        assertion_signature = signature_child(raw_assertion, "Assertion")
        if assertion_signature is None:
            raise SignatureMissing("neither the Response nor the Assertion is signed")

    verified: dict[str, Verified] = {}
    # The document is this verification's own (parsed for it, or handed over by the peek),
    # and only the verified copies are read from here on: the signatures may be consumed.
    verify = functools.partial(
        verify_enveloped,
        certificates=idp.signing_certificates,
        allow_sha1=sp.allow_sha1,
        consume=True,
    )
    if response_signature is not None:
        verified["response"] = verify(document, response_signature, what="Response")
    response = verified["response"].element if "response" in verified else document

    if encrypted is not None:
        # Decrypt what the Response signature covered, when there is one.
        source = response.find(_ENCRYPTED_ASSERTION)
        assert source is not None  # the signed view is the same document, re-read
        raw_assertion = decrypt_element(
            source,
            keys=decryption_keys,
            allow_legacy=sp.allow_legacy_encryption,
            limits=sp.limits,
        )
        try:
            _check_decrypted(raw_assertion)
            assertion_signature = signature_child(raw_assertion, "Assertion")
            if assertion_signature is None and "response" not in verified:
                raise SignatureMissing("the encrypted assertion is not signed, nor the Response")
            if assertion_signature is not None:
                verified["assertion"] = verify(raw_assertion, assertion_signature, what="Assertion")
        except SamlError as exc:
            if "response" in verified:
                raise
            # Nothing authenticated the ciphertext: whether it decrypted to something that
            # parses must not be told apart from a decryption failure (Jager and
            # Somorovsky's XML Encryption attack), so every failure here is the same one.
            decryption_log.debug("unauthenticated decrypted assertion refused: %s", exc)
            raise DecryptionFailed(DECRYPTION_FAILED) from None
        assertion = verified["assertion"].element if "assertion" in verified else raw_assertion
        return response, assertion, verified

    assert raw_assertion is not None
    if response_signature is not None:  # else read above
        assertion_signature = signature_child(raw_assertion, "Assertion")
    if assertion_signature is not None:
        verified["assertion"] = verify(raw_assertion, assertion_signature, what="Assertion")
    if "assertion" in verified:
        assertion = verified["assertion"].element
    else:
        signed = response.findall(_ASSERTION)
        if len(signed) != 1:  # pragma: no cover - _check_structure already guarantees this
            raise MultipleAssertions("the signed Response does not hold exactly one assertion")
        assertion = signed[0]
    return response, assertion, verified


def _printable(value: str) -> str:
    """Unsigned text from the IdP, made safe for one log line."""
    return "".join(c if c.isprintable() else " " for c in value).strip()
