"""The app's own base layout around the admin pages, in Flask and Starlette (FastAPI): each
page is rendered in the app's Jinja template ``samljit/admin/layout.html`` when it has one
(Flask: the app's templates folder; Starlette: ``SamlSso(admin_templates=...)``), with the
framework's template context, and in the built-in layout otherwise. Django's side is in
tests/django_app/test_admin_layout.py; the pages themselves in test_admin_core.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.templating import Jinja2Templates
from starlette.testclient import TestClient

from samljit import AccountConfig, ClaimMapping, ProvisioningPolicy
from samljit.errors import ConfigError
from samljit.integrations import _jinja
from samljit.integrations import fastapi as starlette_adapter
from samljit.integrations import flask as flask_adapter
from samljit.integrations._web import CSRF_FIELD, sp_config
from samljit.integrations.admin import (
    STYLESHEET,
    AdminPages,
    PageParts,
    StatusView,
    Templates,
    WebResponse,
    esc,
)
from samljit.integrations.sessions import MemorySessionStore
from samljit.stores.memory import MemoryAccountStore
from samljit.testing import TestIdP

from .conftest import NOW
from .sp_flows import redirect_message
from .test_integrations_admin import _flask_site, _hidden, _serve, _starlette_site

BASE = "http://testserver"
HOSTILE = "<script>alert(1)</script>"

APP_LAYOUT = """<!doctype html><html><head><title>Acme | {{ title }}</title></head><body>
<nav id="app-nav">{% for href, label in nav %}<a href="{{ href }}">{{ label }}</a>{% endfor %}</nav>
<p id="account">{{ account_id }}</p><p id="who">{{ who }}</p>
<main id="app-main"><h1>{{ title }}</h1>{{ body }}</main><script>{{ script }}</script>
</body></html>"""
"""An app's layout: its own title, nav and header, the page's body, the copy script, no CSS,
and a variable of the app's own template context (``who``)."""


def _new_account(account_id: str) -> AccountConfig:
    return AccountConfig(
        account_id=account_id,
        idp_metadata=b"",
        sp=sp_config(BASE, account_id),
        mapping=ClaimMapping(accepted_roles=("admin",)),
    )


def _pages(accounts: MemoryAccountStore | None = None, **options: Any) -> AdminPages:
    return AdminPages(
        accounts=accounts or MemoryAccountStore(),
        can_administer=lambda request, account_id: account_id != "globex",
        new_account=_new_account,
        **options,
    )


@dataclass
class Page:
    status: int
    text: str
    headers: Any


def _flask(layout: Path | None, pages: AdminPages) -> Callable[[str], Page]:
    app = Flask(__name__, template_folder=str(layout) if layout else None)
    app.secret_key = "tests-only"
    app.context_processor(lambda: {"who": "acme-app"})
    flask_adapter.SamlSso(object(), app=app, admin=pages, admin_id=lambda request: "ada")
    client = app.test_client()

    def get(path: str) -> Page:
        response = client.get(path)
        return Page(response.status_code, response.get_data(as_text=True), response.headers)

    return get


def _starlette(layout: Path | None, pages: AdminPages) -> Callable[[str], Page]:
    store = MemorySessionStore()
    app = Starlette(middleware=[Middleware(starlette_adapter.ServerSessionMiddleware, store=store)])
    templates = (
        Jinja2Templates(directory=layout, context_processors=[lambda request: {"who": "acme-app"}])
        if layout
        else None
    )
    starlette_adapter.SamlSso(
        object(),
        app=app,
        admin=pages,
        admin_id=lambda request: "ada",
        admin_templates=templates,
    )
    client = TestClient(app)

    def get(path: str) -> Page:
        response = client.get(path)
        return Page(response.status_code, response.text, response.headers)

    return get


Site = Callable[[Path | None, AdminPages], Callable[[str], Page]]


@pytest.fixture(params=["flask", "starlette"])
def site(request: pytest.FixtureRequest) -> Site:
    """A host app of each framework with the admin pages mounted: ``site(templates, pages)``
    gives its ``get``."""
    return _flask if request.param == "flask" else _starlette


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """The app's templates folder, with its ``samljit/admin/layout.html``."""
    (tmp_path / "samljit" / "admin").mkdir(parents=True)
    (tmp_path / "samljit" / "admin" / "layout.html").write_text(APP_LAYOUT)
    return tmp_path


# --- the app's layout ------------------------------------------------------------------------


