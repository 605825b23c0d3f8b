"""SP-initiated login (SAML profiles 4.1): ``LoginService.begin_login`` sends an AuthnRequest
to the account's IdP and remembers it server-side; the response must answer an outstanding,
unexpired request of the same account, which is then used up exactly once.

Every service test runs with the in-memory and the SQLite request store, through LoginService
(``[sync]``) and AsyncLoginService over async stores (``[async]``). "Nothing written" means
no user created or changed, no assertion recorded and no session issued.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from samljit import (
    AccountConfig,
    LoginResult,
    LoginService,
    PendingRequest,
    ProvisioningPolicy,
    SamlError,
)
from samljit._signature import signature_child, verify_enveloped
from samljit.bindings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, PrivateKey, decode_redirect
from samljit.stores.memory import MemoryAccountStore, MemoryRequestStore, MemoryUserStore
from samljit.stores.sqlite import SQLiteRequestStore
from samljit.testing import IssuedResponse, TestIdP, make_certificate

from .conftest import ACS_URL, NOW, SP_ENTITY_ID
from .sp_flows import (
    NS,
    App,
    LosingRaceStore,
    account,
    ada,
    form_message,
    metadata_without,
    params,
    redirect_message,
    verify_query_signature,
)

GLOBEX_IDP = "https://idp.globex.test/metadata"
MFA = "http://schemas.microsoft.com/claims/multipleauthn"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


@pytest.fixture(scope="module")
def globex_idp() -> TestIdP:
    return TestIdP(entity_id=GLOBEX_IDP, sso_url="https://idp.globex.test/sso")


@pytest.fixture(scope="module")
def sp_pair() -> tuple[PrivateKey, x509.Certificate]:
    return make_certificate(common_name="app.example.com SP")


def _store(kind: str, tmp_path: Path) -> Any:
    return MemoryRequestStore() if kind == "memory" else SQLiteRequestStore(tmp_path / "r.db")


@pytest.fixture(params=["memory", "sqlite"])
def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    test_idp: TestIdP,
    globex_idp: TestIdP,
    login_service: Callable[..., LoginService],
) -> Iterator[App]:
    store = _store(request.param, tmp_path)
    made = App(
        login_service=login_service,
        request_store=store,
        accounts=MemoryAccountStore(
            [account("acme", test_idp.metadata_xml), account("globex", globex_idp.metadata_xml)]
        ),
        users=MemoryUserStore(
            [
                ada(),
                ada(
                    email="carol@globex.test", user_id="2"
                ),  # a contractor of acme with a globex address
                ada(account_id="globex", email="grace@globex.test", user_id="3"),
                ada(
                    account_id="initech", email="peter@initech.test", user_id="4"
                ),  # no SSO configured
            ]
        ),
    )
    yield made
    if isinstance(store, SQLiteRequestStore):
        store.close()


def respond(app: App, idp: TestIdP, **knobs: Any) -> IssuedResponse:
    knobs.setdefault("sp_entity_id", SP_ENTITY_ID)
    knobs.setdefault("acs_url", ACS_URL)
    knobs.setdefault("now", app.clock.now)
    knobs.setdefault("name_id", "ada@acme.test")
    knobs.setdefault("attributes", {"full_name": ["Ada Lovelace"], "role": ["developer"]})
    return idp.issue_response(**knobs)


def complete(app: App, issued: IssuedResponse, account_id: str = "acme") -> LoginResult:
    return app.service.complete_login({"SAMLResponse": issued.form_value}, account_id=account_id)


def refused(app: App, issued: IssuedResponse, account_id: str = "acme") -> SamlError:
    with app.writes_nothing(), pytest.raises(SamlError) as caught:
        complete(app, issued, account_id)
    return caught.value


def configure(app: App, account_id: str, **changes: Any) -> None:
    config = app.accounts.get(account_id)
    assert config is not None
    app.accounts.save(dataclasses.replace(config, **changes))


# --- begin_login ----------------------------------------------------------------------------------


def test_begin_login_redirects_the_browser_to_the_idp_with_an_authn_request(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_login("acme")
    assert (request.binding, request.account_id) == ("redirect", "acme")
    assert request.destination == test_idp.sso_url
    assert request.url is not None
    assert request.url.startswith(test_idp.sso_url + "?SAMLRequest=")
    assert request.form_html is None
    authn = redirect_message(request.url)
    assert authn.tag == f"{{{NS['samlp']}}}AuthnRequest"
    assert authn.get("ID") == request.message_id
    assert authn.get("Destination") == test_idp.sso_url
    assert authn.get("AssertionConsumerServiceURL") == ACS_URL
    assert authn.get("ProtocolBinding") == BINDING_HTTP_POST
    assert authn.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID
    # Without an SP key and without WantAuthnRequestsSigned, nothing is signed.
    assert not {"SigAlg", "Signature"} & set(params(request.url))


def test_begin_login_remembers_the_request_server_side_until_it_expires(app: App) -> None:
    request = app.service.begin_login("acme", relay_state="/reports")
    assert app.request_store.get(request.message_id) == PendingRequest(
        request_id=request.message_id,
        account_id="acme",
        relay_state="/reports",
        expires_at=NOW + timedelta(minutes=10),
    )


def test_the_request_lifetime_is_configurable(app: App) -> None:
    app.rebuild(request_lifetime=timedelta(minutes=2))
    request = app.service.begin_login("acme")
    saved = app.request_store.get(request.message_id)
    assert saved is not None
    assert saved.expires_at == NOW + timedelta(minutes=2)


def test_begin_login_by_post_gives_an_auto_submitting_form_with_the_nonce(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_login("acme", binding="post", form_nonce="n0nce")
    assert request.binding == "post"
    assert request.url is None
    assert set(request.form_fields) == {"SAMLRequest"}
    authn = form_message(request.form_fields)
    assert authn.get("ID") == request.message_id
    assert authn.get("Destination") == test_idp.sso_url
    assert request.form_html is not None
    assert f'action="{test_idp.sso_url}"' in request.form_html
    assert '<script nonce="n0nce">' in request.form_html


def test_force_authn_is_passed_to_the_idp(app: App) -> None:
    request = app.service.begin_login("acme", force_authn=True)
    assert request.url is not None
    assert redirect_message(request.url).get("ForceAuthn") == "true"


def test_an_account_that_requires_mfa_requests_that_authn_context(app: App) -> None:
    configure(app, "acme", policy=ProvisioningPolicy(required_authn_contexts=(MFA,)))
    request = app.service.begin_login("acme")
    assert request.url is not None
    refs = redirect_message(request.url).findall(
        "samlp:RequestedAuthnContext/saml:AuthnContextClassRef", NS
    )
    assert [r.text for r in refs] == [MFA]


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        pytest.param({}, EMAIL, id="email-by-default"),
        pytest.param({"name_id_format": PERSISTENT}, PERSISTENT, id="persistent"),
        pytest.param({"name_id_format": None}, None, id="idp-chooses"),
    ],
)
def test_the_name_id_policy_is_configured_per_account(
    app: App, configured: dict[str, Any], expected: str | None
) -> None:
    if configured:
        configure(app, "acme", **configured)
    request = app.service.begin_login("acme")
    assert request.url is not None
    policies = redirect_message(request.url).findall("samlp:NameIDPolicy", NS)
    assert [p.get("Format") for p in policies] == ([] if expected is None else [expected])


@pytest.mark.parametrize("name_id_format", [PERSISTENT, None])
def test_the_name_id_policy_survives_storage(test_idp: TestIdP, name_id_format: str | None) -> None:
    config = account("acme", test_idp.metadata_xml, name_id_format=name_id_format)
    assert AccountConfig.from_dict(config.to_dict()).name_id_format == name_id_format


@pytest.mark.parametrize(
    ("asked", "offered", "used"),
    [
        ("redirect", BINDING_HTTP_POST, "post"),
        ("post", BINDING_HTTP_REDIRECT, "redirect"),
    ],
)
def test_the_binding_falls_back_to_the_only_one_the_idp_offers(
    app: App, test_idp: TestIdP, asked: Any, offered: str, used: str
) -> None:
    missing = BINDING_HTTP_REDIRECT if offered == BINDING_HTTP_POST else BINDING_HTTP_POST
    metadata = metadata_without(
        test_idp.metadata_xml, element="SingleSignOnService", binding=missing
    )
    configure(app, "acme", idp_metadata=metadata)
    request = app.service.begin_login("acme", binding=asked)
    assert request.binding == used
    assert app.request_store.get(request.message_id) is not None


def test_begin_login_at_an_idp_that_offers_neither_binding_is_sso_disabled(
    app: App, test_idp: TestIdP
) -> None:
    metadata = test_idp.metadata_xml
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        metadata = metadata_without(metadata, element="SingleSignOnService", binding=binding)
    configure(app, "acme", idp_metadata=metadata)
    with app.writes_nothing(), pytest.raises(SamlError) as caught:
        app.service.begin_login("acme")
    assert (caught.value.code, caught.value.found) == ("sso_disabled", "acme")


def test_begin_login_for_an_account_without_sso_is_sso_disabled(app: App) -> None:
    with pytest.raises(SamlError) as caught:
        app.service.begin_login("initech")
    assert caught.value.code == "sso_disabled"


def test_begin_login_without_a_request_store_is_a_configuration_error(app: App) -> None:
    app.rebuild(request_store=None)
    with pytest.raises(SamlError) as caught:
        app.service.begin_login("acme")
    assert caught.value.code == "configuration_invalid"


# --- signed AuthnRequests -----------------------------------------------------------------------


def _wants_signed_requests(app: App, test_idp: TestIdP) -> None:
    configure(app, "acme", idp_metadata=test_idp.metadata(want_authn_requests_signed=True))


def test_an_idp_that_wants_signed_requests_needs_an_sp_key(app: App, test_idp: TestIdP) -> None:
    _wants_signed_requests(app, test_idp)
    with pytest.raises(SamlError) as caught:
        app.service.begin_login("acme")
    assert caught.value.code == "configuration_invalid"


def test_with_an_sp_key_the_redirect_query_is_signed_with_it(
    app: App, test_idp: TestIdP, sp_pair: tuple[PrivateKey, x509.Certificate]
) -> None:
    _wants_signed_requests(app, test_idp)
    app.rebuild(sp_key=sp_pair[0], sp_certificate=sp_pair[1])
    request = app.service.begin_login("acme")
    assert request.url is not None
    assert {"SigAlg", "Signature"} <= set(params(request.url))
    verify_query_signature(request.url, sp_pair[1])
    received = decode_redirect(
        request.url.partition("?")[2],
        max_bytes=100_000,
        certificates=(sp_pair[1],),
        require_signature=True,
    )
    assert received.signed is True
    # The Redirect binding signs the query, not the XML (bindings 3.4.4.1).
    assert redirect_message(request.url).find("ds:Signature", NS) is None


def test_with_an_sp_key_the_posted_request_carries_an_xml_signature(
    app: App, test_idp: TestIdP, sp_pair: tuple[PrivateKey, x509.Certificate]
) -> None:
    _wants_signed_requests(app, test_idp)
    app.rebuild(sp_key=sp_pair[0], sp_certificate=sp_pair[1])
    request = app.service.begin_login("acme", binding="post")
    authn = form_message(request.form_fields)
    signature = signature_child(authn, "AuthnRequest")
    assert signature is not None
    verified = verify_enveloped(
        authn, signature, certificates=(sp_pair[1],), allow_sha1=False, what="AuthnRequest"
    )
    assert verified.element.get("ID") == request.message_id


def test_an_sp_key_signs_requests_even_when_the_idp_does_not_ask(
    app: App, sp_pair: tuple[PrivateKey, x509.Certificate]
) -> None:
    app.rebuild(sp_key=sp_pair[0], sp_certificate=sp_pair[1])
    request = app.service.begin_login("acme")
    assert request.url is not None
    verify_query_signature(request.url, sp_pair[1])


# --- the IdP's answer -------------------------------------------------------------------------


def test_the_idps_answer_completes_the_login_and_uses_up_the_request(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_login("acme", relay_state="/reports")
    result = complete(app, respond(app, test_idp, in_response_to=request.message_id))
    assert result.user.email == "ada@acme.test"
    assert result.assertion.in_response_to == request.message_id
    assert result.redirect_to == "/reports"
    [(_, context)] = app.sessions.issued
    assert context.idp_initiated is False
    assert app.request_store.get(request.message_id) is None


def test_a_login_completes_just_before_the_request_expires(app: App, test_idp: TestIdP) -> None:
    request = app.service.begin_login("acme")
    app.clock.now = NOW + timedelta(minutes=10) - timedelta(seconds=1)
    result = complete(app, respond(app, test_idp, in_response_to=request.message_id))
    assert result.assertion.in_response_to == request.message_id


def test_a_request_answered_twice_is_in_response_to_mismatch(app: App, test_idp: TestIdP) -> None:
    request = app.service.begin_login("acme")
    complete(app, respond(app, test_idp, in_response_to=request.message_id))
    second = respond(app, test_idp, in_response_to=request.message_id)
    assert refused(app, second).code == "in_response_to_mismatch"


def test_the_same_response_posted_twice_is_refused(app: App, test_idp: TestIdP) -> None:
    request = app.service.begin_login("acme")
    issued = respond(app, test_idp, in_response_to=request.message_id)
    complete(app, issued)
    assert refused(app, issued).code == "in_response_to_mismatch"


def test_concurrent_answers_to_one_request_complete_exactly_one_login(
    app: App, test_idp: TestIdP
) -> None:
    """Several workers receive a response to the same request at once (each a different
    assertion, so only the request store can tell): exactly one login completes."""
    request = app.service.begin_login("acme")
    responses = [respond(app, test_idp, in_response_to=request.message_id) for _ in range(8)]
    barrier = threading.Barrier(len(responses))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(issued: IssuedResponse) -> None:
        barrier.wait(timeout=30)
        try:
            complete(app, issued)
            outcome = "ok"
        except SamlError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(r,)) for r in responses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["in_response_to_mismatch"] * 7 + ["ok"]
    assert len(app.sessions.issued) == 1
    assert len(app.replay_cache) == 1


def test_a_request_used_up_by_another_worker_meanwhile_is_in_response_to_mismatch(
    app: App, test_idp: TestIdP
) -> None:
    """Only ``consume`` is atomic: when it says another worker got there first, the login
    is refused even though ``get`` still saw the request."""
    app.rebuild(request_store=LosingRaceStore(app.request_store))
    request = app.service.begin_login("acme")
    issued = respond(app, test_idp, in_response_to=request.message_id)
    assert refused(app, issued).code == "in_response_to_mismatch"


def _race_consume(path: str, ids: list[str], barrier: Any, results: Any) -> None:
    """One worker process: consume every request in ``ids`` and report which it won."""
    store = SQLiteRequestStore(path)
    barrier.wait(timeout=60)
    results.put([store.consume(i, now=NOW) for i in ids])
    store.close()


def test_sqlite_consumes_each_request_exactly_once_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "requests.sqlite3")
    store = SQLiteRequestStore(path)
    ids = [f"_request{i}" for i in range(50)]
    for request_id in ids:
        store.save(
            PendingRequest(
                request_id=request_id,
                account_id="acme",
                relay_state=None,
                expires_at=NOW + timedelta(minutes=10),
            )
        )
    store.close()
    context = multiprocessing.get_context("spawn")
    workers = 4
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=_race_consume, args=(path, ids, barrier, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    won = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert [sum(column) for column in zip(*won, strict=True)] == [1] * len(ids)


@pytest.mark.parametrize("request_id", ["_never-sent", "_" + "0" * 32])
def test_a_response_to_an_unknown_request_is_in_response_to_mismatch(
    app: App, test_idp: TestIdP, request_id: str
) -> None:
    app.service.begin_login("acme")
    issued = respond(app, test_idp, in_response_to=request_id)
    assert refused(app, issued).code == "in_response_to_mismatch"


def test_a_response_to_an_expired_request_is_in_response_to_mismatch(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_login("acme")
    app.clock.now = NOW + timedelta(minutes=10)
    issued = respond(app, test_idp, in_response_to=request.message_id)
    assert refused(app, issued).code == "in_response_to_mismatch"


def test_a_response_to_another_accounts_request_is_refused_and_leaves_it_outstanding(
    app: App, test_idp: TestIdP, globex_idp: TestIdP
) -> None:
    """Acme's IdP cannot answer (or use up) a login that globex started."""
    globex = app.service.begin_login("globex")
    issued = respond(app, test_idp, in_response_to=globex.message_id)
    assert refused(app, issued).code == "in_response_to_mismatch"
    assert app.request_store.get(globex.message_id) is not None
    # The same holds when globex's own IdP answers at acme's ACS.
    issued = respond(app, globex_idp, in_response_to=globex.message_id)
    assert refused(app, issued, "acme").code == "in_response_to_mismatch"
    assert app.request_store.get(globex.message_id) is not None


