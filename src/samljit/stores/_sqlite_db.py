"""The SQLite database the SQLite stores share: schema, migrations of old files, connections."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..protocols import UserRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samljit_users (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    full_name TEXT,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_sso_login TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    external_id TEXT,
    scim_resource TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS samljit_users_account ON samljit_users (account_id);
CREATE TABLE IF NOT EXISTS samljit_accounts (
    account_id TEXT PRIMARY KEY,
    idp_entity_id TEXT NOT NULL,
    config TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samljit_accounts_idp ON samljit_accounts (idp_entity_id);
-- Covers config_version: its updated_at is read from the index, never from a row whose
-- config (a whole aggregate, perhaps) SQLite would walk through to reach it.
CREATE INDEX IF NOT EXISTS samljit_accounts_version ON samljit_accounts (account_id, updated_at);
CREATE TABLE IF NOT EXISTS samljit_requests (
    request_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    relay_state TEXT,
    expires_at REAL NOT NULL,
    kind TEXT NOT NULL DEFAULT 'login',
    test_admin TEXT
);
CREATE INDEX IF NOT EXISTS samljit_requests_expiry ON samljit_requests (expires_at);
CREATE TABLE IF NOT EXISTS samljit_replay (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS samljit_domains (
    account_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    verified_at TEXT,
    PRIMARY KEY (account_id, domain)
);
CREATE UNIQUE INDEX IF NOT EXISTS samljit_domains_owner ON samljit_domains (domain)
    WHERE verified_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS samljit_login_history (
    record_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    email TEXT,
    code TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS samljit_login_history_account
    ON samljit_login_history (account_id, record_id);
CREATE TABLE IF NOT EXISTS samljit_groups (
    group_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    external_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS samljit_groups_account ON samljit_groups (account_id);
CREATE TABLE IF NOT EXISTS samljit_group_members (
    group_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS samljit_group_members_user ON samljit_group_members (user_id);
CREATE TABLE IF NOT EXISTS samljit_scim_tokens (
    token_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS samljit_scim_tokens_account ON samljit_scim_tokens (account_id);
"""

_INDEX_OF_ADDED_COLUMNS = (
    "CREATE INDEX IF NOT EXISTS samljit_users_external ON samljit_users (account_id, external_id)"
)
"""The index on columns of :data:`_ADDED_COLUMNS`: made once those exist."""


_ADDED_COLUMNS = (
    ("samljit_requests", "test_admin", "TEXT"),
    # SCIM (the directory): older files' users are active, at version 0, as SAML made them.
    ("samljit_users", "active", "INTEGER NOT NULL DEFAULT 1"),
    ("samljit_users", "external_id", "TEXT"),
    ("samljit_users", "scim_resource", "TEXT"),
    ("samljit_users", "version", "INTEGER NOT NULL DEFAULT 0"),
    ("samljit_users", "updated_at", "TEXT"),
)
"""Columns added after their table was first released: a file made by an older samljit gets
them (its existing rows get the column's default, else NULL) when it is opened."""


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    # In one write transaction: two processes opening an old file at once add each column
    # once. Table and column names come from the constant above, never from input.
    connection.execute("BEGIN IMMEDIATE")
    try:
        for table, column, kind in _ADDED_COLUMNS:
            present = {row["name"] for row in connection.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        connection.execute(_INDEX_OF_ADDED_COLUMNS)
    finally:
        connection.execute("COMMIT")


class _Database:
    """A connection per thread to one SQLite file, with the schema in place."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        connection = self.connection()
        connection.executescript(_SCHEMA)
        _add_missing_columns(connection)

    def connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=30000")
            self._local.connection = connection
        return connection

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _user(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        user_id=str(row["user_id"]),
        email=row["email"],
        account_id=row["account_id"],
        full_name=row["full_name"],
        role=row["role"],
        last_sso_login=_time(row["last_sso_login"]),
        active=bool(row["active"]),
    )
