"""The SCIM endpoint mounted by the Flask and Starlette (FastAPI) adapters: one suite, run
against each framework's test client. What the service answers is specified without a
framework elsewhere; here, what the adapters add: the routes beside /sso, the bearer token
and the query passed through, the body bound checked before reading, the base URL from the
request, no CSRF check, and (Starlette) the service off the event loop."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask import session as flask_session
from flask_wtf.csrf import CSRFProtect
from starlette.applications import Starlette
from starlette.testclient import TestClient

from samljit import AsyncLoginService, LoginService, in_thread
from samljit.directory import ScimTokens
from samljit.integrations import fastapi as starlette_adapter
from samljit.integrations import flask as flask_adapter
from samljit.integrations._web import CSRF_FIELD
from samljit.integrations.admin import AdminEvent
from samljit.integrations.sessions import MemorySessionStore
from samljit.scim import CONTENT_TYPE, ScimRequest, ScimResponse, ScimService
from samljit.stores.memory import MemoryDirectoryStore, MemoryScimTokenStore, MemoryUserStore
from samljit.testing import FixedClock, TestIdP

from .conftest import NOW
from .test_integrations import _NoSessions, _service_options
from .test_integrations_admin import _admin_pages, _hidden

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ADA = {"schemas": [USER], "userName": "ada@acme.example", "roles": [{"value": "developer"}]}
MAX_BODY = 4096


class SpyService(ScimService):
    """The service, noting each request it was handed and whether an event loop was
    running where it ran."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.requests: list[ScimRequest] = []
        self.on_event_loop: list[bool] = []

    def handle(self, request: ScimRequest) -> ScimResponse:
        self.requests.append(request)
        try:
            asyncio.get_running_loop()
            self.on_event_loop.append(True)
        except RuntimeError:
            self.on_event_loop.append(False)
        return super().handle(request)


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScimSite:
    """A host app of one framework with SSO and SCIM mounted; the service, its users and
    tokens; a client that speaks to it as an IdP does."""

    framework: str
    client: Any
    scim: SpyService
    users: MemoryUserStore
    tokens: ScimTokens
    root: str
    secrets: dict[str, str] = field(default_factory=dict)

    def token(self, account_id: str = "acme") -> str:
        if account_id not in self.secrets:
            self.secrets[account_id] = self.tokens.issue(account_id, label="IdP")[0]
        return self.secrets[account_id]

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        token: str | None = "acme",  # noqa: S107 - the account whose token is sent
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {self.token(token)}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", CONTENT_TYPE)
        if self.framework == "flask":
            response = self.client.open(path, method=method, headers=sent, data=body)
            return Answer(response.status_code, response.headers, response.get_data())
        response = self.client.request(method, path, headers=sent, content=body)
        return Answer(response.status_code, response.headers, response.content)


def _scim(options: dict[str, Any], users: MemoryUserStore, **extra: Any) -> SpyService:
    return SpyService(
        accounts=options["accounts"],
        directory=MemoryDirectoryStore(users),
        tokens=ScimTokens(MemoryScimTokenStore(), clock=FixedClock(NOW)),
        clock=FixedClock(NOW),
        max_body_bytes=MAX_BODY,
        **extra,
    )


def _flask_site(idp: TestIdP, **sso: Any) -> ScimSite:
    options = _service_options(idp)
    users: MemoryUserStore = options["users"]
    scim = _scim(options, users)
    app = Flask(__name__)
    app.secret_key = "tests-only"
    CSRFProtect(app)  # Flask-WTF checks every other POST, PUT, PATCH and DELETE
    service = LoginService(**options, sessions=_NoSessions())
    flask_adapter.SamlSso(service, app=app, scim=scim, **sso)
    return ScimSite("flask", app.test_client(), scim, users, scim.tokens, "http://localhost")


def _starlette_site(idp: TestIdP, **sso: Any) -> ScimSite:
    options = _service_options(idp)
    users: MemoryUserStore = options["users"]
    scim = _scim(options, users)
    options["users"] = in_thread(users)
    service = AsyncLoginService(**options, sessions=_NoSessions())
    app = Starlette()
    starlette_adapter.SamlSso(service, app=app, scim=scim, **sso)
    return ScimSite("starlette", TestClient(app), scim, users, scim.tokens, "http://testserver")


SITES = {"flask": _flask_site, "starlette": _starlette_site}


