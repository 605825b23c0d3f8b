"""The Flask and Starlette (FastAPI) adapters, through each framework's test client: the
same endpoints, pages and rules in both, driven by real signed messages from TestIdP.

The Django adapter has its own tests (it needs Django's settings).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask import session as flask_session
from flask_wtf.csrf import CSRFProtect
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from samljit import (
    AccountConfig,
    AsyncLoginService,
    ClaimMapping,
    LoginContext,
    LoginService,
    NameID,
    ProvisioningPolicy,
    UserRecord,
    in_thread,
    parse_idp_metadata,
)
from samljit.bindings import encode_redirect
from samljit.integrations import fastapi as starlette_adapter
from samljit.integrations import flask as flask_adapter
from samljit.integrations._web import CSRF_FIELD, sp_config
from samljit.integrations.sessions import MemorySessionStore
from samljit.logout import build_logout_request, build_logout_response
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemoryRequestStore,
    MemoryUserStore,
)
from samljit.testing import TestIdP, make_certificate

from .conftest import NOW
from .sp_flows import redirect_message
from .test_logout import idp_side

BASE = "http://testserver"
SP = sp_config(BASE, "acme")
ROLES = ["developer", "finance"]
MAPPING = ClaimMapping.from_dict(
    {"preset": "generic", "accepted_roles": ROLES, "account_attributes": ["imagekit_id"]}
)
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


@dataclass
class Page:
    status: int
    location: str | None
    text: str


@dataclass
class Site:
    """A host app with SSO mounted, the IdP it trusts, and a browser-like test client."""

    framework: str
    client: Any
    idp: TestIdP
    users: MemoryUserStore
    requests: MemoryRequestStore
    store: MemorySessionStore | None
    """The server-side sessions, or None: the framework's signed cookie sessions."""

    def get(self, path: str) -> Page:
        return self._page(self.client.get(path, **self._no_follow))

    def post(self, path: str, data: dict[str, str], **headers: str) -> Page:
        response = self.client.post(path, data=data, headers=headers, **self._no_follow)
        return self._page(response)

    def whoami(self) -> str:
        return self.get("/whoami").text

    def logout_token(self) -> str:
        """The token of the logout form the app renders for this session."""
        found = re.search(f'name="{CSRF_FIELD}" value="([^"]+)"', self.get("/logout-form").text)
        assert found is not None
        return found.group(1)

    def log_out(self) -> Page:
        """Press the app's logout button."""
        return self.post("/sso/logout", {CSRF_FIELD: self.logout_token()})

    @property
    def cookie(self) -> str | None:
        """The session cookie the browser holds."""
        name = "session"
        if self.framework == "flask":
            found = self.client.get_cookie(name)
            return None if found is None else str(found.value)
        value = self.client.cookies.get(name)
        return None if value is None else str(value)

    def set_cookie(self, value: str) -> None:
        """The browser's cookie replaced, as a stolen or saved copy is replayed."""
        if self.framework == "flask":
            self.client.set_cookie("session", value)
        else:
            self.client.cookies.clear()
            self.client.cookies.set("session", value, domain="testserver.local")

    @property
    def _no_follow(self) -> dict[str, bool]:
        return {"follow_redirects": False}

    def _page(self, response: Any) -> Page:
        text = response.get_data(as_text=True) if self.framework == "flask" else response.text
        return Page(response.status_code, response.headers.get("Location"), text)

    def respond(self, *, in_response_to: str | None = None, role: str = "developer") -> str:
        return self.idp.issue_response(
            sp_entity_id=SP.entity_id,
            acs_url=SP.acs_url,
            now=NOW,
            name_id="Ada@ACME.test",
            attributes={"full_name": ["Ada Lovelace"], "role": [role], "imagekit_id": ["acme"]},
            in_response_to=in_response_to,
            session_index="_session1",
        ).form_value

    def login(self, role: str = "developer") -> Page:
        return self.post("/sso/acme/acs", {"SAMLResponse": self.respond(role=role)})


