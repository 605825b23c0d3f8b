"""What each SQL family does of its own for SCIM: a database made by an earlier samljit gains
the directory's columns when it is opened (SQLite, SQLAlchemy) or migrated (Django), and the
Django directory keeps the Django user in step (``is_active``, names, role groups)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from sqlalchemy import Engine, create_engine, inspect, text

from samljit import NewUser
from samljit.integrations.django import DjangoDirectoryStore, DjangoUserStore
from samljit.protocols import DuplicateUser
from samljit.stores.sqlalchemy import SQLAlchemyDirectoryStore, SQLAlchemyUserStore
from samljit.stores.sqlite import SQLiteDirectoryStore, SQLiteUserStore

from ..conftest import NOW
from ..postgres import on_postgresql

ADA = NewUser(email="ada@acme.test", account_id="acme", full_name="Ada Lovelace", role="developer")
DIRECTORY_COLUMNS = {"active", "external_id", "scim_resource", "version", "updated_at"}
ON_BOTH_DATABASES = pytest.mark.usefixtures("database_alias")

# The users table as samljit 0.x made it before SCIM, with one user that logged in by SAML.
OLD_USERS = """
CREATE TABLE samljit_users (
    user_id INTEGER PRIMARY KEY {autoincrement},
    email TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    full_name TEXT,
    role TEXT NOT NULL,
    created_at {time} NOT NULL,
    last_sso_login {time}
);
INSERT INTO samljit_users (email, account_id, full_name, role, created_at, last_sso_login)
    VALUES ('ada@acme.test', 'acme', 'Ada Lovelace', 'developer', '{now}', '{now}');
"""


def test_an_older_sqlite_file_gains_the_directory_columns_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.executescript(
            OLD_USERS.format(autoincrement="AUTOINCREMENT", time="TEXT", now=NOW.isoformat())
        )
    directory = SQLiteDirectoryStore(path)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(samljit_users)")}
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(samljit_users)")}
    assert columns >= DIRECTORY_COLUMNS
    assert "samljit_users_external" in indexes
    ada = directory.find_user("acme", "ada@acme.test")
    assert ada is not None
    assert (ada.user.active, ada.version, ada.external_id, dict(ada.resource)) == (
        True,
        0,
        None,
        {},
    )
    users = SQLiteUserStore(path)  # opening again adds nothing twice
    assert users.get_by_email("ada@acme.test") == ada.user
    directory.close()
    users.close()


@pytest.fixture(params=["sqlite", on_postgresql("postgresql")])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    made = create_engine(url)
    yield made
    made.dispose()


def test_an_older_sqlalchemy_table_gains_the_directory_columns(engine: Engine) -> None:
    postgresql = engine.dialect.name == "postgresql"
    script = OLD_USERS.format(
        autoincrement="" if postgresql else "AUTOINCREMENT",
        time="TIMESTAMP WITH TIME ZONE" if postgresql else "DATETIME",
        now=NOW.isoformat() if postgresql else NOW.replace(tzinfo=None).isoformat(sep=" "),
    )
    if postgresql:
        script = script.replace("user_id INTEGER PRIMARY KEY", "user_id SERIAL PRIMARY KEY")
    with engine.begin() as connection:
        for statement in script.split(";"):
            if statement.strip():
                connection.execute(text(statement))
    users = SQLAlchemyUserStore(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("samljit_users")}
    assert columns >= DIRECTORY_COLUMNS
    indexes = {i["name"] for i in inspect(engine).get_indexes("samljit_users")}
    assert "samljit_users_external" in indexes
    directory = SQLAlchemyDirectoryStore(users)
    ada = directory.find_user("acme", "ada@acme.test")
    assert ada is not None
    assert (ada.user.active, ada.version, ada.user.last_sso_login) == (True, 0, NOW)
    SQLAlchemyUserStore(engine)  # a second store adds nothing twice
    grace = directory.create_user(
        NewUser(email="grace@acme.test", account_id="acme", full_name=None, role="developer"),
        active=False,
        external_id="g",
        resource={},
        now=NOW,
    )
    assert users.get_by_email("grace@acme.test") == grace.user


# --- Django: the Django user in step ---------------------------------------------------------


def write(directory: DjangoDirectoryStore, user_id: str, version: int, **changes: object) -> None:
    fields: dict[str, object] = {
        "email": "ada@acme.test",
        "full_name": "Ada Lovelace",
        "role": "developer",
        "active": True,
        "external_id": None,
        "resource": {},
        **changes,
    }
    directory.write_user("acme", user_id, version=version, now=NOW, **fields)  # type: ignore[arg-type]


@ON_BOTH_DATABASES
def test_a_django_user_the_idp_creates_is_made_as_a_login_would_make_it() -> None:
    directory = DjangoDirectoryStore(DjangoUserStore(group_prefix="sso:"))
    created = directory.create_user(ADA, active=False, external_id=None, resource={}, now=NOW)
    user = User.objects.get(pk=int(created.user.user_id))
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "ada@acme.test",
        "ada@acme.test",
        "Ada",
        "Lovelace",
    )
    assert not user.has_usable_password()
    assert user.is_active is False
    assert [g.name for g in user.groups.all()] == ["sso:developer"]


@ON_BOTH_DATABASES
def test_a_django_directory_write_keeps_the_django_user_in_step() -> None:
    directory = DjangoDirectoryStore(DjangoUserStore(group_prefix="sso:"))
    created = directory.create_user(ADA, active=True, external_id=None, resource={}, now=NOW)
    user_id = created.user.user_id
    user = User.objects.get(pk=int(user_id))
    user.groups.add(Group.objects.create(name="beta-testers"))
    write(
        directory,
        user_id,
        1,
        email="ada.king@acme.test",
        full_name="Ada King",
        role="finance",
        active=False,
    )
    user.refresh_from_db()
    assert (user.username, user.email, user.first_name, user.last_name, user.is_active) == (
        "ada.king@acme.test",
        "ada.king@acme.test",
        "Ada",
        "King",
        False,
    )
    assert sorted(g.name for g in user.groups.all()) == ["beta-testers", "sso:finance"]
    write(directory, user_id, 2, email="ada.king@acme.test", active=True)
    user.refresh_from_db()
    assert user.is_active is True


@ON_BOTH_DATABASES
def test_a_local_django_user_blocks_the_directory_from_its_email() -> None:
    User.objects.create_user("grace@acme.test", email="grace@acme.test", password="x")
    directory = DjangoDirectoryStore()
    with pytest.raises(DuplicateUser):
        directory.create_user(
            NewUser(email="grace@acme.test", account_id="acme", full_name=None, role="r"),
            active=True,
            external_id=None,
            resource={},
            now=NOW,
        )
    ada = directory.create_user(ADA, active=True, external_id=None, resource={}, now=NOW)
    with pytest.raises(DuplicateUser):
        write(directory, ada.user.user_id, 1, email="grace@acme.test")
    assert directory.get_user("acme", ada.user.user_id) == ada
    assert directory.find_user("acme", "grace@acme.test") is None


@ON_BOTH_DATABASES
def test_deleting_a_django_directory_user_deletes_the_django_user() -> None:
    directory = DjangoDirectoryStore()
    ada = directory.create_user(ADA, active=True, external_id=None, resource={}, now=NOW)
    directory.create_group(
        "acme", display_name="g", external_id=None, members=(ada.user.user_id,), now=NOW
    )
    assert directory.delete_user("acme", ada.user.user_id) is True
    assert not User.objects.filter(pk=int(ada.user.user_id)).exists()
    assert [g.members for g in directory.groups("acme")] == [()]
