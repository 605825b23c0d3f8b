"""SCIM provisioning on the account administrator's pages, without a framework: the status
page shows the account's SCIM base URL and tokens; a new token's secret is shown once, on
the response that issued it, and never again; revoking stops it at once; each change is an
audit event; the same authorization and CSRF checks as every other action."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from samljit.directory import TOKEN_PREFIX, ScimTokens, token_digest
from samljit.errors import ConfigError
from samljit.integrations.admin import AdminPages
from samljit.stores.memory import MemoryAccountStore, MemoryScimTokenStore
from samljit.testing import FixedClock, TestIdP

from .test_admin_core import NOW, Admin, _config, _new_account

SCIM_ROOT = "https://app.example.test/scim/v2"
POSTS = [("scim/tokens", {"label": "Okta"}), ("scim/tokens/revoke", {"token_id": "x"})]


class ScimAdmin(Admin):
    """The admin pages of test_admin_core.py with the accounts' SCIM tokens."""

    def __init__(self, **options: Any) -> None:
        self.clock = FixedClock(NOW)
        self.tokens = ScimTokens(MemoryScimTokenStore(), clock=self.clock)
        super().__init__(
            scim_tokens=self.tokens, scim_url=lambda account: f"{SCIM_ROOT}/{account}", **options
        )

    def issue(self, label: str = "Okta") -> tuple[str, str]:
        """Generate a token on the page: (its ID, the secret shown)."""
        response, body = self.call("POST", "scim/tokens", form={"label": label})
        assert response.status == 200
        return _token_id(body), _value(body, "scim-secret")


def _value(body: str, ident: str) -> str:
    found = re.search(f'id="{ident}" value="([^"]*)"', body)
    assert found is not None, ident
    return found.group(1)


def _token_id(body: str) -> str:
    found = re.search(r"Token <code>([0-9a-f]+)</code>", body)
    assert found is not None
    return found.group(1)


def _token_rows(body: str) -> list[list[str]]:
    table = re.search(r'<table id="scim-tokens">(.*?)</table>', body)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1))[1:]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in rows
    ]


# --- configuration ----------------------------------------------------------------------------


def test_without_scim_tokens_there_is_no_scim_section_and_no_token_action() -> None:
    admin = Admin()
    _, body = admin.call("GET")
    assert 'id="scim"' not in body
    for path, form in POSTS:
        assert admin.call("POST", path, form=form)[0].status == 404


