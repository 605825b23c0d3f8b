"""What a host app plugs into samljit: small protocols, each with an in-memory implementation
in :mod:`samljit.stores.memory` and a SQLite one in :mod:`samljit.stores.sqlite`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._accounts import AccountConfig
    from ._claims import Identity
    from ._models import Assertion

__all__ = [
    "AccountStore",
    "AsyncAccountStore",
    "AsyncReplayCache",
    "AsyncRequestStore",
    "AsyncSessionIssuer",
    "AsyncSessionRevoker",
    "AsyncUserStore",
    "DirectoryGroup",
    "DirectoryStore",
    "DirectoryUser",
    "DomainChallenge",
    "DomainStore",
    "DuplicateUser",
    "LoginContext",
    "LoginHistory",
    "LoginRecord",
    "NewUser",
    "PendingRequest",
    "ReplayCache",
    "RequestStore",
    "ScimToken",
    "ScimTokenStore",
    "SessionIssuer",
    "SessionRevoker",
    "StaleWrite",
    "TxtResolver",
    "UserRecord",
    "UserStore",
    "in_thread",
]


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers which assertions were accepted, so each is accepted once.

    ``add`` must be atomic across every process that verifies responses for the app: two
    concurrent calls with the same key must not both return True. A shared store does this
    with one operation (Redis ``SET key 1 NX PX lifetime``; SQL ``INSERT`` against a
    primary key, treating a unique violation as False). Entries may be forgotten once
    ``expires_at`` has passed: by then the assertion is refused as expired anyway.

    :mod:`samljit.stores.redis` has one on Redis; :mod:`samljit.stores.sqlite` on SQLite.
    """

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``key`` until ``expires_at``; True if it was new, False if already present.

        Raise an exception (never return True) when the store cannot be reached: a login
        must fail rather than accept an assertion it could not record.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    """A user as samljit sees it; the host app maps its own user model to and from this."""

    user_id: str
    email: str
    account_id: str
    full_name: str | None
    role: str
    last_sso_login: datetime | None = None
    active: bool = True
    """False once the IdP deactivated the user by SCIM: its SAML logins are refused
    (``user_deactivated``) and the app should stop counting it. Stores without SCIM leave it
    True."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewUser:
    """A user to create: what the IdP asserted, before the store gives it an ID."""

    email: str
    account_id: str
    full_name: str | None
    role: str


class DuplicateUser(Exception):
    """Raised by :meth:`UserStore.create` when the email exists already (a concurrent login
    created it first); the login service then treats the user as existing."""


@runtime_checkable
class UserStore(Protocol):
    """The app's users, looked up by email, the unique user key.

    Each method is its own transaction: ``create`` inserts one row and must fail with
    :class:`DuplicateUser` (never insert twice) when the email exists, which a unique index on
    the email gives; ``update`` changes one row. samljit calls them only after every check of
    a login has passed, so a rejected login never writes.

    Example over a SQL table::

        class SqlUserStore:
            def get_by_email(self, email):
                row = db.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone()
                return row and UserRecord(user_id=str(row.id), email=row.email, ...)
            def create(self, user, *, now): ...   # INSERT; IntegrityError -> DuplicateUser
            def update(self, user_id, *, changes, last_sso_login): ...
            def users_of(self, account_id): ...
    """

    def get_by_email(self, email: str) -> UserRecord | None:
        """The user whose email is ``email`` (already normalized), or ``None``."""

    def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        """Insert ``user`` with ``last_sso_login=now``; raise DuplicateUser if the email exists."""
        ...

    def update(
        self, user_id: str, *, changes: Mapping[str, str | None], last_sso_login: datetime
    ) -> UserRecord:
        """Apply ``changes`` (field -> new value: ``full_name``, ``role``) and record the login."""
        ...

    def users_of(self, account_id: str) -> Iterable[UserRecord]:
        """Every user of the account (for the stale-user report)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginContext:
    """What the session issuer may want to know about the login it completes."""

    account_id: str
    assertion: Assertion
    identity: Identity
    idp_initiated: bool


