"""The Django reference stores against the store contract: the same assertions run on the
in-memory and SQLite stores, so the Django ones are held to what samljit expects of any
store; the SQL stores (Django's and SQLAlchemy's) run on SQLite and on PostgreSQL. Then what
is Django's own: the users, the role groups, the migration, and the races (threads released
together, each with its own connection): exactly one user from concurrent first logins, and
one writer's version of a user updated concurrently."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connections
from django.test.utils import override_settings
from sqlalchemy import Engine, MetaData, create_engine, select

from samljit import (
    AccountConfig,
    ClaimMapping,
    LoginService,
    NewUser,
    ProvisioningPolicy,
    SamlError,
)
from samljit.integrations.django import DjangoAccountStore, DjangoUserStore
from samljit.integrations.django.models import SsoAccount, SsoProfile
from samljit.integrations.django.stores import _from_db, _to_db, split_full_name
from samljit.protocols import DuplicateUser, UserRecord
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemorySessionIssuer,
    MemoryUserStore,
)
from samljit.stores.sqlalchemy import SQLAlchemyUserStore, users_table
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteUserStore
from samljit.testing import TestIdP

from ..conftest import NOW
from ..postgres import on_postgresql
from .conftest import MAPPING, SP, Site, on_django_postgresql

ADA = NewUser(email="ada@acme.test", account_id="acme", full_name="Ada Lovelace", role="developer")
# Each SQL store on SQLite and, marked `postgresql`, on PostgreSQL.
SQL_USERS = [
    "sqlite",
    "django",
    "sqlalchemy",
    on_postgresql("django-postgresql"),
    on_postgresql("sqlalchemy-postgresql"),
]
SQL_ACCOUNTS = ["sqlite", "django", on_postgresql("django-postgresql")]
# Django's own behaviour, on its SQLite database and on PostgreSQL. A fixture, so that it is
# set up before any other fixture writes (`site`).
ON_BOTH_DATABASES = pytest.mark.usefixtures("database_alias")


@pytest.fixture(params=["sqlite", on_postgresql("postgresql")])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A SQLAlchemy engine on a new SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'users.sqlite3'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    made = create_engine(url)
    yield made
    made.dispose()


@contextlib.contextmanager
def user_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if kind == "memory":
        yield MemoryUserStore()
    elif kind == "sqlite":
        store = SQLiteUserStore(tmp_path / "users.sqlite3")
        yield store
        store.close()
    elif kind == "django":
        yield DjangoUserStore()
    elif kind == "django-postgresql":
        with on_django_postgresql(request):
            yield DjangoUserStore()
    else:
        engine = (
            create_engine(request.getfixturevalue("postgresql_url"))
            if kind == "sqlalchemy-postgresql"
            else create_engine(f"sqlite:///{tmp_path / 'users.sqlite3'}")
        )
        yield SQLAlchemyUserStore(engine)
        engine.dispose()


@pytest.fixture(params=["memory", *SQL_USERS])
def users(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with user_store(request.param, request, tmp_path) as store:
        yield store


@pytest.fixture(params=SQL_USERS)
def sql_users(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with user_store(request.param, request, tmp_path) as store:
        yield store


@contextlib.contextmanager
def account_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if kind == "memory":
        yield MemoryAccountStore()
    elif kind == "sqlite":
        store = SQLiteAccountStore(tmp_path / "accounts.sqlite3")
        yield store
        store.close()
    elif kind == "django":
        yield DjangoAccountStore()
    else:
        with on_django_postgresql(request):
            yield DjangoAccountStore()


@pytest.fixture(params=["memory", *SQL_ACCOUNTS])
def accounts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with account_store(request.param, request, tmp_path) as store:
        yield store


@pytest.fixture(params=SQL_ACCOUNTS)
def sql_accounts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with account_store(request.param, request, tmp_path) as store:
        yield store


def account(test_idp: TestIdP, account_id: str = "acme", **changes: Any) -> AccountConfig:
    settings: dict[str, Any] = {"idp_metadata": test_idp.metadata_xml, "sp": SP, "mapping": MAPPING}
    return AccountConfig(account_id=account_id, **{**settings, **changes})


# --- UserStore contract ---------------------------------------------------------------------


def test_create_returns_the_stored_user_with_the_login_time(users: Any) -> None:
    created = users.create(ADA, now=NOW)
    assert (created.email, created.account_id, created.full_name, created.role) == (
        "ada@acme.test",
        "acme",
        "Ada Lovelace",
        "developer",
    )
    assert created.last_sso_login == NOW
    assert users.get_by_email("ada@acme.test") == created


def test_an_unknown_email_is_none(users: Any) -> None:
    assert users.get_by_email("nobody@acme.test") is None


def test_the_email_is_unique(users: Any) -> None:
    users.create(ADA, now=NOW)
    other = NewUser(email="ada@acme.test", account_id="globex", full_name=None, role="developer")
    with pytest.raises(DuplicateUser):
        users.create(other, now=NOW)
    assert [u.account_id for u in users.users_of("acme")] == ["acme"]
    assert list(users.users_of("globex")) == []


def test_update_applies_the_changes_and_records_the_login(users: Any) -> None:
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
    assert users.get_by_email("ada@acme.test") == updated


def test_update_without_changes_records_only_the_login(users: Any) -> None:
    created = users.create(ADA, now=NOW)
    later = NOW + timedelta(hours=2)
    updated = users.update(created.user_id, changes={}, last_sso_login=later)
    assert updated == dataclasses.replace(created, last_sso_login=later)


def test_update_refuses_any_field_but_full_name_and_role(sql_users: Any) -> None:
    created = sql_users.create(ADA, now=NOW)
    with pytest.raises(ValueError, match="account_id"):
        sql_users.update(created.user_id, changes={"account_id": "globex"}, last_sso_login=NOW)
    assert sql_users.get_by_email("ada@acme.test") == created


def test_the_sqlalchemy_store_can_use_the_apps_own_table(engine: Engine) -> None:
    metadata = MetaData()
    table = users_table(metadata, "people")
    metadata.create_all(engine)
    users = SQLAlchemyUserStore(engine, table=table, create_table=False)
    created = users.create(ADA, now=NOW)
    with engine.connect() as connection:
        assert connection.execute(select(table.c.email)).scalars().all() == ["ada@acme.test"]
    assert users.get_by_email("ada@acme.test") == created


def test_concurrent_sqlalchemy_creates_of_one_email_make_one_user(engine: Engine) -> None:
    users = SQLAlchemyUserStore(engine)
    outcomes = _race(lambda _: users.create(ADA, now=NOW))
    assert Counter(type(outcome).__name__ for outcome in outcomes) == Counter(
        {"UserRecord": 1, "DuplicateUser": len(outcomes) - 1}
    )
    assert len(users.users_of("acme")) == 1


def test_users_of_lists_one_accounts_users_in_creation_order(users: Any) -> None:
    for email, account_id in [
        ("b@acme.test", "acme"),
        ("g@globex.test", "globex"),
        ("a@acme.test", "acme"),
    ]:
        users.create(
            NewUser(email=email, account_id=account_id, full_name=None, role="developer"), now=NOW
        )
    assert [u.email for u in users.users_of("acme")] == ["b@acme.test", "a@acme.test"]
    assert list(users.users_of("initech")) == []


# --- AccountStore contract ------------------------------------------------------------------


def test_the_account_store_returns_what_was_saved(accounts: Any, test_idp: TestIdP) -> None:
    config = account(
        test_idp,
        idp_entity_id=test_idp.entity_id,
        sp=dataclasses.replace(SP, clock_skew=timedelta(seconds=90), allow_sha1=True),
        mapping=ClaimMapping.from_dict(
            {"preset": "entra", "accepted_roles": ["developer"], "role_values": {"A": "developer"}}
        ),
    )
    accounts.save(config)
    assert accounts.get("acme") == config


def test_the_account_store_keeps_the_metadata_url(accounts: Any, test_idp: TestIdP) -> None:
    config = account(test_idp, idp_metadata_url="https://idp.example.test/metadata.xml")
    accounts.save(config)
    assert accounts.get("acme") == config
    assert accounts.find_by_idp_entity_id(test_idp.entity_id) == [config]


def test_an_account_without_configuration_is_none(accounts: Any) -> None:
    assert accounts.get("acme") is None


def test_accounts_are_found_by_their_idps_entity_id(accounts: Any, test_idp: TestIdP) -> None:
    accounts.save(account(test_idp, "acme"))
    accounts.save(account(test_idp, "initech"))
    found = accounts.find_by_idp_entity_id(test_idp.entity_id)
    assert sorted(c.account_id for c in found) == ["acme", "initech"]
    assert accounts.find_by_idp_entity_id("https://idp.unknown.test/metadata") == []


def test_saving_again_replaces_the_configuration_and_its_idp(
    accounts: Any, test_idp: TestIdP
) -> None:
    accounts.save(account(test_idp))
    other = TestIdP(entity_id="https://idp.other.test/metadata", key_type="ec")
    replaced = account(other)
    accounts.save(replaced)
    assert accounts.get("acme") == replaced
    assert accounts.find_by_idp_entity_id(test_idp.entity_id) == []
    assert accounts.find_by_idp_entity_id(other.entity_id) == [replaced]


def test_deleting_an_account_configuration_removes_it_everywhere(
    accounts: Any, test_idp: TestIdP
) -> None:
    accounts.save(account(test_idp))
    accounts.delete("acme")
    assert accounts.get("acme") is None
    assert accounts.find_by_idp_entity_id(test_idp.entity_id) == []
    accounts.delete("acme")  # deleting twice is harmless


def test_the_account_stores_version_changes_at_every_save_and_delete(
    accounts: Any, test_idp: TestIdP
) -> None:
    """``config_version``: what lets each worker keep the parsed configuration it read."""
    assert accounts.config_version("acme") is None
    accounts.save(account(test_idp))
    first = accounts.config_version("acme")
    assert first is not None
    assert accounts.config_version("acme") == first
    accounts.save(account(test_idp))  # saved again unchanged: still a new version
    second = accounts.config_version("acme")
    accounts.delete("acme")
    assert accounts.config_version("acme") is None
    accounts.save(account(test_idp))
    assert len({first, second, accounts.config_version("acme")}) == 3


def test_each_change_in_the_account_store_takes_effect_at_the_next_login(
    accounts: Any, test_idp: TestIdP
) -> None:
    """A login service over the store keeps the configuration it read by version; a new
    key, a new mapping and a deletion each reach its next login."""
    service = LoginService(
        accounts=accounts,
        users=MemoryUserStore(),
        sessions=MemorySessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
    )
    policy = ProvisioningPolicy(create_users="always")
    rotated = TestIdP(entity_id=test_idp.entity_id, key_type="ec")
    logins = iter(range(100))

    def login(idp: TestIdP, role: str = "developer") -> str:
        issued = idp.issue_response(
            sp_entity_id=SP.entity_id,
            acs_url=SP.acs_url,
            now=NOW,
            name_id=f"user{next(logins)}@acme.test",
            attributes={"role": [role]},
        )
        try:
            result = service.complete_login({"SAMLResponse": issued.form_value}, account_id="acme")
        except SamlError as exc:
            return exc.code
        return result.outcome.action

    accounts.save(account(test_idp, policy=policy))
    assert [login(test_idp), login(test_idp)] == ["created", "created"]
    accounts.save(account(rotated, policy=policy))
    assert [login(test_idp), login(rotated)] == ["untrusted_key", "created"]
    finance = ClaimMapping.from_dict({"accepted_roles": ["finance"]})
    accounts.save(account(rotated, policy=policy, mapping=finance))
    assert [login(rotated), login(rotated, "finance")] == ["role_not_accepted", "created"]
    accounts.delete("acme")
    assert login(rotated) == "sso_disabled"
    accounts.save(account(test_idp, policy=policy))
    assert login(test_idp) == "created"


def test_metadata_in_another_encoding_is_kept_byte_for_byte(
    sql_accounts: Any, test_idp: TestIdP
) -> None:
    latin1 = (
        test_idp.metadata_xml.decode("utf-8")
        .replace("encoding='UTF-8'", "encoding='ISO-8859-1'")
        .replace("<md:IDPSSODescriptor", "<!-- Société Générale --><md:IDPSSODescriptor", 1)
        .encode("latin-1")
    )
    config = account(test_idp, idp_metadata=latin1)
    sql_accounts.save(config)
    assert sql_accounts.get("acme") == config


def test_metadata_that_does_not_parse_is_refused_at_save(sql_accounts: Any) -> None:
    bad = AccountConfig(account_id="acme", idp_metadata=b"<html>SSO</html>", sp=SP, mapping=MAPPING)
    with pytest.raises(SamlError) as caught:
        sql_accounts.save(bad)
    assert caught.value.code.startswith("metadata_")
    assert sql_accounts.get("acme") is None


# --- what is Django's own ---------------------------------------------------------------------


@ON_BOTH_DATABASES
def test_a_created_user_is_a_django_user_in_the_roles_group() -> None:
    created = DjangoUserStore().create(ADA, now=NOW)
    user = User.objects.get(pk=int(created.user_id))
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "ada@acme.test",
        "ada@acme.test",
        "Ada",
        "Lovelace",
    )
    assert not user.has_usable_password()
    assert [g.name for g in user.groups.all()] == ["developer"]


@ON_BOTH_DATABASES
def test_a_role_change_moves_the_user_to_the_new_roles_group_only() -> None:
    users = DjangoUserStore(group_prefix="sso:")
    created = users.create(ADA, now=NOW)
    user = User.objects.get(pk=int(created.user_id))
    user.groups.add(Group.objects.create(name="beta-testers"))
    users.update(created.user_id, changes={"role": "finance"}, last_sso_login=NOW)
    assert sorted(g.name for g in user.groups.all()) == ["beta-testers", "sso:finance"]
    assert sorted(Group.objects.values_list("name", flat=True)) == [
        "beta-testers",
        "sso:developer",
        "sso:finance",
    ]


@ON_BOTH_DATABASES
def test_a_full_name_change_is_kept_whole_and_split_for_display() -> None:
    users = DjangoUserStore()
    created = users.create(ADA, now=NOW)
    updated = users.update(created.user_id, changes={"full_name": None}, last_sso_login=NOW)
    user = User.objects.get(pk=int(created.user_id))
    assert updated.full_name is None
    assert (user.first_name, user.last_name) == ("", "")


@pytest.mark.parametrize(
    ("full_name", "split"),
    [
        (None, ("", "")),
        ("Plato", ("Plato", "")),
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("  Ada  King   Lovelace ", ("Ada King", "Lovelace")),
        ("x" * 200, ("x" * 150, "")),
    ],
)
def test_the_full_name_is_split_at_the_last_word(
    full_name: str | None, split: tuple[str, str]
) -> None:
    assert split_full_name(full_name) == split


@ON_BOTH_DATABASES
def test_an_app_user_with_the_email_belongs_to_no_account_and_blocks_creation() -> None:
    local = User.objects.create_user("ADA@acme.test", email="", password="x")
    users = DjangoUserStore()
    found = users.get_by_email("ada@acme.test")
    assert found is not None
    assert (found.user_id, found.account_id) == (str(local.pk), "")
    with pytest.raises(DuplicateUser):
        users.create(ADA, now=NOW)
    assert SsoProfile.objects.count() == 0
    assert User.objects.count() == 1


def test_without_use_tz_times_are_stored_naive_utc_and_read_back_aware() -> None:
    with override_settings(USE_TZ=False):
        assert _to_db(NOW) == NOW.replace(tzinfo=None)
    with override_settings(USE_TZ=True):
        assert _to_db(NOW) is NOW
    assert _from_db(NOW.replace(tzinfo=None)) == NOW
    assert _from_db(None) is None
    assert _from_db(NOW) == datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_the_migrations_match_the_models() -> None:
    out = io.StringIO()
    call_command("makemigrations", "samljit", check=True, dry_run=True, stdout=out)
    assert "No changes detected" in out.getvalue()


# --- concurrent first logins ----------------------------------------------------------------

THREADS = 8


def _race(work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in THREADS threads released together; each closes its connection."""
    barrier = threading.Barrier(THREADS)
    results: list[object] = [None] * THREADS

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # reported to the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@ON_BOTH_DATABASES
def test_concurrent_creates_of_one_email_make_one_user() -> None:
    users = DjangoUserStore()
    results = _race(lambda _: users.create(ADA, now=NOW))
    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"UserRecord": 1, "DuplicateUser": THREADS - 1}
    assert User.objects.count() == SsoProfile.objects.count() == 1