@pytest.mark.parametrize(
    "options",
    [
        {"scim_tokens": ScimTokens(MemoryScimTokenStore())},
        {"scim_url": lambda account: f"{SCIM_ROOT}/{account}"},
    ],
)
def test_scim_tokens_and_scim_url_come_together(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        AdminPages(
            accounts=MemoryAccountStore(),
            can_administer=lambda native, account: True,
            new_account=_new_account,
            **options,
        )
    assert caught.value.code == "configuration_invalid"


# --- the status page --------------------------------------------------------------------------


def test_the_status_page_shows_the_accounts_scim_base_url_to_copy(test_idp: TestIdP) -> None:
    _, body = ScimAdmin(configs=(_config(test_idp),)).call("GET")
    assert _value(body, "scim-base-url") == f"{SCIM_ROOT}/acme"
    assert 'data-copy="scim-base-url"' in body
    assert "No tokens yet." in body


def test_the_scim_section_is_there_while_sso_is_off_too() -> None:
    """Provisioning may start before the IdP's SAML app is connected."""
    _, body = ScimAdmin().call("GET")
    assert 'Single sign-on is <span class="off">off</span>' in body
    assert _value(body, "scim-base-url") == f"{SCIM_ROOT}/acme"


# --- generate ---------------------------------------------------------------------------------


def test_a_generated_token_is_shown_once_and_authenticates_for_its_account() -> None:
    admin = ScimAdmin()
    token_id, secret = admin.issue("Okta production")
    assert secret.startswith(TOKEN_PREFIX)
    token = admin.tokens.authenticate("acme", secret)
    assert token is not None
    assert (token.token_id, token.label) == (token_id, "Okta production")
    assert admin.tokens.authenticate("globex", secret) is None


def test_the_secret_is_never_shown_again_nor_kept() -> None:
    admin = ScimAdmin()
    token_id, secret = admin.issue()
    _, status = admin.call("GET")
    assert secret not in status
    assert token_id in status
    (stored,) = admin.tokens.tokens_of("acme")
    assert stored.digest == token_digest(secret)
    assert secret not in repr(stored)


def test_the_issued_page_is_not_cached_and_carries_the_base_url() -> None:
    admin = ScimAdmin()
    response, body = admin.call("POST", "scim/tokens", form={"label": "Okta"})
    assert response.headers["Cache-Control"] == "no-store"
    assert _value(body, "scim-base-url") == f"{SCIM_ROOT}/acme"
    assert "shown only once" in body


def test_the_token_list_shows_label_created_last_used_and_state() -> None:
    admin = ScimAdmin()
    _, secret = admin.issue("Okta")
    token_id, _ = admin.issue("Entra")
    admin.clock.advance(timedelta(minutes=5))
    admin.tokens.authenticate("acme", secret)
    _, body = admin.call("GET")
    okta, entra = _token_rows(body)
    assert okta[0] == "Okta"
    assert okta[2:4] == ["2026-11-25 12:00 UTC", "2026-11-25 12:05 UTC"]
    assert okta[4].startswith("active")
    assert entra[:2] == ["Entra", token_id]
    assert entra[3] == "never"


def test_generating_a_token_is_an_audit_event_without_the_secret() -> None:
    admin = ScimAdmin()
    token_id, secret = admin.issue()
    (event,) = admin.events
    assert (event.name, event.account_id, event.admin_id) == ("scim_token_issued", "acme", "ada")
    assert dict(event.changes) == {token_id: (None, "active")}
    assert secret not in repr(event)


def test_a_label_is_kept_short_on_one_line_and_escaped() -> None:
    admin = ScimAdmin()
    admin.issue("<script>alert(1)</script>\n" + "x" * 200)
    _, body = admin.call("GET")
    assert "<script>alert" not in body
    assert "&lt;script&gt;" in body
    (token,) = admin.tokens.tokens_of("acme")
    assert len(token.label) == 100
    assert "\n" not in token.label


# --- revoke -----------------------------------------------------------------------------------


def test_a_revoked_token_stops_at_once_and_the_others_go_on() -> None:
    admin = ScimAdmin()
    old_id, old = admin.issue("old")
    _, new = admin.issue("new")
    response, body = admin.call("POST", "scim/tokens/revoke", form={"token_id": old_id})
    assert response.status == 200
    assert "SCIM token revoked" in body
    assert admin.tokens.authenticate("acme", old) is None
    assert admin.tokens.authenticate("acme", new) is not None
    _, status = admin.call("GET")
    assert _token_rows(status)[0][4] == "revoked 2026-11-25 12:00 UTC"
    assert admin.events[-1].name == "scim_token_revoked"
    assert dict(admin.events[-1].changes) == {old_id: ("active", "revoked")}


def test_revoking_twice_or_an_unknown_token_changes_nothing() -> None:
    admin = ScimAdmin()
    token_id, _ = admin.issue()
    admin.call("POST", "scim/tokens/revoke", form={"token_id": token_id})
    events = list(admin.events)
    for form in ({"token_id": token_id}, {"token_id": "unknown"}, {}):
        response, _ = admin.call("POST", "scim/tokens/revoke", form=form)
        assert response.status == 400
    assert admin.events == events


def test_a_token_of_another_account_cannot_be_revoked_from_this_one() -> None:
    admin = ScimAdmin()
    secret, other = admin.tokens.issue("globex")
    response, _ = admin.call("POST", "scim/tokens/revoke", form={"token_id": other.token_id})
    assert response.status == 400
    assert admin.tokens.authenticate("globex", secret) is not None


# --- authorization and CSRF -------------------------------------------------------------------


@pytest.mark.parametrize(("path", "form"), POSTS)
@pytest.mark.parametrize(
    "who", [{"native": "plain-user"}, {"account_id": "globex"}, {"csrf_ok": False}]
)
def test_token_actions_need_the_administrator_and_the_csrf_check(
    path: str, form: dict[str, str], who: dict[str, Any]
) -> None:
    admin = ScimAdmin()
    _, token = admin.tokens.issue(who.get("account_id", "acme"))
    form = {**form, "token_id": token.token_id} if "token_id" in form else form
    response, body = admin.call("POST", path, form=form, **who)
    assert response.status == 403
    assert TOKEN_PREFIX not in body
    assert admin.tokens.tokens_of(who.get("account_id", "acme")) == [token]
    assert admin.events == []


def test_a_user_who_is_no_administrator_sees_no_tokens() -> None:
    admin = ScimAdmin()
    token_id, _ = admin.issue()
    response, body = admin.call("GET", native="plain-user")
    assert response.status == 403
    assert token_id not in body
    assert "scim-base-url" not in body
