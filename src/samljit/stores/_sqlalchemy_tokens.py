"""The SCIM token store on SQLAlchemy 2 (exported by :mod:`samljit.stores.sqlalchemy`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, MetaData, Row, Table, insert, select, update

from ..protocols import ScimToken
from ._sqlalchemy_tables import aware, scim_tokens_table, utc

__all__ = ["SQLAlchemyScimTokenStore"]


class SQLAlchemyScimTokenStore:
    """A :class:`~samljit.protocols.ScimTokenStore` in one table (:func:`scim_tokens_table`).

    Args:
        engine: the app's engine.
        table: the table to use (default: ``samljit_scim_tokens`` in a MetaData of its own).
        create_table: create the table if it is missing.
    """

    def __init__(
        self, engine: Engine, *, table: Table | None = None, create_table: bool = True
    ) -> None:
        self.engine = engine
        self.table = table if table is not None else scim_tokens_table(MetaData())
        if create_table:
            self.table.create(engine, checkfirst=True)

    def add(self, token: ScimToken) -> None:
        """Keep a new token."""
        with self.engine.begin() as connection:
            connection.execute(
                insert(self.table).values(
                    token_id=token.token_id,
                    account_id=token.account_id,
                    digest=token.digest,
                    label=token.label,
                    created_at=utc(token.created_at),
                    last_used_at=token.last_used_at and utc(token.last_used_at),
                    revoked_at=token.revoked_at and utc(token.revoked_at),
                )
            )

    def find(self, digest: str) -> ScimToken | None:
        """The token whose secret has this SHA-256, revoked or not, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(self.table).where(self.table.c.digest == digest)
            ).first()
        return None if row is None else _token(row)

    def tokens_of(self, account_id: str) -> list[ScimToken]:
        """The account's tokens, oldest first."""
        table = self.table.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(self.table)
                .where(table.account_id == account_id)
                .order_by(table.created_at, table.seq)
            ).all()
        return [_token(row) for row in rows]

    def revoke(self, account_id: str, token_id: str, *, now: datetime) -> bool:
        """Revoke the account's token; True if it was active."""
        table = self.table.c
        with self.engine.begin() as connection:
            result = connection.execute(
                update(self.table)
                .where(table.token_id == token_id, table.account_id == account_id)
                .where(table.revoked_at.is_(None))
                .values(revoked_at=utc(now))
            )
        return result.rowcount == 1

    def touch(self, token_id: str, *, now: datetime) -> None:
        """Record that the token was just used."""
        with self.engine.begin() as connection:
            connection.execute(
                update(self.table)
                .where(self.table.c.token_id == token_id)
                .values(last_used_at=utc(now))
            )


def _token(row: Row[Any]) -> ScimToken:
    values = row._mapping
    created_at = aware(values["created_at"])
    assert created_at is not None  # the column is NOT NULL
    return ScimToken(
        token_id=values["token_id"],
        account_id=values["account_id"],
        digest=values["digest"],
        label=values["label"],
        created_at=created_at,
        last_used_at=aware(values["last_used_at"]),
        revoked_at=aware(values["revoked_at"]),
    )