def test_concurrent_updates_of_one_user_leave_one_writers_version(sql_users: Any) -> None:
    """Logins that change one user at the same time: each sees its own changes, and the user
    ends as one of them left it (name, role and login time together), never a mix."""
    created = sql_users.create(ADA, now=NOW)
    versions = [
        dataclasses.replace(
            created,
            full_name=f"Ada {i}",
            role=f"role-{i}",
            last_sso_login=NOW + timedelta(minutes=i),
        )
        for i in range(THREADS)
    ]
    results = _race(
        lambda i: sql_users.update(
            created.user_id,
            changes={"full_name": versions[i].full_name, "role": versions[i].role},
            last_sso_login=versions[i].last_sso_login,
        )
    )
    assert results == versions
    assert sql_users.get_by_email("ada@acme.test") in versions


@ON_BOTH_DATABASES
def test_concurrent_role_changes_leave_the_user_in_one_roles_group() -> None:
    users = DjangoUserStore()
    created = users.create(ADA, now=NOW)
    changes = [{"full_name": f"Ada {i}", "role": f"role-{i}"} for i in range(THREADS)]
    results = _race(lambda i: users.update(created.user_id, changes=changes[i], last_sso_login=NOW))
    assert all(isinstance(result, UserRecord) for result in results), results
    final = users.get_by_email("ada@acme.test")
    assert final is not None
    assert final.full_name is not None
    winner = final.full_name.split()[-1]
    user = User.objects.get()
    assert final.role == f"role-{winner}"
    assert (user.first_name, user.last_name) == ("Ada", winner)
    assert [g.name for g in user.groups.all()] == [f"role-{winner}"]


