"""Test connection (issue 14): an administrator's SP-initiated login whose answer is a dry
run. ``begin_test_login`` remembers the request as a test bound to the administrator;
``complete_test_login`` runs every check a real login gets and reports what the login would
do, writing no user and issuing no session; the answer never logs anyone in.

Every service test runs with the in-memory and the SQLite request store, through LoginService
(``[sync]``) and AsyncLoginService over async stores (``[async]``).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from samljit import (
    AuditEvent,
    LoginContext,
    LoginService,
    NewUser,
    PendingRequest,
    ProvisioningPolicy,
    SamlError,
    UserRecord,
)
from samljit.history import login_record
from samljit.provisioning import TestLoginResult
from samljit.stores.memory import MemoryAccountStore, MemoryRequestStore, MemoryUserStore
from samljit.stores.redis import _decode, _encode
from samljit.stores.sqlite import SQLiteRequestStore
from samljit.testing import IssuedResponse, TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID
from .sp_flows import App, account, ada

ADMIN = "admin-7"


class ReadOnlyUsers:
    """A UserStore that may be read and fails the test on any write."""

    def __init__(self, inner: MemoryUserStore) -> None:
        self.inner = inner

    def get_by_email(self, email: str) -> UserRecord | None:
        return self.inner.get_by_email(email)

    def users_of(self, account_id: str) -> list[UserRecord]:
        return list(self.inner.users_of(account_id))

    def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        pytest.fail(f"a Test connection created {user.email}")

    def update(
        self,
        user_id: str,
        *,
        changes: dict[str, str | None],
        last_sso_login: datetime | None = None,
    ) -> UserRecord:
        pytest.fail(f"a Test connection updated user {user_id}")


class NoSessions:
    """A SessionIssuer that fails the test if called."""

    def issue(self, user: UserRecord, context: LoginContext) -> object:
        pytest.fail(f"a Test connection issued a session to {user.email}")


@pytest.fixture
def audited() -> list[AuditEvent]:
    """The audit events of the app's service."""
    return []


@pytest.fixture(params=["memory", "sqlite"])
def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    test_idp: TestIdP,
    login_service: Callable[..., LoginService],
    audited: list[AuditEvent],
) -> Iterator[App]:
    store: Any = (
        MemoryRequestStore()
        if request.param == "memory"
        else SQLiteRequestStore(tmp_path / "requests.sqlite3")
    )
    made = App(
        login_service=login_service,
        request_store=store,
        accounts=MemoryAccountStore([account("acme", test_idp.metadata_xml)]),
    )
    made.rebuild(users=ReadOnlyUsers(made.users), sessions=NoSessions(), audit=audited.append)
    yield made
    if isinstance(store, SQLiteRequestStore):
        store.close()


def respond(app: App, idp: TestIdP, in_response_to: str | None, **knobs: Any) -> IssuedResponse:
    knobs.setdefault("sp_entity_id", SP_ENTITY_ID)
    knobs.setdefault("acs_url", ACS_URL)
    knobs.setdefault("now", app.clock.now)
    knobs.setdefault("name_id", "ada@acme.test")
    knobs.setdefault("attributes", {"full_name": ["Ada Lovelace"], "role": ["developer"]})
    return idp.issue_response(in_response_to=in_response_to, **knobs)


def form(issued: IssuedResponse) -> dict[str, str]:
    return {"SAMLResponse": issued.form_value}


def run_test(app: App, idp: TestIdP, **knobs: Any) -> TestLoginResult:
    """Start a Test connection as ADMIN and complete it with the IdP's answer."""
    request = app.service.begin_test_login("acme", admin_id=ADMIN, relay_state="/sso/admin")
    issued = respond(app, idp, request.message_id, **knobs)
    return app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)


def configure(app: App, **changes: Any) -> None:
    config = app.accounts.get("acme")
    assert config is not None
    app.accounts.save(dataclasses.replace(config, **changes))


