"""The login history (samljit.history): records fed by the login services' audit events,
bounded per account, newest first, with a plain-language reason for every error code. Every
store behaviour runs against the memory and the SQLite history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import samljit.errors
from samljit import AccountConfig, AuditEvent, ClaimMapping, LoginService, SamlError, SPConfig
from samljit.history import REFUSAL_REASONS, login_record, record_logins, refusal_reason
from samljit.protocols import LoginHistory, LoginRecord
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryLoginHistory,
    MemoryReplayCache,
    MemoryUserStore,
)
from samljit.stores.sqlite import SQLiteLoginHistory
from samljit.testing import FixedClock, RecordingSessionIssuer, TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID


def _error_classes(cls: type[SamlError] = SamlError) -> Iterator[type[SamlError]]:
    yield cls
    for sub in cls.__subclasses__():
        if sub.__module__ == "samljit.errors":
            yield from _error_classes(sub)


@pytest.fixture(params=["memory", "sqlite"])
def make_history(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., LoginHistory]]:
    opened: list[SQLiteLoginHistory] = []

    def make(per_account: int = 200) -> LoginHistory:
        if request.param == "memory":
            return MemoryLoginHistory(per_account=per_account)
        made = SQLiteLoginHistory(tmp_path / "history.sqlite3", per_account=per_account)
        opened.append(made)
        return made

    yield make
    for made in opened:
        made.close()


def record(account_id: str, minute: int, outcome: str = "succeeded") -> LoginRecord:
    return LoginRecord(
        at=NOW + timedelta(minutes=minute),
        account_id=account_id,
        outcome=outcome,
        email=f"user{minute}@{account_id}.test",
    )


# --- reasons -------------------------------------------------------------------------------


def test_every_error_code_has_a_plain_language_reason() -> None:
    codes = {cls.code for cls in _error_classes()}
    assert codes - set(REFUSAL_REASONS) == set()
    assert set(REFUSAL_REASONS) - codes == set()  # no reason for a code that is gone
    assert all(reason.endswith(".") and "\n" not in reason for reason in REFUSAL_REASONS.values())


def test_a_code_samljit_does_not_know_gets_a_generic_reason() -> None:
    assert refusal_reason("my_store_is_down") == REFUSAL_REASONS["saml_error"]
    assert refusal_reason(None) == REFUSAL_REASONS["saml_error"]


def test_the_reasons_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        REFUSAL_REASONS["expired"] = "anything"  # type: ignore[index]
    assert samljit.errors.Expired.code in REFUSAL_REASONS


# --- audit events to records ---------------------------------------------------------------


def test_a_rejected_login_becomes_a_refusal_with_its_code_and_reason() -> None:
    event = AuditEvent(
        name="login_rejected", at=NOW, account_id="acme", email="ada@acme.test",
        code="role_not_accepted", message="none of the roles ...",
    )  # fmt: skip
    assert login_record(event) == LoginRecord(
        at=NOW,
        account_id="acme",
        outcome="refused",
        email="ada@acme.test",
        code="role_not_accepted",
        reason=REFUSAL_REASONS["role_not_accepted"],
    )


def test_a_successful_login_has_no_code_or_reason() -> None:
    event = AuditEvent(name="login_succeeded", at=NOW, account_id="acme", email="ada@acme.test")
    assert login_record(event) == LoginRecord(
        at=NOW, account_id="acme", outcome="succeeded", email="ada@acme.test"
    )


@pytest.mark.parametrize(
    "event",
    [
        AuditEvent(name="user_created", at=NOW, account_id="acme", email="ada@acme.test"),
        AuditEvent(name="user_updated", at=NOW, account_id="acme", email="ada@acme.test"),
        AuditEvent(name="login_rejected", at=NOW, account_id=None, code="sso_disabled"),
    ],
)
def test_user_changes_and_refusals_of_no_known_account_are_not_recorded(
    event: AuditEvent,
) -> None:
    assert login_record(event) is None


def test_the_apps_own_audit_callable_still_gets_every_event() -> None:
    history = MemoryLoginHistory()
    seen: list[AuditEvent] = []
    audit = record_logins(history, then=seen.append)
    events = [
        AuditEvent(name="user_created", at=NOW, account_id="acme", email="ada@acme.test"),
        AuditEvent(name="login_succeeded", at=NOW, account_id="acme", email="ada@acme.test"),
    ]
    for event in events:
        audit(event)
    assert seen == events
    assert [r.outcome for r in history.recent("acme")] == ["succeeded"]


# --- the stores ----------------------------------------------------------------------------


def test_records_come_back_newest_first(make_history: Callable[..., LoginHistory]) -> None:
    history = make_history()
    for minute in range(3):
        history.record(record("acme", minute))
    assert [r.at for r in history.recent("acme")] == [NOW + timedelta(minutes=m) for m in (2, 1, 0)]


def test_a_record_comes_back_as_it_was_kept(make_history: Callable[..., LoginHistory]) -> None:
    history = make_history()
    kept = LoginRecord(
        at=NOW, account_id="acme", outcome="refused", email=None, code="expired",
        reason=REFUSAL_REASONS["expired"],
    )  # fmt: skip
    history.record(kept)
    assert history.recent("acme") == [kept]


def test_recent_returns_at_most_limit_records(make_history: Callable[..., LoginHistory]) -> None:
    history = make_history()
    for minute in range(5):
        history.record(record("acme", minute))
    assert [r.at.minute for r in history.recent("acme", limit=2)] == [4, 3]
    assert history.recent("acme", limit=0) == []


def test_each_account_keeps_only_its_last_records(
    make_history: Callable[..., LoginHistory],
) -> None:
    history = make_history(per_account=3)
    history.record(record("globex", 0))
    for minute in range(1, 8):
        history.record(record("acme", minute))
    assert [r.at.minute for r in history.recent("acme", limit=100)] == [7, 6, 5]
    assert [r.at.minute for r in history.recent("globex")] == [0]
    assert history.recent("initech") == []


def test_the_bound_holds_in_the_sqlite_table(tmp_path: Path) -> None:
    """Old rows are deleted, not only hidden: the table does not grow without bound."""
    history = SQLiteLoginHistory(tmp_path / "h.sqlite3", per_account=2)
    for minute in range(10):
        history.record(record("acme", minute))
    connection = history.db.connection()
    (count,) = connection.execute("SELECT COUNT(*) FROM samljit_login_history").fetchone()
    history.close()
    assert count == 2


@pytest.mark.parametrize("per_account", [0, -1])
def test_a_history_must_keep_at_least_one_record(per_account: int, tmp_path: Path) -> None:
    for make in (
        lambda: MemoryLoginHistory(per_account=per_account),
        lambda: SQLiteLoginHistory(tmp_path / "h.sqlite3", per_account=per_account),
    ):
        with pytest.raises(SamlError) as caught:
            make()
        assert caught.value.code == "configuration_invalid"


# --- fed by a real login service -----------------------------------------------------------


def test_the_login_service_feeds_the_history(test_idp: TestIdP) -> None:
    """``audit=record_logins(history)``: a login and a refusal of the service are recorded,
    the refusal with the code the service raised."""
    accounts = MemoryAccountStore()
    accounts.save(
        AccountConfig(
            account_id="acme",
            idp_metadata=test_idp.metadata_xml,
            sp=SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL),
            mapping=ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
        )
    )
    history = MemoryLoginHistory()
    service = LoginService(
        accounts=accounts,
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=FixedClock(NOW),
        audit=record_logins(history),
    )

    def login(role: str) -> None:
        issued = test_idp.issue_response(
            sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=NOW, name_id="ada@acme.test",
            attributes={"role": [role]},
        )  # fmt: skip
        service.complete_login({"SAMLResponse": issued.form_value}, account_id="acme")

    login("developer")
    with pytest.raises(SamlError):
        login("intern")
    refused, succeeded = history.recent("acme")
    assert (succeeded.outcome, succeeded.email, succeeded.code) == (
        "succeeded",
        "ada@acme.test",
        None,
    )
    assert (refused.outcome, refused.email, refused.code, refused.reason) == (
        "refused",
        "ada@acme.test",
        "role_not_accepted",
        REFUSAL_REASONS["role_not_accepted"],
    )


def test_a_refusal_before_verification_records_no_email(test_idp: TestIdP) -> None:
    """A forged response names any address it likes: the history never shows it."""
    accounts = MemoryAccountStore()
    accounts.save(
        AccountConfig(
            account_id="acme",
            idp_metadata=test_idp.metadata_xml,
            sp=SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL),
            mapping=ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
        )
    )
    history = MemoryLoginHistory()
    service = LoginService(
        accounts=accounts,
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=FixedClock(NOW),
        audit=record_logins(history),
    )
    forger = TestIdP(entity_id=test_idp.entity_id)
    issued = forger.issue_response(
        sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=NOW, name_id="ceo@acme.test",
        attributes={"role": ["developer"]},
    )  # fmt: skip
    with pytest.raises(SamlError):
        service.complete_login({"SAMLResponse": issued.form_value}, account_id="acme")
    [refused] = history.recent("acme")
    assert (refused.outcome, refused.email) == ("refused", None)
    assert refused.code in ("untrusted_key", "signature_invalid")


@pytest.mark.parametrize(
    "form", [{}, {"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4="}], ids=["no-field", "a-response"]
)
def test_posts_naming_accounts_that_do_not_exist_add_nothing_to_the_history(
    form: dict[str, str],
) -> None:
    """Anyone can put any account in the ACS URL: the history (bounded per account) must not
    gain an account per unauthenticated POST."""
    history = MemoryLoginHistory()
    seen: list[AuditEvent] = []
    service = LoginService(
        accounts=MemoryAccountStore(),
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=FixedClock(NOW),
        audit=record_logins(history, then=seen.append),
    )
    for number in range(20):
        with pytest.raises(SamlError) as caught:
            service.complete_login(form, account_id=f"made-up-{number}")
        assert caught.value.code == "sso_disabled"
    assert [event.name for event in seen] == ["login_rejected"] * 20
    assert all(history.recent(f"made-up-{number}") == [] for number in range(20))
