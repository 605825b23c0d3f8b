"""The SCIM directory store on SQLAlchemy 2 (exported by :mod:`samljit.stores.sqlalchemy`): the
users are the user store's rows, the groups in two tables of their own."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, MetaData, Row, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..protocols import DirectoryGroup, DirectoryUser, DuplicateUser, NewUser, StaleWrite
from ._records import row_id
from ._sqlalchemy_tables import aware, group_members_table, groups_table, user_record, utc

if TYPE_CHECKING:
    from .sqlalchemy import SQLAlchemyUserStore

__all__ = ["SQLAlchemyDirectoryStore"]


def _entry(row: Row[Any]) -> DirectoryUser:
    values = row._mapping
    resource = values["scim_resource"]
    return DirectoryUser(
        user=user_record(row),
        external_id=values["external_id"],
        resource=json.loads(resource) if resource else {},
        created_at=aware(values["created_at"]),
        updated_at=aware(values["updated_at"]),
        version=values["version"],
    )


class SQLAlchemyDirectoryStore:
    """A :class:`~samljit.protocols.DirectoryStore` over the user table of a
    :class:`~samljit.stores.sqlalchemy.SQLAlchemyUserStore` (the same rows SAML logins
    write), with the groups in two tables of its own.

    Each method is one transaction; ``write_user`` and ``write_group`` are ``UPDATE ...
    WHERE version = ?`` (no row updated: :class:`~samljit.protocols.StaleWrite`).

    Args:
        users: the user store whose table and engine to use.
        groups: the groups table (default: :func:`groups_table` in a MetaData of its own).
        members: the members table (default: :func:`group_members_table`, likewise).
        create_tables: create the tables if they are missing.
    """

    def __init__(
        self,
        users: SQLAlchemyUserStore,
        *,
        groups: Table | None = None,
        members: Table | None = None,
        create_tables: bool = True,
    ) -> None:
        self.engine = users.engine
        self.users_table = users.table
        metadata = MetaData()
        self.groups_table = groups if groups is not None else groups_table(metadata)
        self.members_table = members if members is not None else group_members_table(metadata)
        if create_tables:
            self.groups_table.create(self.engine, checkfirst=True)
            self.members_table.create(self.engine, checkfirst=True)

    def _one(self, *where: Any) -> DirectoryUser | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(self.users_table).where(*where)).first()
        return None if row is None else _entry(row)

    def get_user(self, account_id: str, user_id: str) -> DirectoryUser | None:
        """The account's user with this ID, or None."""
        key = row_id(user_id)
        users = self.users_table.c
        return (
            None if key is None else self._one(users.user_id == key, users.account_id == account_id)
        )

    def find_user(self, account_id: str, email: str) -> DirectoryUser | None:
        """The account's user with this email, or None."""
        users = self.users_table.c
        return self._one(users.email == email, users.account_id == account_id)

    def find_external(self, account_id: str, external_id: str) -> DirectoryUser | None:
        """The account's user with this ``externalId``, or None."""
        users = self.users_table.c
        return self._one(users.account_id == account_id, users.external_id == external_id)

    def users(self, account_id: str) -> list[DirectoryUser]:
        """Every user of the account, by ID."""
        users = self.users_table.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(self.users_table)
                .where(users.account_id == account_id)
                .order_by(users.user_id)
            ).all()
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
        values = {
            "email": user.email,
            "account_id": user.account_id,
            "full_name": user.full_name,
            "role": user.role,
            "created_at": utc(now),
            "active": active,
            "external_id": external_id,
            "scim_resource": json.dumps(dict(resource)),
            "version": 1,
            "updated_at": utc(now),
        }
        try:
            with self.engine.begin() as connection:
                result = connection.execute(insert(self.users_table).values(values))
                (key,) = result.inserted_primary_key or (None,)
                row = connection.execute(
                    select(self.users_table).where(self.users_table.c.user_id == key)
                ).one()
        except IntegrityError as exc:
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
        users = self.users_table.c
        key = row_id(user_id)
        try:
            with self.engine.begin() as connection:
                result = connection.execute(
                    update(self.users_table)
                    .where(users.user_id == key, users.account_id == account_id)
                    .where(users.version == version)
                    .values(
                        email=email,
                        full_name=full_name,
                        role=role,
                        active=active,
                        external_id=external_id,
                        scim_resource=json.dumps(dict(resource)),
                        version=users.version + 1,
                        updated_at=utc(now),
                    )
                )
                if result.rowcount != 1:
                    raise StaleWrite(user_id)
                row = connection.execute(select(self.users_table).where(users.user_id == key)).one()
        except IntegrityError as exc:
            raise DuplicateUser(email) from exc
        return _entry(row)

    def delete_user(self, account_id: str, user_id: str) -> bool:
        """Delete the user and its group memberships; True if it existed."""
        users = self.users_table.c
        key = row_id(user_id)
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(self.users_table).where(users.user_id == key, users.account_id == account_id)
            )
            if result.rowcount != 1:
                return False
            connection.execute(
                delete(self.members_table).where(self.members_table.c.user_id == key)
            )
        return True

    def _groups(self, connection: Connection, rows: Sequence[Row[Any]]) -> list[DirectoryGroup]:
        members: dict[int, list[str]] = {row._mapping["group_id"]: [] for row in rows}
        if members:
            table = self.members_table.c
            for group_id, user_id in connection.execute(
                select(table.group_id, table.user_id)
                .where(table.group_id.in_(list(members)))
                .order_by(table.group_id, table.position)
            ):
                members[group_id].append(str(user_id))
        return [
            DirectoryGroup(
                group_id=str(values["group_id"]),
                account_id=values["account_id"],
                display_name=values["display_name"],
                external_id=values["external_id"],
                members=tuple(members[values["group_id"]]),
                created_at=aware(values["created_at"]),
                updated_at=aware(values["updated_at"]),
                version=values["version"],
            )
            for values in (row._mapping for row in rows)
        ]

    def get_group(self, account_id: str, group_id: str) -> DirectoryGroup | None:
        """The account's group with this ID, or None."""
        key = row_id(group_id)
        if key is None:
            return None
        table = self.groups_table.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(self.groups_table).where(
                    table.group_id == key, table.account_id == account_id
                )
            ).all()
            found = self._groups(connection, rows)
        return found[0] if found else None

    def groups(self, account_id: str) -> list[DirectoryGroup]:
        """Every group of the account, by ID."""
        table = self.groups_table.c
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(self.groups_table)
                .where(table.account_id == account_id)
                .order_by(table.group_id)
            ).all()
            return self._groups(connection, rows)

    def _set_members(self, connection: Connection, group_id: int, members: tuple[str, ...]) -> None:
        table = self.members_table
        connection.execute(delete(table).where(table.c.group_id == group_id))
        if members:
            connection.execute(
                insert(table),
                [
                    {"group_id": group_id, "user_id": int(user_id), "position": position}
                    for position, user_id in enumerate(members)
                ],
            )

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
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(self.groups_table).values(
                    account_id=account_id,
                    display_name=display_name,
                    external_id=external_id,
                    created_at=utc(now),
                    updated_at=utc(now),
                    version=1,
                )
            )
            (group_id,) = result.inserted_primary_key or (0,)
            self._set_members(connection, int(group_id), members)
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
        table = self.groups_table.c
        key = row_id(group_id)
        with self.engine.begin() as connection:
            result = connection.execute(
                update(self.groups_table)
                .where(table.group_id == key, table.account_id == account_id)
                .where(table.version == version)
                .values(
                    display_name=display_name,
                    external_id=external_id,
                    updated_at=utc(now),
                    version=table.version + 1,
                )
            )
            if key is None or result.rowcount != 1:
                raise StaleWrite(group_id)
            self._set_members(connection, key, members)
            rows = connection.execute(select(self.groups_table).where(table.group_id == key)).all()
            return self._groups(connection, rows)[0]

    def delete_group(self, account_id: str, group_id: str) -> bool:
        """Delete the group; True if it existed."""
        table = self.groups_table.c
        key = row_id(group_id)
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(self.groups_table).where(
                    table.group_id == key, table.account_id == account_id
                )
            )
            if result.rowcount != 1:
                return False
            members = self.members_table
            connection.execute(delete(members).where(members.c.group_id == key))
        return True
