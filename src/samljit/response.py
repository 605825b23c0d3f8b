"""verify_response(): decode, parse, verify and validate one SAML Response (HTTP-POST binding)."""

from __future__ import annotations

import binascii
import functools
import logging
import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from ._certificates import fingerprint
from ._encryption import FAILED as DECRYPTION_FAILED
from ._encryption import decrypt_element
from ._schema import check_assertion_schema, check_response_schema
from ._signature import Verified, signature_child, verify_enveloped
from ._time import LATEST, parse_datetime, require_aware
from ._xml import NS_DS, NS_SAML, NS_SAMLP, parse_xml, qname, text_of
from .config import SPConfig
from .errors import (
    AssertionMissing,
    AudienceMismatch,
    AuthnStatementMissing,
    CompressedPayload,
    DecryptionFailed,
    DestinationMismatch,
    DuplicateId,
    EncryptionNotSupported,
    EncryptionRequired,
    Expired,
    InResponseToMismatch,
    InvalidBase64,
    IssuerMismatch,
    MalformedResponse,
    MultipleAssertions,
    NotYetValid,
    RecipientMismatch,
    Replayed,
    ResponseTooLarge,
    SamlError,
    SignatureMisplaced,
    SignatureMissing,
    StatusNotSuccess,
    SubjectInvalid,
    UnsolicitedResponse,
)
from .metadata import IdentityProvider
from .models import Assertion, Attribute, NameID
from .protocols import ReplayCache

__all__ = ["decode_post_response", "verify_response", "verify_response_xml"]

DecryptionKey = rsa.RSAPrivateKey | tuple[rsa.RSAPrivateKey, x509.Certificate]

decryption_log = logging.getLogger("samljit.decryption")

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

_A = f"{{{NS_SAML}}}"
_P = f"{{{NS_SAMLP}}}"
_RESPONSE = qname(NS_SAMLP, "Response")
_ASSERTION = qname(NS_SAML, "Assertion")
_ENCRYPTED_ASSERTION = qname(NS_SAML, "EncryptedAssertion")
_SIGNATURE = qname(NS_DS, "Signature")


