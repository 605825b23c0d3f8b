"""The SQLite stores of the admin features: verified domains and the login history."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from ..protocols import DomainChallenge, LoginRecord
from ._sqlite_db import _Database, _time
from .memory import DEFAULT_HISTORY_SIZE, _checked_history_size


def _challenge(row: sqlite3.Row) -> DomainChallenge:
    return DomainChallenge(
        account_id=row["account_id"],
        domain=row["domain"],
        token=row["token"],
        created_at=datetime.fromisoformat(row["created_at"]),
        verified_at=_time(row["verified_at"]),
    )


class SQLiteDomainStore:
    """A :class:`~samljit.protocols.DomainStore` in table ``samljit_domains``: a unique index
    on the domain of verified rows makes one account the owner, across processes."""

    def __init__(self, path: str | Path) -> None:
        self.db = _Database(path)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def add(self, challenge: DomainChallenge) -> DomainChallenge:
        """Keep ``challenge``, or return the account's existing one for the domain."""
        with self.db.transaction() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO samljit_domains (account_id, domain, token, created_at,"
                " verified_at) VALUES (?, ?, ?, ?, ?)",
                (challenge.account_id, challenge.domain, challenge.token,
                 challenge.created_at.isoformat(),
                 None if challenge.verified_at is None else challenge.verified_at.isoformat()),
            )  # fmt: skip
        stored = self.get(challenge.account_id, challenge.domain)
        assert stored is not None  # inserted or already there; removal races aside
        return stored

    def get(self, account_id: str, domain: str) -> DomainChallenge | None:
        """The account's challenge for ``domain``, or None."""
        row = (
            self.db.connection()
            .execute(
                "SELECT * FROM samljit_domains WHERE account_id = ? AND domain = ?",
                (account_id, domain),
            )
            .fetchone()
        )
        return None if row is None else _challenge(row)

    def domains_of(self, account_id: str) -> list[DomainChallenge]:
        """The account's domains, sorted."""
        rows = self.db.connection().execute(
            "SELECT * FROM samljit_domains WHERE account_id = ? ORDER BY domain", (account_id,)
        )
        return [_challenge(row) for row in rows]

    def owner(self, domain: str) -> str | None:
        """The account that has verified ``domain``, or None."""
        row = (
            self.db.connection()
            .execute(
                "SELECT account_id FROM samljit_domains"
                " WHERE domain = ? AND verified_at IS NOT NULL",
                (domain,),
            )
            .fetchone()
        )
        return None if row is None else str(row["account_id"])

    def mark_verified(self, account_id: str, domain: str, *, at: datetime) -> bool:
        """Make the account the owner; False when another one is, or it holds no challenge."""
        with self.db.transaction() as connection:
            owner = connection.execute(
                "SELECT account_id FROM samljit_domains"
                " WHERE domain = ? AND verified_at IS NOT NULL",
                (domain,),
            ).fetchone()
            if owner is not None:
                return bool(owner["account_id"] == account_id)
            cursor = connection.execute(
                "UPDATE samljit_domains SET verified_at = ? WHERE account_id = ? AND domain = ?",
                (at.isoformat(), account_id, domain),
            )
            return cursor.rowcount == 1

    def remove(self, account_id: str, domain: str) -> None:
        """Forget the account's challenge and ownership of ``domain``."""
        with self.db.transaction() as connection:
            connection.execute(
                "DELETE FROM samljit_domains WHERE account_id = ? AND domain = ?",
                (account_id, domain),
            )


class SQLiteLoginHistory:
    """A :class:`~samljit.protocols.LoginHistory` in table ``samljit_login_history``: the
    last ``per_account`` records of each account (older ones are deleted as new ones come).

    Args:
        path: the SQLite file.
        per_account: how many records each account keeps.
    """

    def __init__(self, path: str | Path, *, per_account: int = DEFAULT_HISTORY_SIZE) -> None:
        self.per_account = _checked_history_size(per_account)
        self.db = _Database(path)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def record(self, record: LoginRecord) -> None:
        """Keep ``record``, dropping the account's oldest beyond ``per_account``."""
        with self.db.transaction() as connection:
            connection.execute(
                "INSERT INTO samljit_login_history (account_id, at, outcome, email, code, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (record.account_id, record.at.isoformat(), record.outcome, record.email,
                 record.code, record.reason),
            )  # fmt: skip
            connection.execute(
                "DELETE FROM samljit_login_history WHERE account_id = ? AND record_id <= ("
                "SELECT record_id FROM samljit_login_history WHERE account_id = ?"
                " ORDER BY record_id DESC LIMIT 1 OFFSET ?)",
                (record.account_id, record.account_id, self.per_account),
            )

    def recent(self, account_id: str, limit: int = 50) -> list[LoginRecord]:
        """The account's last ``limit`` records, newest first."""
        rows = self.db.connection().execute(
            "SELECT * FROM samljit_login_history WHERE account_id = ?"
            " ORDER BY record_id DESC LIMIT ?",
            (account_id, max(limit, 0)),
        )
        return [
            LoginRecord(
                at=datetime.fromisoformat(row["at"]),
                account_id=row["account_id"],
                outcome=row["outcome"],
                email=row["email"],
                code=row["code"],
                reason=row["reason"],
            )
            for row in rows
        ]
