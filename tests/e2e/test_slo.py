"""Single Logout between samljit and a real IdP: SimpleSAMLphp 1.19 on 127.0.0.1.

Both directions, as a browser carries the messages:

* SP-initiated: the user logged in SP-initiated (so SimpleSAMLphp keeps a session with an
  association to the SP); the app calls ``begin_logout`` and sends the browser to
  SimpleSAMLphp's SingleLogoutService; SimpleSAMLphp ends its session and answers with a
  signed LogoutResponse to the SP's SLO URL, which ``handle_logout`` verifies.
* IdP-initiated: the user logs out at SimpleSAMLphp (``SingleLogoutService.php?ReturnTo=``);
  SimpleSAMLphp sends a signed LogoutRequest to the SP's SLO URL; ``handle_logout`` verifies
  it, ends the app's sessions through the ``SessionRevoker`` and returns a signed
  LogoutResponse that the browser carries back; SimpleSAMLphp then finishes at ``ReturnTo``.

The SP's SLO URL is never served: the browser stops at the redirect or the auto-submitting
form that leads there, and the test hands the query string or the form fields to
``handle_logout`` as the SLO view would. Which SP entry gets which binding and whether
SimpleSAMLphp signs is set in simplesamlphp/saml20-idp-hosted.php ('redirect.sign',
'validate.logout') and saml20-sp-remote.php.
"""

from __future__ import annotations

import base64
import dataclasses
import zlib
from collections.abc import Mapping
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

import samljit

from .browser import Browser, Page, parse_forms
from .conftest import (
    ACS_URLS,
    EMAIL_FORMAT,
    SLO_URLS,
    SP_GENERATED_METADATA,
    SP_ORIGIN,
    SP_POST_LOGOUT,
    SP_UNSIGNED_LOGOUT,
    SimpleSAMLphp,
    make_key_pair,
)
from .test_simplesamlphp import ACCOUNT, PASSWORDS, ROLES, idp_error

pytestmark = pytest.mark.e2e

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
RETURN_TO = f"{SP_ORIGIN}/signed-out"
"""Where SimpleSAMLphp sends the browser after an IdP-initiated logout (config.php lists the
SP's origin in 'trusted.url.domains'; nothing serves it)."""
APP_PAGE = f"{SP_ORIGIN}/sso/acme/logout"
"""Where the app would serve an OutboundMessage's form_html (never requested)."""
SSP_BINDING = {
    SP_GENERATED_METADATA: "redirect",  # its metadata lists HTTP-Redirect first
    SP_POST_LOGOUT: "post",  # its entry lists only HTTP-POST
    SP_UNSIGNED_LOGOUT: "redirect",
}
"""The binding SimpleSAMLphp uses for the logout messages it sends to each SP entry."""


class RecordingRevoker:
    """The app's side of IdP-initiated logout: its live sessions, keyed by SessionIndex."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[str, str]] = {}
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    def add(self, result: samljit.LoginResult) -> None:
        assert result.assertion.session_index is not None
        self.sessions[result.assertion.session_index] = (result.account_id, result.user.email)

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        self.calls.append((account_id, email, session_indexes))
        ended = [
            index
            for index, owner in self.sessions.items()
            if owner == (account_id, email) and (not session_indexes or index in session_indexes)
        ]
        for index in ended:
            del self.sessions[index]
        return len(ended)


@dataclasses.dataclass
class SP:
    entity_id: str
    config: samljit.AccountConfig
    accounts: samljit.MemoryAccountStore
    service: samljit.LoginService
    requests: samljit.MemoryRequestStore
    revoker: RecordingRevoker

    @property
    def slo_url(self) -> str:
        return SLO_URLS[self.entity_id]

    def log_in(self, browser: Browser, username: str | None) -> samljit.LoginResult:
        """An SP-initiated login (Redirect binding) in ``browser``; ``username`` None: the
        IdP session of ``browser`` logs the user in without the form."""
        login = self.service.begin_login(ACCOUNT)
        assert login.url is not None
        page = browser.get(login.url)
        if username is not None:
            page = browser.log_in(page, username, PASSWORDS[username])
        form = page.auto_submit_form()
        assert form.action == ACS_URLS[self.entity_id]
        result = self.service.complete_login(form.fields, account_id=ACCOUNT)
        self.revoker.add(result)
        return result

    def use_metadata(self, metadata: bytes) -> None:
        """The account's administrator uploads other IdP metadata."""
        self.accounts.save(dataclasses.replace(self.config, idp_metadata=metadata))