@pytest.fixture(params=sorted(SITES))
def site(request: pytest.FixtureRequest, test_idp: TestIdP) -> Iterator[ScimSite]:
    made = SITES[request.param](test_idp)
    if made.framework == "starlette":
        with made.client:
            yield made
    else:
        yield made


# --- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["ServiceProviderConfig", "ResourceTypes", "Schemas", "Users", "Groups"]
)
def test_each_endpoint_is_mounted_under_scim_v2_and_the_account(site: ScimSite, path: str) -> None:
    answer = site.call("GET", f"/scim/v2/acme/{path}")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith(CONTENT_TYPE)
    assert site.scim.requests[-1].path == path
    assert site.scim.requests[-1].account_id == "acme"


def test_the_account_root_is_routed_with_or_without_its_slash(site: ScimSite) -> None:
    """No redirect for an API client: the service answers (404, no endpoint there)."""
    for path in ("/scim/v2/acme", "/scim/v2/acme/"):
        answer = site.call("GET", path)
        assert answer.status == 404
        assert answer.json()["detail"].startswith("scim_not_found")
        assert site.scim.requests[-1].path == ""


@pytest.mark.parametrize("framework", sorted(SITES))
def test_scim_prefix_moves_the_endpoint(framework: str, test_idp: TestIdP) -> None:
    made = SITES[framework](test_idp, scim_prefix="/provisioning/")
    assert made.call("GET", "/provisioning/acme/Users").status == 200
    assert made.scim.requests[-1].base_url == f"{made.root}/provisioning/acme"
    assert made.call("GET", "/scim/v2/acme/Users").status == 404
    assert len(made.scim.requests) == 1


def test_the_sso_endpoints_stay_where_they_were(site: ScimSite) -> None:
    assert site.call("GET", "/sso/acme/metadata", token=None).status == 200


# --- authentication, size, pass-through --------------------------------------------------------


def test_a_request_without_a_bearer_token_is_refused_401(site: ScimSite) -> None:
    answer = site.call("GET", "/scim/v2/acme/Users", token=None)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="SCIM"'
    assert answer.json()["detail"].startswith("scim_unauthorized")


def test_the_token_of_another_account_is_refused_401(site: ScimSite) -> None:
    assert site.call("GET", "/scim/v2/acme/Users", token="globex").status == 401


def test_a_body_over_the_limit_is_refused_413_without_reaching_the_service(
    site: ScimSite,
) -> None:
    answer = site.call("POST", "/scim/v2/acme/Users", body=b"{" + b" " * MAX_BODY + b"}")
    assert answer.status == 413
    assert answer.json()["detail"].startswith("scim_too_large")
    assert site.scim.requests == []
    assert site.users.users_of("acme") == []


def test_a_streamed_body_without_a_length_is_cut_at_the_limit(site: ScimSite) -> None:
    """Chunked transfer: no Content-Length to check first, so the reading stops there."""
    chunks = [b" " * 1024] * 8
    headers = {"Authorization": f"Bearer {site.token()}", "Content-Type": CONTENT_TYPE}
    if site.framework == "flask":
        response = site.client.post(
            "/scim/v2/acme/Users",
            input_stream=io.BytesIO(b"".join(chunks)),
            headers=headers,
            environ_overrides={"wsgi.input_terminated": True},
        )
        status = response.status_code
    else:
        status = site.client.post(
            "/scim/v2/acme/Users", content=iter(chunks), headers=headers
        ).status_code
    assert status == 413
    assert site.scim.requests == []


def test_the_query_reaches_the_service_first_value_of_each(site: ScimSite) -> None:
    site.call("POST", "/scim/v2/acme/Users", json_body=ADA)
    answer = site.call(
        "GET",
        '/scim/v2/acme/Users?filter=userName eq "ada@acme.example"&count=5&count=9',
    )
    assert answer.status == 200
    assert answer.json()["totalResults"] == 1
    assert site.scim.requests[-1].query == {
        "filter": 'userName eq "ada@acme.example"',
        "count": "5",
    }


# --- a round trip -----------------------------------------------------------------------------


def test_a_created_user_is_read_back_at_its_location(site: ScimSite) -> None:
    created = site.call("POST", "/scim/v2/acme/Users", json_body=ADA)
    assert created.status == 201
    location = created.headers["Location"]
    user_id = created.json()["id"]
    assert location == f"{site.root}/scim/v2/acme/Users/{user_id}"
    assert created.json()["meta"]["location"] == location
    read = site.call("GET", location.removeprefix(site.root))
    assert read.status == 200
    assert read.json()["userName"] == "ada@acme.example"
    assert "active" not in read.json()  # never written by the IdP: unassigned, which is active
    # The same row SAML logins write.
    record = site.users.get_by_email("ada@acme.example")
    assert record is not None
    assert (record.user_id, record.role, record.active) == (user_id, "developer", True)


