"""The Web SSO profile's rules (SAML profiles 4.1.4) and what an assertion says, read from
signed content only: after :mod:`samljit._response` verified the signatures, this module checks
the Response and its assertion and builds the :class:`~samljit.Assertion`."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from lxml import etree

from ._certificates import pinned_fingerprint
from ._config import SPConfig
from ._models import Assertion, Attribute, NameID
from ._signature import Verified
from ._time import parse_datetime
from ._xml import NS_SAML, qname, text_of
from .errors import (
    AudienceMismatch,
    AuthnStatementMissing,
    DestinationMismatch,
    EncryptionNotSupported,
    Expired,
    InResponseToMismatch,
    IssuerMismatch,
    MalformedResponse,
    NotYetValid,
    RecipientMismatch,
    SubjectInvalid,
)
from .metadata import IdentityProvider

BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

_A = f"{{{NS_SAML}}}"
_AUDIENCE = f"{_A}Audience"
_AUDIENCE_RESTRICTION = f"{_A}AudienceRestriction"
_AUTHN_CONTEXT = f"{_A}AuthnContext"
_AUTHN_CONTEXT_CLASS_REF = f"{_A}AuthnContextClassRef"
_AUTHN_STATEMENT = f"{_A}AuthnStatement"
_CONDITIONS = f"{_A}Conditions"
_ENCRYPTED_ID = f"{_A}EncryptedID"
_ISSUER = f"{_A}Issuer"
_NAME_ID = f"{_A}NameID"
_SUBJECT = f"{_A}Subject"
_SUBJECT_CONFIRMATION = f"{_A}SubjectConfirmation"
_SUBJECT_CONFIRMATION_DATA = f"{_A}SubjectConfirmationData"


def _child(parent: etree._Element | None, tag: str) -> etree._Element | None:
    """The first child ``tag`` of ``parent`` (``find`` without its path parsing)."""
    return None if parent is None else next(parent.iterchildren(tag), None)


class Checker:
    """The Web SSO rules for one Response, as this SP at ``now``."""

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
        issuer = _child(response, _ISSUER)
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
        issuer = self._issuer(_child(assertion, _ISSUER), "Assertion")
        ends: list[datetime] = []

        conditions = _child(assertion, _CONDITIONS)
        if conditions is None:
            raise AudienceMismatch(
                "the assertion has no Conditions, so no AudienceRestriction",
                expected=self.sp.entity_id,
            )
        end = self._window(conditions, "assertion (Conditions)")
        if end is not None:
            ends.append(end)
        audiences = self._audiences(conditions)

        subject = _child(assertion, _SUBJECT)
        if subject is None:
            raise SubjectInvalid("the assertion has no Subject")
        name_id = _name_id(subject)
        ends.append(self._bearer(subject, in_response_to))

        statements = list(assertion.iterchildren(_AUTHN_STATEMENT))
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
                text_of(_child(_child(statement, _AUTHN_CONTEXT), _AUTHN_CONTEXT_CLASS_REF))
            ),
            not_on_or_after=min(ends),
            in_response_to=in_response_to,
            response_id=response_id,
            audiences=audiences,
            signed_parts=tuple(verified),
            signing_certificate_sha256=pinned_fingerprint(certificate),
        )

    def _audiences(self, conditions: etree._Element) -> tuple[str, ...]:
        restrictions = [
            [(text_of(a) or "").strip() for a in restriction.iterchildren(_AUDIENCE)]
            for restriction in conditions.iterchildren(_AUDIENCE_RESTRICTION)
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
        for confirmation in subject.iterchildren(_SUBJECT_CONFIRMATION):
            if confirmation.get("Method") != BEARER:
                continue
            data = _child(confirmation, _SUBJECT_CONFIRMATION_DATA)
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
    element = _child(subject, _NAME_ID)
    if element is None:
        if _child(subject, _ENCRYPTED_ID) is not None:
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


def _strip(value: str | None) -> str | None:
    return value.strip() if value is not None else None
