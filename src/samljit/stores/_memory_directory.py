"""The SCIM directory and token stores in memory (exported by :mod:`samljit.stores.memory`)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..protocols import (
    DirectoryGroup,
    DirectoryUser,
    DuplicateUser,
    NewUser,
    ScimToken,
    StaleWrite,
    UserRecord,
)

if TYPE_CHECKING:
    from .memory import MemoryUserStore

__all__ = ["MemoryDirectoryStore", "MemoryScimTokenStore"]


@dataclasses.dataclass(frozen=True, slots=True)
class _Extra:
    """What the directory keeps beside a user row."""

    external_id: str | None = None
    resource: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0


class MemoryDirectoryStore:
    """A :class:`~samljit.protocols.DirectoryStore` over a :class:`MemoryUserStore`: the same
    users that SAML logins create and update."""

    def __init__(self, users: MemoryUserStore) -> None:
        self.users_store = users
        self._extra: dict[str, _Extra] = {}
        self._groups: dict[str, DirectoryGroup] = {}
        self._group_ids = itertools.count(1)

    def _entry(self, record: UserRecord) -> DirectoryUser:
        extra = self._extra.get(record.user_id, _Extra())
        return DirectoryUser(
            user=record,
            external_id=extra.external_id,
            resource=dict(extra.resource),
            created_at=extra.created_at,
            updated_at=extra.updated_at,
            version=extra.version,
        )

    def _record(self, account_id: str, user_id: str) -> UserRecord | None:
        for record in self.users_store._users.values():
            if record.user_id == user_id and record.account_id == account_id:
                return record
        return None

    def get_user(self, account_id: str, user_id: str) -> DirectoryUser | None:
        """The account's user with this ID, or None."""
        record = self._record(account_id, user_id)
        return self._entry(record) if record is not None else None

    def find_user(self, account_id: str, email: str) -> DirectoryUser | None:
        """The account's user with this email, or None."""
        record = self.users_store._users.get(email)
        if record is None or record.account_id != account_id:
            return None
        return self._entry(record)

    def find_external(self, account_id: str, external_id: str) -> DirectoryUser | None:
        """The account's user with this externalId, or None."""
        for user_id, extra in self._extra.items():
            if extra.external_id == external_id:
                record = self._record(account_id, user_id)
                if record is not None:
                    return self._entry(record)
        return None

    def users(self, account_id: str) -> list[DirectoryUser]:
        """Every user of the account, by ID."""
        records = [u for u in self.users_store._users.values() if u.account_id == account_id]
        return [self._entry(r) for r in sorted(records, key=lambda r: int(r.user_id))]

    def create_user(
        self,
        user: NewUser,
        *,
        active: bool,
        external_id: str | None,
        resource: Mapping[str, Any],
        now: datetime,
    ) -> DirectoryUser:
        """Insert a user; DuplicateUser if the email exists."""
        with self.users_store._lock:
            if user.email in self.users_store._users:
                raise DuplicateUser(user.email)
            record = UserRecord(
                user_id=str(next(self.users_store._ids)),
                email=user.email,
                account_id=user.account_id,
                full_name=user.full_name,
                role=user.role,
                active=active,
            )
            self.users_store._users[user.email] = record
            self._extra[record.user_id] = _Extra(external_id, dict(resource), now, now, 1)
            return self._entry(record)

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
        """Replace the user's fields; StaleWrite or DuplicateUser as the protocol says."""
        with self.users_store._lock:
            record = self._record(account_id, user_id)
            extra = self._extra.get(user_id, _Extra())
            if record is None or extra.version != version:
                raise StaleWrite(user_id)
            other = self.users_store._users.get(email)
            if other is not None and other.user_id != user_id:
                raise DuplicateUser(email)
            del self.users_store._users[record.email]
            record = dataclasses.replace(
                record, email=email, full_name=full_name, role=role, active=active
            )
            self.users_store._users[email] = record
            created = extra.created_at or now
            self._extra[user_id] = _Extra(external_id, dict(resource), created, now, version + 1)
            return self._entry(record)

    def delete_user(self, account_id: str, user_id: str) -> bool:
        """Delete the user and its memberships; True if it existed."""
        with self.users_store._lock:
            record = self._record(account_id, user_id)
            if record is None:
                return False
            del self.users_store._users[record.email]
            self._extra.pop(user_id, None)
            for group in list(self._groups.values()):
                if user_id in group.members:
                    members = tuple(m for m in group.members if m != user_id)
                    self._groups[group.group_id] = dataclasses.replace(group, members=members)
            return True

    def get_group(self, account_id: str, group_id: str) -> DirectoryGroup | None:
        """The account's group with this ID, or None."""
        group = self._groups.get(group_id)
        return group if group is not None and group.account_id == account_id else None

    def groups(self, account_id: str) -> list[DirectoryGroup]:
        """Every group of the account, by ID."""
        found = [g for g in self._groups.values() if g.account_id == account_id]
        return sorted(found, key=lambda g: int(g.group_id))

    def create_group(
        self,
        account_id: str,
        *,
        display_name: str,
        external_id: str | None,
        members: tuple[str, ...],
        now: datetime,
    ) -> DirectoryGroup:
        """Insert a group."""
        with self.users_store._lock:
            group = DirectoryGroup(
                group_id=str(next(self._group_ids)),
                account_id=account_id,
                display_name=display_name,
                external_id=external_id,
                members=members,
                created_at=now,
                updated_at=now,
                version=1,
            )
            self._groups[group.group_id] = group
            return group

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
        """Replace the group's fields; StaleWrite if its version moved on."""
        with self.users_store._lock:
            group = self.get_group(account_id, group_id)
            if group is None or group.version != version:
                raise StaleWrite(group_id)
            group = dataclasses.replace(
                group,
                display_name=display_name,
                external_id=external_id,
                members=members,
                updated_at=now,
                version=version + 1,
            )
            self._groups[group_id] = group
            return group

    def delete_group(self, account_id: str, group_id: str) -> bool:
        """Delete the group; True if it existed."""
        with self.users_store._lock:
            if self.get_group(account_id, group_id) is None:
                return False
            del self._groups[group_id]
            return True


class MemoryScimTokenStore:
    """A :class:`~samljit.protocols.ScimTokenStore` in a dict."""

    def __init__(self) -> None:
        self._tokens: dict[str, ScimToken] = {}

    def add(self, token: ScimToken) -> None:
        """Keep a new token."""
        self._tokens[token.token_id] = token

    def find(self, digest: str) -> ScimToken | None:
        """The token with this digest, or None."""
        return next((t for t in self._tokens.values() if t.digest == digest), None)

    def tokens_of(self, account_id: str) -> list[ScimToken]:
        """The account's tokens, oldest first."""
        return sorted(
            (t for t in self._tokens.values() if t.account_id == account_id),
            key=lambda t: t.created_at,
        )

    def revoke(self, account_id: str, token_id: str, *, now: datetime) -> bool:
        """Revoke the account's token; True if it was active."""
        token = self._tokens.get(token_id)
        if token is None or token.account_id != account_id or not token.active:
            return False
        self._tokens[token_id] = dataclasses.replace(token, revoked_at=now)
        return True

    def touch(self, token_id: str, *, now: datetime) -> None:
        """Record the token's use."""
        token = self._tokens.get(token_id)
        if token is not None:
            self._tokens[token_id] = dataclasses.replace(token, last_used_at=now)
