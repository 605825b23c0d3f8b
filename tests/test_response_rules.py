"""SAML 2.0 Web SSO response rules (core 2.x, profiles 4.1.4): each rule, and what breaks it.

Every test names the rule; a rejection is asserted by its stable ``code``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

import pytest
from lxml import etree

import samljit
from samljit._xml import NS_DS, NS_SAML, NS_SAMLP, qname
from samljit.testing import OMIT, IssuedResponse

from .conftest import ACS_URL, NOW, SP_ENTITY_ID

Issue = Callable[..., IssuedResponse]
Verify = Callable[..., samljit.Assertion]


def _a(local: str) -> str:
    return qname(NS_SAML, local)


def test_a_good_idp_initiated_response_gives_the_signed_identity(
    issue: Issue, verify: Verify
) -> None:
    issued = issue(attributes={"role": ["developer"], "groups": ["a", "b"]})
    assertion = verify(issued.form_value)
    assert assertion.name_id.value == "ada@acme.test"
    assert assertion.name_id.format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert assertion.attributes == {"role": ("developer",), "groups": ("a", "b")}
    assert assertion.assertion_id == issued.assertion_id
    assert assertion.response_id == issued.response_id
    assert assertion.issuer == "https://idp.example.test/metadata"
    assert assertion.audiences == (SP_ENTITY_ID,)
    assert assertion.signed_parts == ("assertion",)
    assert assertion.not_on_or_after == NOW + timedelta(minutes=5)
    assert assertion.authn_context_class is not None
    assert assertion.session_index


@pytest.mark.parametrize(
    ("knobs", "signed_parts"),
    [
        ({"sign_assertion": True}, ("assertion",)),
        ({"sign_response": True, "sign_assertion": False}, ("response",)),
        ({"sign_response": True, "sign_assertion": True}, ("response", "assertion")),
    ],
    ids=["assertion-signed (Entra, AD FS, Google)", "response-signed", "both (Okta)"],
)
def test_every_signing_shape_real_idps_use_is_accepted(
    issue: Issue, verify: Verify, knobs: dict[str, Any], signed_parts: tuple[str, ...]
) -> None:
    assert verify(issue(**knobs).form_value).signed_parts == signed_parts


def test_ecdsa_signatures_are_accepted(sp: samljit.SPConfig) -> None:
    from samljit.testing import TestIdP

    ec_idp = TestIdP(key_type="ec")
    issued = ec_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        signature_algorithm="ecdsa-sha256",
    )
    assertion = samljit.verify_response(
        issued.form_value,
        idp=samljit.parse_idp_metadata(ec_idp.metadata_xml, now=NOW).idp,
        sp=sp,
        now=NOW,
        replay_cache=samljit.MemoryReplayCache(),
        allow_unsolicited=True,
    )
    assert assertion.name_id.value == "user@example.test"


# --- one table: a change to the response -> the code that must reject it ------------------


def _p(local: str) -> str:
    return qname(NS_SAMLP, local)


def _drop(local: str) -> Callable[[etree._Element], None]:
    """A Response edit: remove its ``local`` child (a samlp: or saml: name)."""

    def edit(response: etree._Element) -> None:
        child = response.find(local)
        assert child is not None
        response.remove(child)

    return edit


def _encrypt_assertion(response: etree._Element) -> None:
    assertion = response.find(_a("Assertion"))
    assert assertion is not None
    response.replace(assertion, etree.Element(_a("EncryptedAssertion")))


def _drop_assertion_id(response: etree._Element) -> None:
    assertion = response.find(_a("Assertion"))
    assert assertion is not None
    del assertion.attrib["ID"]


REJECTIONS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # (rule, issue knobs, verify options, code)
    ("Status must be Success", {"status": "urn:oasis:names:tc:SAML:2.0:status:Requester"}, {},
     "status_not_success"),
    ("Destination must be the ACS URL", {"destination": "https://evil.test/acs"}, {},
     "destination_mismatch"),
    ("a signed Response must carry a Destination",
     {"destination": OMIT, "sign_response": True, "sign_assertion": False}, {},
     "destination_mismatch"),
    ("the Response Issuer must be the IdP", {"issuer": "https://evil.test/idp"}, {},
     "issuer_mismatch"),
    ("the Assertion Issuer must be the IdP", {"assertion_issuer": "https://evil.test/idp"}, {},
     "issuer_mismatch"),
    ("the Audience must name this SP", {"audience": "https://other-sp.test"}, {},
     "audience_mismatch"),
    ("an AudienceRestriction is required", {"audience": OMIT}, {}, "audience_mismatch"),
    ("NotBefore is honoured (with skew)", {"now": NOW + timedelta(minutes=10)}, {},
     "not_yet_valid"),
    ("NotOnOrAfter is honoured (with skew)", {}, {"now": NOW + timedelta(minutes=9)},
     "expired"),
    ("the bearer Recipient must be the ACS URL", {"recipient": "https://evil.test/acs"}, {},
     "recipient_mismatch"),
    ("the bearer Recipient is required", {"recipient": OMIT}, {}, "recipient_mismatch"),
    ("an AuthnStatement is required", {"include_authn_statement": False}, {},
     "authn_statement_missing"),
    ("a signature is required", {"sign_assertion": False}, {}, "signature_missing"),
    ("SHA-1 needs the allow_sha1 opt-in",
     {"signature_algorithm": "rsa-sha1", "digest_algorithm": "sha1"}, {},
     "algorithm_forbidden"),
    ("a SHA-1 digest needs the opt-in too", {"digest_algorithm": "sha1"}, {},
     "algorithm_forbidden"),
    ("a solicited response must answer the pending request", {"in_response_to": "_req1"},
     {"in_response_to": "_req2"}, "in_response_to_mismatch"),
    ("an SP-initiated login refuses a response that answers nothing", {},
     {"in_response_to": "_req1"}, "in_response_to_mismatch"),
    ("an IdP-initiated login refuses a response to some other request",
     {"in_response_to": "_someone_elses"}, {}, "in_response_to_mismatch"),
    ("unsolicited responses need allow_unsolicited", {}, {"allow_unsolicited": False},
     "unsolicited_response"),
    ("a Status is required", {"edit_response": _drop(_p("Status"))}, {}, "malformed_response"),
    ("an assertion is required", {"edit_response": _drop(_a("Assertion"))}, {},
     "assertion_missing"),
    ("an EncryptedAssertion no SP key can open is refused, not skipped",
     {"edit_response": _encrypt_assertion}, {}, "decryption_failed"),
    ("the Audience must equal this SP's entity ID, not extend it",
     {"audience": SP_ENTITY_ID + "-evil"}, {}, "audience_mismatch"),
    ("NotBefore is honoured with exactly the configured skew",
     {"now": NOW + timedelta(minutes=3, seconds=31)}, {}, "not_yet_valid"),
    ("the Response's InResponseTo must answer the pending request too",
     {"in_response_to": "_req1", "edit_response": lambda r: r.set("InResponseTo", "_req2")},
     {"in_response_to": "_req1"}, "in_response_to_mismatch"),
    ("an assertion without an ID is refused when only the Response is signed",
     {"sign_response": True, "sign_assertion": False, "edit_response": _drop_assertion_id}, {},
     "malformed_response"),
    ("an RSA-SHA1 signature needs the opt-in even over a SHA-256 digest",
     {"signature_algorithm": "rsa-sha1"}, {}, "algorithm_forbidden"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("knobs", "options", "code"),
    [pytest.param(k, o, c, id=rule) for rule, k, o, c in REJECTIONS],
)
def test_a_response_breaking_a_rule_is_rejected_with_its_code(
    issue: Issue, verify: Verify, knobs: dict[str, Any], options: dict[str, Any], code: str
) -> None:
    with pytest.raises(samljit.SamlError) as caught:
        verify(issue(**knobs).form_value, **options)
    assert caught.value.code == code


def test_rejections_say_what_was_expected_and_found(issue: Issue, verify: Verify) -> None:
    with pytest.raises(samljit.errors.DestinationMismatch) as caught:
        verify(issue(destination="https://evil.test/acs").form_value)
    assert caught.value.expected == ACS_URL
    assert caught.value.found == "https://evil.test/acs"
    assert caught.value.to_dict()["code"] == "destination_mismatch"


def test_unsolicited_xml_is_refused_too(issue: Issue, verify: Verify) -> None:
    """verify_response_xml, which takes decoded XML, applies the same unsolicited rule as
    verify_response."""
    with pytest.raises(samljit.SamlError) as caught:
        verify(issue().xml, allow_unsolicited=False)
    assert caught.value.code == "unsolicited_response"


def test_an_unsolicited_response_is_refused_before_it_is_decoded(verify: Verify) -> None:
    """Whether unsolicited responses are allowed is decided before looking at the message:
    nothing in it, not even garbage, changes the answer."""
    with pytest.raises(samljit.SamlError) as caught:
        verify("this is not base64!", allow_unsolicited=False)
    assert caught.value.code == "unsolicited_response"


def _status(
    code: str, message: str | None = None, *, nested: str | None = None
) -> Callable[[etree._Element], None]:
    def edit(response: etree._Element) -> None:
        status = response.find(_p("Status"))
        assert status is not None
        status_code = status.find(_p("StatusCode"))
        assert status_code is not None
        status_code.set("Value", code)
        if nested is not None:
            etree.SubElement(status_code, _p("StatusCode"), Value=nested)
        if message is not None:
            etree.SubElement(status, _p("StatusMessage")).text = message

    return edit


def test_the_idps_status_message_is_cut_short_in_the_error(issue: Issue, verify: Verify) -> None:
    """The unsigned StatusMessage is quoted to help the administrator, but at most 200
    characters of it: an IdP (or an attacker) cannot flood the logs through it."""
    edit = _status("urn:oasis:names:tc:SAML:2.0:status:Responder", "x" * 10_000)
    with pytest.raises(samljit.SamlError) as caught:
        verify(issue(edit_response=edit).form_value)
    assert caught.value.code == "status_not_success"
    assert "x" * 200 in str(caught.value)
    assert "x" * 201 not in str(caught.value)


def _set_signed_info_algorithm(path: str, value: str) -> Callable[[bytes], bytes]:
    def edit(xml: bytes) -> bytes:
        response = etree.fromstring(xml)
        element = response.find(f".//{{{NS_DS}}}SignedInfo/{path}", {"ds": NS_DS})
        assert element is not None
        element.set("Algorithm", value)
        return etree.tostring(response)

    return edit


REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
FORGED_LOG_LINE = "urn:x\n2026-11-25T12:00:00Z INFO login accepted for admin@acme.test"


@pytest.mark.parametrize(
    ("knobs", "edit"),
    [
        pytest.param({"edit_response": _status(FORGED_LOG_LINE)}, None, id="StatusCode-Value"),
        pytest.param(
            {"edit_response": _status(REQUESTER, nested=FORGED_LOG_LINE)},
            None,
            id="nested-StatusCode-Value",
        ),
        pytest.param(
            {},
            _set_signed_info_algorithm("ds:SignatureMethod", FORGED_LOG_LINE),
            id="SignatureMethod-Algorithm",
        ),
        pytest.param(
            {},
            _set_signed_info_algorithm("ds:Reference/ds:DigestMethod", FORGED_LOG_LINE),
            id="DigestMethod-Algorithm",
        ),
    ],
)
def test_an_error_message_stays_one_log_line_whatever_the_message_holds(
    issue: Issue,
    verify: Verify,
    knobs: dict[str, Any],
    edit: Callable[[bytes], bytes] | None,
) -> None:
    """``str(err)`` goes to the administrator's logs and quotes unsigned values from the
    message; a line break in one (``&#10;`` in an attribute) must not start a forged log line,
    as the StatusMessage already cannot (response._printable)."""
    xml = issue(**knobs).xml
    with pytest.raises(samljit.SamlError) as caught:
        verify(edit(xml) if edit else xml)
    assert "\n" not in str(caught.value)
    assert "\r" not in str(caught.value)


# --- what is still accepted ------------------------------------------------------------------


def test_sha1_is_accepted_with_the_explicit_opt_in(
    issue: Issue, verify: Verify, sp: samljit.SPConfig
) -> None:
    issued = issue(signature_algorithm="rsa-sha1", digest_algorithm="sha1")
    import dataclasses

    assert verify(issued.form_value, sp=dataclasses.replace(sp, allow_sha1=True)).name_id.value


def test_an_assertion_only_signed_response_may_omit_destination(
    issue: Issue, verify: Verify
) -> None:
    assert verify(issue(destination=OMIT).form_value).name_id.value == "ada@acme.test"


def test_the_clock_skew_admits_a_response_a_little_early(issue: Issue, verify: Verify) -> None:
    # Issued 2 minutes "in the future": NotBefore is NOW+90s, inside the 180 s default skew.
    assert verify(issue(now=NOW + timedelta(minutes=2)).form_value)


def test_the_clock_skew_admits_a_response_a_little_late(issue: Issue, verify: Verify) -> None:
    assert verify(issue().form_value, now=NOW + timedelta(minutes=7))


def test_the_clock_skew_is_configurable(issue: Issue, verify: Verify, sp: samljit.SPConfig) -> None:
    import dataclasses

    strict = dataclasses.replace(sp, clock_skew=timedelta(0))
    with pytest.raises(samljit.errors.Expired):
        verify(issue().form_value, sp=strict, now=NOW + timedelta(minutes=5))
    assert verify(issue().form_value, sp=strict, now=NOW + timedelta(minutes=4, seconds=59))


def test_a_solicited_response_is_accepted_for_its_request(issue: Issue, verify: Verify) -> None:
    assertion = verify(issue(in_response_to="_req1").form_value, in_response_to="_req1")
    assert assertion.in_response_to == "_req1"


def _empty_in_response_to(where: str) -> dict[str, Any]:
    """Issue knobs for an IdP-initiated response with ``InResponseTo=""`` on ``where``."""
    if where == "both":
        return {"in_response_to": ""}
    if where == "Response":
        return {"edit_response": lambda r: r.set("InResponseTo", "")}
    return {"edit_assertion": lambda a: _a_data(a).set("InResponseTo", "")}


def _a_data(assertion: etree._Element) -> etree._Element:
    data = assertion.find(f"{_a('Subject')}/{_a('SubjectConfirmation')}")
    assert data is not None
    found = data.find(_a("SubjectConfirmationData"))
    assert found is not None
    return found


EMPTY_IN_RESPONSE_TO = pytest.mark.parametrize("where", ["both", "Response", "assertion"])


@EMPTY_IN_RESPONSE_TO
def test_an_empty_in_response_to_is_absent_where_unsolicited_responses_are_allowed(
    issue: Issue, verify: Verify, where: str
) -> None:
    """Some IdPs send ``InResponseTo=""`` on IdP-initiated responses: it names no request."""
    assertion = verify(issue(**_empty_in_response_to(where)).form_value, allow_unsolicited=True)
    assert assertion.in_response_to is None


@EMPTY_IN_RESPONSE_TO
def test_an_empty_in_response_to_is_unsolicited_where_that_is_not_allowed(
    issue: Issue, verify: Verify, where: str
) -> None:
    with pytest.raises(samljit.SamlError) as caught:
        verify(issue(**_empty_in_response_to(where)).form_value, allow_unsolicited=False)
    assert caught.value.code == "unsolicited_response"


@pytest.mark.parametrize("where", ["both", "assertion"])
def test_an_empty_in_response_to_answers_no_pending_request(
    issue: Issue, verify: Verify, where: str
) -> None:
    """Reported as the empty value it is, not as a request ``''``."""
    with pytest.raises(samljit.SamlError) as caught:
        verify(issue(**_empty_in_response_to(where)).form_value, in_response_to="_req1")
    assert caught.value.code == "in_response_to_mismatch"
    assert (caught.value.expected, caught.value.found) == ("_req1", "")


def test_an_empty_request_id_never_matches_an_empty_in_response_to(
    issue: Issue, verify: Verify
) -> None:
    """``in_response_to=""`` is not a request this SP sent: the response is unsolicited."""
    with pytest.raises(samljit.SamlError) as caught:
        verify(issue(in_response_to="").form_value, in_response_to="")
    assert caught.value.code == "unsolicited_response"


def test_an_empty_request_id_is_an_unsolicited_login_where_those_are_allowed(
    issue: Issue, verify: Verify
) -> None:
    issued = issue(in_response_to="")
    assertion = verify(issued.form_value, in_response_to="", allow_unsolicited=True)
    assert assertion.in_response_to is None


def test_repeated_attributes_are_merged_and_friendly_names_reachable(
    issue: Issue, verify: Verify
) -> None:
    def split_role(assertion: etree._Element) -> None:
        statement = assertion.find(_a("AttributeStatement"))
        assert statement is not None
        for value in ("admin", "developer"):
            attribute = etree.SubElement(
                statement, _a("Attribute"), Name="Role", FriendlyName="role"
            )
            etree.SubElement(attribute, _a("AttributeValue")).text = value

    assertion = verify(issue(attributes={"x": [""]}, edit_assertion=split_role).form_value)
    assert assertion.attributes["Role"] == ("admin", "developer")
    assert assertion.values("role") == ("admin", "developer")
    assert assertion.values("x") == ("",)
    assert assertion.first("Role") == "admin"
    assert assertion.values("absent") == ()


def test_an_attribute_value_holding_an_element_gives_its_text(issue: Issue, verify: Verify) -> None:
    def nested(assertion: etree._Element) -> None:
        statement = etree.SubElement(assertion, _a("AttributeStatement"))
        attribute = etree.SubElement(statement, _a("Attribute"), Name="upn")
        value = etree.SubElement(attribute, _a("AttributeValue"))
        etree.SubElement(value, _a("NameID")).text = "ada@corp.test"

    assert verify(issue(attributes={}, edit_assertion=nested).form_value).attributes == {
        "upn": ("ada@corp.test",)
    }


# --- subject and conditions details ------------------------------------------------------------


def _remove(path: str) -> Callable[[etree._Element], None]:
    def edit(assertion: etree._Element) -> None:
        for element in assertion.iterfind(path, {"saml": NS_SAML}):
            parent = element.getparent()
            assert parent is not None
            parent.remove(element)

    return edit


def _set(path: str, name: str, value: str) -> Callable[[etree._Element], None]:
    def edit(assertion: etree._Element) -> None:
        element = assertion.find(path, {"saml": NS_SAML})
        assert element is not None
        element.set(name, value)

    return edit


def _add_restriction(assertion: etree._Element) -> None:
    conditions = assertion.find(_a("Conditions"))
    assert conditions is not None
    restriction = etree.SubElement(conditions, _a("AudienceRestriction"))
    etree.SubElement(restriction, _a("Audience")).text = "https://other-sp.test"


_BEARER_DATA = "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"

EDITS: list[tuple[str, Callable[[etree._Element], None], str]] = [
    ("a Subject is required", _remove("saml:Subject"), "subject_invalid"),
    ("a NameID is required", _remove("saml:Subject/saml:NameID"), "subject_invalid"),
    ("a bearer SubjectConfirmation is required",
     _set("saml:Subject/saml:SubjectConfirmation", "Method",
          "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"), "subject_invalid"),
    ("bearer data must carry NotOnOrAfter",
     lambda a: a.find(f"{_a('Subject')}/{_a('SubjectConfirmation')}/"
                      f"{_a('SubjectConfirmationData')}").attrib.pop("NotOnOrAfter"),
     "subject_invalid"),
    ("Conditions are required (they hold the audience)", _remove("saml:Conditions"),
     "audience_mismatch"),
    ("every AudienceRestriction must admit this SP", _add_restriction, "audience_mismatch"),
    ("the assertion must be SAML 2.0", _set(".", "Version", "1.1"), "malformed_response"),
    ("times must be xs:dateTime", _set("saml:Conditions", "NotBefore", "yesterday"),
     "malformed_response"),
    ("a past SessionNotOnOrAfter ends the login",
     _set("saml:AuthnStatement", "SessionNotOnOrAfter", "2020-01-01T00:00:00Z"), "expired"),
    ("an empty NameID is refused",
     lambda a: setattr(a.find(f"{_a('Subject')}/{_a('NameID')}"), "text", " "),
     "subject_invalid"),
    ("the Assertion must name its Issuer", _remove("saml:Issuer"), "issuer_mismatch"),
    ("bearer SubjectConfirmationData is required", _remove(_BEARER_DATA),
     "subject_invalid"),
    ("the bearer data's NotBefore is honoured",
     _set(_BEARER_DATA, "NotBefore", "2026-11-25T12:10:00Z"), "not_yet_valid"),
    ("the bearer data's NotOnOrAfter is honoured on its own",
     _set(_BEARER_DATA, "NotOnOrAfter", "2026-11-25T11:50:00Z"), "expired"),
    ("the Conditions' NotOnOrAfter is honoured on its own",
     _set("saml:Conditions", "NotOnOrAfter", "2026-11-25T11:50:00Z"), "expired"),
    ("SessionNotOnOrAfter ends the login exactly at now minus the skew",
     _set("saml:AuthnStatement", "SessionNotOnOrAfter", "2026-11-25T11:57:00Z"), "expired"),
    ("every Attribute must have a Name",
     lambda a: a.find(f"{_a('AttributeStatement')}/{_a('Attribute')}").attrib.pop("Name"),
     "malformed_response"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "code"), [pytest.param(e, c, id=rule) for rule, e, c in EDITS])
def test_a_signed_assertion_breaking_a_rule_is_rejected(
    issue: Issue, verify: Verify, edit: Callable[[etree._Element], None], code: str
) -> None:
    with pytest.raises(samljit.SamlError) as caught:
        verify(issue(edit_assertion=edit).form_value)
    assert caught.value.code == code


def test_an_encrypted_name_id_is_refused_until_decryption_exists(
    issue: Issue, verify: Verify
) -> None:
    def encrypt_name_id(assertion: etree._Element) -> None:
        subject = assertion.find(_a("Subject"))
        assert subject is not None
        name_id = subject.find(_a("NameID"))
        assert name_id is not None
        subject.replace(name_id, etree.Element(_a("EncryptedID")))

    with pytest.raises(samljit.errors.EncryptionNotSupported):
        verify(issue(edit_assertion=encrypt_name_id).form_value)


# --- replay ------------------------------------------------------------------------------------


def test_an_assertion_is_accepted_once(issue: Issue, verify: Verify) -> None:
    cache = samljit.MemoryReplayCache()
    issued = issue()
    verify(issued.form_value, replay_cache=cache)
    with pytest.raises(samljit.Replayed):
        verify(issued.form_value, replay_cache=cache)


def test_a_replay_is_remembered_until_the_assertion_expires(issue: Issue, verify: Verify) -> None:
    cache = samljit.MemoryReplayCache()
    issued = issue()
    verify(issued.form_value, replay_cache=cache)
    with pytest.raises(samljit.Replayed):
        verify(issued.form_value, replay_cache=cache, now=NOW + timedelta(minutes=7))
    # After NotOnOrAfter + skew the entry may go: the assertion is refused as expired anyway.
    with pytest.raises(samljit.errors.Expired):
        verify(issued.form_value, replay_cache=cache, now=NOW + timedelta(minutes=9))


def test_the_memory_replay_cache_forgets_expired_entries() -> None:
    cache = samljit.MemoryReplayCache()
    assert cache.add("a", expires_at=NOW + timedelta(minutes=1), now=NOW)
    assert not cache.add("a", expires_at=NOW + timedelta(minutes=1), now=NOW)
    assert cache.add("b", expires_at=NOW + timedelta(minutes=5), now=NOW + timedelta(minutes=2))
    assert len(cache) == 1
    assert cache.add("a", expires_at=NOW + timedelta(minutes=9), now=NOW + timedelta(minutes=2))


def test_a_rejected_response_is_not_recorded(issue: Issue, verify: Verify) -> None:
    cache = samljit.MemoryReplayCache()
    with pytest.raises(samljit.errors.AudienceMismatch):
        verify(issue(audience="https://other.test").form_value, replay_cache=cache)
    assert len(cache) == 0


def test_the_replay_key_is_scoped_to_the_issuer(issue: Issue, verify: Verify) -> None:
    seen: list[str] = []

    class Recording:
        def add(self, key: str, *, expires_at: Any, now: Any) -> bool:
            seen.append(key)
            return True

    issued = issue()
    verify(issued.form_value, replay_cache=Recording())
    assert seen == [f"https://idp.example.test/metadata {issued.assertion_id}"]


def test_verifying_xml_records_nothing_and_says_what_to_record(
    issue: Issue, idp: samljit.IdentityProvider, sp: samljit.SPConfig
) -> None:
    """verify_response_xml is pure: verifying the same response twice gives the same result,
    with the replay key and its expiry (the assertion's end plus the skew) for the caller."""
    issued = issue()

    def verified() -> samljit.VerifiedResponse:
        return samljit.verify_response_xml(
            issued.xml, idp=idp, sp=sp, now=NOW, allow_unsolicited=True
        )

    first, second = verified(), verified()
    assert first == second
    assert first.replay_key == f"https://idp.example.test/metadata {issued.assertion_id}"
    assert first.replay_expires_at == first.assertion.not_on_or_after + sp.clock_skew


def test_the_replay_cache_is_a_protocol() -> None:
    assert isinstance(samljit.MemoryReplayCache(), samljit.ReplayCache)


# --- configuration -----------------------------------------------------------------------------


def test_now_must_be_timezone_aware(issue: Issue, verify: Verify) -> None:
    with pytest.raises(samljit.ConfigError):
        verify(issue().form_value, now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    "fields",
    [
        {"entity_id": "", "acs_url": ACS_URL},
        {"entity_id": SP_ENTITY_ID, "acs_url": "/relative/acs"},
        {"entity_id": SP_ENTITY_ID, "acs_url": ACS_URL, "clock_skew": timedelta(hours=1)},
        {"entity_id": SP_ENTITY_ID, "acs_url": ACS_URL, "clock_skew": timedelta(seconds=-1)},
        pytest.param({"entity_id": f" {SP_ENTITY_ID}", "acs_url": ACS_URL}, id="spaced-entity-id"),
        pytest.param({"entity_id": SP_ENTITY_ID, "acs_url": "ftp://app.test/acs"}, id="ftp-acs"),
        pytest.param({"entity_id": SP_ENTITY_ID, "acs_url": "https:///acs"}, id="acs-no-host"),
        pytest.param(
            {"entity_id": SP_ENTITY_ID, "acs_url": ACS_URL, "clock_skew": timedelta(seconds=901)},
            id="skew-over-15-minutes",
        ),
    ],
)
def test_an_unsafe_sp_configuration_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(samljit.ConfigError):
        samljit.SPConfig(**fields)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"max_bytes": 0}, id="no-bytes"),
        pytest.param({"max_nodes": 0}, id="no-nodes"),
        pytest.param({"max_depth": 0}, id="no-depth"),
        pytest.param({"max_depth": 257}, id="deeper-than-libxml2-parses"),
    ],
)
def test_limits_that_cannot_be_honoured_are_refused(fields: dict[str, int]) -> None:
    """Each limit must be positive, and the depth at most 256, the most libxml2 parses
    without its unsafe "huge tree" mode: a limit is never promised that cannot be kept."""
    with pytest.raises(samljit.ConfigError):
        samljit.Limits(**{"max_bytes": 1000, "max_depth": 32, "max_nodes": 100, **fields})


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset: datetimes with it are naive (Python datetime docs)."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> None:
        return None


def test_now_with_a_tzinfo_that_gives_no_offset_is_naive(issue: Issue, verify: Verify) -> None:
    with pytest.raises(samljit.ConfigError):
        verify(issue().form_value, now=NOW.replace(tzinfo=_NoOffset()))


def test_the_default_clock_skew_is_three_minutes() -> None:
    assert samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL).clock_skew == timedelta(
        seconds=180
    )