def make_sp(ssp: SimpleSAMLphp, entity_id: str) -> SP:
    config = samljit.AccountConfig(
        account_id=ACCOUNT,
        idp_metadata=ssp.metadata_xml,
        sp=samljit.SPConfig(
            entity_id=entity_id, acs_url=ACS_URLS[entity_id], slo_url=SLO_URLS[entity_id]
        ),
        mapping=samljit.ClaimMapping.from_dict(
            {"accepted_roles": ROLES, "account_attributes": ["imagekit_id"]}
        ),
        policy=samljit.ProvisioningPolicy(create_users="always"),
    )
    accounts = samljit.MemoryAccountStore([config])
    requests = samljit.MemoryRequestStore()
    revoker = RecordingRevoker()
    service = samljit.LoginService(
        accounts=accounts,
        users=samljit.MemoryUserStore(),
        sessions=samljit.MemorySessionIssuer(),
        replay_cache=samljit.MemoryReplayCache(),
        request_store=requests,
        sp_key=ssp.sp_key.private_key,
        sp_certificate=ssp.sp_key.certificate,
        session_revoker=revoker,
    )
    return SP(
        entity_id=entity_id,
        config=config,
        accounts=accounts,
        service=service,
        requests=requests,
        revoker=revoker,
    )


# --- carrying messages -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Delivery:
    """A logout message as it reached (would have reached) the SP's SLO URL."""

    binding: str
    query: str | None
    """The raw query string of the Redirect binding (signature covers it as sent)."""
    form: Mapping[str, str] | None
    """The POSTed fields of the POST binding."""

    @property
    def fields(self) -> dict[str, str]:
        return dict(parse_qsl(self.query)) if self.query is not None else dict(self.form or {})

    def xml(self) -> etree._Element:
        """The message (for checking what SimpleSAMLphp sent; samljit parses it itself)."""
        fields = self.fields
        value = base64.b64decode(fields.get("SAMLRequest") or fields["SAMLResponse"])
        if self.binding == "redirect":
            value = zlib.decompress(value, -zlib.MAX_WBITS)
        return etree.fromstring(value)

    def handle(self, sp: SP) -> samljit.LogoutResult:
        return sp.service.handle_logout(ACCOUNT, query=self.query, form=self.form)


def delivered(page: Page, slo_url: str) -> Delivery:
    """What SimpleSAMLphp sent the browser to the SP's SLO URL with: a redirect (the browser
    stopped before requesting it) or an auto-submitting form."""
    if page.redirect_to is not None:
        assert page.redirect_to.partition("?")[0] == slo_url, page.redirect_to
        return Delivery(binding="redirect", query=urlsplit(page.redirect_to).query, form=None)
    form = page.auto_submit_form()
    assert form.action == slo_url
    return Delivery(binding="post", query=None, form=form.fields)


def send(browser: Browser, message: samljit.OutboundMessage) -> Page:
    """What the browser does with an OutboundMessage from the app: follow the 302 to
    ``message.url``, or load the app's page ``message.form_html`` and submit its form."""
    if message.binding == "redirect":
        assert message.url is not None
        return browser.get(message.url)
    assert message.form_html is not None
    (form,) = parse_forms(message.form_html, APP_PAGE)
    assert form.method == "post"
    assert form.action == message.destination
    assert form.fields == dict(message.form_fields)
    return browser.submit(form)


