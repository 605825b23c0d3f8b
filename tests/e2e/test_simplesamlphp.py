"""samljit against a real IdP: SimpleSAMLphp 1.19 (Debian's package) on 127.0.0.1.

Each login is what a user does in a browser: open the IdP's URL, type a username and a
password into SimpleSAMLphp's login form, and let its auto-submitting form POST the signed
SAMLResponse to the SP's ACS. The browser stops at that form; the test hands its fields to
``LoginService.complete_login`` as the ACS view would.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import zlib
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

import samljit

from .browser import Browser, Page, parse_forms
from .conftest import (
    ACS_URLS,
    EMAIL_FORMAT,
    SP_ASSERTION_SIGNED,
    SP_CONSOLE,
    SP_GENERATED_METADATA,
    SP_RESPONSE_ONLY,
    SP_RESPONSE_SIGNED,
    SimpleSAMLphp,
    make_key_pair,
)

pytestmark = pytest.mark.e2e

_DER = Encoding.DER
ACCOUNT = "acme"
ROLES = ["account_administrator", "developer", "media_library_full_access"]
PASSWORDS = {
    "ada": "ada-password",
    "ada-promoted": "ada-password",
    "grace": "grace-password",
    "mallory": "mallory-password",
}
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
SIGNATURE_VARIANTS = pytest.mark.parametrize(
    "sp_entity_id",
    [
        pytest.param(SP_ASSERTION_SIGNED, id="assertion-signed"),
        pytest.param(SP_RESPONSE_SIGNED, id="response-and-assertion-signed"),
        pytest.param(SP_RESPONSE_ONLY, id="response-signed"),
    ],
)
"""The SP entries of saml20-sp-remote.php, one per signature layout SimpleSAMLphp makes."""


@dataclasses.dataclass
class SP:
    """One account's SAML app in samljit, with in-memory stores the tests can inspect."""

    config: samljit.AccountConfig
    service: samljit.LoginService
    users: samljit.MemoryUserStore
    sessions: samljit.MemorySessionIssuer
    replay_cache: samljit.MemoryReplayCache
    requests: samljit.MemoryRequestStore


def make_sp(
    ssp: SimpleSAMLphp,
    sp_entity_id: str,
    *,
    metadata: bytes | None = None,
    signing: bool = True,
    **policy: Any,
) -> SP:
    """The account's SP in samljit; ``signing`` gives it the key of SP_GENERATED_METADATA."""
    config = samljit.AccountConfig(
        account_id=ACCOUNT,
        idp_metadata=ssp.metadata_xml if metadata is None else metadata,
        sp=samljit.SPConfig(entity_id=sp_entity_id, acs_url=ACS_URLS[sp_entity_id]),
        mapping=samljit.ClaimMapping.from_dict(
            {"accepted_roles": ROLES, "account_attributes": ["imagekit_id"]}
        ),
        policy=samljit.ProvisioningPolicy(**policy),
    )
    users = samljit.MemoryUserStore()
    sessions = samljit.MemorySessionIssuer()
    replay_cache = samljit.MemoryReplayCache()
    requests = samljit.MemoryRequestStore()
    service = samljit.LoginService(
        accounts=samljit.MemoryAccountStore([config]),
        users=users,
        sessions=sessions,
        replay_cache=replay_cache,
        request_store=requests,
        sp_key=ssp.sp_key.private_key if signing else None,
        sp_certificate=ssp.sp_key.certificate if signing else None,
    )
    return SP(
        config=config,
        service=service,
        users=users,
        sessions=sessions,
        replay_cache=replay_cache,
        requests=requests,
    )


def idp_initiated_post(
    ssp: SimpleSAMLphp, sp_entity_id: str, username: str, *, relay_state: str | None = None
) -> dict[str, str]:
    """Log in at SimpleSAMLphp from its unsolicited-SSO URL (a fresh browser, so a fresh IdP
    session); the fields its auto-submitting form POSTs to the ACS."""
    browser = Browser([ssp.origin])
    login_page = browser.get(ssp.idp_initiated_url(sp_entity_id, relay_state=relay_state))
    after_login = browser.log_in(login_page, username, PASSWORDS[username])
    form = after_login.auto_submit_form()
    assert form.action == ACS_URLS[sp_entity_id]
    return form.fields


