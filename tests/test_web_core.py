"""The framework-neutral part of the adapters (samljit.integrations._web): which session an
IdP's LogoutRequest may end, and what SP-initiated logout reads back from the session."""

from __future__ import annotations

from typing import Any

import pytest

from samljit.integrations._web import (
    SESSION_KEY,
    CurrentSessionRevoker,
    logout_target,
    sp_config,
)

FACTS = {
    "account_id": "acme",
    "email": "ada@acme.test",
    "name_id": "Ada@ACME.test",
    "format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "name_qualifier": None,
    "sp_name_qualifier": None,
    "session_index": "_session1",
}


def _revoke(session: dict[str, Any] | None, **named: Any) -> int:
    request = {"account_id": "acme", "email": "ada@acme.test", "session_indexes": ("_session1",)}
    return CurrentSessionRevoker(lambda: session).revoke(**{**request, **named})


def test_the_logout_request_for_this_login_ends_the_current_session() -> None:
    session = {SESSION_KEY: dict(FACTS), "cart": 3}
    assert _revoke(session) == 1
    assert session == {}


def test_without_a_session_index_every_session_of_the_user_may_end() -> None:
    session = {SESSION_KEY: dict(FACTS)}
    assert _revoke(session, session_indexes=()) == 1
    assert session == {}


@pytest.mark.parametrize(
    "named",
    [
        {"account_id": "globex"},
        {"email": "mallory@acme.test"},
        {"session_indexes": ("_another-login",)},
    ],
    ids=["another account", "another user", "another login"],
)
def test_a_logout_request_naming_someone_else_leaves_the_session_alone(
    named: dict[str, Any],
) -> None:
    session = {SESSION_KEY: dict(FACTS)}
    assert _revoke(session, **named) == 0
    assert session == {SESSION_KEY: FACTS}


def test_a_session_without_an_sso_login_is_left_alone() -> None:
    session = {"user": "local-admin"}
    assert _revoke(session) == 0
    assert session == {"user": "local-admin"}
    assert _revoke(None) == 0


def test_a_django_style_session_is_flushed_not_just_emptied() -> None:
    class FlushingSession(dict[str, Any]):
        flushed = False

        def flush(self) -> None:
            self.flushed = True
            self.clear()

    session = FlushingSession({SESSION_KEY: dict(FACTS)})
    assert _revoke(session) == 1
    assert session.flushed


def test_logout_reads_the_name_id_and_session_index_kept_at_login() -> None:
    target = logout_target({SESSION_KEY: FACTS})
    assert target is not None
    account_id, name_id, session_index = target
    assert (account_id, name_id.value, name_id.format, session_index) == (
        "acme",
        "Ada@ACME.test",
        FACTS["format"],
        "_session1",
    )
    assert logout_target({}) is None
    assert logout_target({SESSION_KEY: "tampered"}) is None


def test_the_sp_config_names_the_adapters_endpoints() -> None:
    sp = sp_config("https://app.example.com/", "acme", prefix="/auth/")
    assert (sp.entity_id, sp.acs_url, sp.slo_url) == (
        "https://app.example.com/auth/acme/metadata",
        "https://app.example.com/auth/acme/acs",
        "https://app.example.com/auth/acme/slo",
    )
