"""The account administrators' pages mounted by the Flask and Starlette (FastAPI) adapters:
one suite, run against each framework's test client. The pages themselves are specified
without a framework in test_admin_core.py; here, what the adapters add: the routes, who may
see them, the session's CSRF token, the request body bound, and the worker thread."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask import session as flask_session
from flask_wtf.csrf import CSRFProtect
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from samljit import (
    AccountConfig,
    AsyncLoginService,
    ClaimMapping,
    LoginService,
    ProvisioningPolicy,
    in_thread,
)
from samljit.errors import ConfigError
from samljit.integrations import fastapi as starlette_adapter
from samljit.integrations import flask as flask_adapter
from samljit.integrations._web import CSRF_FIELD, sp_config
from samljit.integrations.admin import AdminEvent, AdminPages
from samljit.integrations.sessions import MemorySessionStore
from samljit.stores.memory import MemoryAccountStore
from samljit.testing import FixedClock, TestIdP

from .conftest import NOW
from .sp_flows import redirect_message
from .test_integrations import _NoSessions, _service_options

BASE = "http://testserver"
ADMINS = {"ada": "acme", "bob": "globex"}
"""Who administers which account, in the apps' own rule."""

# Every page and action: (method, path, form).
EVERY_ROUTE = [
    ("GET", "", {}),
    ("GET", "setup", {}),
    ("GET", "setup/okta", {}),
    ("GET", "sp-metadata.xml", {}),
    ("GET", "connect", {}),
    ("POST", "connect", {"metadata": "<x/>"}),
    ("POST", "connect/confirm", {"metadata_b64": ""}),
    ("GET", "mapping", {}),
    ("POST", "mapping", {"action": "save", "accepted_roles": "admin"}),
    ("GET", "disable", {}),
    ("POST", "disable", {"confirm": "yes"}),
    ("POST", "test", {}),
    ("POST", "test/result", {"SAMLResponse": "x"}),
]
# Test connection's result carries the IdP's signed response instead of the session's token.
POSTS = [route for route in EVERY_ROUTE if route[0] == "POST" and route[1] != "test/result"]


def _new_account(account_id: str) -> AccountConfig:
    return AccountConfig(
        account_id=account_id,
        idp_metadata=b"",
        sp=sp_config(BASE, account_id),
        mapping=ClaimMapping(accepted_roles=("admin", "developer")),
    )


@dataclass
class Page:
    status: int
    text: str
    headers: Any


@dataclass
class AdminSite:
    """A host app of one framework with SSO and the admin pages mounted, its account store,
    the audit events and a browser-like client."""

    framework: str
    client: Any
    accounts: MemoryAccountStore
    sessions: MemorySessionStore
    events: list[AdminEvent] = field(default_factory=list)
    users: Any = None

    def sign_in(self, user: str) -> None:
        """The app's own login, putting the user in the session."""
        assert self.get(f"/sign-in/{user}").status == 200

    def get(self, path: str) -> Page:
        return self._page(self.client.get(path, follow_redirects=False))

    def post(
        self, path: str, data: dict[str, str], *, files: dict[str, bytes] | None = None
    ) -> Page:
        if self.framework == "flask":
            payload: dict[str, Any] = dict(data)
            for name, content in (files or {}).items():
                payload[name] = (io.BytesIO(content), "idp.xml")
            response = self.client.post(path, data=payload, follow_redirects=False)
        else:
            uploads = {name: ("idp.xml", content) for name, content in (files or {}).items()}
            response = self.client.post(
                path, data=data, files=uploads or None, follow_redirects=False
            )
        return self._page(response)

    def token(self) -> str:
        """The session's token, as the app's logout form renders it."""
        return _hidden(self.get("/logout-form").text, CSRF_FIELD)

    def _page(self, response: Any) -> Page:
        text = response.get_data(as_text=True) if self.framework == "flask" else response.text
        return Page(response.status_code, text, response.headers)


def _hidden(body: str, name: str) -> str:
    found = re.search(f'name="{name}" value="([^"]*)"', body)
    assert found is not None, name
    return found.group(1)