def test_each_page_is_rendered_in_the_apps_layout_with_its_template_context(
    site: Site, templates: Path
) -> None:
    page = site(templates, _pages())("/sso/admin/acme/")
    assert page.status == 200
    assert "<title>Acme | Single sign-on</title>" in page.text
    assert '<main id="app-main"><h1>Single sign-on</h1><section><p>Single sign-on is' in page.text
    assert '<a href="/sso/admin/acme/connect">Connect IdP</a>' in page.text
    assert '<p id="account">acme</p><p id="who">acme-app</p>' in page.text
    assert '<header class="admin">' not in page.text  # the built-in layout is gone
    assert "<style>" not in page.text  # and its stylesheet, which this layout leaves out


def test_the_layout_gets_the_copy_script_unescaped(site: Site, templates: Path) -> None:
    page = site(templates, _pages())("/sso/admin/acme/setup/okta")
    assert "document.querySelectorAll('[data-copy]')" in page.text
    assert 'data-copy="field-0"' in page.text


def test_the_pages_status_and_headers_are_kept_in_the_apps_layout(
    site: Site, templates: Path
) -> None:
    page = site(templates, _pages())("/sso/admin/globex/")
    assert page.status == 403
    assert "<title>Acme | Not allowed</title>" in page.text
    assert '<nav id="app-nav"></nav>' in page.text  # no links for who may not see them
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"


def test_a_download_is_not_put_in_the_layout(site: Site, templates: Path) -> None:
    page = site(templates, _pages())("/sso/admin/acme/sp-metadata.xml")
    assert page.headers["Content-Type"].startswith("application/samlmetadata+xml")
    assert "app-main" not in page.text


def test_without_the_template_the_built_in_layout_is_used(site: Site, tmp_path: Path) -> None:
    for layout in (None, tmp_path):  # no templates at all; templates without the layout
        page = site(layout, _pages())("/sso/admin/acme/")
        assert page.status == 200
        assert page.text.startswith('<!doctype html><html lang="en">')
        assert f"<style>{STYLESHEET}</style>" in page.text
        assert '<header class="admin"><nav aria-label="SSO administration">' in page.text


# --- escaping --------------------------------------------------------------------------------


def test_a_hostile_entity_id_stays_escaped_once_in_the_apps_layout(
    site: Site, templates: Path
) -> None:
    accounts = MemoryAccountStore()
    config = _new_account("acme")
    accounts.save(
        AccountConfig(
            account_id="acme",
            idp_metadata=TestIdP(entity_id=f"https://idp.test/{HOSTILE}").metadata_xml,
            sp=config.sp,
            mapping=config.mapping,
        )
    )
    page = site(templates, _pages(accounts))("/sso/admin/acme/")
    assert HOSTILE not in page.text
    assert "https://idp.test/&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&amp;lt;" not in page.text  # the body is not escaped twice


def test_a_hostile_account_id_in_the_url_stays_escaped_in_the_apps_layout(
    site: Site, templates: Path
) -> None:
    page = site(templates, _pages())("/sso/admin/%22%3E%3Cb%20onclick=alert(1)%3E/")
    assert page.status == 200
    assert "<b onclick" not in page.text  # in the account ID, and in the nav's links
    assert "&gt;&lt;b onclick=alert(1)&gt;</p>" in page.text


def test_a_hostile_title_stays_escaped_in_flasks_layout(templates: Path) -> None:
    app = Flask(__name__, template_folder=str(templates))
    app.context_processor(lambda: {"who": "acme-app"})
    response = WebResponse(page=PageParts(title=HOSTILE, body="<p>ok</p>"))
    with app.test_request_context("/sso/admin/acme/"):
        text = flask_adapter._in_layout(response, "acme").body.decode()
    assert HOSTILE not in text
    assert "<title>Acme | &lt;script&gt;alert(1)&lt;/script&gt;</title>" in text
    assert "<p>ok</p>" in text


def test_a_hostile_title_stays_escaped_in_starlettes_layout(templates: Path) -> None:
    jinja = Jinja2Templates(directory=templates)
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    response = WebResponse(page=PageParts(title=HOSTILE, body="<p>ok</p>"))
    text = _jinja.starlette_layout(jinja, request, response, "acme").body.decode()
    assert HOSTILE not in text
    assert "<title>Acme | &lt;script&gt;alert(1)&lt;/script&gt;</title>" in text
    assert "<p>ok</p>" in text