def _service_options(idp: TestIdP) -> dict[str, Any]:
    accounts = MemoryAccountStore()
    accounts.save(
        AccountConfig(
            account_id="acme",
            sp=SP,
            idp_metadata=idp.metadata_xml,
            mapping=MAPPING,
            policy=ProvisioningPolicy(create_users="always"),  # a first login may start here
        )
    )
    key, certificate = make_certificate(common_name="sp")
    return {
        "accounts": accounts,
        "users": MemoryUserStore(),
        "replay_cache": MemoryReplayCache(),
        "request_store": MemoryRequestStore(),
        "sp_key": key,
        "sp_certificate": certificate,
        "clock": lambda: NOW,
        "account_for_domain": lambda domain: "acme" if domain == "acme.test" else None,
    }


def _flask_site(idp: TestIdP, *, server_sessions: bool = True) -> Site:
    class Sessions:
        def issue(self, user: UserRecord, context: LoginContext) -> str:
            flask_session["email"] = user.email
            return user.email

    options = _service_options(idp)
    store = MemorySessionStore(clock=lambda: NOW) if server_sessions else None
    revoker = store if store is not None else flask_adapter.current_session_revoker
    service = LoginService(**options, sessions=Sessions(), session_revoker=revoker)
    app = Flask(__name__)
    app.secret_key = "test"
    if store is not None:
        app.session_interface = flask_adapter.ServerSessionInterface(store)
    sso = flask_adapter.SamlSso(service, app=app)
    app.add_url_rule("/whoami", "whoami", lambda: flask_session.get("email", ""))
    app.add_url_rule("/logout-form", "logout_form", sso.logout_form)

    def touch_while_revoked() -> str:  # the IdP's logout ends the session mid-request
        assert store is not None
        store.revoke(account_id="acme", email="ada@acme.test", session_indexes=())
        flask_session["touched"] = True
        return ""

    app.add_url_rule("/touch-while-revoked", "touch", touch_while_revoked)
    client = app.test_client()
    return Site("flask", client, idp, options["users"], options["request_store"], store)


def _starlette_site(idp: TestIdP, *, server_sessions: bool = True) -> Site:
    class Sessions:
        async def issue(self, user: UserRecord, context: LoginContext) -> str:
            request = starlette_adapter.current_request()
            assert request is not None
            request.session["email"] = user.email
            return user.email

    async def whoami(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.session.get("email", ""))

    async def logout_form(request: Request) -> PlainTextResponse:
        return PlainTextResponse(sso.logout_form(request))

    async def touch_while_revoked(request: Request) -> PlainTextResponse:
        assert store is not None
        store.revoke(account_id="acme", email="ada@acme.test", session_indexes=())
        request.session["touched"] = True
        return PlainTextResponse("")

    options = _service_options(idp)
    users = options["users"]
    options["users"] = in_thread(users)
    store = MemorySessionStore(clock=lambda: NOW) if server_sessions else None
    revoker = store if store is not None else starlette_adapter.current_session_revoker
    service = AsyncLoginService(**options, sessions=Sessions(), session_revoker=revoker)
    middleware = (
        Middleware(starlette_adapter.ServerSessionMiddleware, store=store)
        if store is not None
        else Middleware(SessionMiddleware, secret_key="test")
    )
    app = Starlette(
        routes=[
            Route("/whoami", whoami),
            Route("/logout-form", logout_form),
            Route("/touch-while-revoked", touch_while_revoked),
        ],
        middleware=[middleware],
    )
    sso = starlette_adapter.SamlSso(service, app=app)
    return Site("starlette", TestClient(app), idp, users, options["request_store"], store)


def _serve(made: Site) -> Iterator[Site]:
    if made.framework == "starlette":
        with made.client:
            yield made
    else:
        yield made


@pytest.fixture(params=["flask", "starlette"])
def site(request: pytest.FixtureRequest, test_idp: TestIdP) -> Iterator[Site]:
    """An app of each framework with server-side sessions (the documented pattern)."""
    make = _flask_site if request.param == "flask" else _starlette_site
    yield from _serve(make(test_idp))


@pytest.fixture(params=["flask", "starlette"])
def cookie_site(request: pytest.FixtureRequest, test_idp: TestIdP) -> Iterator[Site]:
    """An app of each framework with its default signed-cookie sessions."""
    make = _flask_site if request.param == "flask" else _starlette_site
    yield from _serve(make(test_idp, server_sessions=False))