def outbound_xml(message: samljit.OutboundMessage) -> etree._Element:
    if message.binding == "redirect":
        assert message.url is not None
        query = dict(parse_qsl(urlsplit(message.url).query))
        parameter = "SAMLRequest" if "SAMLRequest" in query else "SAMLResponse"
        return etree.fromstring(
            zlib.decompress(base64.b64decode(query[parameter]), -zlib.MAX_WBITS)
        )
    fields = message.form_fields
    return etree.fromstring(base64.b64decode(fields.get("SAMLRequest") or fields["SAMLResponse"]))


def assert_signed_by_simplesamlphp(delivery: Delivery) -> None:
    """SimpleSAMLphp signed the message as the binding requires (samljit checks the
    signature itself; this shows there is one to check)."""
    if delivery.binding == "redirect":
        fields = delivery.fields
        assert fields["SigAlg"] == RSA_SHA256
        assert fields["Signature"]
        assert delivery.xml().find("ds:Signature", NS) is None
    else:
        signature = delivery.xml().find("ds:Signature", NS)
        assert signature is not None
        method = signature.find("ds:SignedInfo/ds:SignatureMethod", NS)
        assert method is not None
        assert method.get("Algorithm") == RSA_SHA256


def idp_session_ended(sp: SP, browser: Browser) -> bool:
    """A new SP-initiated login in ``browser`` shows SimpleSAMLphp's login form again."""
    login = sp.service.begin_login(ACCOUNT)
    assert login.url is not None
    page = browser.get(login.url)
    return any(f.has_fields("username", "password") for f in page.forms)


def logged_out_of(ssp: SimpleSAMLphp, sp_entity_id: str) -> int:
    """How often SimpleSAMLphp's log says it logged the browser's session out of the SP's
    association (TraditionalLogoutHandler, after a successful LogoutResponse)."""
    log = (ssp.root / "log" / "simplesamlphp.log").read_text(errors="replace")
    return log.count(f"Logged out of 'saml:{sp_entity_id}'.")


def start_idp_logout(ssp: SimpleSAMLphp, browser: Browser) -> Page:
    """The user presses "log out" at SimpleSAMLphp: SingleLogoutService.php?ReturnTo=."""
    url = ssp.url("saml2/idp/SingleLogoutService.php") + "?" + urlencode({"ReturnTo": RETURN_TO})
    return browser.get(url)


def other_idp_metadata(ssp: SimpleSAMLphp) -> bytes:
    """SimpleSAMLphp's metadata naming another signing certificate (a rolled-over or forged
    IdP key): what it signs with its real key no longer verifies."""
    der = ssp.idp_key.certificate.public_bytes(Encoding.DER)
    other = make_key_pair("not SimpleSAMLphp").certificate.public_bytes(Encoding.DER)
    metadata = ssp.metadata_xml.replace(base64.b64encode(der), base64.b64encode(other))
    assert metadata != ssp.metadata_xml
    return metadata


# --- SP-initiated logout ---------------------------------------------------------------------

SP_INITIATED = pytest.mark.parametrize(
    ("sp_entity_id", "binding"),
    [
        pytest.param(SP_GENERATED_METADATA, "redirect", id="redirect"),
        pytest.param(SP_GENERATED_METADATA, "post", id="post-request-redirect-response"),
        pytest.param(SP_POST_LOGOUT, "post", id="post-both-ways"),
    ],
)


