"""The account administrator's pages without a framework (samljit.integrations._admin):
authorization and CSRF before anything, preview before saving, limits, audit, escaping."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import samljit._fetch
from samljit import AccountConfig, ClaimMapping, SPConfig
from samljit.domains import DomainVerifier
from samljit.errors import ConfigError, DnsFailed, DnsTimeout, MetadataFetchFailed
from samljit.history import REFUSAL_REASONS
from samljit.integrations.admin import (
    DEFAULT_MAX_METADATA_BYTES,
    AdminEvent,
    AdminPages,
    AdminRequest,
    Templates,
    WebResponse,
)
from samljit.messages import build_sp_metadata
from samljit.protocols import LoginRecord
from samljit.setup_guides import VENDORS
from samljit.stores.memory import MemoryAccountStore, MemoryDomainStore, MemoryLoginHistory
from samljit.testing import FixedClock, TestIdP, make_certificate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BASE = "/sso/admin/acme/"
CSRF = '<input type="hidden" name="csrf" value="t0ken">'


def _sp(account_id: str) -> SPConfig:
    root = f"https://app.example.test/sso/{account_id}"
    return SPConfig(entity_id=f"{root}/metadata", acs_url=f"{root}/acs", slo_url=f"{root}/slo")


def _new_account(account_id: str) -> AccountConfig:
    return AccountConfig(
        account_id=account_id,
        idp_metadata=b"",
        sp=_sp(account_id),
        mapping=ClaimMapping(accepted_roles=("admin", "developer")),
    )


def _config(idp: TestIdP, account_id: str = "acme") -> AccountConfig:
    return AccountConfig(
        account_id=account_id,
        idp_metadata=idp.metadata_xml,
        sp=_sp(account_id),
        mapping=ClaimMapping(accepted_roles=("admin", "developer")),
    )


class Admin:
    """Pages whose current user administers ``acme`` only, with every event kept."""

    def __init__(
        self,
        *,
        configs: tuple[AccountConfig, ...] = (),
        accounts: MemoryAccountStore | None = None,
        **options: Any,
    ) -> None:
        self.accounts = accounts or MemoryAccountStore(configs)
        self.events: list[AdminEvent] = []
        self.history = MemoryLoginHistory()
        self.pages = AdminPages(
            accounts=self.accounts,
            can_administer=lambda native, account_id: (
                native == "admin-of-acme" and account_id == "acme"
            ),
            new_account=_new_account,
            audit=self.events.append,
            history=self.history,
            clock=FixedClock(NOW),
            **options,
        )

    def call(
        self,
        method: str,
        path: str = "",
        *,
        form: dict[str, str] | None = None,
        files: dict[str, bytes] | None = None,
        account_id: str = "acme",
        native: str = "admin-of-acme",
        csrf_ok: bool = True,
    ) -> tuple[WebResponse, str]:
        response = self.pages.handle(
            AdminRequest(
                method=method,
                account_id=account_id,
                path=path,
                form=form or {},
                files=files or {},
                admin_id="ada",
                csrf_ok=csrf_ok,
                csrf_field=CSRF,
                native=native,
                base=f"/sso/admin/{account_id}/",
            )
        )
        return response, response.body.decode("utf-8")


@pytest.fixture
def idp() -> TestIdP:
    return TestIdP(entity_id="https://idp.example.test/metadata")


def _paste(idp: TestIdP) -> dict[str, str]:
    return {"metadata": idp.metadata_xml.decode("utf-8")}


def _hidden(body: str, name: str) -> str:
    found = re.search(f'name="{name}" value="([^"]*)"', body)
    assert found is not None, name
    return found.group(1)


def _confirm_form(body: str) -> dict[str, str]:
    return {name: _hidden(body, name) for name in ("metadata_b64", "metadata_url", "entity_id")}


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
]
POSTS = [route for route in EVERY_ROUTE if route[0] == "POST"]


# --- authorization ---------------------------------------------------------------------------


def test_the_pages_cannot_be_built_without_an_authorization_hook() -> None:
    with pytest.raises(ConfigError) as caught:
        AdminPages(
            accounts=MemoryAccountStore(),
            can_administer=None,  # type: ignore[arg-type]
            new_account=_new_account,
        )
    assert caught.value.code == "configuration_invalid"


@pytest.mark.parametrize(("method", "path", "form"), EVERY_ROUTE)
def test_a_user_who_is_no_administrator_gets_403_and_changes_nothing(
    idp: TestIdP, method: str, path: str, form: dict[str, str]
) -> None:
    admin = Admin(configs=(_config(idp),))
    response, body = admin.call(method, path, form=form, native="plain-user")
    assert response.status == 403
    assert admin.accounts.get("acme") == _config(idp)
    assert admin.events == []
    assert "idp.example.test" not in body


@pytest.mark.parametrize(("method", "path", "form"), EVERY_ROUTE)
def test_another_accounts_administrator_gets_403_and_changes_nothing(
    idp: TestIdP, method: str, path: str, form: dict[str, str]
) -> None:
    other = _config(idp, "globex")
    admin = Admin(configs=(other,))
    response, _ = admin.call(method, path, form=form, account_id="globex")
    assert response.status == 403
    assert admin.accounts.get("globex") == other
    assert admin.events == []


def test_only_true_from_the_hook_grants_access(idp: TestIdP) -> None:
    pages = AdminPages(
        accounts=MemoryAccountStore(),
        can_administer=lambda native, account_id: "yes",  # type: ignore[arg-type,return-value]
        new_account=_new_account,
    )
    response = pages.handle(AdminRequest(method="GET", account_id="acme", admin_id="ada"))
    assert response.status == 403


# --- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "form"), POSTS)
def test_a_post_without_the_csrf_check_is_refused_and_changes_nothing(
    idp: TestIdP, method: str, path: str, form: dict[str, str]
) -> None:
    admin = Admin(configs=(_config(idp),))
    response, _ = admin.call(method, path, form=form, csrf_ok=False)
    assert response.status == 403
    assert admin.accounts.get("acme") == _config(idp)
    assert admin.events == []


def test_a_get_needs_no_csrf_check(idp: TestIdP) -> None:
    response, _ = Admin().call("GET", "connect", csrf_ok=False)
    assert response.status == 200


def test_the_pages_may_not_be_framed_or_cached() -> None:
    response, _ = Admin().call("GET")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


# --- status ---------------------------------------------------------------------------------


def test_status_without_an_idp_says_sso_is_off_and_links_the_setup() -> None:
    response, body = Admin().call("GET")
    assert response.status == 200
    assert 'class="off">off' in body
    assert f'href="{BASE}setup"' in body


def test_status_shows_the_idp_its_endpoints_and_each_certificate_with_its_expiry() -> None:
    _, old = make_certificate(not_after=NOW + timedelta(days=10))
    idp = TestIdP()
    config = _config(idp)
    config = AccountConfig(
        account_id="acme",
        idp_metadata=idp.metadata(extra_certificates=[old]),
        sp=config.sp,
        mapping=config.mapping,
    )
    _, body = Admin(configs=(config,)).call("GET")
    assert 'class="ok">on' in body
    assert idp.entity_id in body
    assert idp.sso_url in body
    assert idp.slo_url in body
    assert (NOW + timedelta(days=10)).strftime("%Y-%m-%d") in body
    assert "<code>certificate_expiring</code>" in body


def test_status_lists_recent_logins_and_refusals_with_plain_reasons(idp: TestIdP) -> None:
    admin = Admin(configs=(_config(idp),))
    admin.history.record(
        LoginRecord(
            at=NOW,
            account_id="acme",
            outcome="refused",
            code="role_not_accepted",
            reason=REFUSAL_REASONS["role_not_accepted"],
        )
    )
    _, body = admin.call("GET")
    assert "<code>role_not_accepted</code>" in body
    assert REFUSAL_REASONS["role_not_accepted"] in body


def test_status_shows_the_refresh_state_of_a_metadata_url(idp: TestIdP) -> None:
    from samljit.metadata_source import MetadataSource

    source = MetadataSource(
        "https://idp.example.test/metadata",
        fetcher=lambda url, *, timeout, max_bytes: b"<not-metadata/>",
    )
    source.refresh(now=NOW)
    config = AccountConfig(
        account_id="acme",
        idp_metadata=idp.metadata_xml,
        idp_metadata_url="https://idp.example.test/metadata",
        sp=_sp("acme"),
        mapping=ClaimMapping(accepted_roles=("admin",)),
    )
    admin = Admin(configs=(config,), metadata_source=lambda config: source)
    _, body = admin.call("GET")
    assert "Fetched from https://idp.example.test/metadata" in body
    assert "metadata_invalid" in body  # the last refresh's error
    assert idp.entity_id in body  # the saved copy is still shown


# --- guided setup ---------------------------------------------------------------------------


def test_the_guide_shows_the_vendors_labels_and_this_accounts_values_with_copy_buttons() -> None:
    _, body = Admin().call("GET", "setup/okta")
    assert "Single sign-on URL" in body
    assert 'value="https://app.example.test/sso/acme/acs" readonly' in body
    assert 'data-copy="field-0"' in body
    assert f'href="{BASE}sp-metadata.xml"' in body


def test_the_setup_page_lists_every_vendor() -> None:
    _, body = Admin().call("GET", "setup")
    for vendor in VENDORS:
        assert f'href="{BASE}setup/{vendor}"' in body


class _RawStore(MemoryAccountStore):
    """A store that keeps what it is given, as an app's database row would, unchecked."""

    def save(self, config: AccountConfig) -> None:
        self._configs[config.account_id] = config