def _admin_pages(accounts: MemoryAccountStore, events: list[AdminEvent], **options: Any) -> Any:
    def can_administer(request: Any, account_id: str) -> bool:
        user = (
            flask_session.get("user")
            if isinstance(request, flask_adapter.FlaskRequest)
            else request.session.get("user")
        )
        return ADMINS.get(user) == account_id

    return AdminPages(
        accounts=accounts,
        can_administer=can_administer,
        new_account=_new_account,
        audit=events.append,
        clock=FixedClock(NOW),
        **options,
    )


def _flask_site(idp: TestIdP, **admin_options: Any) -> AdminSite:
    options = _service_options(idp)
    accounts: MemoryAccountStore = options["accounts"]
    accounts.delete("acme")  # the administrator sets it up
    store = MemorySessionStore(clock=lambda: NOW)
    service = LoginService(**options, sessions=_NoSessions(), session_revoker=store)
    app = Flask(__name__)
    app.session_interface = flask_adapter.ServerSessionInterface(store)
    site = AdminSite("flask", app.test_client(), accounts, store, users=options["users"])
    sso = flask_adapter.SamlSso(
        service,
        app=app,
        admin=_admin_pages(accounts, site.events, service=service, **admin_options),
        admin_id=lambda request: str(flask_session.get("user", "")),
    )

    def sign_in(user: str) -> str:
        flask_session["user"] = user
        return ""

    app.add_url_rule("/sign-in/<user>", "sign_in", sign_in)
    app.add_url_rule("/logout-form", "logout_form", sso.logout_form)
    return site


def _starlette_site(idp: TestIdP, admin_templates: Any = None, **admin_options: Any) -> AdminSite:
    async def sign_in(request: Request) -> PlainTextResponse:
        request.session["user"] = request.path_params["user"]
        return PlainTextResponse("")

    async def logout_form(request: Request) -> PlainTextResponse:
        return PlainTextResponse(sso.logout_form(request))

    options = _service_options(idp)
    accounts: MemoryAccountStore = options["accounts"]
    accounts.delete("acme")
    users = options["users"]
    options["users"] = in_thread(users)
    store = MemorySessionStore(clock=lambda: NOW)
    service = AsyncLoginService(**options, sessions=_NoSessions(), session_revoker=store)
    app = Starlette(
        routes=[Route("/sign-in/{user}", sign_in), Route("/logout-form", logout_form)],
        middleware=[Middleware(starlette_adapter.ServerSessionMiddleware, store=store)],
    )
    site = AdminSite("starlette", TestClient(app), accounts, store, users=users)
    sso = starlette_adapter.SamlSso(
        service,
        app=app,
        admin=_admin_pages(
            accounts, site.events, service=starlette_adapter.blocking(service), **admin_options
        ),
        admin_id=lambda request: str(request.session.get("user", "")),
        admin_templates=admin_templates,
    )
    return site


def _serve(made: AdminSite) -> Iterator[AdminSite]:
    if made.framework == "starlette":
        with made.client:
            yield made
    else:
        yield made


@pytest.fixture(params=["flask", "starlette"])
def site(request: pytest.FixtureRequest, test_idp: TestIdP) -> Iterator[AdminSite]:
    make = _flask_site if request.param == "flask" else _starlette_site
    yield from _serve(make(test_idp))


@pytest.fixture
def connected(site: AdminSite, test_idp: TestIdP) -> AdminSite:
    """The site with ``acme``'s IdP already saved and Ada, its administrator, signed in."""
    site.accounts.save(
        AccountConfig(
            account_id="acme",
            idp_metadata=test_idp.metadata_xml,
            sp=sp_config(BASE, "acme"),
            mapping=ClaimMapping(accepted_roles=("admin", "developer")),
        )
    )
    site.sign_in("ada")
    return site


# --- mounting --------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", [flask_adapter, starlette_adapter])
def test_the_admin_pages_cannot_be_mounted_without_saying_who_acts(
    adapter: Any, test_idp: TestIdP
) -> None:
    pages = _admin_pages(MemoryAccountStore(), [])
    with pytest.raises(ConfigError) as caught:
        adapter.SamlSso(object(), admin=pages)
    assert caught.value.code == "configuration_invalid"


