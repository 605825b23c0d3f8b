"""The tables of the SQLAlchemy stores beyond the users' own, reading a user row, and adding the
columns an earlier samljit's table lacks (used by :mod:`samljit.stores.sqlalchemy`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    inspect,
    text,
)
from sqlalchemy.schema import CreateColumn

from ..protocols import UserRecord

__all__ = [
    "add_missing_columns",
    "aware",
    "group_members_table",
    "groups_table",
    "scim_tokens_table",
    "user_record",
    "utc",
]


def groups_table(metadata: MetaData, name: str = "samljit_groups") -> Table:
    """The table of the SCIM groups (:class:`SQLAlchemyDirectoryStore`)."""
    return Table(
        name,
        metadata,
        Column("group_id", Integer, primary_key=True, autoincrement=True),
        Column("account_id", String(200), nullable=False, index=True),
        Column("display_name", String(500), nullable=False),
        Column("external_id", String(500)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("version", Integer, nullable=False),
    )


def group_members_table(metadata: MetaData, name: str = "samljit_group_members") -> Table:
    """The table of the groups' members: one row per group and user, in the order the IdP
    listed them (``position``)."""
    return Table(
        name,
        metadata,
        Column("group_id", Integer, primary_key=True),
        Column("user_id", Integer, primary_key=True),
        Column("position", Integer, nullable=False),
        Index(f"{name}_user", "user_id"),
    )


def scim_tokens_table(metadata: MetaData, name: str = "samljit_scim_tokens") -> Table:
    """The table of the accounts' SCIM tokens (:class:`SQLAlchemyScimTokenStore`): the
    SHA-256 of each secret, never the secret."""
    return Table(
        name,
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("token_id", String(100), nullable=False, unique=True),
        Column("account_id", String(200), nullable=False, index=True),
        Column("digest", String(64), nullable=False, unique=True),
        Column("label", String(500), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("last_used_at", DateTime(timezone=True)),
        Column("revoked_at", DateTime(timezone=True)),
    )


def add_missing_columns(engine: Engine, table: Table) -> None:
    """Add the columns (and indexes) of ``table`` that its database table lacks: a table an
    earlier samljit created gains the new ones, each with its default in the existing rows."""
    with engine.begin() as connection:
        present = {c["name"] for c in inspect(connection).get_columns(table.name, table.schema)}
        missing = [column for column in table.columns if column.name not in present]
        if not missing:
            return
        name = engine.dialect.identifier_preparer.format_table(table)
        for column in missing:
            definition = CreateColumn(column).compile(dialect=engine.dialect)
            connection.execute(text(f"ALTER TABLE {name} ADD COLUMN {definition}"))
        for index in table.indexes:
            index.create(connection, checkfirst=True)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def utc(value: datetime) -> datetime:
    """A time as stored: in UTC (SQLite keeps no offset)."""
    return value.astimezone(UTC)


def user_record(row: Row[Any]) -> UserRecord:
    """The :class:`~samljit.UserRecord` of a row of the users table."""
    values = row._mapping
    return UserRecord(
        user_id=str(values["user_id"]),
        email=values["email"],
        account_id=values["account_id"],
        full_name=values["full_name"],
        role=values["role"],
        last_sso_login=aware(values["last_sso_login"]),
        active=bool(values["active"]),
    )