@pytest.fixture(params=["server", "cookie"])
def any_site(request: pytest.FixtureRequest, site: Site, test_idp: TestIdP) -> Iterator[Site]:
    """Both frameworks, each with server-side and with cookie sessions."""
    if request.param == "server":
        yield site
        return
    make = _flask_site if site.framework == "flask" else _starlette_site
    yield from _serve(make(test_idp, server_sessions=False))


def _generic_failure(page: Page) -> None:
    assert page.status == 403
    assert "<h1>Single sign-on failed</h1>" in page.text
    assert 'id="reference"' in page.text


# --- login -----------------------------------------------------------------------------------


def test_an_idp_initiated_post_to_the_acs_creates_the_user_and_signs_them_in(site: Site) -> None:
    page = site.login()
    assert (page.status, page.location) == (303, "/")
    user = site.users.get_by_email("ada@acme.test")
    assert user is not None
    assert (user.full_name, user.role, user.account_id) == ("Ada Lovelace", "developer", "acme")
    assert site.whoami() == "ada@acme.test"


def test_the_sso_page_asks_for_the_email_and_posts_to_itself(site: Site) -> None:
    page = site.get("/sso/?next=/reports")
    assert page.status == 200
    assert '<form method="post" action="/sso/">' in page.text
    assert '<input type="email" name="email" id="email"' in page.text
    assert '<input type="hidden" name="next" value="/reports">' in page.text


def test_visiting_the_sso_page_stores_nothing_until_the_email_is_submitted(site: Site) -> None:
    """Anyone can load the page: only a submitted email starts a login and stores a
    pending request (bounded by the store's max_pending)."""
    for _ in range(3):
        assert site.get("/sso/?next=/reports").status == 200
    assert len(site.requests) == 0
    site.post("/sso/", {"email": "ada@acme.test"})
    assert len(site.requests) == 1


def test_the_email_leads_to_the_accounts_idp_and_the_answer_signs_in(site: Site) -> None:
    page = site.post("/sso/", {"email": "ada@acme.test", "next": "/reports"})
    assert page.status == 303
    assert page.location is not None
    assert page.location.startswith(site.idp.sso_url + "?SAMLRequest=")
    request_id = redirect_message(page.location).get("ID")
    answer = site.post("/sso/acme/acs", {"SAMLResponse": site.respond(in_response_to=request_id)})
    assert (answer.status, answer.location) == (303, "/reports")
    assert site.whoami() == "ada@acme.test"


def test_a_login_started_for_a_known_account_keeps_its_state_server_side(site: Site) -> None:
    page = site.get("/sso/acme/login?next=/billing")
    assert page.location is not None
    request_id = redirect_message(page.location).get("ID")
    pending = site.requests.get(request_id)
    assert pending is not None
    assert pending.relay_state == "/billing"
    assert "RelayState" not in parse_qs(urlsplit(page.location).query)


def test_a_rejected_login_shows_the_generic_page_logs_the_code_and_writes_nothing(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="samljit.integrations"):
        page = site.login(role="guest")
    _generic_failure(page)
    assert "role" not in page.text.lower()
    (record,) = [r for r in caplog.records if r.name == "samljit.integrations"]
    assert "code=role_not_accepted" in record.getMessage()
    assert "account=acme" in record.getMessage()
    assert record.getMessage().split("ref=")[1].split()[0] in page.text
    assert site.users.get_by_email("ada@acme.test") is None
    assert site.whoami() == ""


def test_a_replayed_response_is_refused_with_the_same_generic_page(site: Site) -> None:
    form = {"SAMLResponse": site.respond()}
    assert site.post("/sso/acme/acs", form).status == 303
    _generic_failure(site.post("/sso/acme/acs", form))


def test_an_unknown_email_and_an_account_without_sso_look_the_same(site: Site) -> None:
    unknown = site.post("/sso/", {"email": "eve@elsewhere.test"})
    _generic_failure(unknown)
    disabled = site.get("/sso/initech/login")
    _generic_failure(disabled)
    assert unknown.text.split("<code")[0] == disabled.text.split("<code")[0]


