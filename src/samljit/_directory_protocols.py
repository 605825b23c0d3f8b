"""The ports of SCIM provisioning, re-exported by :mod:`samljit.protocols`: the directory the
IdP pushes users and groups into (:class:`DirectoryStore`) and the accounts' SCIM bearer
tokens (:class:`ScimTokenStore`). An app without SCIM implements neither."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .protocols import NewUser, UserRecord

__all__ = [
    "DirectoryGroup",
    "DirectoryStore",
    "DirectoryUser",
    "ScimToken",
    "ScimTokenStore",
    "StaleWrite",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryUser:
    """A user as the SCIM directory sees it: the app's user (the same row that SAML logins
    create and update) and what the IdP last pushed about it."""

    user: UserRecord
    external_id: str | None = None
    """The IdP's own ID for the user (SCIM ``externalId``)."""
    resource: Mapping[str, Any] = field(default_factory=dict)
    """The SCIM attributes the IdP last wrote (a JSON object, without ``id``, ``meta`` and
    ``groups``), returned as written; empty for a user that only SAML logins wrote."""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    """Grows with every write through the directory, for optimistic concurrency."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryGroup:
    """A group the IdP pushed (SCIM ``Group``): its members are users of the same account,
    and the account's group-to-role rules give members their role."""

    group_id: str
    account_id: str
    display_name: str
    external_id: str | None = None
    members: tuple[str, ...] = ()
    """The user IDs of the members."""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0


class StaleWrite(Exception):
    """Raised by a :class:`DirectoryStore` write whose ``version`` is no longer the record's:
    another write came first. The SCIM service reads the record again and retries."""


@runtime_checkable
class DirectoryStore(Protocol):
    """The users and groups of each account as the IdP pushes them by SCIM, over the same
    user rows as the :class:`~samljit.protocols.UserStore` (one person, one user: SAML and
    SCIM write the same row).

    Every write is one transaction. ``create_user`` fails with
    :class:`~samljit.protocols.DuplicateUser` when the email exists (in any account: a unique
    index on the email); ``write_user`` and ``write_group`` fail with :class:`StaleWrite`
    when the record's version is not ``version`` (``UPDATE ... WHERE version = ?``) and
    store ``version + 1``. Lookups are by account: a user or group of another account is
    never returned.
    """

    def get_user(self, account_id: str, user_id: str) -> DirectoryUser | None:
        """The account's user with this ID, or None."""

    def find_user(self, account_id: str, email: str) -> DirectoryUser | None:
        """The account's user with this (normalized) email, or None."""

    def find_external(self, account_id: str, external_id: str) -> DirectoryUser | None:
        """The account's user with this ``externalId``, or None."""

    def users(self, account_id: str) -> Iterable[DirectoryUser]:
        """Every user of the account, in a stable order (by ID)."""
        ...

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
        ...

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
        ...

    def delete_user(self, account_id: str, user_id: str) -> bool:
        """Delete the user (and its group memberships); True if it existed."""
        ...

    def get_group(self, account_id: str, group_id: str) -> DirectoryGroup | None:
        """The account's group with this ID, or None."""

    def groups(self, account_id: str) -> Iterable[DirectoryGroup]:
        """Every group of the account, in a stable order (by ID)."""
        ...

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
        ...

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
        ...

    def delete_group(self, account_id: str, group_id: str) -> bool:
        """Delete the group; True if it existed."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimToken:
    """One of an account's SCIM bearer tokens, as stored: never the secret, only its
    SHA-256 (hex)."""

    token_id: str
    account_id: str
    digest: str
    label: str = ""
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the token still authenticates."""
        return self.revoked_at is None


@runtime_checkable
class ScimTokenStore(Protocol):
    """The accounts' SCIM bearer tokens, by the digest of their secret."""

    def add(self, token: ScimToken) -> None:
        """Keep a new token."""

    def find(self, digest: str) -> ScimToken | None:
        """The token whose secret has this SHA-256 (hex), revoked or not; None if unknown."""

    def tokens_of(self, account_id: str) -> list[ScimToken]:
        """The account's tokens, oldest first."""
        ...

    def revoke(self, account_id: str, token_id: str, *, now: datetime) -> bool:
        """Revoke the account's token; True if it was active."""
        ...

    def touch(self, token_id: str, *, now: datetime) -> None:
        """Record that the token was just used."""