def _unreadable() -> Admin:
    store = _RawStore()
    store.save(dataclasses.replace(_new_account("acme"), idp_metadata=b"<x/>"))
    return Admin(accounts=store)


def test_status_explains_saved_metadata_that_can_no_longer_be_read() -> None:
    _, body = _unreadable().call("GET")
    assert 'class="ok">on' in body
    assert "<code>metadata_invalid</code>" in body


def test_saved_metadata_that_cannot_be_read_can_still_be_disabled() -> None:
    admin = _unreadable()
    assert admin.call("GET", "disable")[0].status == 200
    admin.call("POST", "disable", form={"confirm": "yes"})
    assert admin.accounts.get("acme") is None


def test_an_unknown_vendor_has_no_guide() -> None:
    response, _ = Admin().call("GET", "setup/nope")
    assert response.status == 404


def test_the_sp_metadata_of_an_account_without_sso_is_built_from_its_draft() -> None:
    response, _ = Admin().call("GET", "sp-metadata.xml")
    draft = _new_account("acme")
    assert response.content_type == "application/samlmetadata+xml"
    assert response.body == build_sp_metadata(
        entity_id=draft.sp.entity_id,
        acs_url=draft.sp.acs_url,
        slo_url=draft.sp.slo_url,
        name_id_format=draft.name_id_format,
    )