def test_the_acs_takes_only_posts(site: Site) -> None:
    assert site.get("/sso/acme/acs").status == 405


# --- metadata --------------------------------------------------------------------------------


def test_the_metadata_endpoint_serves_the_accounts_sp_metadata(site: Site) -> None:
    page = site.get("/sso/acme/metadata")
    assert page.status == 200
    assert f'entityID="{SP.entity_id}"' in page.text
    assert f'Location="{SP.acs_url}"' in page.text
    assert f'Location="{SP.slo_url}"' in page.text
    _generic_failure(site.get("/sso/initech/metadata"))


# --- logout ----------------------------------------------------------------------------------


def test_the_logout_button_ends_the_session_and_logs_out_at_the_idp(site: Site) -> None:
    site.login()
    page = site.log_out()
    assert site.whoami() == ""
    assert page.location is not None
    assert page.location.startswith(site.idp.slo_url + "?SAMLRequest=")
    request = redirect_message(page.location)
    assert request.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}NameID") == "Ada@ACME.test"
    xml = build_logout_response(
        response_id="_idp-answer",
        sp=idp_side(site.idp),
        destination=SP.slo_url or "",
        in_response_to=request.get("ID"),
        now=NOW,
    )
    answer = encode_redirect(
        xml, destination=SP.slo_url or "", parameter="SAMLResponse", key=site.idp.key
    )
    back = site.get("/sso/acme/slo?" + answer.partition("?")[2])
    assert (back.status, back.location) == (303, "/")


def test_logging_out_without_an_sso_session_just_goes_home(site: Site) -> None:
    page = site.post("/sso/logout", {})
    assert (page.status, page.location) == (303, "/")


def test_the_idps_logout_request_ends_the_current_session_and_is_answered(
    any_site: Site,
) -> None:
    site = any_site
    site.login()
    _, xml = build_logout_request(
        sp=idp_side(site.idp),
        destination=SP.slo_url or "",
        name_id=NameID(value="Ada@ACME.test", format=EMAIL),
        session_index="_session1",
        now=NOW,
    )
    url = encode_redirect(
        xml, destination=SP.slo_url or "", parameter="SAMLRequest", key=site.idp.key
    )
    page = site.get("/sso/acme/slo?" + url.partition("?")[2])
    assert page.location is not None
    assert page.location.startswith(site.idp.slo_url + "?SAMLResponse=")
    assert site.whoami() == ""


def test_an_unsigned_logout_request_ends_nothing(site: Site) -> None:
    site.login()
    _, xml = build_logout_request(
        sp=idp_side(site.idp),
        destination=SP.slo_url or "",
        name_id=NameID(value="Ada@ACME.test", format=EMAIL),
        session_index=None,
        now=NOW,
    )
    url = encode_redirect(xml, destination=SP.slo_url or "", parameter="SAMLRequest")
    _generic_failure(site.get("/sso/acme/slo?" + url.partition("?")[2]))
    assert site.whoami() == "ada@acme.test"


def _idp_logout_query(site: Site) -> str:
    _, xml = build_logout_request(
        sp=idp_side(site.idp),
        destination=SP.slo_url or "",
        name_id=NameID(value="Ada@ACME.test", format=EMAIL),
        session_index="_session1",
        now=NOW,
    )
    url = encode_redirect(
        xml, destination=SP.slo_url or "", parameter="SAMLRequest", key=site.idp.key
    )
    return url.partition("?")[2]


# --- logout CSRF: the logout form's token, or nothing changes -----------------------------------


@pytest.mark.parametrize(
    "form", [{}, {CSRF_FIELD: "forged"}, {CSRF_FIELD: ""}], ids=["no token", "forged", "empty"]
)
def test_a_cross_site_logout_post_is_refused_and_changes_nothing(
    any_site: Site, form: dict[str, str]
) -> None:
    any_site.login()
    cookie = any_site.cookie
    page = any_site.post("/sso/logout", form, Origin="https://evil.example")
    assert (page.status, page.location) == (403, None)
    assert "<h1>Logout refused</h1>" in page.text
    assert any_site.whoami() == "ada@acme.test"
    assert any_site.cookie == cookie