@SP_INITIATED
def test_sp_initiated_logout_ends_the_idp_session(
    simplesamlphp: SimpleSAMLphp, sp_entity_id: str, binding: Literal["redirect", "post"]
) -> None:
    sp = make_sp(simplesamlphp, sp_entity_id)
    browser = Browser([simplesamlphp.origin])
    sp.log_in(browser, "ada")
    # The IdP session is live: the next login needs no password. End that login.
    current = sp.log_in(browser, None)
    assert current.assertion.name_id.value == "ada@acme.test"
    assert current.assertion.session_index

    logout = sp.service.begin_logout(
        ACCOUNT,
        name_id=current.assertion.name_id,
        session_index=current.assertion.session_index,
        relay_state="/signed-out?from=app",
        binding=binding,
    )

    assert logout.binding == binding
    assert logout.destination == simplesamlphp.url("saml2/idp/SingleLogoutService.php")
    request = outbound_xml(logout)
    assert request.tag == f"{{{NS['samlp']}}}LogoutRequest"
    assert request.get("ID") == logout.message_id
    assert request.findtext("saml:NameID", namespaces=NS) == "ada@acme.test"
    name_id = request.find("saml:NameID", NS)
    assert name_id is not None
    assert name_id.get("Format") == EMAIL_FORMAT
    assert request.findtext("samlp:SessionIndex", namespaces=NS) == (
        current.assertion.session_index
    )
    assert len(sp.requests) == 1

    # SimpleSAMLphp verifies the request ('validate.logout'), ends its session and answers.
    page = send(browser, logout)
    answer = delivered(page, sp.slo_url)

    assert answer.binding == SSP_BINDING[sp_entity_id]
    assert "RelayState" not in answer.fields  # the target stayed server-side
    response = answer.xml()
    assert response.tag == f"{{{NS['samlp']}}}LogoutResponse"
    assert response.get("InResponseTo") == logout.message_id
    assert response.get("Destination") == sp.slo_url
    assert_signed_by_simplesamlphp(answer)

    result = answer.handle(sp)

    assert result.message.kind == "response"
    assert result.message.issuer == simplesamlphp.entity_id
    assert result.message.in_response_to == logout.message_id
    assert result.message.status == STATUS_SUCCESS
    assert result.redirect_to == "/signed-out?from=app"
    assert result.reply is None
    assert result.revoked == 0
    assert sp.revoker.calls == []  # the app ended its own session before begin_logout
    assert len(sp.requests) == 0
    assert idp_session_ended(sp, browser)

    # The pending logout was used up: the same answer again matches nothing.
    with pytest.raises(samljit.errors.InResponseToMismatch) as excinfo:
        answer.handle(sp)
    assert excinfo.value.code == "in_response_to_mismatch"


