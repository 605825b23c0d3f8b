"""The framework-neutral part of the adapters (samljit.integrations._web): which session an
IdP's LogoutRequest may end, and what SP-initiated logout reads back from the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from samljit.errors import ConfigError
from samljit.integrations._web import (
    CSRF_FIELD,
    SESSION_KEY,
    CurrentSessionRevoker,
    logout_allowed,
    logout_form,
    logout_target,
    logout_token,
    sp_config,
)
from samljit.integrations.sessions import MemorySessionStore, ServerSession, SessionStore
from samljit.testing import FixedClock

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


# --- the logout token (CSRF) ---------------------------------------------------------------


def test_a_session_logs_out_only_with_its_own_token() -> None:
    session: dict[str, Any] = {SESSION_KEY: dict(FACTS)}
    token = logout_token(session)
    assert logout_token(session) == token
    assert logout_allowed(session, {CSRF_FIELD: token})
    assert not logout_allowed(session, {})
    assert not logout_allowed(session, {CSRF_FIELD: ""})
    assert not logout_allowed(session, {CSRF_FIELD: token[:-1]})
    assert not logout_allowed(session, {CSRF_FIELD: logout_token({})})


def test_a_session_without_a_token_refuses_every_logout_post() -> None:
    session = {SESSION_KEY: dict(FACTS)}
    assert not logout_allowed(session, {CSRF_FIELD: ""})
    assert not logout_allowed({**session, CSRF_FIELD: ""}, {CSRF_FIELD: ""})


def test_an_empty_session_has_nothing_to_lose_to_a_logout_post() -> None:
    assert logout_allowed({}, {})


def test_the_logout_form_escapes_its_action_and_label() -> None:
    form = logout_form({}, '/sso/logout?"><x', label="<b>Bye</b>")
    assert '"><x' not in form
    assert "<b>" not in form
    assert f'name="{CSRF_FIELD}"' in form


# --- MemorySessionStore ----------------------------------------------------------------------

START = datetime(2026, 1, 1, tzinfo=UTC)


def _store(clock: FixedClock, **options: Any) -> MemorySessionStore:
    return MemorySessionStore(clock=clock, **options)


def test_the_memory_store_is_a_session_store_and_a_session_revoker() -> None:
    from samljit import SessionRevoker

    store = MemorySessionStore()
    assert isinstance(store, SessionStore)
    assert isinstance(store, SessionRevoker)


def test_a_session_is_kept_under_a_new_random_id_and_read_back_as_a_copy() -> None:
    store = MemorySessionStore()
    data = {"email": "ada@acme.test", SESSION_KEY: dict(FACTS)}
    first, second = store.create(data), store.create(data)
    assert first != second
    assert len(first) >= 43  # 256 random bits, URL-safe
    loaded = store.load(first)
    assert loaded == data
    assert loaded is not None
    loaded[SESSION_KEY]["email"] = "mallory@acme.test"
    assert store.load(first) == data


def test_a_session_unused_for_the_idle_timeout_has_ended() -> None:
    clock = FixedClock(START)
    store = _store(clock, idle_timeout=timedelta(minutes=30))
    session_id = store.create({"email": "ada@acme.test"})
    clock.now += timedelta(minutes=29)
    assert store.load(session_id) is not None  # using it keeps it alive
    clock.now += timedelta(minutes=29)
    assert store.load(session_id) is not None
    clock.now += timedelta(minutes=30)
    assert store.load(session_id) is None
    assert not store.save(session_id, {"email": "ada@acme.test"})
    assert store.count() == 0


def test_a_busy_session_still_ends_after_its_lifetime() -> None:
    clock = FixedClock(START)
    store = _store(clock, idle_timeout=timedelta(hours=1), lifetime=timedelta(hours=8))
    session_id = store.create({"email": "ada@acme.test"})
    for _ in range(15):
        clock.now += timedelta(minutes=30)
        assert store.save(session_id, {"email": "ada@acme.test"})
    clock.now += timedelta(minutes=31)
    assert store.load(session_id) is None


def test_a_full_store_drops_expired_sessions_then_the_oldest() -> None:
    clock = FixedClock(START)
    store = _store(clock, max_sessions=3, idle_timeout=timedelta(minutes=10))
    expired = store.create({"n": 1})
    clock.now += timedelta(minutes=5)
    oldest, middle = store.create({"n": 2}), store.create({"n": 3})
    clock.now += timedelta(minutes=6)  # only the first one has been idle for 10 minutes
    newest = store.create({"n": 4})
    assert store.load(expired) is None
    assert [store.load(s) for s in (oldest, middle, newest)] == [{"n": 2}, {"n": 3}, {"n": 4}]
    store.create({"n": 5})
    assert store.count() == 3
    assert store.load(oldest) is None


def test_a_deleted_session_cannot_be_written_back() -> None:
    store = MemorySessionStore()
    session_id = store.create({"email": "ada@acme.test"})
    store.delete(session_id)
    store.delete(session_id)  # twice: ignored
    assert not store.save(session_id, {"email": "ada@acme.test"})
    assert store.load(session_id) is None


def test_the_idps_logout_ends_every_session_of_that_login_and_no_other() -> None:
    store = MemorySessionStore()
    laptop = store.create({SESSION_KEY: dict(FACTS)})
    phone = store.create({SESSION_KEY: dict(FACTS)})
    other_login = store.create({SESSION_KEY: {**FACTS, "session_index": "_session2"}})
    other_user = store.create({SESSION_KEY: {**FACTS, "email": "grace@acme.test"}})
    other_account = store.create({SESSION_KEY: {**FACTS, "account_id": "globex"}})
    local = store.create({"user": "local-admin"})
    ended = store.revoke(account_id="acme", email="ada@acme.test", session_indexes=("_session1",))
    assert ended == 2
    assert store.load(laptop) is None
    assert store.load(phone) is None
    for kept in (other_login, other_user, other_account, local):
        assert store.load(kept) is not None
    assert store.revoke(account_id="acme", email="ada@acme.test", session_indexes=()) == 1
    assert store.load(other_login) is None


@pytest.mark.parametrize(
    "options",
    [{"idle_timeout": timedelta(0)}, {"lifetime": timedelta(seconds=-1)}, {"max_sessions": 0}],
)
def test_a_store_without_a_positive_bound_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        MemorySessionStore(**options)
    assert caught.value.code == "configuration_invalid"


def test_a_server_session_asks_for_a_new_id_only_when_told() -> None:
    session = ServerSession({"email": "ada@acme.test"})
    assert not session.rotate_requested
    session.rotate()
    assert session.rotate_requested
