"""A :class:`~samljit.UserStore`, and the SCIM :class:`~samljit.protocols.DirectoryStore` and
:class:`~samljit.protocols.ScimTokenStore`, on SQLAlchemy 2 (Core): any database SQLAlchemy
speaks (tested on SQLite and PostgreSQL).

Install with ``pip install samljit[sqlalchemy]``. Use it from Flask or Django-less apps as it
is, and from an :class:`~samljit.AsyncLoginService` through :func:`samljit.in_thread`::

    engine = sqlalchemy.create_engine("postgresql+psycopg://...")
    users = SQLAlchemyUserStore(engine)
    directory = SQLAlchemyDirectoryStore(users)     # SCIM: the same user rows
    tokens = SQLAlchemyScimTokenStore(engine)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .._extras import missing_extra

try:
    from sqlalchemy import (
        Boolean,
        Column,
        DateTime,
        Engine,
        Index,
        Integer,
        MetaData,
        String,
        Table,
        Text,
        insert,
        select,
        true,
        update,
    )
    from sqlalchemy.exc import IntegrityError
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "sqlalchemy", exc) from exc

from ..protocols import DuplicateUser, NewUser, UserRecord
from ._records import checked_changes, created_record
from ._sqlalchemy_directory import SQLAlchemyDirectoryStore
from ._sqlalchemy_tables import (
    add_missing_columns,
    group_members_table,
    groups_table,
    scim_tokens_table,
    user_record,
)
from ._sqlalchemy_tokens import SQLAlchemyScimTokenStore

__all__ = [
    "SQLAlchemyDirectoryStore",
    "SQLAlchemyScimTokenStore",
    "SQLAlchemyUserStore",
    "group_members_table",
    "groups_table",
    "scim_tokens_table",
    "users_table",
]


def users_table(metadata: MetaData, name: str = "samljit_users") -> Table:
    """The table the store keeps users in; add it to the app's own ``MetaData`` (and its
    migrations) or let the store create it. The unique email index is what makes a
    concurrent first login create one user, not two.

    The last five columns are the SCIM directory's (:class:`SQLAlchemyDirectoryStore`):
    ``active``, the IdP's ``external_id``, the SCIM attributes it last wrote
    (``scim_resource``, JSON text), the ``version`` of optimistic concurrency and
    ``updated_at``. A table made by an earlier samljit gets them when the store creates
    missing tables (``create_table=True``); with your own migrations, add them there.
    """
    return Table(
        name,
        metadata,
        Column("user_id", Integer, primary_key=True, autoincrement=True),
        Column("email", String(320), nullable=False, unique=True),
        Column("account_id", String(200), nullable=False, index=True),
        Column("full_name", String(500)),
        Column("role", String(200), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("last_sso_login", DateTime(timezone=True)),
        Column("active", Boolean, nullable=False, server_default=true()),
        Column("external_id", String(500)),
        Column("scim_resource", Text),
        Column("version", Integer, nullable=False, server_default="0"),
        Column("updated_at", DateTime(timezone=True)),
        Index(f"{name}_external", "account_id", "external_id"),
    )


class SQLAlchemyUserStore:
    """Users in one table (see :func:`users_table`), each method one transaction.

    Args:
        engine: the app's engine.
        table: the table to use (default: ``samljit_users`` in a MetaData of its own).
        create_table: create the table if it is missing, and add the columns an earlier
            samljit did not have (leave it to the app's migrations with False).
    """

    def __init__(
        self, engine: Engine, *, table: Table | None = None, create_table: bool = True
    ) -> None:
        self.engine = engine
        self.table = table if table is not None else users_table(MetaData())
        if create_table:
            self.table.create(engine, checkfirst=True)
            add_missing_columns(engine, self.table)

    def get_by_email(self, email: str) -> UserRecord | None:
        """The user with this (normalized) email, or ``None`` (see :class:`~samljit.UserStore`)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(self.table).where(self.table.c.email == email)).first()
        return user_record(row) if row is not None else None

    def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        """Insert the new user; :class:`~samljit.protocols.DuplicateUser` if the email exists (see
        :class:`~samljit.UserStore`)."""
        values = {
            "email": user.email,
            "account_id": user.account_id,
            "full_name": user.full_name,
            "role": user.role,
            "created_at": now,
            "last_sso_login": now,
        }
        try:
            with self.engine.begin() as connection:
                result = connection.execute(insert(self.table).values(values))
                user_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        except IntegrityError as exc:
            raise DuplicateUser(user.email) from exc
        return created_record(user, user_id, now=now)

    def update(
        self, user_id: str, *, changes: Mapping[str, str | None], last_sso_login: datetime
    ) -> UserRecord:
        """Apply ``changes`` and record the SSO login (see :class:`~samljit.UserStore`)."""
        changes = checked_changes(changes)
        key = self.table.c.user_id == int(user_id)
        with self.engine.begin() as connection:
            connection.execute(
                update(self.table).where(key).values(**changes, last_sso_login=last_sso_login)
            )
            row = connection.execute(select(self.table).where(key)).one()
        return user_record(row)

    def users_of(self, account_id: str) -> list[UserRecord]:
        """Every user of the account, for the stale-user report."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(self.table)
                .where(self.table.c.account_id == account_id)
                .order_by(self.table.c.user_id)
            ).all()
        return [user_record(row) for row in rows]