@ON_BOTH_DATABASES
def test_concurrent_first_logins_create_exactly_one_user(site: Site) -> None:
    service = LoginService(
        accounts=DjangoAccountStore(),
        users=DjangoUserStore(),
        sessions=MemorySessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
    )
    responses = [site.respond().form_value for _ in range(THREADS)]
    results = _race(
        lambda i: service.complete_login({"SAMLResponse": responses[i]}, account_id="acme")
    )
    actions = Counter(getattr(r, "outcome", r).action for r in results)  # type: ignore[union-attr]
    assert actions == {"created": 1, "unchanged": THREADS - 1}
    assert User.objects.count() == SsoProfile.objects.count() == 1
    assert [g.name for g in User.objects.get().groups.all()] == ["developer"]


@ON_BOTH_DATABASES
def test_the_rows_name_themselves_in_the_admin(site: Site) -> None:
    DjangoUserStore().create(ADA, now=NOW)
    assert str(SsoProfile.objects.get()) == "ada@acme.test (acme)"
    assert str(SsoAccount.objects.get()) == f"acme -> {site.idp.entity_id}"


def test_the_package_exports_only_its_documented_names() -> None:
    import samljit.integrations.django as package

    for name in package.__all__:
        assert getattr(package, name) is not None
    with pytest.raises(AttributeError):
        package.DjangoGroupStore  # noqa: B018 - the lookup is the test