def test_the_sp_metadata_of_a_saved_account_comes_from_the_service(idp: TestIdP) -> None:
    admin = Admin(configs=(_config(idp),), sp_metadata=lambda account_id: b"<from-service/>")
    response, _ = admin.call("GET", "sp-metadata.xml")
    assert response.body == b"<from-service/>"


# --- connect --------------------------------------------------------------------------------


def test_a_pasted_document_is_previewed_and_not_saved(idp: TestIdP) -> None:
    admin = Admin()
    response, body = admin.call("POST", "connect", form=_paste(idp))
    assert response.status == 200
    assert idp.entity_id in body
    assert admin.accounts.get("acme") is None
    assert admin.events == []


def test_confirming_the_preview_saves_the_document_and_emits_an_audit_event(idp: TestIdP) -> None:
    admin = Admin()
    _, preview = admin.call("POST", "connect", form=_paste(idp))
    response, _ = admin.call("POST", "connect/confirm", form=_confirm_form(preview))
    assert response.status == 200
    saved = admin.accounts.get("acme")
    assert saved is not None
    assert saved.idp_metadata == idp.metadata_xml
    assert saved.sp == _sp("acme")
    [event] = admin.events
    assert (event.name, event.account_id, event.admin_id) == ("idp_connected", "acme", "ada")
    assert event.changes["idp_metadata"][0] is None


def test_an_uploaded_file_is_previewed(idp: TestIdP) -> None:
    admin = Admin()
    _, body = admin.call("POST", "connect", files={"metadata_file": idp.metadata_xml})
    assert base64.b64decode(_hidden(body, "metadata_b64")) == idp.metadata_xml


def test_a_metadata_url_is_fetched_previewed_and_saved_with_the_url(idp: TestIdP) -> None:
    fetched: list[str] = []

    def fetcher(url: str, *, timeout: float, max_bytes: int) -> bytes:
        fetched.append(url)
        return idp.metadata_xml

    admin = Admin(fetcher=fetcher)
    url = "https://idp.example.test/metadata"
    _, preview = admin.call("POST", "connect", form={"metadata_url": url})
    assert admin.accounts.get("acme") is None
    admin.call("POST", "connect/confirm", form=_confirm_form(preview))
    saved = admin.accounts.get("acme")
    assert saved is not None
    assert saved.idp_metadata_url == url
    assert fetched == [url]