def test_a_same_site_logout_post_with_the_forms_token_ends_the_session(any_site: Site) -> None:
    any_site.login()
    page = any_site.log_out()
    assert page.status == 303
    assert page.location is not None
    assert page.location.startswith(any_site.idp.slo_url + "?SAMLRequest=")
    assert any_site.whoami() == ""


def test_the_logout_form_renders_the_button_with_this_sessions_token(site: Site) -> None:
    site.login()
    form = site.get("/logout-form").text
    assert form.startswith('<form method="post" action="/sso/logout">')
    assert 'id="logout"' in form
    assert site.logout_token() == site.logout_token()  # stable within the session


def test_a_new_login_gets_a_new_logout_token(site: Site) -> None:
    site.get("/logout-form")
    before = site.logout_token()
    site.login()
    assert site.logout_token() != before


# --- server-side sessions: an opaque cookie, ended for good ------------------------------------


def test_the_session_cookie_holds_only_an_opaque_random_id(site: Site) -> None:
    site.login()
    cookie = site.cookie
    assert cookie is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie)
    assert site.store is not None
    kept = site.store.load(cookie)
    assert kept is not None
    assert (kept["samljit"]["name_id"], kept["samljit"]["session_index"]) == (
        "Ada@ACME.test",
        "_session1",
    )


def test_a_cookie_copied_before_logout_signs_nobody_in_afterwards(site: Site) -> None:
    site.login()
    copied = site.cookie
    assert copied is not None
    site.log_out()
    site.set_cookie(copied)
    assert site.whoami() == ""
    assert site.store is not None
    assert site.store.count() == 0


def test_the_idps_logout_request_ends_the_session_whichever_browser_it_reaches(
    site: Site,
) -> None:
    """The IdP's LogoutRequest may arrive without the user's cookie (another browser, a
    cross-site POST that SameSite cookies do not accompany): the store still ends it."""
    site.login()
    copied = site.cookie
    assert copied is not None
    site.set_cookie("")
    page = site.get("/sso/acme/slo?" + _idp_logout_query(site))
    assert page.location is not None
    assert page.location.startswith(site.idp.slo_url + "?SAMLResponse=")
    site.set_cookie(copied)
    assert site.whoami() == ""


def test_a_session_id_planted_before_the_login_is_not_the_logged_in_one(site: Site) -> None:
    site.get("/logout-form")  # any visit that starts a session
    planted = site.cookie
    assert planted is not None
    site.login()
    assert site.cookie not in (None, planted)
    assert site.whoami() == "ada@acme.test"
    site.set_cookie(planted)
    assert site.whoami() == ""


def test_a_request_still_holding_an_ended_session_cannot_revive_it(site: Site) -> None:
    site.login()
    copied = site.cookie
    assert copied is not None
    site.get("/touch-while-revoked")  # changes the session the store ended meanwhile
    assert site.store is not None
    assert site.store.count() == 0
    assert site.cookie in (None, "")
    site.set_cookie(copied)
    assert site.whoami() == ""


def test_an_unknown_session_id_is_a_new_empty_session(site: Site) -> None:
    site.set_cookie("not-a-session-the-store-issued")
    assert site.whoami() == ""
    site.login()
    assert site.cookie != "not-a-session-the-store-issued"
    assert site.whoami() == "ada@acme.test"


# --- framework specifics ---------------------------------------------------------------------


def test_flask_wtf_csrf_protection_exempts_only_the_acs_and_slo(test_idp: TestIdP) -> None:
    """With Flask-WTF's CSRFProtect, the IdP's posts reach the ACS and SLO (signed instead);
    the logout form still needs Flask-WTF's token."""
    app = Flask(__name__)
    app.secret_key = "tests-only"
    CSRFProtect(app)
    options = _service_options(test_idp)
    service = LoginService(**options, sessions=_NoSessions())
    flask_adapter.SamlSso(service, app=app)
    client = app.test_client()
    refused = client.post("/sso/acme/acs", data={"SAMLResponse": "not a response"})
    assert refused.status_code == 403  # the service's generic failure page, not Flask-WTF's
    assert b"Single sign-on failed" in refused.data
    slo = client.post("/sso/acme/slo", data={"SAMLRequest": "not a request"})
    assert slo.status_code == 403
    assert b"Single sign-on failed" in slo.data
    logout = client.post("/sso/logout", data={})
    assert logout.status_code == 400
    assert b"The CSRF token is missing." in logout.data


