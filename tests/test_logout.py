"""Single Logout (SAML profiles 4.4) through ``LoginService``.

SP-initiated: ``begin_logout`` sends a signed LogoutRequest (NameID, SessionIndex) to the
account's IdP and remembers it; the IdP's signed LogoutResponse completes it.
IdP-initiated: ``handle_logout`` verifies the IdP's signed LogoutRequest (Redirect query
signature or POST XML signature), ends the user's sessions through the ``SessionRevoker`` and
answers with a signed LogoutResponse. The IdP side is played by ``samljit.testing.TestIdP``'s
key with samljit's own message builders, configured with the IdP's entity ID.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.signer import XMLSigner

from samljit import LoginService, NameID, PendingRequest, SamlError, SPConfig
from samljit._signature import signature_child, verify_enveloped
from samljit._time import format_datetime
from samljit.bindings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, PrivateKey, encode_redirect
from samljit.logout import LogoutMessage, build_logout_request, check_logout_response
from samljit.messages import build_authn_request
from samljit.stores.memory import MemoryAccountStore, MemoryRequestStore
from samljit.stores.sqlite import SQLiteRequestStore
from samljit.testing import TestIdP, make_certificate

from .conftest import NOW, SP_ENTITY_ID
from .sp_flows import (
    NS,
    SLO_URL,
    SP,
    App,
    LosingRaceStore,
    account,
    deflate,
    form_message,
    logout_response_xml,
    metadata_with_response_location,
    metadata_without,
    params,
    redirect_message,
    verify_query_signature,
)

EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
ADA = NameID(value="Ada@ACME.test", format=EMAIL)
GLOBEX_IDP = "https://idp.globex.test/metadata"
Pair = tuple[PrivateKey, x509.Certificate]
Mutation = Callable[[etree._Element], None]


@pytest.fixture(scope="module")
def sp_pair() -> Pair:
    return make_certificate(common_name="app.example.com SP")


@pytest.fixture(scope="module")
def stranger() -> Pair:
    """A key pair the account's IdP metadata does not list."""
    return make_certificate(common_name="not the IdP")


@pytest.fixture(scope="module")
def globex_idp() -> TestIdP:
    return TestIdP(entity_id=GLOBEX_IDP, slo_url="https://idp.globex.test/slo")


@pytest.fixture(params=["memory", "sqlite"])
def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    test_idp: TestIdP,
    globex_idp: TestIdP,
    sp_pair: Pair,
    login_service: Callable[..., LoginService],
) -> Iterator[App]:
    store: Any = (
        MemoryRequestStore()
        if request.param == "memory"
        else SQLiteRequestStore(tmp_path / "requests.sqlite3")
    )
    made = App(
        login_service=login_service,
        request_store=store,
        accounts=MemoryAccountStore(
            [account("acme", test_idp.metadata_xml), account("globex", globex_idp.metadata_xml)]
        ),
        options={"sp_key": sp_pair[0], "sp_certificate": sp_pair[1]},
    )
    yield made
    if isinstance(store, SQLiteRequestStore):
        store.close()


def idp_side(idp: TestIdP) -> SPConfig:
    """The IdP as a message sender: samljit's builders with the IdP's entity ID as Issuer."""
    return SPConfig(entity_id=idp.entity_id, acs_url="https://idp.example.test/unused")


