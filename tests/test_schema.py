"""SAML core's schema: a Response or Assertion holding an element where the schema allows none
is refused, never read around. Every case below is signed by the IdP after the edit, so only the
schema rule stands between it and a login."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

import samljit
from samljit import _schema
from samljit._xml import NS_DS, NS_SAML, NS_SAMLP, qname
from samljit.testing import IssuedResponse

Issue = Callable[..., IssuedResponse]
Verify = Callable[..., samljit.Assertion]
Edit = Callable[[etree._Element], None]


def _a(local: str) -> str:
    return qname(NS_SAML, local)


def _first(parent: etree._Element, local: str) -> etree._Element:
    found = parent.find(f".//{_a(local)}")
    assert found is not None
    return found


def _duplicate(local: str) -> Edit:
    def edit(assertion: etree._Element) -> None:
        original = _first(assertion, local)
        clone = etree.fromstring(etree.tostring(original))
        original.addnext(clone)

    return edit


def _append(parent_local: str, child: str, text: str = "admin@acme.test") -> Edit:
    def edit(assertion: etree._Element) -> None:
        parent = assertion if parent_local == "Assertion" else _first(assertion, parent_local)
        etree.SubElement(parent, child).text = text

    return edit


def _move_issuer_last(assertion: etree._Element) -> None:
    assertion.append(_first(assertion, "Issuer"))


def _drop_authn_context(assertion: etree._Element) -> None:
    context = _first(assertion, "AuthnContext")
    parent = context.getparent()
    assert parent is not None
    parent.remove(context)


def _prepend(parent_local: str, child: str) -> Edit:
    def edit(assertion: etree._Element) -> None:
        _first(assertion, parent_local).insert(0, etree.Element(child))

    return edit


def _emptied(local: str) -> Edit:
    def edit(assertion: etree._Element) -> None:
        element = _first(assertion, local)
        for child in list(element):
            element.remove(child)

    return edit


def _twice(edit: Edit) -> Edit:
    def both(assertion: etree._Element) -> None:
        edit(assertion)
        edit(assertion)

    return both


def _confirmation_name_id_holding_an_element(assertion: etree._Element) -> None:
    name_id = etree.Element(_a("NameID"))
    etree.SubElement(name_id, _a("NameID")).text = "admin@acme.test"
    _first(assertion, "SubjectConfirmation").insert(0, name_id)


ASSERTION_EDITS: dict[str, Edit] = {
    "a second Subject": _duplicate("Subject"),
    "a second Conditions": _duplicate("Conditions"),
    "a second NameID in the Subject": _duplicate("NameID"),
    "a foreign element in the Assertion": _append("Assertion", "{urn:evil}NameID"),
    "a foreign element in the Subject": _append("Subject", "{urn:evil}NameID"),
    "an element inside the NameID": _append("NameID", _a("NameID")),
    "an element inside an Audience": _append("Audience", _a("Audience")),
    "an Audience outside an AudienceRestriction": _append("Conditions", _a("Audience")),
    "a Condition of a type samljit does not understand": _append("Conditions", _a("Condition")),
    "an Issuer after the statements": _move_issuer_last,
    "an AuthnStatement without AuthnContext": _drop_authn_context,
    "an Attribute value outside AttributeValue": _append("Attribute", _a("NameID")),
    # The parts an attacker can repeat, checked by one XPath: each of its branches.
    "a foreign element in a SubjectConfirmation": _append("SubjectConfirmation", "{urn:evil}x"),
    "a NameID after the SubjectConfirmationData": _append("SubjectConfirmation", _a("NameID")),
    "two SubjectConfirmationData": _duplicate("SubjectConfirmationData"),
    "an element inside a SubjectConfirmation's NameID": _confirmation_name_id_holding_an_element,
    "an AudienceRestriction without an Audience": _emptied("AudienceRestriction"),
    "a foreign element in an AudienceRestriction": _append("AudienceRestriction", "{urn:evil}x"),
    "two AuthnContexts": _duplicate("AuthnContext"),
    "a foreign element in an AuthnStatement": _append("AuthnStatement", "{urn:evil}x"),
    "a SubjectLocality after the AuthnContext": _append("AuthnStatement", _a("SubjectLocality")),
    "a foreign element in an AuthnContext": _append("AuthnContext", "{urn:evil}x"),
    "an AuthnContextClassRef after another": _duplicate("AuthnContextClassRef"),
    "an AuthnContextDeclRef before the ClassRef": _prepend(
        "AuthnContext", _a("AuthnContextDeclRef")
    ),
    "two AuthnContextDeclRefs": _twice(_append("AuthnContext", _a("AuthnContextDeclRef"))),
    "an element inside the AuthnContextClassRef": _append("AuthnContextClassRef", _a("Audience")),
    "an empty AttributeStatement": _emptied("AttributeStatement"),
    "an empty Subject": _emptied("Subject"),
    "a foreign element in an AttributeStatement": _append("AttributeStatement", "{urn:evil}x"),
}


@pytest.mark.parametrize("edit", ASSERTION_EDITS.values(), ids=ASSERTION_EDITS.keys())
def test_an_assertion_element_the_schema_does_not_allow_is_refused(
    issue: Issue, verify: Verify, edit: Edit
) -> None:
    issued = issue(attributes={"role": ["developer"]}, edit_assertion=edit)
    with pytest.raises(samljit.SamlError) as caught:
        verify(issued.form_value)
    assert caught.value.code == "malformed_response"


def _response_append(child: str) -> Edit:
    def edit(response: etree._Element) -> None:
        etree.SubElement(response, child)

    return edit


def _response_status_twice(response: etree._Element) -> None:
    status = response.find(qname(NS_SAMLP, "Status"))
    assert status is not None
    status.addnext(etree.fromstring(etree.tostring(status)))


def _in_status(path: str, child: str) -> Edit:
    def edit(response: etree._Element) -> None:
        parent = response.find(path, {"samlp": NS_SAMLP})
        assert parent is not None
        etree.SubElement(parent, child)

    return edit


RESPONSE_EDITS: dict[str, Edit] = {
    "a foreign element in the Response": _response_append("{urn:evil}Assertion"),
    "Extensions after the Assertion": _response_append(qname(NS_SAMLP, "Extensions")),
    "a second Status": _response_status_twice,
    "a foreign element in the Status": _in_status("samlp:Status", "{urn:evil}x"),
    "a StatusCode holding two StatusCodes": _twice(
        _in_status("samlp:Status/samlp:StatusCode", qname(NS_SAMLP, "StatusCode"))
    ),
    "a foreign element in the StatusCode": _in_status("samlp:Status/samlp:StatusCode", "{urn:e}x"),
}


@pytest.mark.parametrize("edit", RESPONSE_EDITS.values(), ids=RESPONSE_EDITS.keys())
def test_a_response_element_the_schema_does_not_allow_is_refused(
    issue: Issue, verify: Verify, edit: Edit
) -> None:
    issued = issue(sign_response=True, edit_response=edit)
    with pytest.raises(samljit.SamlError) as caught:
        verify(issued.form_value)
    assert caught.value.code == "malformed_response"


def test_open_content_is_not_the_schemas_business(issue: Issue, verify: Verify) -> None:
    """AttributeValue, Extensions and SubjectConfirmationData may hold any element."""

    def edit(assertion: etree._Element) -> None:
        value = _first(assertion, "AttributeValue")
        value.text = None
        etree.SubElement(value, "{urn:vendor}Group").text = "developer"
        etree.SubElement(_first(assertion, "SubjectConfirmationData"), "{urn:vendor}Any")

    issued = issue(attributes={"role": ["x"]}, edit_assertion=edit)
    assert verify(issued.form_value).attributes["role"] == ("developer",)


def test_a_signature_may_stand_last_among_its_siblings(issue: Issue, verify: Verify) -> None:
    """Auth0 signs its Response with the Signature as the last child; the schema puts it after
    the Issuer, but where the one Signature stands hides nothing."""
    response = etree.fromstring(issue(sign_response=True, sign_assertion=False).xml)
    signature = response.find(qname(NS_DS, "Signature"))
    assert signature is not None
    response.append(signature)
    assert verify(etree.tostring(response)).signed_parts == ("response",)


@pytest.mark.parametrize("version", ["1.1", "2.1", "", None])
def test_the_response_version_must_be_2_0(
    issue: Issue, verify: Verify, version: str | None
) -> None:
    def edit(response: etree._Element) -> None:
        if version is None:
            del response.attrib["Version"]
        else:
            response.set("Version", version)

    issued = issue(sign_response=True, edit_response=edit)
    with pytest.raises(samljit.SamlError) as caught:
        verify(issued.form_value)
    assert caught.value.code == "malformed_response"


@pytest.mark.parametrize("edit", ASSERTION_EDITS.values(), ids=ASSERTION_EDITS.keys())
def test_the_one_boolean_over_the_repeatable_parts_finds_what_its_branches_find(
    issue: Issue, edit: Edit
) -> None:
    """``_ANY_MISPLACED`` (one predicate per parent type) decides; ``_MISPLACED`` (one branch
    per rule) only names what it found. They agree on every edit, and on an untouched assertion."""
    for chosen in (edit, lambda assertion: None):
        response = etree.fromstring(issue(attributes={"role": ["x"]}, edit_assertion=chosen).xml)
        assertion = response.find(_a("Assertion"))
        assert assertion is not None
        found = _schema._MISPLACED(assertion)
        assert isinstance(found, list)
        assert _schema._ANY_MISPLACED(assertion) is bool(found)


def test_a_refused_shape_stays_refused_and_the_remembered_verdicts_stay_few(
    issue: Issue, verify: Verify
) -> None:
    issued = issue(attributes={"role": ["x"]}, edit_assertion=ASSERTION_EDITS["a second Subject"])
    for _ in range(2):  # the second time from the remembered verdict
        with pytest.raises(samljit.SamlError) as caught:
            verify(issued.form_value)
        assert caught.value.code == "malformed_response"
    issuer = _a("Issuer")
    for n in range(_schema._MOST_VERDICTS + 10):
        assert _schema._allows(issuer, (f"{{urn:x}}e{n}",)) is False
    many = tuple(_a("Issuer") for _ in range(_schema._MOST_CACHED_CHILDREN + 1))
    assert _schema._allows(_a("Assertion"), many) is False
    assert 0 < len(_schema._VERDICTS) <= _schema._MOST_VERDICTS
    assert all(len(tags) <= _schema._MOST_CACHED_CHILDREN for _, tags in _schema._VERDICTS)
    # Only names the content models know are kept: a message's own tags could be any length.
    assert all(
        t in _schema._KNOWN for _, tags in _schema._VERDICTS for t in tags if isinstance(t, str)
    )
    long_name = "{urn:x}" + "n" * 100_000
    assert _schema._allows(issuer, (long_name,)) is False
    assert all(long_name not in tags for _, tags in _schema._VERDICTS)