def test_an_oversized_post_is_refused_before_it_is_read_whole(
    test_idp: TestIdP, caplog: pytest.LogCaptureFixture
) -> None:
    made = _starlette_site(test_idp)
    body = "SAMLResponse=" + "A" * (starlette_adapter.MAX_FORM_BYTES + 1)
    with made.client, caplog.at_level(logging.WARNING, logger="samljit.integrations"):
        response = made.client.post(
            "/sso/acme/acs",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 403
    assert "code=input_invalid" in caplog.text


def test_the_identity_provider_metadata_parses_for_both_services(test_idp: TestIdP) -> None:
    parsed = parse_idp_metadata(test_idp.metadata_xml)
    assert parsed.idp.entity_id == test_idp.entity_id


class _NoSessions:
    def issue(self, user: UserRecord, context: LoginContext) -> str:
        return user.user_id


def _glue(example: str) -> dict[str, list[str]]:
    """The lines of code between an example's "samljit glue" markers, by marker title:
    ``(imports)``, the SSO glue (no title) and ``(admin pages)``."""
    source = Path(__file__).resolve().parents[1] / "examples" / example / "app.py"
    blocks: dict[str, list[str]] = {}
    block: list[str] | None = None
    for line in source.read_text().splitlines():
        if line.startswith("# --- end of samljit glue"):
            block = None
        elif line.startswith("# --- samljit glue"):
            title = line.removeprefix("# --- samljit glue").strip(" -")
            block = blocks.setdefault(title, [])
        elif block is not None and line.strip() and not line.strip().startswith("#"):
            block.append(line)
    return blocks


@pytest.mark.parametrize("example", ["flask_app", "fastapi_app"])
def test_an_examples_sso_glue_is_at_most_30_lines_of_code(example: str) -> None:
    """What SSO costs an existing app: the code between the example's glue markers but the
    admin pages block (a few of these lines serve the admin pages too: their imports, the
    login history and the metadata URL options)."""
    blocks = _glue(example)
    assert set(blocks) == {"(imports)", "", "(admin pages)"}
    sso = blocks["(imports)"] + blocks[""]
    assert 20 <= len(sso) <= 30  # the markers enclose the real glue, and it stays small


@pytest.mark.parametrize("example", ["flask_app", "fastapi_app"])
def test_an_examples_glue_with_the_admin_pages_is_at_most_45_lines_of_code(example: str) -> None:
    """SSO and the account administrators' pages mounted with it: every glue block."""
    blocks = _glue(example)
    assert 10 <= len(blocks["(admin pages)"]) <= 20
    assert sum(len(block) for block in blocks.values()) <= 45


def test_the_starlette_session_cookie_is_httponly_and_as_configured() -> None:
    async def write(request: Request) -> PlainTextResponse:
        request.session["cart"] = 3
        return PlainTextResponse("")

    middleware = Middleware(
        starlette_adapter.ServerSessionMiddleware,
        store=MemorySessionStore(),
        https_only=True,
        max_age=3600,
        same_site="strict",
    )
    app = Starlette(routes=[Route("/", write)], middleware=[middleware])
    with TestClient(app, base_url="https://testserver") as client:
        cookie = client.get("/").headers["set-cookie"]
    attributes = {part.strip() for part in cookie.split(";")}
    assert {"HttpOnly", "Secure", "SameSite=strict", "Max-Age=3600", "Path=/"} <= attributes


def test_the_flask_session_cookie_is_httponly_and_samesite_lax() -> None:
    app = Flask(__name__)
    app.session_interface = flask_adapter.ServerSessionInterface(MemorySessionStore())
    app.add_url_rule("/", "token", flask_adapter.logout_token)
    response = app.test_client().get("/")
    [cookie] = response.headers.getlist("Set-Cookie")
    attributes = {part.strip() for part in cookie.split(";")}
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= attributes
    assert response.get_data(as_text=True) not in cookie  # the token stays on the server