@pytest.mark.parametrize("framework", ["flask", "starlette"])
def test_without_admin_pages_nothing_is_mounted_under_admin(
    framework: str, test_idp: TestIdP
) -> None:
    options = _service_options(test_idp)
    if framework == "flask":
        app = Flask(__name__)
        flask_adapter.SamlSso(LoginService(**options, sessions=_NoSessions()), app=app)
        assert app.test_client().get("/sso/admin/acme/").status_code == 404
    else:
        starlette = Starlette()
        options["users"] = in_thread(options["users"])
        service = AsyncLoginService(**options, sessions=_NoSessions())
        starlette_adapter.SamlSso(service, app=starlette)
        with TestClient(starlette) as client:
            assert client.get("/sso/admin/acme/").status_code == 404


# --- authorization ---------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["eve", "bob"], ids=["no-admin", "other-accounts-admin"])
@pytest.mark.parametrize(("method", "path", "form"), EVERY_ROUTE)
def test_anyone_but_the_accounts_administrator_gets_403_and_changes_nothing(
    connected: AdminSite, user: str, method: str, path: str, form: dict[str, str]
) -> None:
    before = connected.accounts.get("acme")
    connected.sign_in(user)
    url = f"/sso/admin/acme/{path}"
    if method == "GET":
        page = connected.get(url)
    else:
        page = connected.post(url, {**form, CSRF_FIELD: connected.token()})
    assert page.status == 403
    assert connected.accounts.get("acme") == before
    assert connected.events == []


def test_an_anonymous_visitor_gets_403_and_no_session(site: AdminSite) -> None:
    assert site.get("/sso/admin/acme/").status == 403
    assert site.sessions.count() == 0


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged"], ids=["no-token", "wrong-token"])
@pytest.mark.parametrize(("method", "path", "form"), POSTS)
def test_a_post_without_the_sessions_token_is_403_and_changes_nothing(
    connected: AdminSite, token: str | None, method: str, path: str, form: dict[str, str]
) -> None:
    before = connected.accounts.get("acme")
    connected.token()  # the session has one; the forged form does not carry it
    data = dict(form) if token is None else {**form, CSRF_FIELD: token}
    page = connected.post(f"/sso/admin/acme/{path}", data)
    assert page.status == 403
    assert connected.accounts.get("acme") == before
    assert connected.events == []


def test_every_admin_form_carries_the_sessions_token(connected: AdminSite) -> None:
    token = connected.token()
    for path in ("connect", "mapping", "disable"):
        text = connected.get(f"/sso/admin/acme/{path}").text
        assert _hidden(text, CSRF_FIELD) == token, path


# --- Test connection ----------------------------------------------------------------------------


def test_test_connection_goes_through_the_idp_and_the_acs_to_a_dry_run_result(
    connected: AdminSite, test_idp: TestIdP
) -> None:
    config = connected.accounts.get("acme")
    assert config is not None
    connected.accounts.save(
        dataclasses.replace(config, policy=ProvisioningPolicy(create_users="always"))
    )
    started = connected.post("/sso/admin/acme/test", {CSRF_FIELD: connected.token()})
    assert started.status == 303
    location = started.headers["Location"]
    assert location.startswith(test_idp.sso_url + "?SAMLRequest=")
    issued = test_idp.issue_response(
        sp_entity_id=config.sp.entity_id,
        acs_url=config.sp.acs_url,
        now=NOW,
        in_response_to=redirect_message(location).get("ID"),
        name_id="grace@acme.test",
        attributes={"role": ["developer"]},
    )
    # The IdP's POST to the ACS: posted on, from this site, to the admin pages.
    relay = connected.post("/sso/acme/acs", {"SAMLResponse": issued.form_value})
    assert relay.status == 200
    assert '<form method="post" action="/sso/admin/acme/test/result">' in relay.text
    assert _hidden(relay.text, "SAMLResponse") == issued.form_value
    # ... where the administrator's session comes with it; no CSRF token needed.
    result = connected.post("/sso/admin/acme/test/result", {"SAMLResponse": issued.form_value})
    assert result.status == 200
    assert 'id="test-action" data-action="create"' in result.text
    assert '<code id="test-name-id">grace@acme.test</code>' in result.text
    assert connected.users.get_by_email("grace@acme.test") is None
    assert connected.sessions.count() == 1  # the administrator's own; nobody signed in