def test_a_jinja_environment_that_would_not_escape_the_layout_is_refused() -> None:
    loader = jinja2.DictLoader({"samljit/admin/layout.html": APP_LAYOUT})
    unsafe = Jinja2Templates(env=jinja2.Environment(loader=loader))  # noqa: S701 - the point
    app = Starlette(
        middleware=[
            Middleware(starlette_adapter.ServerSessionMiddleware, store=MemorySessionStore())
        ]
    )
    starlette_adapter.SamlSso(
        object(),
        app=app,
        admin=_pages(),
        admin_id=lambda request: "ada",
        admin_templates=unsafe,
    )
    with pytest.raises(ConfigError) as caught:
        TestClient(app).get("/sso/admin/acme/")
    assert caught.value.code == "configuration_invalid"


# --- Templates and the layout ----------------------------------------------------------------


class BrandedStatus(Templates):
    """An app's fragment: its own status page."""

    def status(self, view: StatusView) -> str:
        return f'<p id="branded">SSO for {esc(view.account_id)}</p>'


class OwnLayout(Templates):
    """An app's layout written as a Templates override."""

    def layout(self, title: str, body: str, *, base: str | None) -> str:
        return f'<div id="own-layout">{esc(title)}{body}</div>'


def test_a_templates_fragment_is_rendered_in_the_apps_layout(site: Site, templates: Path) -> None:
    page = site(templates, _pages(templates=BrandedStatus()))("/sso/admin/acme/")
    assert (
        '<main id="app-main"><h1>Single sign-on</h1><p id="branded">SSO for acme</p>' in page.text
    )


def test_a_templates_layout_override_wins_over_the_apps_layout_template(
    site: Site, templates: Path
) -> None:
    page = site(templates, _pages(templates=OwnLayout()))("/sso/admin/acme/")
    assert page.text.startswith('<div id="own-layout">Single sign-on<section>')
    assert "app-main" not in page.text


def test_the_parts_are_what_the_built_in_layout_wraps() -> None:
    parts = Templates().parts("Claim mapping", "<p>x</p>", base="/sso/admin/acme/")
    assert parts is not None
    assert (parts.title, parts.body, parts.stylesheet) == ("Claim mapping", "<p>x</p>", STYLESHEET)
    assert parts.nav[0] == ("/sso/admin/acme/", "Status")
    assert ("/sso/admin/acme/mapping", "Claim mapping") in parts.nav
    assert "navigator.clipboard" in parts.script
    assert Templates().parts("Not allowed", "", base=None) is not None
    assert Templates().nav(None) == []
    assert OwnLayout().parts("Claim mapping", "", base="/sso/admin/acme/") is None


def test_a_templates_stylesheet_reaches_both_layouts() -> None:
    class Purple(Templates):
        stylesheet = STYLESHEET + "header.admin{background:#5b21b6}"

    parts = Purple().parts("Status", "", base="/a/")
    assert parts is not None
    assert parts.stylesheet.endswith("header.admin{background:#5b21b6}")
    assert "header.admin{background:#5b21b6}</style>" in Purple().layout("Status", "", base="/a/")


@pytest.mark.parametrize("framework", ["flask", "starlette"])
def test_test_connection_and_its_result_are_rendered_in_the_apps_layout(
    framework: str, test_idp: TestIdP, templates: Path
) -> None:
    if framework == "flask":
        made = _flask_site(test_idp)
        made.client.application.template_folder = str(templates)
    else:
        made = _starlette_site(test_idp, admin_templates=Jinja2Templates(directory=templates))
    for site in _serve(made):
        config = dataclasses.replace(
            _new_account("acme"),
            idp_metadata=test_idp.metadata_xml,
            policy=ProvisioningPolicy(create_users="always"),
        )
        site.accounts.save(config)
        site.sign_in("ada")
        status = site.get("/sso/admin/acme/")
        assert '<main id="app-main"><h1>Single sign-on</h1>' in status.text
        assert 'id="test-connection"' in status.text
        started = site.post("/sso/admin/acme/test", {CSRF_FIELD: _hidden(status.text, CSRF_FIELD)})
        issued = test_idp.issue_response(
            sp_entity_id=config.sp.entity_id,
            acs_url=config.sp.acs_url,
            now=NOW,
            in_response_to=redirect_message(started.headers["Location"]).get("ID"),
            name_id="grace@acme.test",
            attributes={"role": ["admin"]},
        )
        result = site.post("/sso/admin/acme/test/result", {"SAMLResponse": issued.form_value})
        assert result.status == 200
        assert "<title>Acme | Test connection result</title>" in result.text
        assert '<main id="app-main"><h1>Test connection result</h1>' in result.text
        assert 'id="test-action" data-action="create"' in result.text