@runtime_checkable
class SessionIssuer(Protocol):
    """Turns a provisioned user into the host app's session (a cookie, a token, ...).

    The IdP has done the authentication, MFA included: the app's own MFA step is not applied
    to SSO logins. ``context.assertion.authn_context_class`` says how the IdP authenticated.
    """

    def issue(self, user: UserRecord, context: LoginContext) -> object:
        """Start the app's session for ``user``; return what the app needs (a cookie, a token)."""


@runtime_checkable
class SessionRevoker(Protocol):
    """Ends the host app's sessions when the IdP says the user logged out elsewhere
    (IdP-initiated Single Logout). Keep each session's ``session_index`` (from
    ``LoginResult.assertion``) to end just that one; with no index, end all of the user's."""

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        """End the matching sessions; return how many ended."""
        ...


@runtime_checkable
class AccountStore(Protocol):
    """Each account's SSO configuration. Deleting an account's configuration disables SSO for
    it: :meth:`get` then returns None and every login to that account is refused.

    A store may also have one optional method, ``config_version(account_id) -> Hashable |
    None``: a cheap value (a version counter, an ``updated_at`` column) that differs after
    every ``save`` and ``delete`` of the account, including a delete followed by a save, or
    None when it cannot tell (no row, the version unreadable). With it, each process of the
    login service keeps the configuration it read, with its parsed metadata, and a login
    whose version is unchanged reads only the version: no configuration read, no hash of
    the metadata (see docs/scaling.md). Without it every login reads the configuration, as
    before. Read the version where :meth:`get` reads, or from something no newer: the
    service reads the version first, then the configuration it keeps under that version.
    The stores samljit ships all have it::

        def config_version(self, account_id: str) -> str | None:
            row = db.execute("SELECT updated_at FROM sso WHERE account_id = ?", (account_id,))
            return None if row is None else row.updated_at
    """

    def get(self, account_id: str) -> AccountConfig | None:
        """The account's SSO configuration, or ``None`` when it has none."""

    def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        """The accounts whose IdP has this entity ID (for one shared ACS URL)."""
        ...

    def save(self, config: AccountConfig) -> None:
        """Insert or replace the account's SSO configuration."""

    def delete(self, account_id: str) -> None:
        """Remove the account's SSO configuration: its logins are refused with ``sso_disabled``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingRequest:
    """An AuthnRequest this SP sent and has not yet seen answered."""

    request_id: str
    account_id: str
    relay_state: str | None
    """Where the app wants the user after login (already checked by safe_redirect)."""
    expires_at: datetime
    kind: str = "login"
    """``"login"`` (an AuthnRequest), ``"test_login"`` (an administrator's Test connection)
    or ``"logout"`` (a LogoutRequest): an answer to one is never taken as the answer to
    another."""
    test_admin: str | None = None
    """For a ``"test_login"``: the administrator who started it, the only one who may see its
    result. None for every other request (and in rows stored before this field existed)."""


@runtime_checkable
class RequestStore(Protocol):
    """Outstanding AuthnRequests, kept server-side so that no cookie (and no SameSite rule)
    is needed to match a response to its request, on any worker.

    ``consume`` must be atomic across processes: of two concurrent calls for one request,
    one returns True (Redis ``GETDEL``; SQL ``DELETE ... WHERE request_id = ? AND
    expires_at > ?`` and check the row count).
    """

    def save(self, request: PendingRequest) -> None:
        """Keep ``request`` until it is consumed or expires."""

    def get(self, request_id: str) -> PendingRequest | None:
        """The request if it is outstanding (it may have expired: callers check)."""
        ...

    def consume(self, request_id: str, *, now: datetime) -> bool:
        """Remove the request; True if it was outstanding and unexpired at ``now``."""
        ...


# Imported last, so that the reference page (members in source order) lists the login ports
# first, then these.
from ._admin_protocols import (  # noqa: E402
    DomainChallenge,
    DomainStore,
    LoginHistory,
    LoginRecord,
    TxtResolver,
)
from ._async_protocols import (  # noqa: E402
    AsyncAccountStore,
    AsyncReplayCache,
    AsyncRequestStore,
    AsyncSessionIssuer,
    AsyncSessionRevoker,
    AsyncUserStore,
    in_thread,
)
from ._directory_protocols import (  # noqa: E402
    DirectoryGroup,
    DirectoryStore,
    DirectoryUser,
    ScimToken,
    ScimTokenStore,
    StaleWrite,
)