def test_without_admin_pages_a_test_response_at_the_acs_is_a_plain_refusal(
    test_idp: TestIdP,
) -> None:
    options = _service_options(test_idp)
    service = LoginService(**options, sessions=_NoSessions())
    app = Flask(__name__)
    flask_adapter.SamlSso(service, app=app)
    started = service.begin_test_login("acme", admin_id="ada")
    assert started.url is not None
    config = options["accounts"].get("acme")
    issued = test_idp.issue_response(
        sp_entity_id=config.sp.entity_id,
        acs_url=config.sp.acs_url,
        now=NOW,
        in_response_to=started.message_id,
        name_id="grace@acme.test",
        attributes={"role": ["developer"]},
    )
    response = app.test_client().post("/sso/acme/acs", data={"SAMLResponse": issued.form_value})
    assert response.status_code == 403
    assert "test/result" not in response.get_data(as_text=True)


# --- the story ----------------------------------------------------------------------------------


def test_pasted_metadata_is_previewed_unsaved_then_saved_on_confirmation(
    site: AdminSite, test_idp: TestIdP
) -> None:
    site.sign_in("ada")
    token = site.token()
    preview = site.post(
        "/sso/admin/acme/connect",
        {"metadata": test_idp.metadata_xml.decode(), CSRF_FIELD: token},
    )
    assert preview.status == 200
    assert test_idp.entity_id in preview.text
    assert site.accounts.get("acme") is None
    confirm = {
        name: _hidden(preview.text, name)
        for name in ("metadata_b64", "metadata_url", "entity_id", CSRF_FIELD)
    }
    assert site.post("/sso/admin/acme/connect/confirm", confirm).status == 200
    saved = site.accounts.get("acme")
    assert saved is not None
    assert saved.idp_metadata == test_idp.metadata_xml
    assert [(e.name, e.admin_id) for e in site.events] == [("idp_connected", "ada")]
    status = site.get("/sso/admin/acme/")
    assert status.status == 200
    assert test_idp.entity_id in status.text


def test_an_uploaded_metadata_file_is_previewed(site: AdminSite, test_idp: TestIdP) -> None:
    site.sign_in("ada")
    preview = site.post(
        "/sso/admin/acme/connect",
        {CSRF_FIELD: site.token()},
        files={"metadata_file": test_idp.metadata_xml},
    )
    assert preview.status == 200
    assert test_idp.entity_id in preview.text
    assert site.accounts.get("acme") is None


def test_disabling_asks_for_confirmation_then_deletes(connected: AdminSite) -> None:
    ask = connected.get("/sso/admin/acme/disable")
    assert ask.status == 200
    assert 'name="confirm"' in ask.text
    assert connected.accounts.get("acme") is not None
    token = connected.token()
    done = connected.post("/sso/admin/acme/disable", {"confirm": "yes", CSRF_FIELD: token})
    assert done.status == 200
    assert connected.accounts.get("acme") is None
    assert [e.name for e in connected.events] == ["sso_disabled"]


def test_the_guided_setup_shows_the_accounts_acs_url(site: AdminSite) -> None:
    site.sign_in("ada")
    page = site.get("/sso/admin/acme/setup/okta")
    assert page.status == 200
    assert f"{BASE}/sso/acme/acs" in page.text


def test_the_pages_link_under_the_mounted_root(site: AdminSite) -> None:
    site.sign_in("ada")
    assert 'href="/sso/admin/acme/setup"' in site.get("/sso/admin/acme/").text