def test_a_metadata_url_at_a_private_address_is_refused_without_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connections: list[object] = []

    def connect(address: object, *args: object, **kwargs: object) -> None:
        connections.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(samljit._fetch, "_open_socket", connect)
    admin = Admin()
    response, body = admin.call("POST", "connect", form={"metadata_url": "https://127.0.0.1/md"})
    assert response.status == 400
    assert "<code>metadata_fetch_failed</code>" in body
    assert admin.accounts.get("acme") is None
    assert connections == []


def test_a_plain_http_metadata_url_is_refused() -> None:
    response, body = Admin().call("POST", "connect", form={"metadata_url": "http://idp.test/md"})
    assert response.status == 400
    assert "<code>metadata_fetch_failed</code>" in body


def test_confirming_with_a_plain_http_url_saves_nothing(idp: TestIdP) -> None:
    admin = Admin()
    form = {
        "metadata_b64": base64.b64encode(idp.metadata_xml).decode(),
        "metadata_url": "http://idp.example.test/md",
    }
    _, body = admin.call("POST", "connect/confirm", form=form)
    assert "<code>metadata_fetch_failed</code>" in body
    assert admin.accounts.get("acme") is None


def test_the_guide_offers_the_sp_metadata_url_when_the_app_serves_one() -> None:
    url = "https://app.example.test/sso/acme/metadata"
    _, body = Admin(sp_metadata_url=lambda account_id: url).call("GET", "setup/generic")
    assert f"the SP metadata URL {url}" in body
    _, without = Admin().call("GET", "setup/generic")
    assert "the SP metadata file downloaded from this app" in without


def test_a_failing_fetcher_of_the_app_is_a_fetch_failure() -> None:
    def fetcher(url: str, *, timeout: float, max_bytes: int) -> bytes:
        raise RuntimeError("boom")

    _, body = Admin(fetcher=fetcher).call(
        "POST", "connect", form={"metadata_url": "https://idp.example.test/md"}
    )
    assert "<code>metadata_fetch_failed</code>" in body


def test_a_fetchers_own_metadata_error_keeps_its_code() -> None:
    def fetcher(url: str, *, timeout: float, max_bytes: int) -> bytes:
        raise MetadataFetchFailed("HTTP 404", found=404)

    _, body = Admin(fetcher=fetcher).call(
        "POST", "connect", form={"metadata_url": "https://idp.example.test/md"}
    )
    assert "<code>metadata_fetch_failed</code>" in body


@pytest.mark.parametrize("how", ["paste", "upload"])
def test_a_document_over_the_size_limit_is_refused(how: str) -> None:
    admin = Admin(max_metadata_bytes=1000)
    big = "<x>" + "a" * 1000 + "</x>"
    form, files = {"metadata": big}, {}
    if how == "upload":
        form, files = {}, {"metadata_file": big.encode()}
    response, body = admin.call("POST", "connect", form=form, files=files)
    assert response.status == 400
    assert "<code>metadata_too_large</code>" in body


def test_the_default_size_limit_is_one_mebibyte() -> None:
    assert DEFAULT_MAX_METADATA_BYTES == 1024 * 1024


def test_sp_metadata_pasted_instead_of_the_idps_is_explained(idp: TestIdP) -> None:
    sp_xml = build_sp_metadata(entity_id="https://sp.test", acs_url="https://sp.test/acs")
    response, body = Admin().call("POST", "connect", form={"metadata": sp_xml.decode()})
    assert response.status == 400
    assert "<code>metadata_is_sp</code>" in body
    assert html.escape(REFUSAL_REASONS["metadata_is_sp"]) in body


def test_an_empty_connect_form_asks_for_a_document() -> None:
    _, body = Admin().call("POST", "connect", form={"metadata": "  "})
    assert "<code>metadata_invalid</code>" in body


def test_confirming_a_document_that_is_not_metadata_saves_nothing() -> None:
    admin = Admin()
    form = {"metadata_b64": base64.b64encode(b"<not-metadata/>").decode()}
    _, body = admin.call("POST", "connect/confirm", form=form)
    assert "<code>metadata_invalid</code>" in body
    assert admin.accounts.get("acme") is None


def test_confirming_a_damaged_preview_saves_nothing() -> None:
    admin = Admin()
    _, body = admin.call("POST", "connect/confirm", form={"metadata_b64": "%%%"})
    assert "<code>metadata_invalid</code>" in body
    assert admin.accounts.get("acme") is None