def decode_post_response(value: str | bytes, *, max_bytes: int) -> bytes:
    """Decode the ``SAMLResponse`` form value of the HTTP-POST binding into XML bytes.

    The value is strict base64: line breaks are tolerated (some IdPs wrap at 76 columns),
    nothing else. The POST binding never deflates (SAML bindings 3.5.4), so a compressed
    payload is refused rather than inflated.

    Raises:
        ResponseTooLarge: ``response_too_large``.
        InvalidBase64: ``invalid_base64``.
        CompressedPayload: ``compressed_payload``.
    """
    encoded_limit = -(-max_bytes // 3) * 4  # base64 of max_bytes, without line breaks
    # Line breaks are free, but not unbounded: even CRLF after every character stays under 3x.
    # Measured before anything is copied or encoded.
    if len(value) > 3 * encoded_limit + 4:
        raise ResponseTooLarge(
            f"the SAMLResponse value is {len(value)} characters, too large for the limit of "
            f"{max_bytes} decoded bytes",
            expected=max_bytes,
            found=len(value),
        )
    if isinstance(value, str):
        if not value.isascii():
            raise InvalidBase64("the SAMLResponse value is not base64 (it holds non-ASCII text)")
        raw = value.encode("ascii")
    else:
        raw = bytes(value)
    compact = raw.replace(b"\r", b"").replace(b"\n", b"")
    if len(compact) > encoded_limit:
        raise ResponseTooLarge(
            f"the SAMLResponse value decodes to more than the limit of {max_bytes} bytes",
            expected=max_bytes,
            found=len(compact) * 3 // 4 - compact[-2:].count(b"="),
        )
    if not compact:
        raise InvalidBase64("the SAMLResponse value is empty")
    try:
        # strict_mode refuses characters outside the alphabet, bad padding and data after it.
        data = binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:
        raise InvalidBase64(
            "the SAMLResponse value is not base64 (it holds other characters, or was truncated)"
        ) from exc
    if len(data) > max_bytes:
        raise ResponseTooLarge(
            f"the decoded SAMLResponse is {len(data)} bytes, over the limit of {max_bytes}",
            expected=max_bytes,
            found=len(data),
        )
    if _looks_compressed(data):
        raise CompressedPayload(
            "the SAMLResponse is compressed; the HTTP-POST binding sends plain base64 XML"
        )
    return data


def _looks_compressed(data: bytes) -> bool:
    head = data.lstrip()[:1]
    if head in (b"<", b"\xef", b"\xfe", b"\xff"):  # XML, or a byte-order mark
        return False
    if data[:2] == b"\x1f\x8b":
        return True
    for wbits in (-zlib.MAX_WBITS, zlib.MAX_WBITS):
        try:
            out = zlib.decompressobj(wbits).decompress(data[:256], 64)
        except zlib.error:
            continue
        if out.lstrip()[:1] == b"<":
            return True
    return False


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
    """
    _check_solicitation(in_response_to or None, allow_unsolicited)
    xml = decode_post_response(saml_response, max_bytes=sp.limits.max_bytes)
    return verify_response_xml(
        xml,
        idp=idp,
        sp=sp,
        now=now,
        replay_cache=replay_cache,
        in_response_to=in_response_to,
        allow_unsolicited=allow_unsolicited,
        decryption_keys=decryption_keys,
    )


def verify_response_xml(
    xml: bytes,
    *,
    idp: IdentityProvider,
    sp: SPConfig,
    now: datetime,
    replay_cache: ReplayCache,
    in_response_to: str | None = None,
    allow_unsolicited: bool = False,
    decryption_keys: Sequence[DecryptionKey] = (),
) -> Assertion:
    """:func:`verify_response` for a Response already decoded to XML bytes."""
    now = require_aware(now)
    in_response_to = in_response_to or None
    _check_solicitation(in_response_to, allow_unsolicited)
    document = parse_xml(xml, sp.limits, what="SAML response")
    _check_structure(document)
    _check_status(document)
    keys = [k if isinstance(k, tuple) else (k, None) for k in decryption_keys]
    response, assertion, verified = _verify_signatures(document, idp, sp, keys)
    checker = _Checker(sp=sp, idp=idp, now=now)
    checker.response(response, signed="response" in verified, in_response_to=in_response_to)
    result = checker.assertion(
        assertion,
        in_response_to=in_response_to,
        response_id=response.get("ID", ""),
        verified=verified,
    )
    # An assertion ID is an xs:ID (no spaces), so the last space splits the key unambiguously.
    key = f"{result.issuer} {result.assertion_id}"
    expires_at = min(result.not_on_or_after, LATEST - sp.clock_skew) + sp.clock_skew
    if not replay_cache.add(key, expires_at=expires_at, now=now):
        raise Replayed(
            f"assertion {result.assertion_id} was already used to log in; each assertion is "
            "accepted once",
            found=result.assertion_id,
        )
    return result


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
    """The first ID value that appears twice under ``element``; counted in C, one pass."""
    ids = _ID_VALUES(element)
    assert isinstance(ids, list)
    counts = Counter(ids)
    if len(counts) == len(ids):
        return None
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
    status = document.find(f"{_P}Status/{_P}StatusCode")
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
    if (
        raw_assertion is not None
        and response_signature is None
        and signature_child(raw_assertion, "Assertion") is None
    ):
        raise SignatureMissing("neither the Response nor the Assertion is signed")

    verified: dict[str, Verified] = {}
    verify = functools.partial(
        verify_enveloped, certificates=idp.signing_certificates, allow_sha1=sp.allow_sha1
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


# --- protocol rules, on signed content ---------------------------------------------------


class _Checker:
    def __init__(self, *, sp: SPConfig, idp: IdentityProvider, now: datetime) -> None:
        self.sp = sp
        self.idp = idp
        self.now = now
        self.skew = sp.clock_skew

    def response(
        self, response: etree._Element, *, signed: bool, in_response_to: str | None
    ) -> None:
        destination = response.get("Destination")
        if destination is None and signed:
            # SAML bindings 3.5.5.2: a signed message sent by POST must say where it goes.
            raise DestinationMismatch(
                "the signed Response has no Destination", expected=self.sp.acs_url, found=None
            )
        if destination is not None and destination != self.sp.acs_url:
            raise DestinationMismatch(
                f"the Response was sent to {destination!r}, but this SP's ACS URL is "
                f"{self.sp.acs_url!r} (behind a proxy, configure the public URL)",
                expected=self.sp.acs_url,
                found=destination,
            )
        issuer = response.find(f"{_A}Issuer")
        if issuer is not None:
            self._issuer(issuer, "Response")
        # The Response's InResponseTo is optional; the bearer confirmation's decides.
        found = response.get("InResponseTo")
        if _answered(found) not in (None, in_response_to):
            raise InResponseToMismatch(
                _in_response_to_message(in_response_to, found, "Response"),
                expected=in_response_to,
                found=found,
            )

    def _issuer(self, issuer: etree._Element | None, where: str) -> str:
        value = (text_of(issuer) or "").strip()
        if value != self.idp.entity_id:
            raise IssuerMismatch(
                f"the {where} was issued by {value or 'nobody'!r}, not by this account's IdP "
                f"{self.idp.entity_id!r}",
                expected=self.idp.entity_id,
                found=value or None,
            )
        return value

    def _time(self, element: etree._Element, attribute: str) -> datetime | None:
        value = element.get(attribute)
        if value is None:
            return None
        moment = parse_datetime(value)
        if moment is None:
            raise MalformedResponse(f"{attribute}={value!r} is not an xs:dateTime", found=value)
        return moment

    def _window(
        self, element: etree._Element, where: str, *, required_end: bool = False
    ) -> datetime | None:
        not_before = self._time(element, "NotBefore")
        if not_before is not None and self.now + self.skew < not_before:
            raise NotYetValid(
                f"the {where} is not valid before {not_before.isoformat()} (now "
                f"{self.now.isoformat()}, skew {self.skew}): check the clocks",
                expected=not_before.isoformat(),
                found=self.now.isoformat(),
            )
        not_on_or_after = self._time(element, "NotOnOrAfter")
        if not_on_or_after is None:
            if required_end:
                raise SubjectInvalid(f"the {where} has no NotOnOrAfter")
            return None
        if self.now - self.skew >= not_on_or_after:
            raise Expired(
                f"the {where} expired at {not_on_or_after.isoformat()} (now "
                f"{self.now.isoformat()}, skew {self.skew})",
                expected=not_on_or_after.isoformat(),
                found=self.now.isoformat(),
            )
        return not_on_or_after

    def assertion(
        self,
        assertion: etree._Element,
        *,
        in_response_to: str | None,
        response_id: str,
        verified: dict[str, Verified],
    ) -> Assertion:
        if assertion.get("Version") != "2.0" or not assertion.get("ID"):
            raise MalformedResponse("the assertion is not a SAML 2.0 assertion with an ID")
        issuer = self._issuer(assertion.find(f"{_A}Issuer"), "Assertion")
        ends: list[datetime] = []

        conditions = assertion.find(f"{_A}Conditions")
        if conditions is None:
            raise AudienceMismatch(
                "the assertion has no Conditions, so no AudienceRestriction",
                expected=self.sp.entity_id,
            )
        end = self._window(conditions, "assertion (Conditions)")
        if end is not None:
            ends.append(end)
        audiences = self._audiences(conditions)

        subject = assertion.find(f"{_A}Subject")
        if subject is None:
            raise SubjectInvalid("the assertion has no Subject")
        name_id = _name_id(subject)
        ends.append(self._bearer(subject, in_response_to))

        statements = assertion.findall(f"{_A}AuthnStatement")
        if not statements:
            raise AuthnStatementMissing("the assertion has no AuthnStatement")
        statement = statements[0]
        session_end = self._time(statement, "SessionNotOnOrAfter")
        if session_end is not None and self.now - self.skew >= session_end:
            raise Expired(
                f"the IdP session ended at {session_end.isoformat()}",
                expected=session_end.isoformat(),
                found=self.now.isoformat(),
            )

        details = _attributes(assertion)
        certificate = next(iter(verified.values())).certificate
        if "assertion" in verified:
            certificate = verified["assertion"].certificate
        return Assertion(
            issuer=issuer,
            assertion_id=assertion.get("ID", ""),
            name_id=name_id,
            attributes=MappingProxyType({a.name: a.values for a in details}),
            attribute_details=details,
            session_index=statement.get("SessionIndex"),
            authn_instant=self._time(statement, "AuthnInstant"),
            authn_context_class=_strip(
                text_of(statement.find(f"{_A}AuthnContext/{_A}AuthnContextClassRef"))
            ),
            not_on_or_after=min(ends),
            in_response_to=in_response_to,
            response_id=response_id,
            audiences=audiences,
            signed_parts=tuple(verified),
            signing_certificate_sha256=fingerprint(certificate),
        )

    def _audiences(self, conditions: etree._Element) -> tuple[str, ...]:
        restrictions = [
            [(text_of(a) or "").strip() for a in restriction.iterfind(f"{_A}Audience")]
            for restriction in conditions.iterchildren(f"{_A}AudienceRestriction")
        ]
        everything = tuple(audience for audiences in restrictions for audience in audiences)
        # SAML core 2.5.1.4: every AudienceRestriction must admit us, not just one.
        if restrictions and all(self.sp.entity_id in audiences for audiences in restrictions):
            return everything
        raise AudienceMismatch(
            f"the assertion is meant for {list(everything) or 'no audience'}, not for this SP "
            f"{self.sp.entity_id!r}",
            expected=self.sp.entity_id,
            found=list(everything),
        )

    def _bearer(self, subject: etree._Element, in_response_to: str | None) -> datetime:
        """Check the bearer SubjectConfirmation (SAML profiles 4.1.4.2); return its end."""
        problem: Exception | None = None
        for confirmation in subject.iterfind(f"{_A}SubjectConfirmation"):
            if confirmation.get("Method") != BEARER:
                continue
            data = confirmation.find(f"{_A}SubjectConfirmationData")
            try:
                if data is None:
                    raise SubjectInvalid("the bearer SubjectConfirmation has no data")
                return self._confirmation(data, in_response_to)
            except (
                SubjectInvalid,
                RecipientMismatch,
                Expired,
                NotYetValid,
                InResponseToMismatch,
            ) as exc:
                problem = problem or exc
        if problem is not None:
            raise problem
        raise SubjectInvalid("the assertion has no bearer SubjectConfirmation")

    def _confirmation(self, data: etree._Element, in_response_to: str | None) -> datetime:
        recipient = data.get("Recipient")
        if recipient != self.sp.acs_url:
            raise RecipientMismatch(
                f"the assertion is addressed to {recipient!r}, not to this SP's ACS URL "
                f"{self.sp.acs_url!r}",
                expected=self.sp.acs_url,
                found=recipient,
            )
        found = data.get("InResponseTo")
        if _answered(found) != in_response_to:
            raise InResponseToMismatch(
                _in_response_to_message(in_response_to, found, "assertion"),
                expected=in_response_to,
                found=found,
            )
        end = self._window(data, "assertion (SubjectConfirmationData)", required_end=True)
        assert end is not None
        return end


def _answered(in_response_to: str | None) -> str | None:
    """The request an ``InResponseTo`` value names: none when it is absent or empty.

    Some IdPs send ``InResponseTo=""`` on IdP-initiated responses. An empty value is not an
    ``xs:NCName`` and names no request, so it is read as absent: never as a request ``''``
    that could match an empty ``in_response_to``.
    """
    return in_response_to or None


def _in_response_to_message(expected: str | None, found: str | None, where: str) -> str:
    if found == "":
        return (
            f"the {where} has an empty InResponseTo, so it answers no request; expected "
            f"{expected!r}"
        )
    if expected is None:
        return (
            f"the {where} answers request {found!r}, but no request from this SP is pending "
            "(it was started elsewhere, or its state was lost)"
        )
    if found is None:
        return f"the {where} does not say which request it answers; expected {expected!r}"
    return f"the {where} answers request {found!r}, not the pending request {expected!r}"


def _name_id(subject: etree._Element) -> NameID:
    element = subject.find(f"{_A}NameID")
    if element is None:
        if subject.find(f"{_A}EncryptedID") is not None:
            raise EncryptionNotSupported("the NameID is encrypted (EncryptedID)")
        raise SubjectInvalid("the Subject has no NameID")
    # XML whitespace only (XML 1.0 S): str.strip() would also remove U+3000, U+00A0 or
    # U+0085 and turn another NameID into an existing user's (docs/security.md).
    value = (text_of(element) or "").strip(" \t\r\n")
    if not value:
        raise SubjectInvalid("the NameID is empty")
    return NameID(
        value=value,
        format=element.get("Format"),
        name_qualifier=element.get("NameQualifier"),
        sp_name_qualifier=element.get("SPNameQualifier"),
        sp_provided_id=element.get("SPProvidedID"),
    )


_ATTRIBUTE_STATEMENT = qname(NS_SAML, "AttributeStatement")
_ATTRIBUTE = qname(NS_SAML, "Attribute")
_ATTRIBUTE_VALUE = qname(NS_SAML, "AttributeValue")


def _attributes(assertion: etree._Element) -> tuple[Attribute, ...]:
    """Every Attribute, repeated ones (Keycloak sends one per value) merged by Name."""
    merged: dict[str, tuple[list[str], str | None, str | None]] = {}
    for statement in assertion.iterchildren(_ATTRIBUTE_STATEMENT):
        for element in statement.iterchildren(_ATTRIBUTE):
            name = element.get("Name")
            if not name:
                raise MalformedResponse("an Attribute has no Name")
            values = [
                (v.text or "") if len(v) == 0 else _attribute_value(v)
                for v in element.iterchildren(_ATTRIBUTE_VALUE)
            ]
            previous = merged.get(name)
            if previous is None:
                merged[name] = (values, element.get("FriendlyName"), element.get("NameFormat"))
            else:
                previous[0].extend(values)
                merged[name] = (
                    previous[0],
                    previous[1] or element.get("FriendlyName"),
                    previous[2] or element.get("NameFormat"),
                )
    return tuple(
        Attribute(name=name, values=tuple(v), friendly_name=f, name_format=n)
        for name, (v, f, n) in merged.items()
    )


def _attribute_value(value: etree._Element) -> str:
    children = [child for child in value if isinstance(child.tag, str)]
    if children:
        return "".join(text_of(child) or "" for child in children)
    return text_of(value) or ""


def _printable(value: str) -> str:
    """Unsigned text from the IdP, made safe for one log line."""
    return "".join(c if c.isprintable() else " " for c in value).strip()


def _strip(value: str | None) -> str | None:
    return value.strip() if value is not None else None