def test_the_admin_responses_keep_the_pages_headers(site: AdminSite) -> None:
    site.sign_in("ada")
    page = site.get("/sso/admin/acme/sp-metadata.xml")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("application/samlmetadata+xml")
    assert page.headers["X-Frame-Options"] == "DENY"


def test_a_saved_accounts_sp_metadata_comes_from_the_login_service(
    connected: AdminSite,
) -> None:
    """With the service's hooks (through ``from_thread`` for the async service), the SP
    metadata carries the SP's certificate, as the service serves it."""
    page = connected.get("/sso/admin/acme/sp-metadata.xml")
    assert page.status == 200
    assert "X509Certificate" in page.text


def test_the_status_of_a_metadata_url_shows_its_refresh(connected: AdminSite) -> None:
    config = connected.accounts.get("acme")
    assert config is not None
    url = "https://idp.example.test/metadata.xml"
    connected.accounts.save(dataclasses.replace(config, idp_metadata_url=url))
    page = connected.get("/sso/admin/acme/")
    assert page.status == 200
    assert f"Fetched from {url}" in page.text


# --- limits and threads -----------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["flask", "starlette"])
def test_an_upload_over_the_body_limit_is_refused_unread_and_saves_nothing(
    framework: str, test_idp: TestIdP
) -> None:
    make = _flask_site if framework == "flask" else _starlette_site
    for site in _serve(make(test_idp, max_metadata_bytes=1024)):
        site.sign_in("ada")
        limit = 3 * 1024 + 64 * 1024
        page = site.post(
            "/sso/admin/acme/connect",
            {CSRF_FIELD: site.token()},
            files={"metadata_file": b"<" + b"x" * limit + b"/>"},
        )
        assert page.status == 413
        assert site.accounts.get("acme") is None


def test_the_starlette_admin_pages_run_on_a_worker_thread(test_idp: TestIdP) -> None:
    """The pages and the app's hooks are synchronous: they must not block the event loop."""
    seen: list[bool] = []

    def on_the_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def can_administer(request: Any, account_id: str) -> bool:
        seen.append(on_the_loop())
        return True

    made = _starlette_site(test_idp)
    made.client.app.router.routes.clear()
    options = _service_options(test_idp)
    options["users"] = in_thread(options["users"])
    service = AsyncLoginService(**options, sessions=_NoSessions())
    pages = AdminPages(
        accounts=made.accounts, can_administer=can_administer, new_account=_new_account
    )

    def admin_id(request: Any) -> str:
        seen.append(on_the_loop())
        return "ada"

    starlette_adapter.SamlSso(service, app=made.client.app, admin=pages, admin_id=admin_id)
    with made.client:
        assert made.get("/sso/admin/acme/setup").status == 200
    assert seen == [False, False]


def test_flask_wtf_csrf_protection_leaves_the_admin_pages_to_the_sessions_token(
    test_idp: TestIdP,
) -> None:
    """Flask-WTF's CSRFProtect lets an admin POST through to the pages, whose own checks
    answer (here: nobody signed in, 403), not Flask-WTF's missing-token 400."""
    app = Flask(__name__)
    app.secret_key = "tests-only"
    CSRFProtect(app)
    service = LoginService(**_service_options(test_idp), sessions=_NoSessions())
    pages = _admin_pages(MemoryAccountStore(), [])
    flask_adapter.SamlSso(service, admin=pages, admin_id=lambda request: "").init_app(app)
    response = app.test_client().post("/sso/admin/acme/connect", data={"metadata": "<x/>"})
    assert response.status_code == 403
    assert b"You may not administer single sign-on for this account." in response.data


def test_an_unreadable_multipart_body_gives_no_fields_so_is_refused(test_idp: TestIdP) -> None:
    """Starlette's parser refuses a part without a name; the POST then carries no token."""
    for site in _serve(_starlette_site(test_idp)):
        site.sign_in("ada")
        token = site.token()
        body = (
            f'--b\r\nContent-Disposition: form-data; name="{CSRF_FIELD}"\r\n\r\n{token}\r\n'
            "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
        )
        response = site.client.post(
            "/sso/admin/acme/connect",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert response.status_code == 403
        assert site.events == []