def no_user_or_session_written(app: App) -> None:
    assert list(app.users.users_of("acme")) == [ada()]


# --- begin_test_login -----------------------------------------------------------------------


def test_begin_test_login_remembers_a_test_request_bound_to_the_administrator(app: App) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN, relay_state="/sso/admin")
    pending = app.request_store.get(request.message_id)
    assert pending is not None
    assert (pending.kind, pending.test_admin, pending.relay_state) == (
        "test_login",
        ADMIN,
        "/sso/admin",
    )


def test_a_test_login_needs_the_administrators_id(app: App) -> None:
    with pytest.raises(SamlError) as caught:
        app.service.begin_test_login("acme", admin_id="")
    assert caught.value.code == "configuration_invalid"


def test_an_ordinary_login_request_has_no_test_administrator(app: App) -> None:
    request = app.service.begin_login("acme")
    pending = app.request_store.get(request.message_id)
    assert pending is not None
    assert (pending.kind, pending.test_admin) == ("login", None)


# --- what a real login would do ---------------------------------------------------------------


def test_the_result_shows_the_verified_name_id_attributes_and_identity(
    app: App, test_idp: TestIdP
) -> None:
    result = run_test(app, test_idp)
    assert result.assertion.name_id.value == "ada@acme.test"
    assert result.assertion.attributes["role"] == ("developer",)
    assert result.identity is not None
    assert (result.identity.email, result.identity.role) == ("ada@acme.test", "developer")
    assert (result.account_id, result.admin_id, result.redirect_to) == ("acme", ADMIN, "/sso/admin")


def test_an_existing_user_with_the_same_claims_would_be_unchanged(
    app: App, test_idp: TestIdP
) -> None:
    result = run_test(app, test_idp)
    assert (result.action, dict(result.changes), result.code) == ("unchanged", {}, None)


def test_a_new_user_would_be_created_and_nothing_is_written(app: App, test_idp: TestIdP) -> None:
    configure(app, policy=ProvisioningPolicy(create_users="always"))
    result = run_test(app, test_idp, name_id="grace@acme.test", attributes={"role": ["finance"]})
    assert result.action == "create"
    assert dict(result.changes) == {"full_name": (None, None), "role": (None, "finance")}
    assert app.users.get_by_email("grace@acme.test") is None


def test_a_changed_user_would_be_updated_with_the_diff_and_nothing_is_written(
    app: App, test_idp: TestIdP
) -> None:
    result = run_test(app, test_idp, attributes={"full_name": ["Ada King"], "role": ["finance"]})
    assert result.action == "update"
    assert dict(result.changes) == {
        "full_name": ("Ada Lovelace", "Ada King"),
        "role": ("developer", "finance"),
    }
    no_user_or_session_written(app)


def test_a_role_the_mapping_does_not_accept_is_a_refusal_in_the_result(
    app: App, test_idp: TestIdP
) -> None:
    result = run_test(app, test_idp, attributes={"role": ["ceo"]})
    assert (result.action, result.code, result.identity) == ("refuse", "role_not_accepted", None)
    assert result.message


def test_an_address_at_a_domain_another_account_owns_is_a_refusal_in_the_result(
    app: App, test_idp: TestIdP
) -> None:
    app.rebuild(account_for_domain=lambda domain: "globex" if domain == "acme.test" else None)
    result = run_test(app, test_idp)
    assert (result.action, result.code) == ("refuse", "domain_not_owned")
    assert result.identity is not None


def test_a_new_user_under_the_default_policy_is_refused_as_a_real_sp_initiated_login_would_be(
    app: App, test_idp: TestIdP
) -> None:
    result = run_test(app, test_idp, name_id="grace@acme.test")
    assert (result.action, result.code) == ("refuse", "user_not_provisioned")


