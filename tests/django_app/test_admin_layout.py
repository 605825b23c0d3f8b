"""The project's own base layout around the admin pages in Django: each page is rendered in
the template ``samljit/admin/layout.html`` through Django's template loaders, with the
request's context processors. The app ships that template (the built-in layout, found by
``APP_DIRS``); a project's template of the same name replaces or extends it; a project
without template engines gets the built-in layout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.test.utils import override_settings

import samljit
from samljit.integrations.admin import (
    STYLESHEET,
    AdminPages,
    PageParts,
    Templates,
    WebResponse,
    esc,
)
from samljit.integrations.django import DjangoAccountStore, admin_pages, sp_config
from samljit.integrations.django.admin_views import _in_layout
from samljit.testing import TestIdP

from .conftest import BASE, MAPPING, Site

HOSTILE = "<script>alert(1)</script>"
PROJECT_LAYOUT = """<!doctype html><title>Acme | {{ title }}</title>
<nav id="app-nav">{% for href, label in nav %}<a href="{{ href }}">{{ label }}</a>{% endfor %}</nav>
<p id="account">{{ account_id }}</p><p id="who">{{ user.get_username }}</p>
<main id="app-main"><h1>{{ title }}</h1>{{ body }}</main>"""
"""A project's layout: its own title and nav, the signed-in user from the auth context
processor, the page's body, no CSS."""

EXTENDING_LAYOUT = """{% extends "samljit/admin/layout.html" %}
{% block header %}<header id="acme-header">Acme</header>{% endblock %}"""
"""A project's layout that keeps the shipped one and replaces only its header."""


def _engine(dirs: list[Path]) -> list[dict[str, Any]]:
    return [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(d) for d in dirs],
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth"]},
        }
    ]


def _project_templates(tmp_path: Path, layout: str) -> Path:
    (tmp_path / "samljit" / "admin").mkdir(parents=True)
    (tmp_path / "samljit" / "admin" / "layout.html").write_text(layout)
    return tmp_path


def _new_account(account_id: str) -> samljit.AccountConfig:
    return samljit.AccountConfig(
        account_id=account_id, idp_metadata=b"", sp=sp_config(BASE, account_id), mapping=MAPPING
    )


def _pages(**options: Any) -> AdminPages:
    def can_administer(request: HttpRequest, account_id: str) -> bool:
        return bool(request.user.is_authenticated and account_id != "globex")

    return admin_pages(can_administer=can_administer, new_account=_new_account, **options)


@pytest.fixture
def pages(site: Site) -> Iterator[AdminPages]:
    made = _pages()
    with override_settings(SAMLJIT_ADMIN=made):
        yield made


@pytest.fixture
def ada() -> Client:
    client = Client()
    client.force_login(User.objects.get_or_create(username="ada")[0])
    return client


def _flat(document: str) -> str:
    return re.sub(r">\s+<", "><", document).strip()


def test_without_template_engines_the_built_in_layout_is_used(
    pages: AdminPages, ada: Client
) -> None:
    text = ada.get("/sso/admin/acme/").content.decode()
    assert text.startswith('<!doctype html><html lang="en">')
    assert '<header class="admin">' in text


def test_the_shipped_template_is_the_built_in_layout(pages: AdminPages, ada: Client) -> None:
    built_in = ada.get("/sso/admin/acme/setup").content.decode()
    with override_settings(TEMPLATES=_engine([])):
        templated = ada.get("/sso/admin/acme/setup").content.decode()
    assert _flat(templated) == _flat(built_in)
    assert f"<style>{STYLESHEET}</style>" in templated


