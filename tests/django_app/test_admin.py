"""The account administrator's pages in Django (samljit.integrations.django.admin_views):
mounted only with SAMLJIT_ADMIN, the app's can_administer asked on every page and action,
Django's CSRF check on every POST, the body bounded, and the whole story from pasting the
IdP's metadata to disabling SSO, saved in DjangoAccountStore."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.test import Client
from django.test.utils import override_settings

import samljit
from samljit.integrations.admin import AdminEvent, AdminPages
from samljit.integrations.django import DjangoAccountStore, admin_pages, sp_config
from samljit.integrations.django.admin_views import get_admin_pages
from samljit.testing import TestIdP

from ..sp_flows import redirect_message
from .conftest import BASE, MAPPING, SP, Site

# Who administers which account, for the app's can_administer hook.
ADMINS = {"ada": "acme", "bob": "globex"}
GET_PAGES = ["", "setup", "setup/okta", "sp-metadata.xml", "connect", "mapping", "disable"]
POSTS = [
    ("connect", {"metadata": "<EntityDescriptor/>"}),
    ("connect/confirm", {"metadata_b64": ""}),
    ("mapping", {"action": "save"}),
    ("disable", {"confirm": "yes"}),
]


def can_administer(request: HttpRequest, account_id: str) -> bool:
    user = request.user
    return bool(user.is_authenticated and ADMINS.get(user.get_username()) == account_id)


def new_account(account_id: str) -> samljit.AccountConfig:
    return samljit.AccountConfig(
        account_id=account_id, idp_metadata=b"", sp=sp_config(BASE, account_id), mapping=MAPPING
    )


@pytest.fixture
def events() -> list[AdminEvent]:
    return []


@pytest.fixture
def pages(site: Site, events: list[AdminEvent]) -> Iterator[AdminPages]:
    made = admin_pages(can_administer=can_administer, new_account=new_account, audit=events.append)
    with override_settings(SAMLJIT_ADMIN=made):
        yield made


def signed_in(username: str | None, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    if username is not None:
        client.force_login(User.objects.get_or_create(username=username)[0])
    return client


def hidden(response: Any, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', response.content.decode())
    assert found is not None, response.content
    return html.unescape(found.group(1))


def acme_config() -> samljit.AccountConfig | None:
    return DjangoAccountStore().get("acme")


# --- mounted only with the hook -------------------------------------------------------------


def test_without_samljit_admin_the_pages_are_not_mounted(site: Site) -> None:
    assert signed_in("ada").get("/sso/admin/acme/").status_code == 404


def test_samljit_admin_may_name_a_factory_by_its_dotted_path(site: Site) -> None:
    with override_settings(SAMLJIT_ADMIN=f"{__name__}._factory"):
        assert isinstance(get_admin_pages(), AdminPages)
        assert signed_in("ada").get("/sso/admin/acme/").status_code == 200


def _factory() -> AdminPages:
    return admin_pages(can_administer=can_administer, new_account=new_account)


def test_samljit_admin_must_give_admin_pages(site: Site) -> None:
    with override_settings(SAMLJIT_ADMIN=42), pytest.raises(ImproperlyConfigured):
        get_admin_pages()


# --- authorization --------------------------------------------------------------------------


@pytest.mark.parametrize("who", [None, "eve", "bob"])
@pytest.mark.parametrize("page", GET_PAGES)
def test_only_the_accounts_administrator_may_see_its_pages(
    pages: AdminPages, who: str | None, page: str
) -> None:
    assert signed_in(who).get(f"/sso/admin/acme/{page}").status_code == 403
    assert signed_in("ada").get(f"/sso/admin/acme/{page}").status_code == 200


@pytest.mark.parametrize("who", [None, "eve", "bob"])
@pytest.mark.parametrize(("action", "form"), POSTS)
def test_only_the_accounts_administrator_may_act_and_others_change_nothing(
    pages: AdminPages, events: list[AdminEvent], who: str | None, action: str, form: Any
) -> None:
    before = acme_config()
    response = signed_in(who).post(f"/sso/admin/acme/{action}", form)
    assert response.status_code == 403
    assert acme_config() == before
    assert events == []


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "form"), POSTS)
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    pages: AdminPages, events: list[AdminEvent], action: str, form: Any
) -> None:
    before = acme_config()
    client = signed_in("ada", enforce_csrf_checks=True)
    assert client.get("/sso/admin/acme/disable").status_code == 200  # the CSRF cookie is set
    assert client.post(f"/sso/admin/acme/{action}", form).status_code == 403
    assert acme_config() == before
    assert events == []


def test_the_views_check_csrf_themselves_without_the_middleware(pages: AdminPages) -> None:
    middleware = [m for m in settings.MIDDLEWARE if "Csrf" not in m]
    with override_settings(MIDDLEWARE=middleware):
        client = signed_in("ada", enforce_csrf_checks=True)
        response = client.post("/sso/admin/acme/disable", {"confirm": "yes"})
    assert response.status_code == 403
    assert acme_config() is not None


# --- the story ------------------------------------------------------------------------------


def test_the_guided_setup_shows_the_accounts_acs_url(pages: AdminPages) -> None:
    response = signed_in("ada").get("/sso/admin/acme/setup/okta")
    assert response.status_code == 200
    assert html.escape(SP.acs_url) in response.content.decode()


def test_pasted_metadata_is_previewed_saved_on_confirmation_then_shown(
    pages: AdminPages, events: list[AdminEvent]
) -> None:
    idp = TestIdP(entity_id="https://idp.globex.test/metadata")
    client = signed_in("bob", enforce_csrf_checks=True)
    form = client.get("/sso/admin/globex/connect")
    token = hidden(form, "csrfmiddlewaretoken")

    preview = client.post(
        "/sso/admin/globex/connect",
        {"metadata": idp.metadata_xml.decode(), "csrfmiddlewaretoken": token},
    )
    assert preview.status_code == 200
    assert idp.entity_id in preview.content.decode()
    assert DjangoAccountStore().get("globex") is None

    confirmed = client.post(
        "/sso/admin/globex/connect/confirm",
        {
            "metadata_b64": hidden(preview, "metadata_b64"),
            "metadata_url": "",
            "entity_id": "",
            "csrfmiddlewaretoken": hidden(preview, "csrfmiddlewaretoken"),
        },
    )
    assert confirmed.status_code == 200
    saved = DjangoAccountStore().get("globex")
    assert saved is not None
    assert saved.idp_metadata == idp.metadata_xml
    assert [(e.name, e.account_id, e.admin_id) for e in events] == [
        ("idp_connected", "globex", "bob")
    ]

    status = client.get("/sso/admin/globex/")
    assert status.status_code == 200
    assert idp.entity_id in status.content.decode()


def test_an_uploaded_metadata_file_is_previewed(pages: AdminPages, site: Site) -> None:
    client = signed_in("ada")
    upload = _upload(site.idp.metadata_xml)
    response = client.post("/sso/admin/acme/connect", {"metadata_file": upload})
    assert response.status_code == 200
    assert site.idp.entity_id in response.content.decode()


def test_an_uploaded_file_over_the_limit_is_refused(site: Site) -> None:
    small = admin_pages(
        can_administer=can_administer, new_account=new_account, max_metadata_bytes=100
    )
    with override_settings(SAMLJIT_ADMIN=small):
        response = signed_in("ada").post(
            "/sso/admin/acme/connect", {"metadata_file": _upload(b"<x/>" * 30)}
        )
    assert response.status_code == 400
    assert "metadata_too_large" in response.content.decode()


def test_a_body_larger_than_the_pages_accept_is_refused_before_it_is_read(site: Site) -> None:
    small = admin_pages(
        can_administer=can_administer, new_account=new_account, max_metadata_bytes=100
    )
    with override_settings(SAMLJIT_ADMIN=small):
        response = signed_in("ada").post(
            "/sso/admin/acme/connect", {"metadata": "x" * (4 * 100 + 64 * 1024 + 1)}
        )
    assert response.status_code == 413


def test_an_unreadable_content_length_is_refused(pages: AdminPages) -> None:
    response = signed_in("ada").post(
        "/sso/admin/acme/connect", {"metadata": "x"}, CONTENT_LENGTH="many"
    )
    assert response.status_code == 413


def test_disable_asks_for_confirmation_then_deletes(
    pages: AdminPages, events: list[AdminEvent]
) -> None:
    client = signed_in("ada", enforce_csrf_checks=True)
    question = client.get("/sso/admin/acme/disable")
    assert question.status_code == 200
    assert 'name="confirm" value="yes"' in question.content.decode()
    assert acme_config() is not None

    token = hidden(question, "csrfmiddlewaretoken")
    done = client.post("/sso/admin/acme/disable", {"confirm": "yes", "csrfmiddlewaretoken": token})
    assert done.status_code == 200
    assert acme_config() is None
    assert [(e.name, e.admin_id) for e in events] == [("sso_disabled", "ada")]


def test_the_sp_metadata_of_a_saved_account_comes_from_the_login_service(
    pages: AdminPages, site: Site
) -> None:
    response = signed_in("ada").get("/sso/admin/acme/sp-metadata.xml")
    assert response.status_code == 200
    assert response.content == site.service.sp_metadata("acme")


def _upload(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("metadata.xml", content, content_type="text/xml")


# --- Test connection --------------------------------------------------------------------------


def test_test_connection_goes_through_the_acs_to_a_dry_run_result_under_csrf_checks(
    pages: AdminPages, site: Site
) -> None:
    client = signed_in("ada", enforce_csrf_checks=True)
    status = client.get("/sso/admin/acme/")
    assert 'id="test-connection"' in status.content.decode()
    started = client.post(
        "/sso/admin/acme/test", {"csrfmiddlewaretoken": hidden(status, "csrfmiddlewaretoken")}
    )
    assert started.status_code == 303
    issued = site.respond(
        in_response_to=redirect_message(started["Location"]).get("ID"),
        name_id="grace@acme.test",
    )
    # The IdP's cross-site POST to the ACS carries no cookie; it is posted on from this site.
    relay = Client(enforce_csrf_checks=True).post(
        "/sso/acme/acs", {"SAMLResponse": issued.form_value}
    )
    assert relay.status_code == 200
    assert '<form method="post" action="/sso/admin/acme/test/result">' in relay.content.decode()
    # The administrator's browser posts it with its session and without a CSRF token.
    result = client.post(
        "/sso/admin/acme/test/result", {"SAMLResponse": hidden(relay, "SAMLResponse")}
    )
    assert result.status_code == 200
    assert 'id="test-action" data-action="create"' in result.content.decode()
    assert site.users.get_by_email("grace@acme.test") is None


def test_the_test_result_is_403_for_anyone_but_the_accounts_administrator(
    pages: AdminPages, site: Site
) -> None:
    started = site.service.begin_test_login("acme", admin_id="ada")
    issued = site.respond(in_response_to=started.message_id, name_id="grace@acme.test")
    for who in (None, "eve", "bob"):
        response = signed_in(who).post(
            "/sso/admin/acme/test/result", {"SAMLResponse": issued.form_value}
        )
        assert response.status_code == 403
    assert (
        _action_of(
            signed_in("ada").post(
                "/sso/admin/acme/test/result", {"SAMLResponse": issued.form_value}
            )
        )
        == "create"
    )


def _action_of(response: Any) -> str:
    found = re.search(r'data-action="([^"]*)"', response.content.decode())
    assert found is not None, response.content
    return found.group(1)