def test_an_authn_context_the_account_does_not_accept_is_a_refusal_in_the_result(
    app: App, test_idp: TestIdP
) -> None:
    configure(
        app,
        policy=ProvisioningPolicy(required_authn_contexts=("urn:example:mfa",)),
    )
    result = run_test(app, test_idp)
    assert (result.action, result.code) == ("refuse", "authn_context_not_accepted")


def test_a_response_that_does_not_verify_raises_and_uses_nothing_up(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    issued = respond(app, test_idp, request.message_id, sp_entity_id="https://other.test/sp")
    with pytest.raises(SamlError) as caught:
        app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    assert caught.value.code == "audience_mismatch"
    assert app.request_store.get(request.message_id) is not None
    assert len(app.replay_cache) == 0


# --- a test never logs anyone in --------------------------------------------------------------


def test_the_answer_to_a_test_posted_to_the_acs_is_test_login_and_logs_no_one_in(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    issued = respond(app, test_idp, request.message_id)
    with pytest.raises(SamlError) as caught:
        app.service.complete_login(form(issued), account_id="acme")
    assert caught.value.code == "test_login"
    assert len(app.replay_cache) == 0
    # The administrator can still complete the test with it.
    result = app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    assert result.action == "unchanged"


def test_the_answer_to_a_test_posted_to_a_shared_acs_is_test_login(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    issued = respond(app, test_idp, request.message_id)
    with pytest.raises(SamlError) as caught:
        app.service.complete_login(form(issued), account_id=None)
    assert caught.value.code == "test_login"


def test_a_test_uses_up_its_request_and_the_response_is_refused_afterwards(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    issued = respond(app, test_idp, request.message_id)
    app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    assert app.request_store.get(request.message_id) is None
    for post in (
        lambda: app.service.complete_login(form(issued), account_id="acme"),
        lambda: app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN),
    ):
        with pytest.raises(SamlError) as caught:
            post()
        assert caught.value.code == "in_response_to_mismatch"


def test_the_assertion_of_a_test_is_recorded_so_it_cannot_be_replayed_as_a_login(
    app: App, test_idp: TestIdP
) -> None:
    """An app that tracks its own requests passes ``in_response_to`` (the request store is
    not consulted): the replay cache still refuses the test's assertion."""
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    issued = respond(app, test_idp, request.message_id)
    app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    with pytest.raises(SamlError) as caught:
        app.service.complete_login(
            form(issued), account_id="acme", in_response_to=request.message_id
        )
    assert caught.value.code == "replayed"


def test_a_refused_test_still_uses_up_its_request_and_assertion(
    app: App, test_idp: TestIdP
) -> None:
    result = run_test(app, test_idp, attributes={"role": ["ceo"]})
    assert app.request_store.get(result.request_id) is None
    assert len(app.replay_cache) == 1


def test_complete_test_login_refuses_the_answer_to_a_real_login(
    app: App, test_idp: TestIdP
) -> None:
    request = app.service.begin_login("acme")
    issued = respond(app, test_idp, request.message_id)
    with pytest.raises(SamlError) as caught:
        app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    assert caught.value.code == "in_response_to_mismatch"
    assert app.request_store.get(request.message_id) is not None


def test_complete_test_login_refuses_an_unsolicited_response(app: App, test_idp: TestIdP) -> None:
    configure(app, policy=ProvisioningPolicy(allow_idp_initiated=True))
    issued = respond(app, test_idp, None)
    with pytest.raises(SamlError) as caught:
        app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    assert caught.value.code == "in_response_to_mismatch"


# --- only the administrator who started it ---------------------------------------------------


def test_another_administrator_cannot_complete_or_see_the_test(app: App, test_idp: TestIdP) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    issued = respond(app, test_idp, request.message_id)
    with pytest.raises(SamlError) as caught:
        app.service.complete_test_login(form(issued), account_id="acme", admin_id="admin-8")
    assert caught.value.code == "test_login_forbidden"
    assert len(app.replay_cache) == 0
    result = app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    assert result.admin_id == ADMIN


# --- audit ------------------------------------------------------------------------------------


def test_a_test_is_audited_as_test_login_completed_by_its_administrator(
    app: App, test_idp: TestIdP, audited: list[AuditEvent]
) -> None:
    run_test(app, test_idp, attributes={"full_name": ["Ada King"], "role": ["developer"]})
    [event] = audited
    assert (event.name, event.admin_id, event.account_id, event.email) == (
        "test_login_completed",
        ADMIN,
        "acme",
        "ada@acme.test",
    )
    assert dict(event.changes) == {"full_name": ("Ada Lovelace", "Ada King")}
    assert login_record(event) is None  # not a login in the account's history


def test_the_answer_to_a_test_at_the_acs_is_not_a_refusal_in_the_login_history(
    app: App, test_idp: TestIdP, audited: list[AuditEvent]
) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    with pytest.raises(SamlError):
        app.service.complete_login(
            form(respond(app, test_idp, request.message_id)), account_id="acme"
        )
    [event] = audited
    assert (event.name, event.code) == ("login_rejected", "test_login")
    assert login_record(event) is None


def test_a_refused_test_is_audited_with_the_refusals_code(
    app: App, test_idp: TestIdP, audited: list[AuditEvent]
) -> None:
    run_test(app, test_idp, attributes={"role": ["ceo"]})
    [event] = audited
    assert (event.name, event.code) == ("test_login_completed", "role_not_accepted")


def test_a_test_whose_response_does_not_verify_is_audited_as_test_login_rejected(
    app: App, test_idp: TestIdP, audited: list[AuditEvent]
) -> None:
    request = app.service.begin_test_login("acme", admin_id=ADMIN)
    issued = respond(app, test_idp, request.message_id, sp_entity_id="https://other.test/sp")
    with pytest.raises(SamlError):
        app.service.complete_test_login(form(issued), account_id="acme", admin_id=ADMIN)
    [event] = audited
    assert (event.name, event.code, event.admin_id) == (
        "test_login_rejected",
        "audience_mismatch",
        ADMIN,
    )


# --- stored requests --------------------------------------------------------------------------

TEST_REQUEST = PendingRequest(
    request_id="_t1",
    account_id="acme",
    relay_state="/sso/admin",
    expires_at=NOW + timedelta(minutes=10),
    kind="test_login",
    test_admin=ADMIN,
)


def test_the_sqlite_store_round_trips_the_test_administrator(tmp_path: Path) -> None:
    store = SQLiteRequestStore(tmp_path / "requests.sqlite3")
    store.save(TEST_REQUEST)
    assert store.get("_t1") == TEST_REQUEST
    store.close()


def test_a_sqlite_file_from_before_test_logins_gets_the_column_and_its_rows_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE samljit_requests (request_id TEXT PRIMARY KEY, account_id TEXT NOT "
            "NULL, relay_state TEXT, expires_at REAL NOT NULL, kind TEXT NOT NULL DEFAULT "
            "'login')"
        )
        old.execute(
            "INSERT INTO samljit_requests VALUES ('_old', 'acme', '/', ?, 'login')",
            (TEST_REQUEST.expires_at.timestamp(),),
        )
    old.close()
    store = SQLiteRequestStore(path)
    loaded = store.get("_old")
    assert loaded is not None
    assert (loaded.kind, loaded.test_admin) == ("login", None)
    store.save(TEST_REQUEST)
    assert store.get("_t1") == TEST_REQUEST
    store.close()


def test_the_redis_serialisation_round_trips_the_test_administrator() -> None:
    assert _decode(_encode(TEST_REQUEST)) == TEST_REQUEST


def test_a_redis_value_from_before_test_logins_loads() -> None:
    old = (
        '{"request_id": "_old", "account_id": "acme", "relay_state": "/", '
        f'"expires_at": {TEST_REQUEST.expires_at.timestamp()}, "kind": "login"}}'
    )
    loaded = _decode(old)
    assert loaded is not None
    assert (loaded.kind, loaded.test_admin) == ("login", None)