def _sign(root: etree._Element, key: PrivateKey, certificate: x509.Certificate) -> bytes:
    """Sign ``root`` enveloped, the Signature right after the Issuer (core 3.2.1)."""
    root.insert(
        1,
        etree.Element(f"{{{NS['ds']}}}Signature", Id="placeholder", nsmap={"ds": NS["ds"]}),
    )
    signer = XMLSigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(root, key=key, cert=[certificate], reference_uri=root.get("ID"))
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def deliver(
    xml: bytes,
    binding: str,
    *,
    parameter: str,
    key: PrivateKey | None,
    certificate: x509.Certificate | None,
    relay_state: str | None = "r1",
    mutate: Mutation | None = None,
) -> dict[str, Any]:
    """``handle_logout`` keyword arguments carrying ``xml`` (changed by ``mutate``) by
    ``binding``, signed with ``key`` (None: unsigned)."""
    root = etree.fromstring(xml)
    if mutate is not None:
        mutate(root)
    if binding == "redirect":
        url = encode_redirect(
            etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
            destination=SLO_URL,
            parameter=parameter,
            relay_state=relay_state,
            key=key,
        )
        return {"query": url.partition("?")[2]}
    if key is not None:
        assert certificate is not None
        xml = _sign(root, key, certificate)
    else:
        xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    form = {parameter: base64.b64encode(xml).decode("ascii")}
    if relay_state is not None:
        form["RelayState"] = relay_state
    return {"form": form}


def idp_logout_request(
    idp: TestIdP,
    binding: str,
    *,
    signed_by: Pair | str | None = "idp",
    name_id: NameID = ADA,
    session_index: str | None = "_session1",
    mutate: Mutation | None = None,
    relay_state: str | None = "r1",
) -> dict[str, Any]:
    _, xml = build_logout_request(
        sp=idp_side(idp),
        destination=SLO_URL,
        name_id=name_id,
        session_index=session_index,
        now=NOW,
        request_id="_idp-logout-1",
    )
    key: PrivateKey | None = None
    certificate: x509.Certificate | None = None
    if signed_by == "idp":
        key, certificate = idp.key, idp.certificate
    elif isinstance(signed_by, tuple):
        key, certificate = signed_by
    return deliver(
        xml,
        binding,
        parameter="SAMLRequest",
        key=key,
        certificate=certificate,
        relay_state=relay_state,
        mutate=mutate,
    )


def idp_logout_response(
    idp: TestIdP,
    binding: str,
    in_response_to: str,
    *,
    status: str = SUCCESS,
    signed: bool = True,
    relay_state: str | None = None,
) -> dict[str, Any]:
    xml = logout_response_xml(
        sp=idp_side(idp),
        destination=SLO_URL,
        in_response_to=in_response_to,
        now=NOW,
        status=status,
    )
    return deliver(
        xml,
        binding,
        parameter="SAMLResponse",
        key=idp.key if signed else None,
        certificate=idp.certificate if signed else None,
        relay_state=relay_state,
    )


def refused(app: App, account_id: str = "acme", **message: Any) -> SamlError:
    with pytest.raises(SamlError) as caught:
        app.service.handle_logout(account_id, **message)
    return caught.value


BINDINGS = pytest.mark.parametrize("binding", ["redirect", "post"])


# --- SP-initiated: the LogoutRequest --------------------------------------------------------------


def test_begin_logout_by_redirect_sends_a_query_signed_logout_request(
    app: App, test_idp: TestIdP, sp_pair: Pair
) -> None:
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_session1")
    assert (outbound.binding, outbound.account_id) == ("redirect", "acme")
    assert outbound.destination == test_idp.slo_url
    assert outbound.url is not None
    assert outbound.url.startswith(test_idp.slo_url + "?SAMLRequest=")
    verify_query_signature(outbound.url, sp_pair[1])
    request = redirect_message(outbound.url)
    assert request.tag == f"{{{NS['samlp']}}}LogoutRequest"
    assert request.get("ID") == outbound.message_id
    assert request.get("Version") == "2.0"
    assert request.get("IssueInstant") == format_datetime(NOW)
    assert request.get("Destination") == test_idp.slo_url
    assert request.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID
    [name_id] = request.findall("saml:NameID", NS)
    assert (name_id.text, name_id.get("Format")) == ("Ada@ACME.test", EMAIL)
    assert [e.text for e in request.findall("samlp:SessionIndex", NS)] == ["_session1"]


