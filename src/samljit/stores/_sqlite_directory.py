"""The SCIM directory and token stores on SQLite (exported by :mod:`samljit.stores.sqlite`).

The directory's users are the rows of ``samljit_users`` that SAML logins create and update:
SCIM adds what the IdP pushed (``active``, ``external_id``, ``scim_resource``) and a
``version`` that grows with each directory write, which is only applied while the version is
the one the writer read (``UPDATE ... WHERE version = ?``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..protocols import (
    DirectoryGroup,
    DirectoryUser,
    DuplicateUser,
    NewUser,
    ScimToken,
    StaleWrite,
)
from ._records import row_id
from ._sqlite_db import _Database, _time, _user

__all__ = ["SQLiteDirectoryStore", "SQLiteScimTokenStore"]


def _entry(row: sqlite3.Row) -> DirectoryUser:
    resource = row["scim_resource"]
    return DirectoryUser(
        user=_user(row),
        external_id=row["external_id"],
        resource=json.loads(resource) if resource else {},
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        version=row["version"],
    )


class SQLiteDirectoryStore:
    """A :class:`~samljit.protocols.DirectoryStore` over the users of a SQLite file (the
    same rows as :class:`~samljit.stores.sqlite.SQLiteUserStore` on that file), with the
    groups in ``samljit_groups`` and ``samljit_group_members``."""

    def __init__(self, path: str | Path) -> None:
        self.db = _Database(path)

    def close(self) -> None:
        """Close this thread's database connection."""
        self.db.close()

    def _one(self, where: str, *values: object) -> DirectoryUser | None:
        row = (
            self.db.connection()
            .execute(f"SELECT * FROM samljit_users WHERE {where}", values)  # noqa: S608 - fixed clauses
            .fetchone()
        )
        return None if row is None else _entry(row)

    def get_user(self, account_id: str, user_id: str) -> DirectoryUser | None:
        """The account's user with this ID, or None."""
        key = row_id(user_id)
        if key is None:
            return None
        return self._one("user_id = ? AND account_id = ?", key, account_id)

    def find_user(self, account_id: str, email: str) -> DirectoryUser | None:
        """The account's user with this email, or None."""
        return self._one("email = ? AND account_id = ?", email, account_id)

    def find_external(self, account_id: str, external_id: str) -> DirectoryUser | None:
        """The account's user with this ``externalId``, or None."""
        return self._one("account_id = ? AND external_id = ?", account_id, external_id)

    def users(self, account_id: str) -> list[DirectoryUser]:
        """Every user of the account, by ID."""
        rows = self.db.connection().execute(
            "SELECT * FROM samljit_users WHERE account_id = ? ORDER BY user_id", (account_id,)
        )
        return [_entry(row) for row in rows]

    def create_user(
        self,
        user: NewUser,
        *,
        active: bool,
        external_id: str | None,
        resource: Mapping[str, Any],
        now: datetime,
    ) -> DirectoryUser:
        """Insert a user (version 1); DuplicateUser if the email exists."""
        try:
            with self.db.transaction() as connection:
                cursor = connection.execute(
                    "INSERT INTO samljit_users (email, account_id, full_name, role, created_at,"
                    " active, external_id, scim_resource, version, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                    (user.email, user.account_id, user.full_name, user.role, now.isoformat(),
                     active, external_id, json.dumps(dict(resource)), now.isoformat()),
                )  # fmt: skip
                row = connection.execute(
                    "SELECT * FROM samljit_users WHERE user_id = ?", (cursor.lastrowid,)
                ).fetchone()
        except sqlite3.IntegrityError as exc:
            raise DuplicateUser(user.email) from exc
        return _entry(row)

    def write_user(
        self,
        account_id: str,
        user_id: str,
        *,
        version: int,
        email: str,
        full_name: str | None,
        role: str,
        active: bool,
        external_id: str | None,
        resource: Mapping[str, Any],
        now: datetime,
    ) -> DirectoryUser:
        """Replace the user's fields; StaleWrite if its version is not ``version``,
        DuplicateUser if ``email`` is another user's."""
        key = row_id(user_id)
        try:
            with self.db.transaction() as connection:
                cursor = connection.execute(
                    "UPDATE samljit_users SET email = ?, full_name = ?, role = ?, active = ?,"
                    " external_id = ?, scim_resource = ?, version = version + 1, updated_at = ?"
                    " WHERE user_id = ? AND account_id = ? AND version = ?",
                    (email, full_name, role, active, external_id, json.dumps(dict(resource)),
                     now.isoformat(), key, account_id, version),
                )  # fmt: skip
                if cursor.rowcount != 1:
                    raise StaleWrite(user_id)
                row = connection.execute(
                    "SELECT * FROM samljit_users WHERE user_id = ?", (key,)
                ).fetchone()
        except sqlite3.IntegrityError as exc:
            raise DuplicateUser(email) from exc
        return _entry(row)

    def delete_user(self, account_id: str, user_id: str) -> bool:
        """Delete the user and its group memberships; True if it existed."""
        key = row_id(user_id)
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "DELETE FROM samljit_users WHERE user_id = ? AND account_id = ?", (key, account_id)
            )
            if cursor.rowcount != 1:
                return False
            connection.execute("DELETE FROM samljit_group_members WHERE user_id = ?", (key,))
        return True

    def _groups(
        self, connection: sqlite3.Connection, rows: list[sqlite3.Row]
    ) -> list[DirectoryGroup]:
        members: dict[int, list[str]] = {row["group_id"]: [] for row in rows}
        if members:
            marks = ", ".join("?" * len(members))
            for member in connection.execute(
                f"SELECT group_id, user_id FROM samljit_group_members WHERE group_id IN ({marks})"  # noqa: S608 - only placeholders
                " ORDER BY group_id, position",
                tuple(members),
            ):
                members[member["group_id"]].append(str(member["user_id"]))
        return [
            DirectoryGroup(
                group_id=str(row["group_id"]),
                account_id=row["account_id"],
                display_name=row["display_name"],
                external_id=row["external_id"],
                members=tuple(members[row["group_id"]]),
                created_at=_time(row["created_at"]),
                updated_at=_time(row["updated_at"]),
                version=row["version"],
            )
            for row in rows
        ]

    def get_group(self, account_id: str, group_id: str) -> DirectoryGroup | None:
        """The account's group with this ID, or None."""
        key = row_id(group_id)
        connection = self.db.connection()
        rows = connection.execute(
            "SELECT * FROM samljit_groups WHERE group_id = ? AND account_id = ?", (key, account_id)
        ).fetchall()
        found = self._groups(connection, rows)
        return found[0] if found else None

    def groups(self, account_id: str) -> list[DirectoryGroup]:
        """Every group of the account, by ID."""
        connection = self.db.connection()
        rows = connection.execute(
            "SELECT * FROM samljit_groups WHERE account_id = ? ORDER BY group_id", (account_id,)
        ).fetchall()
        return self._groups(connection, rows)

    def create_group(
        self,
        account_id: str,
        *,
        display_name: str,
        external_id: str | None,
        members: tuple[str, ...],
        now: datetime,
    ) -> DirectoryGroup:
        """Insert a group (version 1)."""
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO samljit_groups (account_id, display_name, external_id, created_at,"
                " updated_at, version) VALUES (?, ?, ?, ?, ?, 1)",
                (account_id, display_name, external_id, now.isoformat(), now.isoformat()),
            )
            group_id = int(cursor.lastrowid or 0)
            _set_members(connection, group_id, members)
        return DirectoryGroup(
            group_id=str(group_id),
            account_id=account_id,
            display_name=display_name,
            external_id=external_id,
            members=members,
            created_at=now,
            updated_at=now,
            version=1,
        )

    def write_group(
        self,
        account_id: str,
        group_id: str,
        *,
        version: int,
        display_name: str,
        external_id: str | None,
        members: tuple[str, ...],
        now: datetime,
    ) -> DirectoryGroup:
        """Replace the group's fields; StaleWrite if its version is not ``version``."""
        key = row_id(group_id)
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "UPDATE samljit_groups SET display_name = ?, external_id = ?, updated_at = ?,"
                " version = version + 1 WHERE group_id = ? AND account_id = ? AND version = ?",
                (display_name, external_id, now.isoformat(), key, account_id, version),
            )
            if key is None or cursor.rowcount != 1:
                raise StaleWrite(group_id)
            _set_members(connection, key, members)
            rows = connection.execute(
                "SELECT * FROM samljit_groups WHERE group_id = ?", (key,)
            ).fetchall()
            return self._groups(connection, rows)[0]

    def delete_group(self, account_id: str, group_id: str) -> bool:
        """Delete the group; True if it existed."""
        key = row_id(group_id)
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "DELETE FROM samljit_groups WHERE group_id = ? AND account_id = ?",
                (key, account_id),
            )
            if cursor.rowcount != 1:
                return False
            connection.execute("DELETE FROM samljit_group_members WHERE group_id = ?", (key,))
        return True