def response_xml(fields: dict[str, str]) -> etree._Element:
    """The SAMLResponse as SimpleSAMLphp sent it (for checking what the IdP did; samljit
    parses it on its own)."""
    return etree.fromstring(base64.b64decode(fields["SAMLResponse"]))


def code_of(excinfo: pytest.ExceptionInfo[samljit.SamlError]) -> str:
    return excinfo.value.code


# --- the IdP's metadata --------------------------------------------------------------------


def test_live_metadata_parses_without_warnings(simplesamlphp: SimpleSAMLphp) -> None:
    parsed = samljit.parse_idp_metadata(simplesamlphp.metadata_xml)
    idp = parsed.idp
    assert parsed.warnings == ()
    assert idp.entity_id == simplesamlphp.entity_id
    assert idp.signing_certificates == (simplesamlphp.idp_key.certificate,)
    for binding in (samljit.bindings.BINDING_HTTP_REDIRECT, samljit.bindings.BINDING_HTTP_POST):
        sso = idp.sso_service(binding)
        assert sso is not None
        assert sso.location == simplesamlphp.sso_url
        slo = idp.slo_service(binding)
        assert slo is not None
        assert slo.location == simplesamlphp.url("saml2/idp/SingleLogoutService.php")
    # saml20-idp-hosted.php sets validate.authnrequest.
    assert idp.want_authn_requests_signed is True


# --- IdP-initiated login -------------------------------------------------------------------


@SIGNATURE_VARIANTS
def test_idp_initiated_login_creates_the_user(
    simplesamlphp: SimpleSAMLphp, sp_entity_id: str
) -> None:
    sp = make_sp(simplesamlphp, sp_entity_id)
    fields = idp_initiated_post(simplesamlphp, sp_entity_id, "ada")

    result = sp.service.complete_login(fields, account_id=ACCOUNT)

    assert result.outcome.action == "created"
    assert result.account_id == ACCOUNT
    assert result.relay_state is None
    assert result.user.email == "ada@acme.test"
    assert result.user.full_name == "Ada Lovelace"
    assert result.user.role == "developer"
    assert result.user.account_id == ACCOUNT
    assert sp.users.get_by_email("ada@acme.test") == result.user
    assert sp.sessions.sessions[str(result.session)] == result.user
    assertion = result.assertion
    assert assertion.issuer == simplesamlphp.entity_id
    assert assertion.name_id.value == "ada@acme.test"
    assert assertion.name_id.format == EMAIL_FORMAT
    # core:AttributeLimit released exactly the attributes the SP entry lists (not uid).
    assert dict(assertion.attributes) == {
        "email": ("ada@acme.test",),
        "full_name": ("Ada Lovelace",),
        "role": ("developer",),
        "imagekit_id": ("acme",),
    }
    assert result.identity.account_id == ACCOUNT


@pytest.mark.parametrize(
    ("sp_entity_id", "response_signed", "assertion_signed"),
    [
        (SP_ASSERTION_SIGNED, False, True),
        (SP_RESPONSE_SIGNED, True, True),
        (SP_RESPONSE_ONLY, True, False),
    ],
    ids=["assertion-signed", "response-and-assertion-signed", "response-signed"],
)
def test_simplesamlphp_signs_what_each_sp_entry_asks(
    simplesamlphp: SimpleSAMLphp, sp_entity_id: str, response_signed: bool, assertion_signed: bool
) -> None:
    """The two SP entries really exercise two signature layouts."""
    document = response_xml(idp_initiated_post(simplesamlphp, sp_entity_id, "ada"))
    assert document.tag == f"{{{NS['samlp']}}}Response"
    assert len(document.findall("ds:Signature", NS)) == (1 if response_signed else 0)
    assertions = document.findall("saml:Assertion", NS)
    assert len(assertions) == 1
    assert len(assertions[0].findall("ds:Signature", NS)) == (1 if assertion_signed else 0)
    assert document.get("InResponseTo") is None
    method = document.find(".//ds:SignatureMethod", NS)
    assert method is not None
    assert method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