def test_confirming_an_oversized_document_saves_nothing(idp: TestIdP) -> None:
    admin = Admin(max_metadata_bytes=100)
    form = {"metadata_b64": base64.b64encode(idp.metadata_xml).decode()}
    _, body = admin.call("POST", "connect/confirm", form=form)
    assert "<code>metadata_too_large</code>" in body
    assert admin.accounts.get("acme") is None


def test_replacing_the_idp_records_the_old_and_new_documents(idp: TestIdP) -> None:
    admin = Admin(configs=(_config(idp),))
    new = TestIdP(entity_id="https://new-idp.example.test/metadata")
    _, preview = admin.call("POST", "connect", form=_paste(new))
    admin.call("POST", "connect/confirm", form=_confirm_form(preview))
    [event] = admin.events
    old_digest, new_digest = event.changes["idp_metadata"]
    assert old_digest is not None
    assert new_digest is not None
    assert old_digest != new_digest


# --- escaping -------------------------------------------------------------------------------


HOSTILE = 'https://idp.test/"><script>alert(1)</script>'


def test_a_hostile_entity_id_is_escaped_on_the_preview() -> None:
    _, body = Admin().call("POST", "connect", form=_paste(TestIdP(entity_id=HOSTILE)))
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)" in body


def test_a_hostile_entity_id_is_escaped_on_the_status_page() -> None:
    _, body = Admin(configs=(_config(TestIdP(entity_id=HOSTILE)),)).call("GET")
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)" in body


def test_hostile_sample_claims_are_escaped_on_the_mapping_preview() -> None:
    form = {"sample_name_id": "ada@acme.test", "sample_attributes": "role = <b>admin"}
    _, body = Admin().call("POST", "mapping", form={**form, "accepted_roles": "<b>admin"})
    assert "<b>admin" not in body


# --- claim mapping --------------------------------------------------------------------------


def test_the_mapping_preview_shows_the_identity_of_sample_claims() -> None:
    form = {
        "accepted_roles": "admin, developer",
        "sample_name_id": "ada@acme.test",
        "sample_attributes": "role = developer",
        "action": "preview",
    }
    response, body = Admin().call("POST", "mapping", form=form)
    assert response.status == 200
    assert "<code>ada@acme.test</code>" in body
    assert "<code>developer</code>" in body


def test_the_mapping_preview_explains_a_refused_role() -> None:
    form = {"accepted_roles": "admin", "sample_name_id": "ada@acme.test", "sample_attributes": ""}
    response, body = Admin().call("POST", "mapping", form=form)
    assert response.status == 400
    assert "<code>role_not_accepted</code>" in body


def test_group_rules_and_a_preset_shape_the_mapping() -> None:
    form = {
        "preset": "okta",
        "accepted_roles": "admin, developer",
        "group_attribute": "groups",
        "group_roles": "Engineering = developer",
        "sample_name_id": "ada@acme.test",
        "sample_attributes": "groups = Engineering\ngroups = Sales",
    }
    _, body = Admin().call("POST", "mapping", form=form)
    assert "<code>developer</code>" in body


@pytest.mark.parametrize(
    "changes",
    [
        {"group_roles": "no equals sign"},
        {"sample_attributes": "no equals sign"},
        {"preset": "nope"},
        {"group_roles": "Engineering = superuser"},
    ],
)
def test_a_malformed_mapping_form_is_explained(changes: dict[str, str]) -> None:
    form = {"accepted_roles": "admin", "sample_name_id": "ada@acme.test", **changes}
    response, body = Admin().call("POST", "mapping", form=form)
    assert response.status == 400
    assert "<code>configuration_invalid</code>" in body


def test_saving_the_mapping_changes_it_and_emits_an_audit_event(idp: TestIdP) -> None:
    admin = Admin(configs=(_config(idp),))
    form = {"accepted_roles": "developer", "account_attribute": "acme_id", "action": "save"}
    response, _ = admin.call("POST", "mapping", form=form)
    assert response.status == 200
    saved = admin.accounts.get("acme")
    assert saved is not None
    assert saved.mapping.accepted_roles == ("developer",)
    assert saved.mapping.account_attributes == ("acme_id",)
    [event] = admin.events
    assert event.name == "mapping_changed"
    assert event.admin_id == "ada"
    assert set(event.changes) == {"accepted_roles", "account_attributes"}