def test_begin_logout_by_post_sends_an_xml_signed_logout_request(
    app: App, test_idp: TestIdP, sp_pair: Pair
) -> None:
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_s", binding="post")
    assert outbound.binding == "post"
    assert outbound.form_html is not None
    request = form_message(outbound.form_fields)
    signature = signature_child(request, "LogoutRequest")
    assert signature is not None
    verified = verify_enveloped(
        request, signature, certificates=(sp_pair[1],), allow_sha1=False, what="LogoutRequest"
    ).element
    assert verified.get("ID") == outbound.message_id
    assert verified.get("Destination") == test_idp.slo_url
    assert verified.findtext("saml:NameID", namespaces=NS) == "Ada@ACME.test"
    assert verified.findtext("samlp:SessionIndex", namespaces=NS) == "_s"


def test_a_logout_without_a_session_index_names_only_the_user(app: App) -> None:
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index=None)
    assert outbound.url is not None
    assert redirect_message(outbound.url).find("samlp:SessionIndex", NS) is None


def test_begin_logout_remembers_the_request_and_the_checked_relay_state(app: App) -> None:
    outbound = app.service.begin_logout(
        "acme", name_id=ADA, session_index="_s", relay_state="/goodbye"
    )
    assert app.request_store.get(outbound.message_id) == PendingRequest(
        request_id=outbound.message_id,
        account_id="acme",
        relay_state="/goodbye",
        expires_at=NOW + timedelta(minutes=10),
        kind="logout",
    )
    hostile = app.service.begin_logout(
        "acme", name_id=ADA, session_index="_s", relay_state="//evil.example"
    )
    saved = app.request_store.get(hostile.message_id)
    assert saved is not None
    assert saved.relay_state == "/"


@pytest.mark.parametrize("missing", ["request_store", "sp_key"])
def test_begin_logout_needs_a_request_store_and_an_sp_key(app: App, missing: str) -> None:
    app.rebuild(**{missing: None})
    with pytest.raises(SamlError) as caught:
        app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    assert caught.value.code == "configuration_invalid"


def test_begin_logout_for_an_account_without_sso_is_sso_disabled(app: App) -> None:
    with pytest.raises(SamlError) as caught:
        app.service.begin_logout("initech", name_id=ADA, session_index="_s")
    assert caught.value.code == "sso_disabled"


def test_begin_logout_needs_an_idp_slo_endpoint(app: App, test_idp: TestIdP) -> None:
    metadata = test_idp.metadata_xml
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        metadata = metadata_without(metadata, element="SingleLogoutService", binding=binding)
    config = app.accounts.get("acme")
    assert config is not None
    app.accounts.save(dataclasses.replace(config, idp_metadata=metadata))
    with pytest.raises(SamlError) as caught:
        app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    assert caught.value.code == "configuration_invalid"


# --- SP-initiated: the IdP's LogoutResponse -----------------------------------------------------