def test_a_signed_in_response_to_that_differs_from_the_unsigned_hint_is_refused(
    app: App, test_idp: TestIdP
) -> None:
    """The Response's own InResponseTo is unsigned (only the assertion is): it may select the
    request, but the signed SubjectConfirmationData must name that same request."""
    first = app.service.begin_login("acme")
    second = app.service.begin_login("acme")
    issued = respond(
        app,
        test_idp,
        in_response_to=second.message_id,
        edit_response=lambda r: r.set("InResponseTo", first.message_id),
    )
    assert refused(app, issued).code == "in_response_to_mismatch"
    assert app.request_store.get(first.message_id) is not None
    assert app.request_store.get(second.message_id) is not None


def test_an_unsolicited_assertion_cannot_claim_an_outstanding_request(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_login("acme")
    issued = respond(
        app, test_idp, edit_response=lambda r: r.set("InResponseTo", request.message_id)
    )
    assert refused(app, issued).code == "in_response_to_mismatch"
    assert app.request_store.get(request.message_id) is not None


def test_a_refused_answer_leaves_the_request_outstanding_for_the_real_one(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_login("acme")
    wrong_audience = respond(
        app, test_idp, in_response_to=request.message_id, audience="https://other.example"
    )
    assert refused(app, wrong_audience).code == "audience_mismatch"
    result = complete(app, respond(app, test_idp, in_response_to=request.message_id))
    assert result.assertion.in_response_to == request.message_id


def test_an_answer_at_a_domain_another_account_owns_leaves_the_request_outstanding(
    app: App, globex_idp: TestIdP
) -> None:
    """domain_not_owned is decided before the request is used up: nothing is written."""
    app.rebuild(account_for_domain={"acme.test": "acme"}.get)
    request = app.service.begin_login("globex")
    issued = respond(app, globex_idp, in_response_to=request.message_id, name_id="cto@acme.test")
    assert refused(app, issued, "globex").code == "domain_not_owned"
    assert app.request_store.get(request.message_id) is not None
    result = complete(
        app,
        respond(app, globex_idp, in_response_to=request.message_id, name_id="grace@globex.test"),
        "globex",
    )
    assert result.assertion.in_response_to == request.message_id


def test_an_idp_initiated_login_still_works_where_the_policy_allows(
    app: App, test_idp: TestIdP
) -> None:
    app.service.begin_login("acme")
    result = complete(app, respond(app, test_idp))
    [(_, context)] = app.sessions.issued
    assert context.idp_initiated is True
    assert result.assertion.in_response_to is None


def test_an_idp_initiated_login_is_refused_where_the_policy_forbids_it(
    app: App, test_idp: TestIdP
) -> None:
    configure(app, "acme", policy=ProvisioningPolicy(allow_idp_initiated=False))
    assert refused(app, respond(app, test_idp)).code == "unsolicited_response"
    request = app.service.begin_login("acme")
    result = complete(app, respond(app, test_idp, in_response_to=request.message_id))
    assert result.assertion.in_response_to == request.message_id


# --- home-realm discovery ------------------------------------------------------------------------


def test_discovery_finds_the_account_of_the_existing_user_case_insensitively(app: App) -> None:
    request = app.service.begin_login_for_email("  Ada@ACME.Test ")
    assert request.account_id == "acme"
    saved = app.request_store.get(request.message_id)
    assert saved is not None
    assert saved.account_id == "acme"


def test_discovery_passes_the_relay_state_and_binding_on(app: App) -> None:
    request = app.service.begin_login_for_email(
        "ada@acme.test", relay_state="/reports", binding="post"
    )
    assert request.binding == "post"
    saved = app.request_store.get(request.message_id)
    assert saved is not None
    assert saved.relay_state == "/reports"


def test_discovery_finds_the_owner_of_a_verified_domain(app: App) -> None:
    asked: list[str] = []

    def account_for_domain(domain: str) -> str | None:
        asked.append(domain)
        return {"globex.test": "globex"}.get(domain)

    app.rebuild(account_for_domain=account_for_domain)
    request = app.service.begin_login_for_email("New.Hire@Globex.TEST")
    assert request.account_id == "globex"
    assert asked == ["globex.test"]


def test_the_domain_owner_wins_over_an_existing_user_of_another_account(app: App) -> None:
    """carol@globex.test was created in acme before globex owned globex.test: the real
    person is sent to globex's IdP, not to the account that happened to create her first."""
    app.rebuild(account_for_domain={"globex.test": "globex"}.get)
    assert app.service.begin_login_for_email("carol@globex.test").account_id == "globex"
    assert app.service.begin_login_for_email("grace@globex.test").account_id == "globex"


def test_an_existing_user_at_a_domain_nobody_owns_is_found_by_the_user(app: App) -> None:
    app.rebuild(account_for_domain={"acme.test": "acme"}.get)
    assert app.service.begin_login_for_email("carol@globex.test").account_id == "acme"


def test_the_owner_of_a_parent_domain_owns_its_subdomains(app: App) -> None:
    asked: list[str] = []

    def account_for_domain(domain: str) -> str | None:
        asked.append(domain)
        return {"globex.test": "globex"}.get(domain)

    app.rebuild(account_for_domain=account_for_domain)
    assert app.service.begin_login_for_email("New.Hire@EU.Mail.Globex.Test").account_id == (
        "globex"
    )
    assert asked == ["eu.mail.globex.test", "mail.globex.test", "globex.test"]


def test_the_nearest_owner_of_a_subdomain_wins(app: App) -> None:
    owners = {"globex.test": "globex", "acme.globex.test": "acme"}
    app.rebuild(account_for_domain=owners.get)
    assert app.service.begin_login_for_email("x@acme.globex.test").account_id == "acme"
    assert app.service.begin_login_for_email("x@eu.acme.globex.test").account_id == "acme"
    assert app.service.begin_login_for_email("x@eu.globex.test").account_id == "globex"


def test_without_subdomain_coverage_only_the_exact_domain_is_owned(app: App) -> None:
    asked: list[str] = []

    def account_for_domain(domain: str) -> str | None:
        asked.append(domain)
        return {"globex.test": "globex"}.get(domain)

    app.rebuild(account_for_domain=account_for_domain, domain_owner_covers_subdomains=False)
    with pytest.raises(SamlError) as caught:
        app.service.begin_login_for_email("new.hire@eu.globex.test")
    assert caught.value.code == "account_not_found"
    assert asked == ["eu.globex.test"]


@pytest.mark.parametrize(
    "email",
    [
        "ada@acme.test\u3000",
        "ada@acme.test\u00a0",
        "ada\u0085@acme.test",
        "\u212ada@acme.test",
        "ada@@acme.test",
        "@globex",
    ],
    ids=["ideographic space", "no-break space", "next line", "kelvin sign", "two @", "no local"],
)
def test_discovery_refuses_a_typed_address_it_would_have_to_fold(app: App, email: str) -> None:
    """Never trimmed or folded into an existing user's address: refused as typed."""
    app.rebuild(account_for_domain={"acme.test": "acme"}.get)
    with pytest.raises(SamlError) as caught:
        app.service.begin_login_for_email(email)
    assert caught.value.code == "email_invalid"


@pytest.mark.parametrize("email", ["nobody@unknown.test", "not-an-email", "", "nobody@globex.test"])
def test_an_email_that_matches_nothing_is_account_not_found(app: App, email: str) -> None:
    app.rebuild(account_for_domain={"verified.test": "acme"}.get)
    with pytest.raises(SamlError) as caught:
        app.service.begin_login_for_email(email)
    assert caught.value.code == "account_not_found"


def test_without_a_domain_resolver_an_unknown_email_is_account_not_found(app: App) -> None:
    with pytest.raises(SamlError) as caught:
        app.service.begin_login_for_email("new.hire@acme.test")
    assert caught.value.code == "account_not_found"


@pytest.mark.parametrize("email", ["peter@initech.test", "someone@initech.test"])
def test_an_account_without_sso_is_sso_disabled(app: App, email: str) -> None:
    """By the user's account (peter) or by the domain's owner (someone)."""
    app.rebuild(account_for_domain={"initech.test": "initech"}.get)
    with pytest.raises(SamlError) as caught:
        app.service.begin_login_for_email(email)
    assert caught.value.code == "sso_disabled"


def test_text_that_looks_like_in_response_to_does_not_make_a_login_solicited(
    app: App, test_idp: TestIdP
) -> None:
    """Only the Response and SubjectConfirmationData tags can say which request is answered:
    an attribute value quoting ' InResponseTo="..."' leaves an IdP-initiated login alone."""
    issued = respond(
        app, test_idp, attributes={"role": ["developer"], "note": [' InResponseTo="_x"']}
    )
    assert complete(app, issued).assertion.in_response_to is None


def test_an_idp_initiated_response_with_an_empty_in_response_to_logs_in(
    app: App, test_idp: TestIdP
) -> None:
    """Some IdPs send ``InResponseTo=""`` on the Response and the SubjectConfirmationData of
    an IdP-initiated response; with a request store in place it is still unsolicited."""
    app.service.begin_login("acme")
    issued = respond(app, test_idp, in_response_to="")
    assert complete(app, issued).assertion.in_response_to is None


def test_a_login_response_cannot_answer_a_logout_request(app: App, test_idp: TestIdP) -> None:
    """The SP's own outstanding LogoutRequest is not a login the IdP may answer."""
    app.request_store.save(
        PendingRequest(
            request_id="_sp-logout-1",
            account_id="acme",
            relay_state="/",
            expires_at=NOW + timedelta(minutes=10),
            kind="logout",
        )
    )
    issued = respond(app, test_idp, in_response_to="_sp-logout-1")
    assert refused(app, issued).code == "in_response_to_mismatch"
    assert app.request_store.get("_sp-logout-1") is not None