def test_a_mapping_cannot_be_saved_before_the_idp_is_connected() -> None:
    admin = Admin()
    _, form_page = admin.call("GET", "mapping")
    assert "Connect the IdP before saving" in form_page
    response, _ = admin.call("POST", "mapping", form={"accepted_roles": "admin", "action": "save"})
    assert response.status == 400
    assert admin.accounts.get("acme") is None


def test_the_mapping_form_is_filled_in_from_the_saved_mapping(idp: TestIdP) -> None:
    _, body = Admin(configs=(_config(idp),)).call("GET", "mapping")
    assert 'value="admin, developer"' in body


# --- disable --------------------------------------------------------------------------------


def test_disabling_asks_for_confirmation_and_says_users_stay(idp: TestIdP) -> None:
    admin = Admin(configs=(_config(idp),))
    _, body = admin.call("GET", "disable")
    assert "Users stay" in body
    response, _ = admin.call("POST", "disable", form={})
    assert response.status == 400
    assert admin.accounts.get("acme") is not None
    assert admin.events == []


def test_a_confirmed_disable_deletes_the_configuration_and_emits_an_audit_event(
    idp: TestIdP,
) -> None:
    admin = Admin(configs=(_config(idp),))
    response, _ = admin.call("POST", "disable", form={"confirm": "yes"})
    assert response.status == 200
    assert admin.accounts.get("acme") is None
    [event] = admin.events
    assert (event.name, event.account_id, event.admin_id) == ("sso_disabled", "acme", "ada")


def test_disabling_an_account_without_sso_changes_nothing() -> None:
    admin = Admin()
    _, body = admin.call("GET", "disable")
    assert "no IdP connected" in body
    response, _ = admin.call("POST", "disable", form={"confirm": "yes"})
    assert response.status == 400
    assert admin.events == []


# --- routing and templates ------------------------------------------------------------------


def test_an_unknown_page_is_404_and_a_wrong_method_405() -> None:
    admin = Admin()
    assert admin.call("GET", "nope")[0].status == 404
    response, _ = admin.call("DELETE", "disable")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, POST"


def test_an_app_overrides_the_layout_with_its_own() -> None:
    class Branded(Templates):
        def layout(self, title: str, body: str, *, base: str | None) -> str:
            return f"<acme-shell>{title}|{body}</acme-shell>"

    _, body = Admin(templates=Branded()).call("GET")
    assert body.startswith("<acme-shell>Single sign-on|")


def test_the_forms_carry_the_adapters_csrf_field(idp: TestIdP) -> None:
    admin = Admin(configs=(_config(idp),))
    for path in ("connect", "mapping", "disable"):
        assert CSRF in admin.call("GET", path)[1]
    assert CSRF in admin.call("POST", "connect", form=_paste(idp))[1]


def test_every_page_is_a_styled_document_with_labelled_fields() -> None:
    _, body = Admin().call("GET", "connect")
    assert "<style>" in body
    assert 'name="viewport"' in body
    for ident in ("metadata", "metadata_file", "metadata_url", "entity_id"):
        assert f'<label for="{ident}">' in body


# --- verified domains -----------------------------------------------------------------------


