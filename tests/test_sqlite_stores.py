"""The SQLite reference stores: schema, constraints, JSON rows, and atomicity across processes.

The concurrency tests start real OS processes (each builds its own LoginService, with its own
connections, on the same database file) and release them together with a Barrier.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from samljit import (
    AccountConfig,
    ClaimMapping,
    Limits,
    LoginService,
    NewUser,
    ProvisioningPolicy,
    SamlError,
    SPConfig,
)
from samljit.protocols import DuplicateUser
from samljit.stores.memory import MemoryReplayCache, MemorySessionIssuer
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteUserStore
from samljit.testing import TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID

TABLES = {"samljit_users", "samljit_accounts", "samljit_replay"}
SP = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
MAPPING = ClaimMapping.from_dict({"accepted_roles": ["account_administrator", "developer"]})
ADA = NewUser(email="ada@acme.test", account_id="acme", full_name="Ada Lovelace", role="developer")
PROCESSES = 6
# fork starts a worker in milliseconds; elsewhere (macOS, Windows) fork is unsafe or missing.
START_METHOD = "fork" if sys.platform == "linux" else "spawn"


@contextlib.contextmanager
def raw(db: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to look at the file as another program would."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        yield connection


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with raw(db) as connection:
        return connection.execute(sql).fetchall()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "app.sqlite3"


def account(test_idp: TestIdP, account_id: str = "acme", **changes: Any) -> AccountConfig:
    settings: dict[str, Any] = {"idp_metadata": test_idp.metadata_xml, "sp": SP, "mapping": MAPPING}
    return AccountConfig(account_id=account_id, **{**settings, **changes})


# --- schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize("store", [SQLiteUserStore, SQLiteAccountStore, SQLiteReplayCache])
def test_any_store_creates_the_whole_schema_in_a_fresh_file(db: Path, store: type) -> None:
    store(db)
    assert db.exists()
    tables = {name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables >= TABLES


def test_the_file_uses_wal_journaling(db: Path) -> None:
    SQLiteUserStore(db)
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]


def test_reopening_a_file_keeps_users_accounts_and_replay_entries(
    db: Path, test_idp: TestIdP
) -> None:
    created = SQLiteUserStore(db).create(ADA, now=NOW)
    SQLiteAccountStore(db).save(account(test_idp))
    SQLiteReplayCache(db).add("idp _a1", expires_at=NOW + timedelta(minutes=5), now=NOW)

    assert SQLiteUserStore(db).get_by_email("ada@acme.test") == created
    assert SQLiteAccountStore(db).get("acme") == account(test_idp)
    assert not SQLiteReplayCache(db).add("idp _a1", expires_at=NOW + timedelta(minutes=5), now=NOW)


# --- users ----------------------------------------------------------------------------------


def test_create_returns_the_stored_user_with_the_login_time(db: Path) -> None:
    users = SQLiteUserStore(db)
    created = users.create(ADA, now=NOW)
    assert (created.email, created.account_id, created.full_name, created.role) == (
        "ada@acme.test",
        "acme",
        "Ada Lovelace",
        "developer",
    )
    assert created.last_sso_login == NOW
    assert users.get_by_email("ada@acme.test") == created


def test_an_unknown_email_is_none(db: Path) -> None:
    assert SQLiteUserStore(db).get_by_email("nobody@acme.test") is None


def test_the_email_is_unique_across_store_instances(db: Path) -> None:
    SQLiteUserStore(db).create(ADA, now=NOW)
    other = NewUser(email="ada@acme.test", account_id="globex", full_name=None, role="developer")
    with pytest.raises(DuplicateUser):
        SQLiteUserStore(db).create(other, now=NOW)
    assert rows(db, "SELECT email, account_id FROM samljit_users") == [("ada@acme.test", "acme")]


def test_update_applies_the_changes_and_records_the_login(db: Path) -> None:
    users = SQLiteUserStore(db)
    created = users.create(ADA, now=NOW)
    later = NOW + timedelta(days=1)
    updated = users.update(
        created.user_id, changes={"full_name": "Ada King", "role": "finance"}, last_sso_login=later
    )
    assert (updated.user_id, updated.full_name, updated.role, updated.last_sso_login) == (
        created.user_id,
        "Ada King",
        "finance",
        later,
    )
    assert SQLiteUserStore(db).get_by_email("ada@acme.test") == updated


def test_update_without_changes_records_only_the_login(db: Path) -> None:
    users = SQLiteUserStore(db)
    created = users.create(ADA, now=NOW)
    later = NOW + timedelta(hours=2)
    updated = users.update(created.user_id, changes={}, last_sso_login=later)
    assert updated == dataclasses.replace(created, last_sso_login=later)


def test_update_refuses_any_field_but_full_name_and_role(db: Path) -> None:
    """Column names are interpolated into the UPDATE, so only known fields are allowed."""
    users = SQLiteUserStore(db)
    created = users.create(ADA, now=NOW)
    with pytest.raises(ValueError, match="account_id"):
        users.update(created.user_id, changes={"account_id": "globex"}, last_sso_login=NOW)
    assert users.get_by_email("ada@acme.test") == created


def test_users_of_lists_one_accounts_users_in_creation_order(db: Path) -> None:
    users = SQLiteUserStore(db)
    for email, account_id in [
        ("b@acme.test", "acme"),
        ("g@globex.test", "globex"),
        ("a@acme.test", "acme"),
    ]:
        users.create(
            NewUser(email=email, account_id=account_id, full_name=None, role="developer"), now=NOW
        )
    assert [u.email for u in users.users_of("acme")] == ["b@acme.test", "a@acme.test"]
    assert users.users_of("initech") == []


def test_delete_removes_a_user_and_frees_the_email(db: Path) -> None:
    users = SQLiteUserStore(db)
    users.create(ADA, now=NOW)
    users.delete("ada@acme.test")
    assert users.get_by_email("ada@acme.test") is None
    assert users.create(ADA, now=NOW).email == "ada@acme.test"


# --- accounts -------------------------------------------------------------------------------


def full_account(test_idp: TestIdP) -> AccountConfig:
    """An account configuration with every setting away from its default."""
    return AccountConfig(
        account_id="acme",
        idp_metadata=test_idp.metadata_xml,
        idp_entity_id=test_idp.entity_id,
        name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        sp=SPConfig(
            entity_id=SP_ENTITY_ID,
            acs_url=ACS_URL,
            slo_url="https://app.example.com/saml/acme/slo",
            clock_skew=timedelta(seconds=90),
            allow_sha1=True,
            limits=Limits(max_bytes=100_000, max_depth=20, max_nodes=5_000),
        ),
        mapping=ClaimMapping.from_dict(
            {
                "preset": "entra",
                "accepted_roles": ["account_administrator", "developer", "finance"],
                "role_values": {"Admins": "account_administrator"},
                "group_roles": [["acme-finance", "finance"]],
                "unaccepted_role": "default",
                "default_role": "developer",
                "account_attributes": ["imagekit_id"],
                "extra_attributes": {"department": ["department"]},
            }
        ),
        policy=ProvisioningPolicy(
            create_users="always",
            update_users=False,
            allow_idp_initiated=False,
            required_authn_contexts=("http://schemas.microsoft.com/claims/multipleauthn",),
        ),
    )


def test_account_config_round_trips_through_json(test_idp: TestIdP) -> None:
    config = full_account(test_idp)
    assert AccountConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_metadata_in_another_encoding_is_kept_byte_for_byte(db: Path, test_idp: TestIdP) -> None:
    """The JSON row must not re-encode what the administrator pasted (here ISO-8859-1)."""
    latin1 = (
        test_idp.metadata_xml.decode("utf-8")
        .replace("encoding='UTF-8'", "encoding='ISO-8859-1'")
        .replace("<md:IDPSSODescriptor", "<!-- Société Générale --><md:IDPSSODescriptor", 1)
        .encode("latin-1")
    )
    config = account(test_idp, idp_metadata=latin1)
    SQLiteAccountStore(db).save(config)
    assert SQLiteAccountStore(db).get("acme") == config


def test_the_account_store_returns_what_was_saved(db: Path, test_idp: TestIdP) -> None:
    config = full_account(test_idp)
    SQLiteAccountStore(db).save(config)
    assert SQLiteAccountStore(db).get("acme") == config


def test_an_account_without_configuration_is_none(db: Path) -> None:
    assert SQLiteAccountStore(db).get("acme") is None


def test_accounts_are_found_by_their_idps_entity_id(db: Path, test_idp: TestIdP) -> None:
    accounts = SQLiteAccountStore(db)
    accounts.save(account(test_idp, "acme"))
    accounts.save(account(test_idp, "initech"))
    found = accounts.find_by_idp_entity_id(test_idp.entity_id)
    assert sorted(c.account_id for c in found) == ["acme", "initech"]
    assert accounts.find_by_idp_entity_id("https://idp.unknown.test/metadata") == []


def test_saving_again_replaces_the_configuration_and_its_idp(db: Path, test_idp: TestIdP) -> None:
    accounts = SQLiteAccountStore(db)
    accounts.save(account(test_idp))
    other = TestIdP(entity_id="https://idp.other.test/metadata", key_type="ec")
    replaced = account(other)
    accounts.save(replaced)
    assert accounts.get("acme") == replaced
    assert accounts.find_by_idp_entity_id(test_idp.entity_id) == []
    assert accounts.find_by_idp_entity_id(other.entity_id) == [replaced]
    assert rows(db, "SELECT COUNT(*) FROM samljit_accounts") == [(1,)]


def test_deleting_an_account_configuration_removes_it_everywhere(
    db: Path, test_idp: TestIdP
) -> None:
    accounts = SQLiteAccountStore(db)
    accounts.save(account(test_idp))
    accounts.delete("acme")
    assert accounts.get("acme") is None
    assert accounts.find_by_idp_entity_id(test_idp.entity_id) == []
    accounts.delete("acme")  # deleting twice is harmless


def test_metadata_that_does_not_parse_is_refused_at_save(db: Path, test_idp: TestIdP) -> None:
    accounts = SQLiteAccountStore(db)
    bad = AccountConfig(account_id="acme", idp_metadata=b"<html>SSO</html>", sp=SP, mapping=MAPPING)
    with pytest.raises(SamlError) as caught:
        accounts.save(bad)
    assert caught.value.code.startswith("metadata_")
    assert accounts.get("acme") is None


@pytest.mark.parametrize(
    "broken",
    [
        lambda d: d.pop("sp"),
        lambda d: d.pop("mapping"),
        lambda d: d["policy"].update(create_users="sometimes"),
        lambda d: d["sp"].update(colour="blue"),
        lambda d: d["mapping"].update(accepted_roles=[]),
        lambda d: d.update(account_id=""),
    ],
    ids=[
        "no sp",
        "no mapping",
        "bad policy",
        "unknown sp setting",
        "no accepted roles",
        "empty account id",
    ],
)
def test_a_broken_row_is_a_configuration_error(test_idp: TestIdP, broken: Any) -> None:
    data = json.loads(json.dumps(account(test_idp).to_dict()))
    broken(data)
    with pytest.raises(SamlError) as caught:
        AccountConfig.from_dict(data)
    assert caught.value.code == "configuration_invalid"


# --- replay cache ---------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "memory"])
def replay_cache(request: pytest.FixtureRequest, db: Path) -> Any:
    return SQLiteReplayCache(db) if request.param == "sqlite" else MemoryReplayCache()


EXPIRES = NOW + timedelta(minutes=5)


def test_a_new_key_is_added_once(replay_cache: Any) -> None:
    assert replay_cache.add("idp _a1", expires_at=EXPIRES, now=NOW) is True
    assert replay_cache.add("idp _a1", expires_at=EXPIRES, now=NOW) is False
    assert replay_cache.add("idp _a2", expires_at=EXPIRES, now=NOW) is True


def test_a_key_is_refused_until_the_instant_it_expires(replay_cache: Any) -> None:
    replay_cache.add("idp _a1", expires_at=EXPIRES, now=NOW)
    just_before = EXPIRES - timedelta(microseconds=1)
    assert replay_cache.add("idp _a1", expires_at=EXPIRES, now=just_before) is False


def test_an_expired_key_may_be_taken_over_with_a_new_expiry(replay_cache: Any) -> None:
    replay_cache.add("idp _a1", expires_at=EXPIRES, now=NOW)
    later = EXPIRES + timedelta(minutes=5)
    assert replay_cache.add("idp _a1", expires_at=later, now=EXPIRES) is True
    assert replay_cache.add("idp _a1", expires_at=later, now=later - timedelta(seconds=1)) is False


def test_the_sqlite_replay_cache_is_shared_by_every_instance_on_the_file(db: Path) -> None:
    assert SQLiteReplayCache(db).add("idp _a1", expires_at=EXPIRES, now=NOW)
    assert not SQLiteReplayCache(db).add("idp _a1", expires_at=EXPIRES, now=NOW)


def test_the_sqlite_replay_cache_purges_expired_keys_only(db: Path) -> None:
    cache = SQLiteReplayCache(db)
    cache.PURGE_EVERY = 1
    cache.add("idp _old", expires_at=NOW + timedelta(minutes=1), now=NOW)
    cache.add("idp _live", expires_at=NOW + timedelta(hours=1), now=NOW + timedelta(minutes=2))
    assert rows(db, "SELECT key FROM samljit_replay") == [("idp _live",)]


# --- several processes at once --------------------------------------------------------------


def _login_in_a_process(db: str, form_value: str, barrier: Any, results: Any) -> None:
    """One worker of the web app: its own connections, its own LoginService."""
    try:
        service = LoginService(
            accounts=SQLiteAccountStore(db),
            users=SQLiteUserStore(db),
            sessions=MemorySessionIssuer(),
            replay_cache=SQLiteReplayCache(db),
            clock=lambda: NOW,
        )
        config = service.accounts.get("acme")
        assert config is not None
        service.identity_provider(config)  # parse the metadata before the race starts
        barrier.wait(timeout=60)
        result = service.complete_login({"SAMLResponse": form_value}, account_id="acme")
        results.put(("ok", result.outcome.action))
    except SamlError as exc:
        results.put(("error", exc.code))
    except BaseException as exc:  # report anything else to the test instead of hanging it
        results.put(("crash", repr(exc)))


def _race(db: Path, form_values: list[str]) -> list[tuple[str, str]]:
    context = multiprocessing.get_context(START_METHOD)
    barrier = context.Barrier(len(form_values))
    results = context.Queue()
    processes = [
        context.Process(target=_login_in_a_process, args=(str(db), value, barrier, results))
        for value in form_values
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0] * len(processes)
    results.close()
    results.join_thread()
    return outcomes


def _prepare(db: Path, test_idp: TestIdP) -> None:
    SQLiteAccountStore(db).save(account(test_idp))


def _issue(test_idp: TestIdP) -> str:
    return test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id="ada@acme.test",
        attributes={"full_name": ["Ada Lovelace"], "role": ["developer"]},
    ).form_value


def test_the_same_assertion_posted_by_several_processes_at_once_logs_in_once(
    db: Path, test_idp: TestIdP
) -> None:
    _prepare(db, test_idp)
    form_value = _issue(test_idp)
    outcomes = _race(db, [form_value] * PROCESSES)
    assert Counter(outcomes) == {("ok", "created"): 1, ("error", "replayed"): PROCESSES - 1}
    assert rows(db, "SELECT email FROM samljit_users") == [("ada@acme.test",)]
    assert rows(db, "SELECT COUNT(*) FROM samljit_replay") == [(1,)]


def test_different_assertions_for_one_new_email_at_once_make_one_user_and_all_log_in(
    db: Path, test_idp: TestIdP
) -> None:
    """The losers of the UNIQUE email race get DuplicateUser and log in as updates."""
    _prepare(db, test_idp)
    outcomes = _race(db, [_issue(test_idp) for _ in range(PROCESSES)])
    assert Counter(outcomes) == {("ok", "created"): 1, ("ok", "unchanged"): PROCESSES - 1}
    assert rows(db, "SELECT email, full_name, role FROM samljit_users") == [
        ("ada@acme.test", "Ada Lovelace", "developer")
    ]
    assert rows(db, "SELECT COUNT(*) FROM samljit_replay") == [(PROCESSES,)]
