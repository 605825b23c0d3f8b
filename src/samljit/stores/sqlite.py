"""SQLite stores (standard library only): users, account configurations, the replay cache and
the SCIM directory and tokens.

One database file can hold them all (the directory is over the users' own rows). Every
process opens its own connections; SQLite's locking makes ``create`` (a UNIQUE email) and the
replay cache (a PRIMARY KEY) atomic across processes, and the directory's writes conditional
on the version they read. WAL journaling lets readers and a writer work at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from .._accounts import AccountConfig
from ..errors import StoreFull
from ..metadata import parse_idp_metadata
from ..protocols import (
    DuplicateUser,
    NewUser,
    PendingRequest,
    UserRecord,
)
from ._records import checked_changes, created_record
from ._sqlite_admin import SQLiteDomainStore, SQLiteLoginHistory
from ._sqlite_db import _Database, _user
from ._sqlite_directory import SQLiteDirectoryStore, SQLiteScimTokenStore
from .memory import (
    DEFAULT_MAX_PENDING,
    _checked_max_pending,
    _wall_clock,
)

__all__ = [
    "SQLiteAccountStore",
    "SQLiteDirectoryStore",
    "SQLiteDomainStore",
    "SQLiteLoginHistory",
    "SQLiteReplayCache",
    "SQLiteRequestStore",
    "SQLiteScimTokenStore",
    "SQLiteUserStore",
]


class SQLiteUserStore:
    """A :class:`~samljit.protocols.UserStore` in table ``samljit_users``."""

    def __init__(self, path: str | Path) -> None:
        self.db = _Database(path)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def get_by_email(self, email: str) -> UserRecord | None:
        """The user with this (normalized) email, or ``None`` (see :class:`~samljit.UserStore`)."""
        row = (
            self.db.connection()
            .execute("SELECT * FROM samljit_users WHERE email = ?", (email,))
            .fetchone()
        )
        return None if row is None else _user(row)

    def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        """Insert the new user; :class:`~samljit.protocols.DuplicateUser` if the email exists (see
        :class:`~samljit.UserStore`)."""
        try:
            with self.db.transaction() as connection:
                cursor = connection.execute(
                    "INSERT INTO samljit_users (email, account_id, full_name, role, created_at,"
                    " last_sso_login) VALUES (?, ?, ?, ?, ?, ?)",
                    (user.email, user.account_id, user.full_name, user.role, now.isoformat(),
                     now.isoformat()),
                )  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise DuplicateUser(user.email) from exc
        return created_record(user, cursor.lastrowid, now=now)

    def update(
        self, user_id: str, *, changes: Mapping[str, str | None], last_sso_login: datetime
    ) -> UserRecord:
        """Apply ``changes`` and record the SSO login (see :class:`~samljit.UserStore`)."""
        changes = checked_changes(changes)
        assignments = ", ".join(f"{name} = ?" for name in sorted(changes))
        values = [changes[name] for name in sorted(changes)]
        with self.db.transaction() as connection:
            connection.execute(
                f"UPDATE samljit_users SET {assignments + ', ' if assignments else ''}"  # noqa: S608 - names checked against CHANGEABLE
                "last_sso_login = ? WHERE user_id = ?",
                (*values, last_sso_login.isoformat(), int(user_id)),
            )
            row = connection.execute(
                "SELECT * FROM samljit_users WHERE user_id = ?", (int(user_id),)
            ).fetchone()
        return _user(row)

    def users_of(self, account_id: str) -> list[UserRecord]:
        """Every user of the account, for the stale-user report."""
        rows = self.db.connection().execute(
            "SELECT * FROM samljit_users WHERE account_id = ? ORDER BY user_id", (account_id,)
        )
        return [_user(row) for row in rows]

    def delete(self, email: str) -> None:
        """Remove a user (the app's own admin action; SSO never deletes users)."""
        with self.db.transaction() as connection:
            connection.execute("DELETE FROM samljit_users WHERE email = ?", (email,))


class SQLiteAccountStore:
    """A :class:`~samljit.protocols.AccountStore` in table ``samljit_accounts`` (JSON rows)."""

    def __init__(self, path: str | Path) -> None:
        self.db = _Database(path)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def get(self, account_id: str) -> AccountConfig | None:
        """The account's SSO configuration, or ``None``."""
        row = (
            self.db.connection()
            .execute("SELECT config FROM samljit_accounts WHERE account_id = ?", (account_id,))
            .fetchone()
        )
        return None if row is None else AccountConfig.from_dict(json.loads(row["config"]))

    def config_version(self, account_id: str) -> str | None:
        """When the account's configuration was last saved (to the microsecond), or ``None``
        when it has none: a login whose version is unchanged reads nothing else."""
        row = (
            self.db.connection()
            .execute(
                # The covering index: reading the row would walk through its whole config.
                "SELECT updated_at FROM samljit_accounts INDEXED BY samljit_accounts_version"
                " WHERE account_id = ?",
                (account_id,),
            )
            .fetchone()
        )
        return None if row is None else str(row["updated_at"])

    def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        """The accounts whose IdP has this entity ID."""
        rows = self.db.connection().execute(
            "SELECT config FROM samljit_accounts WHERE idp_entity_id = ?", (entity_id,)
        )
        return [AccountConfig.from_dict(json.loads(row["config"])) for row in rows]

    def save(self, config: AccountConfig) -> None:
        """Store ``config``; its metadata is parsed now, so a bad document is refused here."""
        idp = parse_idp_metadata(config.idp_metadata, entity_id=config.idp_entity_id).idp
        with self.db.transaction() as connection:
            connection.execute(
                "INSERT INTO samljit_accounts (account_id, idp_entity_id, config, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET"
                " idp_entity_id = excluded.idp_entity_id, config = excluded.config,"
                " updated_at = excluded.updated_at",
                (config.account_id, idp.entity_id, json.dumps(config.to_dict()),
                 datetime.now(UTC).isoformat()),
            )  # fmt: skip

    def delete(self, account_id: str) -> None:
        """Remove the account's configuration: SSO is disabled for it."""
        with self.db.transaction() as connection:
            connection.execute("DELETE FROM samljit_accounts WHERE account_id = ?", (account_id,))


class SQLiteReplayCache:
    """A :class:`~samljit.protocols.ReplayCache` in table ``samljit_replay``, atomic across
    processes: the key is the primary key, and an expired entry may be taken over."""

    PURGE_EVERY = 1000

    def __init__(self, path: str | Path) -> None:
        self.db = _Database(path)
        self._adds = 0

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``key`` until ``expires_at``; ``True`` if it was new (see
        :class:`~samljit.ReplayCache`)."""
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO samljit_replay (key, expires_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at"
                " WHERE samljit_replay.expires_at <= ?",
                (key, expires_at.timestamp(), now.timestamp()),
            )
            added = cursor.rowcount == 1
            self._adds += 1
            if self._adds % self.PURGE_EVERY == 0:
                connection.execute(
                    "DELETE FROM samljit_replay WHERE expires_at <= ?", (now.timestamp(),)
                )
        return added


class SQLiteRequestStore:
    """A :class:`~samljit.protocols.RequestStore` in table ``samljit_requests``; ``consume``
    is one DELETE, so exactly one of several concurrent responses gets the request.

    Bounded like :class:`~samljit.stores.memory.MemoryRequestStore`: at most ``max_pending``
    requests (shared by every process using the file); expired ones are deleted at each
    ``consume`` and, when the table is full, before ``save`` refuses a new one with
    :class:`~samljit.StoreFull` (``store_full``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.max_pending = _checked_max_pending(max_pending)
        self._clock = clock or _wall_clock
        self.db = _Database(path)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def save(self, request: PendingRequest) -> None:
        """Keep a pending request until it is consumed or expires."""
        with self.db.transaction() as connection:
            self._make_room(connection, request.request_id)
            connection.execute(
                "INSERT OR REPLACE INTO samljit_requests (request_id, account_id, relay_state,"
                " expires_at, kind, test_admin) VALUES (?, ?, ?, ?, ?, ?)",
                (request.request_id, request.account_id, request.relay_state,
                 request.expires_at.timestamp(), request.kind, request.test_admin),
            )  # fmt: skip

    def _make_room(self, connection: sqlite3.Connection, request_id: str) -> None:
        """Refuse a new request when ``max_pending`` unexpired ones are stored (inside the
        saving transaction, so concurrent processes cannot overshoot)."""
        (count,) = connection.execute("SELECT COUNT(*) FROM samljit_requests").fetchone()
        if count < self.max_pending:
            return
        replaces = connection.execute(
            "SELECT 1 FROM samljit_requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        if replaces is not None:
            return
        deleted = connection.execute(
            "DELETE FROM samljit_requests WHERE expires_at <= ?", (self._clock().timestamp(),)
        ).rowcount
        if count - deleted >= self.max_pending:
            raise StoreFull(
                f"{count - deleted} requests are pending, the most this store holds: no new "
                "login can start until some are answered or expire",
                expected=self.max_pending,
                found=count - deleted,
            )

    def get(self, request_id: str) -> PendingRequest | None:
        """The pending request with this ID, even when expired, or ``None``."""
        row = (
            self.db.connection()
            .execute("SELECT * FROM samljit_requests WHERE request_id = ?", (request_id,))
            .fetchone()
        )
        if row is None:
            return None
        return PendingRequest(
            request_id=row["request_id"],
            account_id=row["account_id"],
            relay_state=row["relay_state"],
            expires_at=datetime.fromtimestamp(row["expires_at"], UTC),
            kind=row["kind"],
            test_admin=row["test_admin"],
        )

    def consume(self, request_id: str, *, now: datetime) -> bool:
        """Remove the request: ``True`` only if it was stored and unexpired, atomically (see
        :class:`~samljit.RequestStore`)."""
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "DELETE FROM samljit_requests WHERE request_id = ? AND expires_at > ?",
                (request_id, now.timestamp()),
            )
            connection.execute(
                "DELETE FROM samljit_requests WHERE expires_at <= ?", (now.timestamp(),)
            )
        return cursor.rowcount == 1