class FakeTxt:
    """A TxtResolver answering from a dict; ``fail`` is raised instead when set."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.fail: Exception | None = None

    def txt(self, name: str) -> list[str]:
        if self.fail is not None:
            raise self.fail
        return self.records.get(name, [])


class DomainAdmin(Admin):
    """Admin pages with the verified domains page, on a fake resolver."""

    def __init__(self, **options: Any) -> None:
        self.resolver = FakeTxt()
        self.store = MemoryDomainStore()
        self.verifier = DomainVerifier(self.store, resolver=self.resolver, clock=FixedClock(NOW))
        super().__init__(domains=self.verifier, **options)

    def publish(self, account_id: str, domain: str, value: str | None = None) -> None:
        challenge = self.store.get(account_id, domain)
        assert challenge is not None
        record = challenge.record_value if value is None else value
        self.resolver.records[challenge.record_name] = [record]


DOMAIN_ROUTES = [
    ("GET", "domains", {}),
    ("POST", "domains/add", {"domain": "acme.example"}),
    ("POST", "domains/verify", {"domain": "acme.example"}),
    ("POST", "domains/remove", {"domain": "acme.example"}),
]


def _problem_code(body: str) -> str:
    found = re.search(r'role="alert">.*?Code: <code>([a-z_]+)</code>', body)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(("method", "path", "form"), DOMAIN_ROUTES)
def test_the_domains_page_is_there_only_when_the_app_verifies_domains(
    method: str, path: str, form: dict[str, str]
) -> None:
    response, _ = Admin().call(method, path, form=form)
    assert response.status == 404


@pytest.mark.parametrize("account_id", ["acme", "globex"])
@pytest.mark.parametrize(("method", "path", "form"), DOMAIN_ROUTES)
def test_only_the_accounts_administrator_may_see_or_change_its_domains(
    method: str, path: str, form: dict[str, str], account_id: str
) -> None:
    admin = DomainAdmin()
    admin.verifier.add(account_id, "acme.example")
    admin.publish(account_id, "acme.example")
    native = "plain-user" if account_id == "acme" else "admin-of-acme"
    response, body = admin.call(method, path, form=form, account_id=account_id, native=native)
    assert response.status == 403
    assert [c.verified for c in admin.store.domains_of(account_id)] == [False]
    assert admin.events == []
    assert "samljit-domain-verification" not in body


@pytest.mark.parametrize(("method", "path", "form"), DOMAIN_ROUTES[1:])
def test_a_domain_post_without_the_csrf_check_is_refused_and_changes_nothing(
    method: str, path: str, form: dict[str, str]
) -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    admin.publish("acme", "acme.example")
    response, _ = admin.call(method, path, form=form, csrf_ok=False)
    assert response.status == 403
    assert [c.verified for c in admin.store.domains_of("acme")] == [False]
    assert admin.events == []


def test_adding_a_domain_shows_the_txt_record_to_publish_and_emits_an_audit_event() -> None:
    admin = DomainAdmin()
    response, body = admin.call("POST", "domains/add", form={"domain": " Acme.Example. "})
    assert response.status == 200
    challenge = admin.store.get("acme", "acme.example")
    assert challenge is not None
    assert f'value="{challenge.record_name}" readonly' in body
    assert f'value="{challenge.record_value}" readonly' in body
    assert 'data-copy="record-value-0"' in body
    assert [(e.name, e.admin_id, dict(e.changes)) for e in admin.events] == [
        ("domain_added", "ada", {"acme.example": (None, "pending")})
    ]


def test_adding_a_domain_twice_keeps_its_record_and_emits_one_event() -> None:
    admin = DomainAdmin()
    admin.call("POST", "domains/add", form={"domain": "acme.example"})
    first = admin.store.get("acme", "acme.example")
    admin.call("POST", "domains/add", form={"domain": "acme.example"})
    assert admin.store.get("acme", "acme.example") == first
    assert [e.name for e in admin.events] == ["domain_added"]


def test_the_domains_page_lists_pending_and_verified_domains() -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    admin.publish("acme", "acme.example")
    admin.verifier.verify("acme", "acme.example")
    pending = admin.verifier.add("acme", "acme-corp.example")
    response, body = admin.call("GET", "domains")
    assert response.status == 200
    assert "acme.example" in body
    assert "Verified</span> 2026-11-25 12:00 UTC" in body
    assert pending.record_value in body
    assert body.count("samljit-domain-verification=") == 1  # only the pending one's


def test_verifying_with_the_published_token_marks_the_domain_verified() -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    admin.publish("acme", "acme.example")
    response, body = admin.call("POST", "domains/verify", form={"domain": "acme.example"})
    assert response.status == 200
    assert "acme.example is verified" in body
    assert admin.store.owner("acme.example") == "acme"
    assert [(e.name, dict(e.changes)) for e in admin.events] == [
        ("domain_verified", {"acme.example": ("pending", "verified")})
    ]


def test_verifying_a_verified_domain_again_emits_no_event() -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    admin.publish("acme", "acme.example")
    admin.verifier.verify("acme", "acme.example")
    response, _ = admin.call("POST", "domains/verify", form={"domain": "acme.example"})
    assert response.status == 200
    assert admin.events == []


@pytest.mark.parametrize(
    ("published", "says"),
    [(None, "No TXT record was found"), ("samljit-domain-verification=other", "another value")],
)
def test_a_missing_or_wrong_record_is_explained_and_the_domain_stays_pending(
    published: str | None, says: str
) -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    if published is not None:
        admin.publish("acme", "acme.example", published)
    response, body = admin.call("POST", "domains/verify", form={"domain": "acme.example"})
    assert response.status == 400
    assert _problem_code(body) == "domain_not_verified"
    assert says in body
    assert admin.store.owner("acme.example") is None
    assert admin.events == []


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (DnsTimeout("no answer", found="x"), "dns_timeout"),
        (DnsFailed("SERVFAIL", found="x"), "dns_failed"),
        (OSError("the app's resolver broke"), "dns_failed"),
    ],
)
def test_a_dns_failure_is_explained_and_the_domain_stays_pending(
    failure: Exception, code: str
) -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    admin.resolver.fail = failure
    response, body = admin.call("POST", "domains/verify", form={"domain": "acme.example"})
    assert response.status == 400
    assert _problem_code(body) == code
    assert html.escape(REFUSAL_REASONS[code]) in body
    assert admin.store.owner("acme.example") is None


def test_verifying_a_domain_that_was_not_added_is_explained() -> None:
    admin = DomainAdmin()
    response, body = admin.call("POST", "domains/verify", form={"domain": "acme.example"})
    assert response.status == 400
    assert _problem_code(body) == "domain_not_added"


def test_a_domain_another_account_verified_is_refused_with_a_clear_message() -> None:
    admin = DomainAdmin()
    admin.verifier.add("globex", "acme.example")
    admin.publish("globex", "acme.example")
    admin.verifier.verify("globex", "acme.example")
    response, body = admin.call("POST", "domains/add", form={"domain": "acme.example"})
    assert response.status == 400
    assert _problem_code(body) == "domain_taken"
    assert html.escape(REFUSAL_REASONS["domain_taken"]) in body
    assert admin.store.get("acme", "acme.example") is None
    assert admin.events == []


def test_a_domain_taken_after_it_was_added_cannot_be_verified() -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    admin.publish("acme", "acme.example")
    admin.verifier.add("globex", "acme.example")
    admin.publish("globex", "acme.example")
    admin.verifier.verify("globex", "acme.example")
    response, body = admin.call("POST", "domains/verify", form={"domain": "acme.example"})
    assert response.status == 400
    assert _problem_code(body) == "domain_taken"
    assert admin.store.owner("acme.example") == "globex"


@pytest.mark.parametrize("verified", [False, True])
def test_removing_a_domain_forgets_it_and_emits_an_audit_event(verified: bool) -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    if verified:
        admin.publish("acme", "acme.example")
        admin.verifier.verify("acme", "acme.example")
    response, body = admin.call("POST", "domains/remove", form={"domain": "acme.example"})
    assert response.status == 200
    assert "acme.example is removed" in body
    assert admin.store.domains_of("acme") == []
    assert admin.store.owner("acme.example") is None
    state = "verified" if verified else "pending"
    assert [(e.name, dict(e.changes)) for e in admin.events] == [
        ("domain_removed", {"acme.example": (state, None)})
    ]


def test_removing_a_domain_the_account_does_not_hold_changes_nothing() -> None:
    admin = DomainAdmin()
    admin.verifier.add("globex", "acme.example")
    response, body = admin.call("POST", "domains/remove", form={"domain": "acme.example"})
    assert response.status == 400
    assert _problem_code(body) == "domain_not_added"
    assert admin.store.get("globex", "acme.example") is not None
    assert admin.events == []


@pytest.mark.parametrize("path", ["domains/add", "domains/verify", "domains/remove"])
@pytest.mark.parametrize(
    "entered", ['<script>alert("x")</script>.example', "https://acme.example/", "10.0.0.1", ""]
)
def test_hostile_domain_input_is_refused_as_domain_invalid_and_escaped(
    path: str, entered: str
) -> None:
    admin = DomainAdmin()
    response, body = admin.call("POST", path, form={"domain": entered})
    assert response.status == 400
    assert _problem_code(body) == "domain_invalid"
    assert "<script>alert" not in body
    assert admin.store.domains_of("acme") == []
    assert admin.events == []


def test_a_refused_domain_is_kept_escaped_in_the_add_form() -> None:
    _, body = DomainAdmin().call("POST", "domains/add", form={"domain": '"><b>x'})
    assert 'value="&quot;&gt;&lt;b&gt;x"' in body
    assert "<b>x" not in body


def test_the_status_page_lists_the_domains_and_links_their_page() -> None:
    admin = DomainAdmin()
    admin.verifier.add("acme", "acme.example")
    _, body = admin.call("GET")
    assert f'href="{BASE}domains"' in body
    assert "acme.example: pending" in body


def test_the_status_page_has_no_domains_section_without_domains() -> None:
    _, body = Admin().call("GET")
    assert f'href="{BASE}domains"' not in body