@SIGNATURE_VARIANTS
def test_a_later_login_with_a_changed_role_updates_the_user(
    simplesamlphp: SimpleSAMLphp, sp_entity_id: str
) -> None:
    """ada-promoted is ada (same email) after an IdP admin changed her role and name."""
    sp = make_sp(simplesamlphp, sp_entity_id)
    first = sp.service.complete_login(
        idp_initiated_post(simplesamlphp, sp_entity_id, "ada"), account_id=ACCOUNT
    )
    second = sp.service.complete_login(
        idp_initiated_post(simplesamlphp, sp_entity_id, "ada-promoted"), account_id=ACCOUNT
    )

    assert first.outcome.action == "created"
    assert second.outcome.action == "updated"
    assert dict(second.outcome.changes) == {
        "full_name": ("Ada Lovelace", "Ada King, Countess of Lovelace"),
        "role": ("developer", "account_administrator"),
    }
    assert second.user.user_id == first.user.user_id
    assert sp.users.get_by_email("ada@acme.test") == second.user
    assert second.user.role == "account_administrator"
    assert len(sp.users.users_of(ACCOUNT)) == 1


def test_the_same_login_again_changes_nothing(simplesamlphp: SimpleSAMLphp) -> None:
    sp = make_sp(simplesamlphp, SP_ASSERTION_SIGNED)
    sp.service.complete_login(
        idp_initiated_post(simplesamlphp, SP_ASSERTION_SIGNED, "ada"), account_id=ACCOUNT
    )
    again = sp.service.complete_login(
        idp_initiated_post(simplesamlphp, SP_ASSERTION_SIGNED, "ada"), account_id=ACCOUNT
    )
    assert again.outcome.action == "unchanged"


@SIGNATURE_VARIANTS
def test_the_same_response_posted_twice_is_replayed(
    simplesamlphp: SimpleSAMLphp, sp_entity_id: str
) -> None:
    sp = make_sp(simplesamlphp, sp_entity_id)
    fields = idp_initiated_post(simplesamlphp, sp_entity_id, "ada")
    first = sp.service.complete_login(fields, account_id=ACCOUNT)

    with pytest.raises(samljit.Replayed) as excinfo:
        sp.service.complete_login(fields, account_id=ACCOUNT)

    assert code_of(excinfo) == "replayed"
    assert sp.users.get_by_email("ada@acme.test") == first.user
    assert len(sp.sessions.sessions) == 1


