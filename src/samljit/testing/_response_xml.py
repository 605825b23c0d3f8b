"""The XML of a test Response and its Assertion, before :meth:`TestIdP.issue_response` edits,
signs and encrypts them."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from lxml import etree

from .._time import format_datetime
from .._xml import NS_DS, NS_SAML, NS_SAMLP, qname

__all__ = ["new_id", "response_and_assertion"]

_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"


class _Omit:
    """The type of :data:`~samljit.testing.OMIT`: leave this attribute or element out."""

    def __repr__(self) -> str:
        return "OMIT"


def response_and_assertion(
    *,
    idp_entity_id: str,
    sp_entity_id: str,
    acs_url: str,
    now: datetime,
    end: datetime,
    response_id: str,
    assertion_id: str,
    name_id: str,
    name_id_format: str | _Omit,
    attributes: Mapping[str, Sequence[str]] | None,
    in_response_to: str | None,
    not_before: datetime | _Omit | None,
    status: str,
    audience: str | _Omit | None,
    destination: str | _Omit | None,
    recipient: str | _Omit | None,
    issuer: str | None,
    assertion_issuer: str | None,
    session_index: str | None,
    authn_context_class: str,
    include_authn_statement: bool,
    signature_placeholder: bool,
) -> tuple[etree._Element, etree._Element]:
    """The Response (its Issuer and Status) and, apart, the Assertion to insert into it; the
    keywords are those of :meth:`TestIdP.issue_response`. With ``signature_placeholder`` the
    Assertion holds an empty ``ds:Signature`` where its signature goes."""
    response = etree.Element(_p("Response"), nsmap={"samlp": NS_SAMLP, "saml": NS_SAML})
    _set(response, "ID", response_id)
    response.set("Version", "2.0")
    response.set("IssueInstant", format_datetime(now))
    _set(response, "Destination", acs_url if destination is None else destination)
    if in_response_to is not None:
        response.set("InResponseTo", in_response_to)
    etree.SubElement(response, _a("Issuer")).text = issuer or idp_entity_id
    status_element = etree.SubElement(response, _p("Status"))
    etree.SubElement(status_element, _p("StatusCode"), Value=status)

    assertion = etree.Element(_a("Assertion"), nsmap={"saml": NS_SAML})
    assertion.set("ID", assertion_id)
    assertion.set("Version", "2.0")
    assertion.set("IssueInstant", format_datetime(now))
    etree.SubElement(assertion, _a("Issuer")).text = assertion_issuer or issuer or idp_entity_id
    if signature_placeholder:
        etree.SubElement(
            assertion, qname(NS_DS, "Signature"), Id="placeholder", nsmap={"ds": NS_DS}
        )
    subject = etree.SubElement(assertion, _a("Subject"))
    name_id_element = etree.SubElement(subject, _a("NameID"))
    _set(name_id_element, "Format", name_id_format)
    name_id_element.text = name_id
    confirmation = etree.SubElement(subject, _a("SubjectConfirmation"), Method=_BEARER)
    data = etree.SubElement(confirmation, _a("SubjectConfirmationData"))
    if in_response_to is not None:
        data.set("InResponseTo", in_response_to)
    data.set("NotOnOrAfter", format_datetime(end))
    _set(data, "Recipient", acs_url if recipient is None else recipient)
    conditions = etree.SubElement(assertion, _a("Conditions"))
    _set(
        conditions,
        "NotBefore",
        now - timedelta(seconds=30) if not_before is None else not_before,
    )
    conditions.set("NotOnOrAfter", format_datetime(end))
    if not isinstance(audience, _Omit):
        restriction = etree.SubElement(conditions, _a("AudienceRestriction"))
        etree.SubElement(restriction, _a("Audience")).text = audience or sp_entity_id
    if include_authn_statement:
        statement = etree.SubElement(assertion, _a("AuthnStatement"))
        statement.set("AuthnInstant", format_datetime(now))
        statement.set("SessionIndex", session_index or new_id())
        context = etree.SubElement(statement, _a("AuthnContext"))
        etree.SubElement(context, _a("AuthnContextClassRef")).text = authn_context_class
    if attributes:
        attribute_statement = etree.SubElement(assertion, _a("AttributeStatement"))
        for name, values in attributes.items():
            attribute = etree.SubElement(
                attribute_statement, _a("Attribute"), Name=name, NameFormat=_BASIC
            )
            for value in values:
                etree.SubElement(attribute, _a("AttributeValue")).text = value
    return response, assertion


def _p(local: str) -> str:
    return qname(NS_SAMLP, local)


def _a(local: str) -> str:
    return qname(NS_SAML, local)


def _set(element: etree._Element, name: str, value: str | datetime | _Omit | None) -> None:
    if value is None or isinstance(value, _Omit):
        return
    element.set(name, format_datetime(value) if isinstance(value, datetime) else value)


def new_id() -> str:
    """A fresh XML ID."""
    # xs:ID must not start with a digit.
    return "_" + secrets.token_hex(16)