def test_the_projects_template_replaces_the_shipped_one(
    pages: AdminPages, ada: Client, tmp_path: Path
) -> None:
    with override_settings(TEMPLATES=_engine([_project_templates(tmp_path, PROJECT_LAYOUT)])):
        response = ada.get("/sso/admin/acme/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "<title>Acme | Single sign-on</title>" in text
    assert '<main id="app-main"><h1>Single sign-on</h1><section><p>Single sign-on is' in text
    assert '<a href="/sso/admin/acme/mapping">Claim mapping</a>' in text
    assert '<p id="account">acme</p><p id="who">ada</p>' in text
    assert '<header class="admin">' not in text
    assert "<style>" not in text
    assert response["X-Frame-Options"] == "DENY"


def test_the_projects_template_may_extend_the_shipped_one(
    pages: AdminPages, ada: Client, tmp_path: Path
) -> None:
    with override_settings(TEMPLATES=_engine([_project_templates(tmp_path, EXTENDING_LAYOUT)])):
        text = ada.get("/sso/admin/acme/").content.decode()
    assert '<header id="acme-header">Acme</header>' in text
    assert '<header class="admin">' not in text
    assert f"<style>{STYLESHEET}</style>" in text
    assert "<h1>Single sign-on</h1><section><p>Single sign-on is" in text


def test_a_refusal_keeps_its_status_in_the_projects_template(
    pages: AdminPages, ada: Client, tmp_path: Path
) -> None:
    with override_settings(TEMPLATES=_engine([_project_templates(tmp_path, PROJECT_LAYOUT)])):
        response = ada.get("/sso/admin/globex/")
    assert response.status_code == 403
    assert '<nav id="app-nav"></nav>' in response.content.decode()


def test_a_download_is_not_put_in_the_layout(pages: AdminPages, ada: Client) -> None:
    with override_settings(TEMPLATES=_engine([])):
        response = ada.get("/sso/admin/acme/sp-metadata.xml")
    assert response["Content-Type"].startswith("application/samlmetadata+xml")
    assert b"<html" not in response.content


def test_a_templates_layout_override_wins_over_the_shipped_template(
    site: Site, ada: Client
) -> None:
    class OwnLayout(Templates):
        def layout(self, title: str, body: str, *, base: str | None) -> str:
            return f'<div id="own-layout">{esc(title)}{body}</div>'

    with override_settings(SAMLJIT_ADMIN=_pages(templates=OwnLayout()), TEMPLATES=_engine([])):
        text = ada.get("/sso/admin/acme/").content.decode()
    assert text.startswith('<div id="own-layout">Single sign-on<section>')


# --- escaping --------------------------------------------------------------------------------


def test_a_hostile_entity_id_stays_escaped_once_in_the_projects_template(
    pages: AdminPages, ada: Client, tmp_path: Path
) -> None:
    idp = TestIdP(entity_id=f"https://idp.test/{HOSTILE}")
    DjangoAccountStore().save(
        samljit.AccountConfig(
            account_id="acme",
            idp_metadata=idp.metadata_xml,
            sp=sp_config(BASE, "acme"),
            mapping=MAPPING,
        )
    )
    with override_settings(TEMPLATES=_engine([_project_templates(tmp_path, PROJECT_LAYOUT)])):
        text = ada.get("/sso/admin/acme/").content.decode()
    assert HOSTILE not in text
    assert "https://idp.test/&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&amp;lt;" not in text


def test_a_hostile_account_id_stays_escaped_in_the_projects_template(
    pages: AdminPages, ada: Client, tmp_path: Path
) -> None:
    with override_settings(TEMPLATES=_engine([_project_templates(tmp_path, PROJECT_LAYOUT)])):
        response = ada.get("/sso/admin/%22%3E%3Cb%20onclick=alert(1)%3E/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "<b onclick" not in text  # in the account ID, and in the nav's links
    assert "&gt;&lt;b onclick=alert(1)&gt;</p>" in text


def test_a_hostile_title_stays_escaped_in_the_shipped_template() -> None:
    request = RequestFactory().get("/sso/admin/acme/")
    response = WebResponse(page=PageParts(title=HOSTILE, body="<p>ok</p>"))
    with override_settings(TEMPLATES=_engine([])):
        text = _in_layout(request, response, "acme").body.decode()
    assert HOSTILE not in text
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in text
    assert "<p>ok</p>" in text