@BINDINGS
def test_the_idps_signed_logout_response_completes_the_logout(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    outbound = app.service.begin_logout(
        "acme", name_id=ADA, session_index="_s", relay_state="/goodbye"
    )
    result = app.service.handle_logout(
        "acme", **idp_logout_response(test_idp, binding, outbound.message_id)
    )
    assert result.message.kind == "response"
    assert result.message.in_response_to == outbound.message_id
    assert result.message.status == SUCCESS
    assert result.redirect_to == "/goodbye"
    assert result.reply is None
    assert result.revoked == 0
    assert app.revoker.calls == []
    assert app.request_store.get(outbound.message_id) is None


@BINDINGS
def test_a_logout_response_is_redirected_to_the_saved_target_not_the_posted_one(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    message = idp_logout_response(
        test_idp, binding, outbound.message_id, relay_state="https://evil.example/"
    )
    assert app.service.handle_logout("acme", **message).redirect_to == "/"


@BINDINGS
def test_a_responder_status_is_status_not_success(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    message = idp_logout_response(test_idp, binding, outbound.message_id, status=RESPONDER)
    assert refused(app, **message).code == "status_not_success"


@BINDINGS
def test_an_unsolicited_logout_response_is_in_response_to_mismatch(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    message = idp_logout_response(test_idp, binding, "_never-sent")
    assert refused(app, **message).code == "in_response_to_mismatch"


def test_a_logout_response_to_another_accounts_request_is_in_response_to_mismatch(
    app: App, test_idp: TestIdP
) -> None:
    globex = app.service.begin_logout("globex", name_id=ADA, session_index="_s")
    message = idp_logout_response(test_idp, "redirect", globex.message_id)
    assert refused(app, **message).code == "in_response_to_mismatch"
    assert app.request_store.get(globex.message_id) is not None


def test_a_logout_response_answered_twice_is_in_response_to_mismatch(
    app: App, test_idp: TestIdP
) -> None:
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    message = idp_logout_response(test_idp, "post", outbound.message_id)
    app.service.handle_logout("acme", **message)
    assert refused(app, **message).code == "in_response_to_mismatch"


def test_a_logout_response_after_the_request_expired_is_in_response_to_mismatch(
    app: App, test_idp: TestIdP
) -> None:
    """Same discipline as login: only an outstanding, unexpired request can be answered."""
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    app.clock.now = NOW + timedelta(minutes=10, seconds=1)
    message = idp_logout_response(test_idp, "post", outbound.message_id)
    assert refused(app, **message).code == "in_response_to_mismatch"


def test_a_logout_response_whose_request_another_worker_used_up_is_refused(
    app: App, test_idp: TestIdP
) -> None:
    """``consume`` decides, as for logins: when another worker used the request up between
    ``get`` and ``consume``, this answer is in_response_to_mismatch."""
    app.rebuild(request_store=LosingRaceStore(app.request_store))
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    message = idp_logout_response(test_idp, "redirect", outbound.message_id)
    assert refused(app, **message).code == "in_response_to_mismatch"


@BINDINGS
def test_an_unsigned_logout_response_is_signature_missing(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    outbound = app.service.begin_logout("acme", name_id=ADA, session_index="_s")
    message = idp_logout_response(test_idp, binding, outbound.message_id, signed=False)
    assert refused(app, **message).code == "signature_missing"
    assert app.request_store.get(outbound.message_id) is not None


# --- IdP-initiated: the IdP's LogoutRequest ------------------------------------------------------


def test_an_idp_logout_request_by_redirect_ends_the_sessions_and_replies_signed(
    app: App, test_idp: TestIdP, sp_pair: Pair
) -> None:
    result = app.service.handle_logout("acme", **idp_logout_request(test_idp, "redirect"))
    assert app.revoker.calls == [
        {"account_id": "acme", "email": "ada@acme.test", "session_indexes": ("_session1",)}
    ]
    assert result.revoked == 1
    assert result.message.kind == "request"
    assert result.message.message_id == "_idp-logout-1"
    reply = result.reply
    assert reply is not None
    assert (reply.binding, reply.destination) == ("redirect", test_idp.slo_url)
    assert reply.url is not None
    assert reply.url.startswith(test_idp.slo_url + "?SAMLResponse=")
    assert params(reply.url)["RelayState"] == "r1"
    verify_query_signature(reply.url, sp_pair[1])
    response = redirect_message(reply.url, "SAMLResponse")
    assert response.tag == f"{{{NS['samlp']}}}LogoutResponse"
    assert response.get("InResponseTo") == "_idp-logout-1"
    assert response.get("Destination") == test_idp.slo_url
    assert response.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID
    status = response.find("samlp:Status/samlp:StatusCode", NS)
    assert status is not None
    assert status.get("Value") == SUCCESS


def test_an_idp_logout_request_by_post_ends_the_sessions_and_replies_signed(
    app: App, test_idp: TestIdP, sp_pair: Pair
) -> None:
    result = app.service.handle_logout("acme", **idp_logout_request(test_idp, "post"))
    assert app.revoker.calls == [
        {"account_id": "acme", "email": "ada@acme.test", "session_indexes": ("_session1",)}
    ]
    reply = result.reply
    assert reply is not None
    assert (reply.binding, reply.destination) == ("post", test_idp.slo_url)
    assert reply.form_fields["RelayState"] == "r1"
    assert reply.form_html is not None
    response = form_message(reply.form_fields, "SAMLResponse")
    signature = signature_child(response, "LogoutResponse")
    assert signature is not None
    verified = verify_enveloped(
        response, signature, certificates=(sp_pair[1],), allow_sha1=False, what="LogoutResponse"
    ).element
    assert verified.get("InResponseTo") == "_idp-logout-1"
    assert verified.get("Destination") == test_idp.slo_url
    assert verified.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID


def test_every_session_index_is_passed_to_the_revoker(app: App, test_idp: TestIdP) -> None:
    def second_index(root: etree._Element) -> None:
        etree.SubElement(root, f"{{{NS['samlp']}}}SessionIndex").text = "_session2"

    app.service.handle_logout(
        "acme", **idp_logout_request(test_idp, "redirect", mutate=second_index)
    )
    assert app.revoker.calls[0]["session_indexes"] == ("_session1", "_session2")


def test_a_logout_request_without_a_session_index_ends_all_the_users_sessions(
    app: App, test_idp: TestIdP
) -> None:
    app.service.handle_logout("acme", **idp_logout_request(test_idp, "post", session_index=None))
    assert app.revoker.calls[0]["session_indexes"] == ()


def test_the_reply_goes_to_the_idps_response_location_when_it_has_one(
    app: App, test_idp: TestIdP
) -> None:
    config = app.accounts.get("acme")
    assert config is not None
    metadata = metadata_with_response_location(
        test_idp.metadata_xml, "https://idp.example.test/slo/response"
    )
    app.accounts.save(dataclasses.replace(config, idp_metadata=metadata))
    result = app.service.handle_logout("acme", **idp_logout_request(test_idp, "redirect"))
    assert result.reply is not None
    assert result.reply.destination == "https://idp.example.test/slo/response"
    assert result.reply.url is not None
    assert result.reply.url.startswith("https://idp.example.test/slo/response?")


def test_without_a_session_revoker_an_idp_logout_is_refused(app: App, test_idp: TestIdP) -> None:
    """Answering Success without ending any session would lie to the IdP."""
    app.rebuild(session_revoker=None)
    assert refused(app, **idp_logout_request(test_idp, "redirect")).code == (
        "configuration_invalid"
    )


def _expire(root: etree._Element) -> None:
    root.set("NotOnOrAfter", format_datetime(NOW - timedelta(minutes=10)))


def _no_name_id(root: etree._Element) -> None:
    name_id = root.find("saml:NameID", NS)
    assert name_id is not None
    root.remove(name_id)


def _empty_name_id(root: etree._Element) -> None:
    name_id = root.find("saml:NameID", NS)
    assert name_id is not None
    name_id.text = "  "


def _issuer(root: etree._Element) -> None:
    issuer = root.find("saml:Issuer", NS)
    assert issuer is not None
    issuer.text = GLOBEX_IDP


REFUSALS = [
    pytest.param({"signed_by": None}, {"signature_missing"}, id="unsigned"),
    pytest.param(
        {"signed_by": "stranger"}, {"signature_invalid", "untrusted_key"}, id="another-key"
    ),
    pytest.param({"mutate": _issuer}, {"issuer_mismatch"}, id="wrong-issuer"),
    pytest.param(
        {"mutate": lambda r: r.set("Destination", "https://app.example.com/saml/other/slo")},
        {"destination_mismatch"},
        id="wrong-destination",
    ),
    pytest.param({"mutate": _expire}, {"expired"}, id="expired"),
    pytest.param({"mutate": _no_name_id}, {"subject_invalid"}, id="no-name-id"),
    pytest.param({"mutate": _empty_name_id}, {"subject_invalid"}, id="empty-name-id"),
]


@BINDINGS
@pytest.mark.parametrize(("change", "codes"), REFUSALS)
def test_a_bad_idp_logout_request_is_refused_and_ends_no_session(
    app: App,
    test_idp: TestIdP,
    stranger: Pair,
    binding: str,
    change: dict[str, Any],
    codes: set[str],
) -> None:
    if change.get("signed_by") == "stranger":
        change = {**change, "signed_by": stranger}
    err = refused(app, **idp_logout_request(test_idp, binding, **change))
    assert err.code in codes
    assert app.revoker.calls == []


@BINDINGS
def test_a_logout_request_signed_by_another_accounts_idp_is_refused(
    app: App, globex_idp: TestIdP, binding: str
) -> None:
    """Globex's IdP, with its own key and entity ID, cannot log acme's users out."""
    err = refused(app, **idp_logout_request(globex_idp, binding))
    assert err.code in {"signature_invalid", "untrusted_key"}
    assert app.revoker.calls == []


@BINDINGS
def test_a_signed_logout_request_must_name_this_sps_slo_url_as_destination(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    """Bindings 3.4.5.2 and 3.5.5.2: a signed message MUST carry Destination, and the
    receiver MUST check it, so that a message signed for another SP cannot be replayed here."""
    message = idp_logout_request(test_idp, binding, mutate=lambda r: r.attrib.pop("Destination"))
    assert refused(app, **message).code == "destination_mismatch"
    assert app.revoker.calls == []


def test_a_parameter_appended_to_a_signed_query_cannot_change_whom_the_logout_names(
    app: App, test_idp: TestIdP
) -> None:
    """Anyone can see the IdP's signed logout URL for their own session. Appending a second,
    unsigned ``SAMLRequest`` naming someone else must not end that someone's sessions."""
    signed = idp_logout_request(test_idp, "redirect")["query"]
    _, forged = build_logout_request(
        sp=idp_side(test_idp),
        destination=SLO_URL,
        name_id=NameID(value="victim@acme.test", format=EMAIL),
        session_index=None,
        now=NOW,
    )
    smuggled = signed + "&SAMLRequest=" + quote(deflate(forged), safe="")
    code = None
    try:
        app.service.handle_logout("acme", query=smuggled)
    except SamlError as err:
        code = err.code
    assert [call["email"] for call in app.revoker.calls] == [], "an unsigned request was obeyed"
    assert code in {"signature_invalid", "input_invalid"}


def test_a_request_within_the_clock_skew_of_its_not_on_or_after_is_accepted(
    app: App, test_idp: TestIdP
) -> None:
    def nearly(root: etree._Element) -> None:
        root.set("NotOnOrAfter", format_datetime(NOW - timedelta(seconds=60)))

    result = app.service.handle_logout(
        "acme", **idp_logout_request(test_idp, "redirect", mutate=nearly)
    )
    assert result.revoked == 1


def test_a_signed_message_that_is_not_a_logout_message_is_malformed(
    app: App, test_idp: TestIdP
) -> None:
    authn = build_authn_request(
        sp=idp_side(test_idp),
        destination=SLO_URL,
        now=NOW,
        signing_key=test_idp.key,
        signing_certificate=test_idp.certificate,
    )
    form = {"SAMLRequest": base64.b64encode(authn.xml).decode("ascii")}
    assert refused(app, form=form).code == "malformed_response"
    assert app.revoker.calls == []


def test_handle_logout_needs_a_message(app: App) -> None:
    assert refused(app).code == "malformed_response"
    assert refused(app, form={}).code == "malformed_response"


def test_handle_logout_needs_the_accounts_slo_url(app: App, test_idp: TestIdP) -> None:
    config = app.accounts.get("acme")
    assert config is not None
    app.accounts.save(dataclasses.replace(config, sp=dataclasses.replace(SP, slo_url=None)))
    err = refused(app, **idp_logout_request(test_idp, "redirect"))
    assert err.code == "configuration_invalid"


@pytest.mark.parametrize("missing", ["request_store", "sp_key"])
def test_handle_logout_needs_a_request_store_and_an_sp_key(
    app: App, test_idp: TestIdP, missing: str
) -> None:
    app.rebuild(**{missing: None})
    err = refused(app, **idp_logout_request(test_idp, "redirect"))
    assert err.code == "configuration_invalid"
    assert app.revoker.calls == []


def test_a_logout_response_cannot_answer_a_login_request(app: App, test_idp: TestIdP) -> None:
    """Login and logout requests share the store; an answer is matched only to its kind."""
    login = app.service.begin_login("acme")
    xml = logout_response_xml(
        sp=idp_side(test_idp),
        destination=SLO_URL,
        in_response_to=login.message_id,
        now=NOW,
        signing_key=test_idp.key,
        signing_certificate=test_idp.certificate,
    )
    form = {"SAMLResponse": base64.b64encode(xml).decode("ascii")}
    assert refused(app, form=form).code == "in_response_to_mismatch"
    assert app.request_store.get(login.message_id) is not None


@BINDINGS
def test_a_logout_request_without_an_issuer_is_issuer_mismatch(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    def no_issuer(root: etree._Element) -> None:
        issuer = root.find("saml:Issuer", NS)
        assert issuer is not None
        root.remove(issuer)

    err = refused(app, **idp_logout_request(test_idp, binding, mutate=no_issuer))
    assert err.code == "issuer_mismatch"
    assert app.revoker.calls == []


@BINDINGS
def test_a_logout_request_is_expired_exactly_at_not_on_or_after_plus_the_clock_skew(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    config = app.accounts.get("acme")
    assert config is not None
    skew = config.sp.clock_skew

    def at_the_edge(root: etree._Element) -> None:
        root.set("NotOnOrAfter", format_datetime(NOW - skew))

    err = refused(app, **idp_logout_request(test_idp, binding, mutate=at_the_edge))
    assert err.code == "expired"
    assert app.revoker.calls == []


@BINDINGS
def test_a_logout_request_with_an_unreadable_not_on_or_after_is_malformed(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    def garbled(root: etree._Element) -> None:
        root.set("NotOnOrAfter", "tomorrow")

    err = refused(app, **idp_logout_request(test_idp, binding, mutate=garbled))
    assert err.code == "malformed_response"
    assert app.revoker.calls == []


@BINDINGS
def test_a_logout_request_without_not_on_or_after_expires_request_lifetime_after_issue(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    """Without NotOnOrAfter a request is valid for ``request_lifetime`` after its
    IssueInstant, plus the clock skew; once the replay cache has forgotten it, the same
    signed request must not end the user's sessions a second time."""
    config = app.accounts.get("acme")
    assert config is not None
    end = NOW + app.service.request_lifetime + config.sp.clock_skew
    message = idp_logout_request(test_idp, binding)
    app.clock.now = end - timedelta(seconds=1)
    assert app.service.handle_logout("acme", **message).revoked == 1
    app.clock.now = end
    assert refused(app, **message).code == "expired"
    app.clock.now = end + timedelta(days=1)
    assert refused(app, **message).code == "expired"
    assert len(app.revoker.calls) == 1


def _issued(moment: datetime) -> Mutation:
    return lambda root: root.set("IssueInstant", format_datetime(moment))


@BINDINGS
def test_a_logout_request_issued_in_the_future_is_not_yet_valid(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    """Issued more than the clock skew ahead, it would stay valid for longer than the
    replay cache keeps it."""
    config = app.accounts.get("acme")
    assert config is not None
    ahead = NOW + config.sp.clock_skew + timedelta(seconds=1)
    err = refused(app, **idp_logout_request(test_idp, binding, mutate=_issued(ahead)))
    assert err.code == "not_yet_valid"
    assert app.revoker.calls == []


def test_a_logout_request_issued_within_the_clock_skew_ahead_is_accepted(
    app: App, test_idp: TestIdP
) -> None:
    config = app.accounts.get("acme")
    assert config is not None
    ahead = idp_logout_request(test_idp, "redirect", mutate=_issued(NOW + config.sp.clock_skew))
    assert app.service.handle_logout("acme", **ahead).revoked == 1


def test_a_logout_request_issued_ahead_stays_replayed_until_its_own_end(
    app: App, test_idp: TestIdP
) -> None:
    """The replay entry is counted from the IssueInstant, not from when it arrived."""
    config = app.accounts.get("acme")
    assert config is not None
    skew = config.sp.clock_skew
    message = idp_logout_request(test_idp, "redirect", mutate=_issued(NOW + skew))
    app.clock.now = NOW
    assert app.service.handle_logout("acme", **message).revoked == 1
    app.clock.now = NOW + skew + app.service.request_lifetime + skew - timedelta(seconds=1)
    assert refused(app, **message).code == "replayed"
    assert len(app.revoker.calls) == 1


@BINDINGS
@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-11-25"])
def test_a_logout_request_without_a_readable_issue_instant_is_malformed(
    app: App, test_idp: TestIdP, binding: str, value: str | None
) -> None:
    def garbled(root: etree._Element) -> None:
        if value is None:
            root.attrib.pop("IssueInstant")
        else:
            root.set("IssueInstant", value)

    err = refused(app, **idp_logout_request(test_idp, binding, mutate=garbled))
    assert err.code == "malformed_response"
    assert app.revoker.calls == []


def _logout_message(**fields: Any) -> LogoutMessage:
    base: dict[str, Any] = {
        "kind": "response",
        "message_id": "_r1",
        "issuer": "https://idp.example.test",
        "relay_state": None,
        "in_response_to": "_req1",
        "status": SUCCESS,
    }
    return LogoutMessage(**{**base, **fields})


def test_check_logout_response_accepts_a_success_answering_the_request() -> None:
    check_logout_response(_logout_message(), request_id="_req1")


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"kind": "request"}, id="a-request-not-a-response"),
        pytest.param({"in_response_to": "_other"}, id="answers-another-request"),
        pytest.param({"in_response_to": None}, id="answers-nothing"),
    ],
)
def test_check_logout_response_refuses_what_does_not_answer_the_request(
    fields: dict[str, Any],
) -> None:
    with pytest.raises(SamlError) as caught:
        check_logout_response(_logout_message(**fields), request_id="_req1")
    assert caught.value.code == "in_response_to_mismatch"


@BINDINGS
def test_the_same_idp_logout_request_handled_twice_is_replayed(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    message = idp_logout_request(test_idp, binding)
    assert app.service.handle_logout("acme", **message).revoked == 1
    assert refused(app, **message).code == "replayed"
    assert len(app.revoker.calls) == 1


@BINDINGS
def test_a_logout_request_stays_replayed_for_as_long_as_it_would_be_accepted(
    app: App, test_idp: TestIdP, binding: str
) -> None:
    """The replay entry outlives NotOnOrAfter plus the clock skew, however far away that is."""
    config = app.accounts.get("acme")
    assert config is not None
    end = NOW + timedelta(minutes=30)

    def later(root: etree._Element) -> None:
        root.set("NotOnOrAfter", format_datetime(end))

    message = idp_logout_request(test_idp, binding, mutate=later)
    assert app.service.handle_logout("acme", **message).revoked == 1
    app.clock.now = end + config.sp.clock_skew - timedelta(seconds=1)
    assert refused(app, **message).code == "replayed"
    assert len(app.revoker.calls) == 1


@pytest.mark.parametrize(
    ("asked", "offered"),
    [("redirect", BINDING_HTTP_POST), ("post", BINDING_HTTP_REDIRECT)],
)
def test_begin_logout_falls_back_to_the_only_slo_binding_the_idp_offers(
    app: App, test_idp: TestIdP, asked: str, offered: str
) -> None:
    missing = BINDING_HTTP_REDIRECT if offered == BINDING_HTTP_POST else BINDING_HTTP_POST
    config = app.accounts.get("acme")
    assert config is not None
    metadata = metadata_without(
        test_idp.metadata_xml, element="SingleLogoutService", binding=missing
    )
    app.accounts.save(dataclasses.replace(config, idp_metadata=metadata))
    message = app.service.begin_logout("acme", name_id=ADA, session_index="_s", binding=asked)  # type: ignore[arg-type]
    assert message.binding == ("post" if offered == BINDING_HTTP_POST else "redirect")