def test_simplesamlphp_refuses_an_unsigned_or_tampered_logout_request(
    simplesamlphp: SimpleSAMLphp,
) -> None:
    """SimpleSAMLphp accepts samljit's LogoutRequest above because its signature verifies:
    the same request unsigned, or with the signature altered, is refused, and the IdP
    session lives on."""
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA)
    browser = Browser([simplesamlphp.origin])
    current = sp.log_in(browser, "ada")
    logout = sp.service.begin_logout(
        ACCOUNT, name_id=current.assertion.name_id, session_index=current.assertion.session_index
    )
    assert logout.url is not None
    query = dict(parse_qsl(urlsplit(logout.url).query))
    assert set(query) == {"SAMLRequest", "SigAlg", "Signature"}
    unsigned = f"{logout.destination}?{urlencode({'SAMLRequest': query['SAMLRequest']})}"
    signature = bytearray(base64.b64decode(query["Signature"]))
    signature[len(signature) // 2] ^= 0x01
    tampered = f"{logout.destination}?" + urlencode(
        {**query, "Signature": base64.b64encode(bytes(signature)).decode()}
    )

    assert "no signature found on message" in idp_error(browser.get(unsigned))
    assert "Unable to validate signature on query string" in idp_error(browser.get(tampered))
    # The browser's session survived both: a login needs no password.
    sp.log_in(browser, None)


# --- IdP-initiated logout --------------------------------------------------------------------

IDP_INITIATED = pytest.mark.parametrize(
    "sp_entity_id",
    [
        pytest.param(SP_GENERATED_METADATA, id="redirect"),
        pytest.param(SP_POST_LOGOUT, id="post"),
    ],
)


@IDP_INITIATED
def test_idp_initiated_logout_ends_the_app_session_and_completes_at_the_idp(
    simplesamlphp: SimpleSAMLphp, sp_entity_id: str
) -> None:
    """grace's address is Grace.Hopper@Acme.test at the IdP: the revoker gets it normalised."""
    sp = make_sp(simplesamlphp, sp_entity_id)
    browser = Browser([simplesamlphp.origin])
    login = sp.log_in(browser, "grace")
    session_index = login.assertion.session_index
    assert session_index is not None
    assert login.user.email == "grace.hopper@acme.test"
    before = logged_out_of(simplesamlphp, sp_entity_id)

    page = start_idp_logout(simplesamlphp, browser)
    request = delivered(page, sp.slo_url)

    assert request.binding == SSP_BINDING[sp_entity_id]
    assert request.fields["RelayState"]  # SimpleSAMLphp's logout state: must come back
    document = request.xml()
    assert document.tag == f"{{{NS['samlp']}}}LogoutRequest"
    assert document.findtext("saml:NameID", namespaces=NS) == "Grace.Hopper@Acme.test"
    assert document.findtext("samlp:SessionIndex", namespaces=NS) == session_index
    assert document.get("NotOnOrAfter") is not None
    assert_signed_by_simplesamlphp(request)

    result = request.handle(sp)

    message = result.message
    assert message.kind == "request"
    assert message.issuer == simplesamlphp.entity_id
    assert message.message_id == document.get("ID")
    assert message.name_id is not None
    assert message.name_id.value == "Grace.Hopper@Acme.test"
    assert message.session_indexes == (session_index,)
    assert message.relay_state == request.fields["RelayState"]
    assert sp.revoker.calls == [(ACCOUNT, "grace.hopper@acme.test", (session_index,))]
    assert result.revoked == 1
    assert sp.revoker.sessions == {}

    reply = result.reply
    assert reply is not None
    assert reply.binding == request.binding
    assert reply.destination == simplesamlphp.url("saml2/idp/SingleLogoutService.php")
    answer = outbound_xml(reply)
    assert answer.tag == f"{{{NS['samlp']}}}LogoutResponse"
    assert answer.get("InResponseTo") == document.get("ID")
    assert answer.findtext("saml:Issuer", namespaces=NS) == sp_entity_id
    status = answer.find("samlp:Status/samlp:StatusCode", NS)
    assert status is not None
    assert status.get("Value") == STATUS_SUCCESS
    if reply.binding == "redirect":
        assert reply.url is not None
        sent = dict(parse_qsl(urlsplit(reply.url).query))
        assert sent["SigAlg"] == RSA_SHA256
        assert sent["RelayState"] == request.fields["RelayState"]
    else:
        assert answer.find("ds:Signature", NS) is not None
        assert reply.form_fields["RelayState"] == request.fields["RelayState"]

    # SimpleSAMLphp verifies the answer ('validate.logout'), marks the SP logged out and
    # finishes the logout where it started: ReturnTo.
    done = send(browser, reply)

    assert done.redirect_to == RETURN_TO, idp_error(done) or simplesamlphp.log()
    assert logged_out_of(simplesamlphp, sp_entity_id) == before + 1
    assert idp_session_ended(sp, browser)


def test_simplesamlphp_refuses_a_tampered_logout_response(simplesamlphp: SimpleSAMLphp) -> None:
    """SimpleSAMLphp accepts samljit's LogoutResponse above because its signature verifies:
    with the signature altered, the logout does not complete; the real one then does."""
    sp = make_sp(simplesamlphp, SP_GENERATED_METADATA)
    browser = Browser([simplesamlphp.origin])
    sp.log_in(browser, "ada")
    before = logged_out_of(simplesamlphp, SP_GENERATED_METADATA)
    result = delivered(start_idp_logout(simplesamlphp, browser), sp.slo_url).handle(sp)
    assert result.reply is not None
    assert result.reply.url is not None
    query = dict(parse_qsl(urlsplit(result.reply.url).query))
    signature = bytearray(base64.b64decode(query["Signature"]))
    signature[len(signature) // 2] ^= 0x01
    tampered = f"{result.reply.destination}?" + urlencode(
        {**query, "Signature": base64.b64encode(bytes(signature)).decode()}
    )

    assert "Unable to validate signature on query string" in idp_error(browser.get(tampered))
    assert logged_out_of(simplesamlphp, SP_GENERATED_METADATA) == before

    assert browser.get(result.reply.url).redirect_to == RETURN_TO
    assert logged_out_of(simplesamlphp, SP_GENERATED_METADATA) == before + 1


# --- what samljit must refuse ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sp_entity_id", "error", "code"),
    [
        pytest.param(
            SP_GENERATED_METADATA,
            samljit.errors.SignatureInvalid,
            "signature_invalid",
            id="redirect",
        ),
        pytest.param(SP_POST_LOGOUT, samljit.errors.UntrustedKey, "untrusted_key", id="post"),
    ],
)
def test_a_logout_request_replayed_after_the_idp_key_changed_is_refused(
    simplesamlphp: SimpleSAMLphp,
    sp_entity_id: str,
    error: type[samljit.SamlError],
    code: str,
) -> None:
    """A LogoutRequest that verified is sent again after the account's IdP metadata names
    another key: it no longer verifies, and no session is ended."""
    sp = make_sp(simplesamlphp, sp_entity_id)
    browser = Browser([simplesamlphp.origin])
    sp.log_in(browser, "ada")
    request = delivered(start_idp_logout(simplesamlphp, browser), sp.slo_url)
    assert request.handle(sp).revoked == 1
    sp.use_metadata(other_idp_metadata(simplesamlphp))

    with pytest.raises(error) as excinfo:
        request.handle(sp)

    assert excinfo.value.code == code
    assert len(sp.revoker.calls) == 1


def test_an_unsigned_logout_response_is_refused(simplesamlphp: SimpleSAMLphp) -> None:
    """SimpleSAMLphp's entry for this SP says 'sign.logout' => false: its LogoutResponse
    carries no signature, and samljit does not act on it."""
    sp = make_sp(simplesamlphp, SP_UNSIGNED_LOGOUT)
    browser = Browser([simplesamlphp.origin])
    current = sp.log_in(browser, "ada")
    logout = sp.service.begin_logout(
        ACCOUNT,
        name_id=current.assertion.name_id,
        session_index=current.assertion.session_index,
        relay_state="/signed-out",
    )
    answer = delivered(send(browser, logout), sp.slo_url)
    assert set(answer.fields) == {"SAMLResponse"}
    assert answer.xml().get("InResponseTo") == logout.message_id

    with pytest.raises(samljit.errors.SignatureMissing) as excinfo:
        answer.handle(sp)

    assert excinfo.value.code == "signature_missing"
    assert len(sp.requests) == 1  # the pending logout is still waiting for a signed answer


def test_an_unsigned_logout_request_is_refused(simplesamlphp: SimpleSAMLphp) -> None:
    sp = make_sp(simplesamlphp, SP_UNSIGNED_LOGOUT)
    browser = Browser([simplesamlphp.origin])
    sp.log_in(browser, "ada")
    request = delivered(start_idp_logout(simplesamlphp, browser), sp.slo_url)
    assert "Signature" not in request.fields
    assert request.xml().tag == f"{{{NS['samlp']}}}LogoutRequest"

    with pytest.raises(samljit.errors.SignatureMissing) as excinfo:
        request.handle(sp)

    assert excinfo.value.code == "signature_missing"
    assert sp.revoker.calls == []
    assert len(sp.revoker.sessions) == 1