def test_patch_deactivates_and_delete_answers_204_without_a_body(site: ScimSite) -> None:
    user_id = site.call("POST", "/scim/v2/acme/Users", json_body=ADA).json()["id"]
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    patched = site.call("PATCH", f"/scim/v2/acme/Users/{user_id}", json_body=patch)
    assert patched.status == 200
    assert patched.json()["active"] is False
    record = site.users.get_by_email("ada@acme.example")
    assert record is not None
    assert record.active is False
    deleted = site.call("DELETE", f"/scim/v2/acme/Users/{user_id}")
    assert deleted.status == 204
    assert deleted.body == b""
    assert "Content-Type" not in deleted.headers


def test_a_method_the_endpoint_does_not_take_is_405_from_the_service(site: ScimSite) -> None:
    answer = site.call("DELETE", "/scim/v2/acme/Users")
    assert answer.status == 405
    assert answer.json()["detail"].startswith("scim_method_not_allowed")


# --- framework specifics ----------------------------------------------------------------------


def test_flask_wtf_lets_scim_requests_through_and_still_guards_the_rest(
    test_idp: TestIdP,
) -> None:
    """The SCIM blueprint is exempt (a bearer-token API); the logout form is not."""
    made = _flask_site(test_idp)
    assert made.call("POST", "/scim/v2/acme/Users", json_body=ADA).status == 201
    assert made.call("PUT", "/scim/v2/acme/Users/1", json_body=ADA).status == 200
    logout = made.client.post("/sso/logout", data={})
    assert logout.status_code == 400
    assert b"The CSRF token is missing." in logout.data


def test_starlette_runs_the_service_on_a_worker_thread(test_idp: TestIdP) -> None:
    made = _starlette_site(test_idp)
    with made.client:
        assert made.call("GET", "/scim/v2/acme/Users").status == 200
    assert made.scim.on_event_loop == [False]


def test_a_token_generated_on_the_admin_page_opens_the_scim_endpoint(test_idp: TestIdP) -> None:
    """Flask, with Flask-WTF installed: the administrator generates a token on the status
    page (the session's token as CSRF check) and the IdP provisions with it."""
    options = _service_options(test_idp)
    scim = _scim(options, options["users"])
    store = MemorySessionStore(clock=lambda: NOW)
    service = LoginService(**options, sessions=_NoSessions(), session_revoker=store)
    app = Flask(__name__)
    app.secret_key = "tests-only"
    CSRFProtect(app)
    app.session_interface = flask_adapter.ServerSessionInterface(store)
    events: list[AdminEvent] = []
    admin = _admin_pages(
        options["accounts"],
        events,
        scim_tokens=scim.tokens,
        scim_url=lambda account: f"http://localhost/scim/v2/{account}",
    )
    sso = flask_adapter.SamlSso(
        service,
        app=app,
        admin=admin,
        admin_id=lambda request: str(flask_session.get("user", "")),
        scim=scim,
    )

    def sign_in(user: str) -> str:
        flask_session["user"] = user
        return ""

    app.add_url_rule("/sign-in/<user>", "sign_in", sign_in)
    app.add_url_rule("/logout-form", "logout_form", sso.logout_form)
    client = app.test_client()
    client.get("/sign-in/ada")
    csrf = _hidden(client.get("/logout-form").get_data(as_text=True), CSRF_FIELD)
    status = client.get("/sso/admin/acme/").get_data(as_text=True)
    assert 'value="http://localhost/scim/v2/acme"' in status
    page = client.post("/sso/admin/acme/scim/tokens", data={CSRF_FIELD: csrf, "label": "Okta"})
    assert page.status_code == 200
    shown = re.search(r'id="scim-secret" value="([^"]+)"', page.get_data(as_text=True))
    assert shown is not None
    secret = shown.group(1)
    answer = client.get("/scim/v2/acme/Users", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    assert [(e.name, e.admin_id) for e in events] == [("scim_token_issued", "ada")]
    refused = client.post("/sso/admin/acme/scim/tokens", data={"label": "no token"})
    assert refused.status_code == 403
    assert len(scim.tokens.tokens_of("acme")) == 1