def _set_members(connection: sqlite3.Connection, group_id: int, members: tuple[str, ...]) -> None:
    connection.execute("DELETE FROM samljit_group_members WHERE group_id = ?", (group_id,))
    connection.executemany(
        "INSERT INTO samljit_group_members (group_id, user_id, position) VALUES (?, ?, ?)",
        [(group_id, int(user_id), position) for position, user_id in enumerate(members)],
    )


def _utc(value: datetime) -> str:
    """Token times in UTC, so that their text sorts as the times do."""
    return value.astimezone(UTC).isoformat()


def _token(row: sqlite3.Row) -> ScimToken:
    return ScimToken(
        token_id=row["token_id"],
        account_id=row["account_id"],
        digest=row["digest"],
        label=row["label"],
        created_at=datetime.fromisoformat(row["created_at"]),
        last_used_at=_time(row["last_used_at"]),
        revoked_at=_time(row["revoked_at"]),
    )


class SQLiteScimTokenStore:
    """A :class:`~samljit.protocols.ScimTokenStore` in table ``samljit_scim_tokens`` (the
    SHA-256 of each secret, never the secret)."""

    def __init__(self, path: str | Path) -> None:
        self.db = _Database(path)

    def close(self) -> None:
        """Close this thread's database connection."""
        self.db.close()

    def add(self, token: ScimToken) -> None:
        """Keep a new token."""
        with self.db.transaction() as connection:
            connection.execute(
                "INSERT INTO samljit_scim_tokens (token_id, account_id, digest, label, created_at,"
                " last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token.token_id, token.account_id, token.digest, token.label,
                 _utc(token.created_at),
                 None if token.last_used_at is None else _utc(token.last_used_at),
                 None if token.revoked_at is None else _utc(token.revoked_at)),
            )  # fmt: skip

    def find(self, digest: str) -> ScimToken | None:
        """The token whose secret has this SHA-256, revoked or not, or None."""
        row = (
            self.db.connection()
            .execute("SELECT * FROM samljit_scim_tokens WHERE digest = ?", (digest,))
            .fetchone()
        )
        return None if row is None else _token(row)

    def tokens_of(self, account_id: str) -> list[ScimToken]:
        """The account's tokens, oldest first."""
        rows = self.db.connection().execute(
            "SELECT * FROM samljit_scim_tokens WHERE account_id = ? ORDER BY created_at, rowid",
            (account_id,),
        )
        return [_token(row) for row in rows]

    def revoke(self, account_id: str, token_id: str, *, now: datetime) -> bool:
        """Revoke the account's token; True if it was active."""
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "UPDATE samljit_scim_tokens SET revoked_at = ?"
                " WHERE token_id = ? AND account_id = ? AND revoked_at IS NULL",
                (_utc(now), token_id, account_id),
            )
        return cursor.rowcount == 1

    def touch(self, token_id: str, *, now: datetime) -> None:
        """Record that the token was just used."""
        with self.db.transaction() as connection:
            connection.execute(
                "UPDATE samljit_scim_tokens SET last_used_at = ? WHERE token_id = ?",
                (_utc(now), token_id),
            )
