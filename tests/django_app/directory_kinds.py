"""The store families the SCIM contract and race tests run on: each gives a user store, the
directory over the same users, and a SCIM token store, on one database.

``memory`` and the SQL stores on SQLite; marked ``postgresql``, SQLAlchemy's and Django's on
the session's throw-away PostgreSQL server (``tests/postgres.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from samljit.integrations.django import (
    DjangoDirectoryStore,
    DjangoScimTokenStore,
    DjangoUserStore,
)
from samljit.stores.memory import MemoryDirectoryStore, MemoryScimTokenStore, MemoryUserStore
from samljit.stores.sqlalchemy import (
    SQLAlchemyDirectoryStore,
    SQLAlchemyScimTokenStore,
    SQLAlchemyUserStore,
)
from samljit.stores.sqlite import SQLiteDirectoryStore, SQLiteScimTokenStore, SQLiteUserStore

from ..postgres import on_postgresql
from .conftest import on_django_postgresql

SQL_KINDS = [
    "sqlite",
    "sqlalchemy",
    "django",
    on_postgresql("sqlalchemy-postgresql"),
    on_postgresql("django-postgresql"),
]
KINDS = ["memory", *SQL_KINDS]


@dataclass
class Stores:
    """One family of stores over one database."""

    kind: str
    users: Any
    directory: Any
    tokens: Any


@contextlib.contextmanager
def stores(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """The stores of ``kind``, on a new database (closed, disposed or emptied afterwards)."""
    if kind == "memory":
        users = MemoryUserStore()
        yield Stores(kind, users, MemoryDirectoryStore(users), MemoryScimTokenStore())
    elif kind == "sqlite":
        path = tmp_path / "app.sqlite3"
        made = Stores(
            kind, SQLiteUserStore(path), SQLiteDirectoryStore(path), SQLiteScimTokenStore(path)
        )
        yield made
        for store in (made.users, made.directory, made.tokens):
            store.close()
    elif kind.startswith("sqlalchemy"):
        url = (
            request.getfixturevalue("postgresql_url")
            if kind.endswith("postgresql")
            else f"sqlite:///{tmp_path / 'app.sqlite3'}"
        )
        engine = create_engine(url)
        users = SQLAlchemyUserStore(engine)
        yield Stores(kind, users, SQLAlchemyDirectoryStore(users), SQLAlchemyScimTokenStore(engine))
        engine.dispose()
    else:
        with contextlib.ExitStack() as stack:
            if kind.endswith("postgresql"):
                stack.enter_context(on_django_postgresql(request))
            users = DjangoUserStore()
            yield Stores(kind, users, DjangoDirectoryStore(users), DjangoScimTokenStore())