@pytest.mark.parametrize(
    ("relay_state", "redirect_to"),
    [
        ("/media/library?folder=42", "/media/library?folder=42"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/%2F%2Fevil.example", "/"),
    ],
)
def test_relay_state_of_an_idp_initiated_login_only_redirects_on_site(
    simplesamlphp: SimpleSAMLphp, relay_state: str, redirect_to: str
) -> None:
    """SimpleSAMLphp passes the RelayState of its unsolicited-SSO URL through untouched."""
    sp = make_sp(simplesamlphp, SP_ASSERTION_SIGNED)
    fields = idp_initiated_post(simplesamlphp, SP_ASSERTION_SIGNED, "ada", relay_state=relay_state)
    assert fields["RelayState"] == relay_state
    result = sp.service.complete_login(fields, account_id=ACCOUNT)
    assert result.relay_state == relay_state
    assert result.redirect_to == redirect_to


def test_the_idp_email_is_normalised(simplesamlphp: SimpleSAMLphp) -> None:
    """SimpleSAMLphp sends the address as stored (Grace.Hopper@Acme.test)."""
    sp = make_sp(simplesamlphp, SP_RESPONSE_SIGNED)
    fields = idp_initiated_post(simplesamlphp, SP_RESPONSE_SIGNED, "grace")
    result = sp.service.complete_login(fields, account_id=ACCOUNT)
    assert result.assertion.name_id.value == "Grace.Hopper@Acme.test"
    assert result.user.email == "grace.hopper@acme.test"
    assert result.user.role == "account_administrator"


def test_found_by_issuer_on_a_shared_acs(simplesamlphp: SimpleSAMLphp) -> None:
    sp = make_sp(simplesamlphp, SP_ASSERTION_SIGNED)
    fields = idp_initiated_post(simplesamlphp, SP_ASSERTION_SIGNED, "ada")
    result = sp.service.complete_login(fields, account_id=None)
    assert result.account_id == ACCOUNT


# --- IdP-initiated login: what must be refused ---------------------------------------------


def test_a_user_of_another_account_is_refused(simplesamlphp: SimpleSAMLphp) -> None:
    """mallory's imagekit_id says globex: acme's IdP cannot log her into acme."""
    sp = make_sp(simplesamlphp, SP_ASSERTION_SIGNED)
    fields = idp_initiated_post(simplesamlphp, SP_ASSERTION_SIGNED, "mallory")
    with pytest.raises(samljit.errors.AccountMismatch) as excinfo:
        sp.service.complete_login(fields, account_id=ACCOUNT)
    assert code_of(excinfo) == "account_mismatch"
    assert sp.users.get_by_email("mallory@globex.test") is None
    assert len(sp.replay_cache) == 0


def test_unsolicited_responses_are_refused_where_the_account_forbids_them(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    sp = make_sp(simplesamlphp, SP_ASSERTION_SIGNED, allow_idp_initiated=False)
    fields = idp_initiated_post(simplesamlphp, SP_ASSERTION_SIGNED, "ada")
    with pytest.raises(samljit.errors.UnsolicitedResponse) as excinfo:
        sp.service.complete_login(fields, account_id=ACCOUNT)
    assert code_of(excinfo) == "unsolicited_response"
    assert sp.users.get_by_email("ada@acme.test") is None


def test_a_response_for_another_sp_is_refused(simplesamlphp: SimpleSAMLphp) -> None:
    """A response SimpleSAMLphp made for one SP entry, posted to the other's ACS."""
    sp = make_sp(simplesamlphp, SP_RESPONSE_SIGNED)
    fields = idp_initiated_post(simplesamlphp, SP_ASSERTION_SIGNED, "ada")
    with pytest.raises(samljit.SamlError) as excinfo:
        sp.service.complete_login(fields, account_id=ACCOUNT)
    assert code_of(excinfo) == "destination_mismatch"
    assert sp.users.get_by_email("ada@acme.test") is None


@SIGNATURE_VARIANTS
def test_a_signature_by_a_key_the_metadata_does_not_hold_is_refused(
    simplesamlphp: SimpleSAMLphp, sp_entity_id: str
) -> None:
    """The account's metadata names another certificate (a rolled-over or forged IdP): the
    responses SimpleSAMLphp signs with its real key no longer verify."""
    real = base64.b64encode(simplesamlphp.idp_key.certificate.public_bytes(_DER)).decode()
    other = make_key_pair("not SimpleSAMLphp").certificate
    metadata = simplesamlphp.metadata_xml.replace(
        real.encode(), base64.b64encode(other.public_bytes(_DER))
    )
    assert metadata != simplesamlphp.metadata_xml
    sp = make_sp(simplesamlphp, sp_entity_id, metadata=metadata)
    fields = idp_initiated_post(simplesamlphp, sp_entity_id, "ada")
    with pytest.raises(samljit.errors.UntrustedKey) as excinfo:
        sp.service.complete_login(fields, account_id=ACCOUNT)
    assert code_of(excinfo) == "untrusted_key"
    assert sp.users.get_by_email("ada@acme.test") is None


# --- SP-initiated login --------------------------------------------------------------------

BOTH_BINDINGS = pytest.mark.parametrize("binding", ["redirect", "post"])
APP_LOGIN_PAGE = "http://127.0.0.1:9/sso/acme-sp-initiated/login"
"""Where the app would serve OutboundMessage.form_html (never requested)."""


def send_login_request(browser: Browser, login: samljit.OutboundMessage) -> Page:
    """What the browser does with the app's answer: follow the 302 to ``login.url``, or
    load the app's page ``login.form_html`` and submit its form."""
    if login.binding == "redirect":
        assert login.url is not None
        return browser.get(login.url)
    assert login.form_html is not None
    forms = parse_forms(login.form_html, APP_LOGIN_PAGE)
    assert len(forms) == 1
    (form,) = forms
    assert form.method == "post"
    assert form.action == login.destination
    assert form.fields == dict(login.form_fields)
    return browser.submit(form)


def sp_initiated_post(
    ssp: SimpleSAMLphp,
    login: samljit.OutboundMessage,
    username: str | None,
    *,
    browser: Browser | None = None,
) -> dict[str, str]:
    """Send ``login`` to SimpleSAMLphp, log in as ``username`` (None: the IdP session of
    ``browser`` is expected to log the user in without asking), and return the fields
    SimpleSAMLphp POSTs to the ACS."""
    browser = browser or Browser([ssp.origin])
    page = send_login_request(browser, login)
    if username is not None:
        page = browser.log_in(page, username, PASSWORDS[username])
    form = page.auto_submit_form()
    assert form.action == ACS_URLS[SP_GENERATED_METADATA]
    return form.fields


def test_simplesamlphp_reads_the_sp_metadata_samljit_generates(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    """The SP entry of SP_GENERATED_METADATA exists only in samljit's metadata XML: the
    unsolicited-SSO URL works for it, with the ACS URL from that XML."""
    assert b'AuthnRequestsSigned="true"' in simplesamlphp.sp_metadata_xml
    fields = idp_initiated_post(simplesamlphp, SP_GENERATED_METADATA, "ada")
    document = response_xml(fields)
    assert document.get("Destination") == ACS_URLS[SP_GENERATED_METADATA]
    audience = document.find(".//saml:Audience", NS)
    assert audience is not None
    assert audience.text == SP_GENERATED_METADATA


def test_simplesamlphp_knows_an_sp_from_the_values_typed_into_its_console(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    """SP_CONSOLE exists only as the values of an SP's setup page (entity ID, ACS URL, SLO
    URL, NameID format): an SP-initiated login from it comes back to that ACS URL with an
    emailAddress NameID, and samljit signs the user in."""
    sp = make_sp(simplesamlphp, SP_CONSOLE, create_users="always")
    login = sp.service.begin_login(ACCOUNT)
    browser = Browser([simplesamlphp.origin])
    page = browser.log_in(send_login_request(browser, login), "ada", PASSWORDS["ada"])
    form = page.auto_submit_form()
    assert form.action == ACS_URLS[SP_CONSOLE]
    assert response_xml(form.fields).get("InResponseTo") == login.message_id

    result = sp.service.complete_login(form.fields, account_id=ACCOUNT)

    assert result.outcome.action == "created"
    assert result.user.email == "ada@acme.test"
    assert result.assertion.name_id.format == EMAIL_FORMAT


def test_an_sp_registered_from_values_can_be_unregistered(simplesamlphp: SimpleSAMLphp) -> None:
    entity_id = "https://sp.samljit.test/acme-console-removed"
    simplesamlphp.register_sp_values(entity_id, acs_url="http://127.0.0.1:9/sso/removed/acs")
    known = Browser([simplesamlphp.origin]).get(simplesamlphp.idp_initiated_url(entity_id))
    assert known.form_with("username", "password")

    simplesamlphp.unregister_sp_values(entity_id)

    unknown = Browser([simplesamlphp.origin]).get(simplesamlphp.idp_initiated_url(entity_id))
    assert "MetadataNotFound" in unknown.text
    assert not unknown.forms
    assert entity_id not in simplesamlphp.console_sps


@BOTH_BINDINGS
def test_sp_initiated_login_creates_the_user_and_returns_to_the_saved_target(
    simplesamlphp: SimpleSAMLphp, binding: str
) -> None:
    # A strict account: unsolicited responses refused, so this only passes as a solicited one.
    sp = make_sp(
        simplesamlphp, SP_GENERATED_METADATA, allow_idp_initiated=False, create_users="always"
    )
    login = sp.service.begin_login(ACCOUNT, relay_state="/media/library", binding=binding)

    assert login.binding == binding
    assert login.destination == simplesamlphp.sso_url
    assert len(sp.requests) == 1
    fields = sp_initiated_post(simplesamlphp, login, "ada")
    assert "RelayState" not in fields  # kept server-side with the request, never sent
    assert response_xml(fields).get("InResponseTo") == login.message_id

    result = sp.service.complete_login(fields, account_id=ACCOUNT)

    assert result.outcome.action == "created"
    assert result.redirect_to == "/media/library"
    assert result.user.email == "ada@acme.test"
    assert result.user.full_name == "Ada Lovelace"
    assert result.user.role == "developer"
    assert result.assertion.name_id.format == EMAIL_FORMAT
    assert len(sp.requests) == 0


@BOTH_BINDINGS
def test_the_request_is_signed_as_its_binding_requires(
    simplesamlphp: SimpleSAMLphp, binding: str
) -> None:
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA)
    login = sp.service.begin_login(ACCOUNT, binding=binding)
    if binding == "redirect":
        assert login.url is not None
        query = dict(parse_qsl(urlsplit(login.url).query))
        assert set(query) == {"SAMLRequest", "SigAlg", "Signature"}
        assert query["SigAlg"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        request = etree.fromstring(
            zlib.decompress(base64.b64decode(query["SAMLRequest"]), -zlib.MAX_WBITS)
        )
        assert request.find("ds:Signature", NS) is None  # the query is signed instead
    else:
        request = etree.fromstring(base64.b64decode(login.form_fields["SAMLRequest"]))
        assert request.find("ds:Signature", NS) is not None
    assert request.get("ID") == login.message_id
    assert request.get("Destination") == simplesamlphp.sso_url
    assert request.get("AssertionConsumerServiceURL") == ACS_URLS[SP_GENERATED_METADATA]


@BOTH_BINDINGS
def test_sp_initiated_login_by_email_updates_the_existing_user(
    simplesamlphp: SimpleSAMLphp, binding: str
) -> None:
    """The product's flow: created by a first, IdP-initiated login; later the user types
    their email on the app's SSO page (home-realm discovery) and logs in at the IdP, where
    an administrator has meanwhile changed their role."""
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA)
    first = sp.service.complete_login(
        idp_initiated_post(simplesamlphp, SP_GENERATED_METADATA, "ada"), account_id=ACCOUNT
    )
    login = sp.service.begin_login_for_email(" Ada@ACME.test ", binding=binding)
    assert login.account_id == ACCOUNT

    result = sp.service.complete_login(
        sp_initiated_post(simplesamlphp, login, "ada-promoted"), account_id=ACCOUNT
    )

    assert first.outcome.action == "created"
    assert result.outcome.action == "updated"
    assert result.user.user_id == first.user.user_id
    assert result.user.role == "account_administrator"
    assert result.redirect_to == "/"


def test_sp_initiated_login_does_not_create_users_by_default(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA)
    login = sp.service.begin_login(ACCOUNT)
    fields = sp_initiated_post(simplesamlphp, login, "grace")
    with pytest.raises(samljit.errors.UserNotProvisioned) as excinfo:
        sp.service.complete_login(fields, account_id=ACCOUNT)
    assert code_of(excinfo) == "user_not_provisioned"
    assert sp.users.get_by_email("grace.hopper@acme.test") is None


def test_a_response_to_an_sp_initiated_login_is_accepted_once(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA, create_users="always")
    login = sp.service.begin_login(ACCOUNT)
    fields = sp_initiated_post(simplesamlphp, login, "ada")
    sp.service.complete_login(fields, account_id=ACCOUNT)

    with pytest.raises(samljit.SamlError) as excinfo:
        sp.service.complete_login(fields, account_id=ACCOUNT)

    # The request was used up by the first login, before the assertion ID is even looked at.
    assert code_of(excinfo) == "in_response_to_mismatch"
    assert len(sp.sessions.sessions) == 1


def test_a_response_to_a_request_this_sp_is_not_waiting_for_is_refused(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    """Another SP (its own request store) started the login: this one has no such request,
    and does not fall back to treating the response as IdP-initiated."""
    starter = make_sp(simplesamlphp, SP_GENERATED_METADATA, create_users="always")
    other = make_sp(simplesamlphp, SP_GENERATED_METADATA, create_users="always")
    fields = sp_initiated_post(simplesamlphp, starter.service.begin_login(ACCOUNT), "ada")
    with pytest.raises(samljit.errors.InResponseToMismatch) as excinfo:
        other.service.complete_login(fields, account_id=ACCOUNT)
    assert code_of(excinfo) == "in_response_to_mismatch"
    assert other.users.get_by_email("ada@acme.test") is None


def test_force_authn_makes_the_idp_ask_again(simplesamlphp: SimpleSAMLphp) -> None:
    """With an IdP session, SimpleSAMLphp logs the user in without a form; ForceAuthn makes
    it show the login form anyway."""
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA, create_users="always")
    browser = Browser([simplesamlphp.origin])
    first = sp.service.begin_login(ACCOUNT)
    sp.service.complete_login(
        sp_initiated_post(simplesamlphp, first, "ada", browser=browser), account_id=ACCOUNT
    )
    silent = sp.service.begin_login(ACCOUNT)
    again = sp.service.complete_login(
        sp_initiated_post(simplesamlphp, silent, None, browser=browser), account_id=ACCOUNT
    )
    assert again.outcome.action == "unchanged"

    forced = sp.service.begin_login(ACCOUNT, force_authn=True)
    page = send_login_request(browser, forced)
    assert page.form_with("username", "password")


# --- SP-initiated login: the IdP checks the request's signature ----------------------------


def test_the_idp_wants_signed_requests_so_an_sp_without_a_key_cannot_start_a_login(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA, signing=False)
    with pytest.raises(samljit.ConfigError) as excinfo:
        sp.service.begin_login(ACCOUNT)
    assert code_of(excinfo) == "configuration_invalid"
    assert len(sp.requests) == 0


def idp_error(page: Page) -> str:
    """The cause SimpleSAMLphp's error page names (1.19 answers errors with HTTP 200 and a
    page saying "Unhandled exception ... Caused by: ..."); empty when the page is no error."""
    if "Unhandled exception" not in page.text or page.forms:
        return ""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    return text.partition("Caused by:")[2][:300]


def test_simplesamlphp_refuses_an_unsigned_or_tampered_request(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    """The signed requests above are accepted because they verify, not because
    SimpleSAMLphp does not look: the same request unsigned, or with its signature
    altered, is refused."""
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA)
    login = sp.service.begin_login(ACCOUNT)
    assert login.url is not None
    query = dict(parse_qsl(urlsplit(login.url).query))
    unsigned = f"{simplesamlphp.sso_url}?{urlencode({'SAMLRequest': query['SAMLRequest']})}"
    signature = bytearray(base64.b64decode(query["Signature"]))
    signature[len(signature) // 2] ^= 0x01
    tampered = f"{simplesamlphp.sso_url}?" + urlencode(
        {**query, "Signature": base64.b64encode(bytes(signature)).decode()}
    )

    assert "no signature found on message" in idp_error(
        Browser([simplesamlphp.origin]).get(unsigned)
    )
    assert "Unable to validate signature on query string" in idp_error(
        Browser([simplesamlphp.origin]).get(tampered)
    )
    page = Browser([simplesamlphp.origin]).get(login.url)
    assert page.form_with("username", "password")


def test_simplesamlphp_refuses_an_altered_post_request(simplesamlphp: SimpleSAMLphp) -> None:
    """A POSTed request whose signed XML was changed (SimpleSAMLphp's SAML2 library drops a
    signature that does not verify, hence its "no signature found")."""
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA)
    login = sp.service.begin_login(ACCOUNT, binding="post")
    xml = base64.b64decode(login.form_fields["SAMLRequest"])
    assert b'AllowCreate="true"' in xml
    altered = base64.b64encode(xml.replace(b'AllowCreate="true"', b'AllowCreate="false"'))
    page = Browser([simplesamlphp.origin]).post(
        login.destination, {"SAMLRequest": altered.decode()}
    )
    assert "no signature found on message" in idp_error(page)
    original = Browser([simplesamlphp.origin]).post(login.destination, login.form_fields)
    assert original.form_with("username", "password")
