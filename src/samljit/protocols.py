"""What a host app plugs into samljit: small protocols, each with an in-memory implementation
in :mod:`samljit.stores.memory` and a SQLite one in :mod:`samljit.stores.sqlite`."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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
    "SessionIssuer",
    "SessionRevoker",
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
    it: :meth:`get` then returns None and every login to that account is refused."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainChallenge:
    """A domain an account has added, with the token that proves it: the account owns the
    domain once ``record_value`` was found in the TXT records of ``record_name``."""

    account_id: str
    domain: str
    """Normalized: ASCII lower case, an internationalized domain as its ``xn--`` A-label."""
    token: str
    created_at: datetime
    verified_at: datetime | None = None
    """When the TXT record was found; None while the domain is not verified."""

    @property
    def record_name(self) -> str:
        """The DNS name of the TXT record to publish: ``_samljit-challenge.<domain>``."""
        return f"_samljit-challenge.{self.domain}"

    @property
    def record_value(self) -> str:
        """The TXT record's value: ``samljit-domain-verification=<token>``."""
        return f"samljit-domain-verification={self.token}"

    @property
    def verified(self) -> bool:
        """Whether the account owns the domain."""
        return self.verified_at is not None


@runtime_checkable
class DomainStore(Protocol):
    """The domains accounts have added and verified (:class:`samljit.domains.DomainVerifier`).

    Several accounts may hold a challenge for one domain; at most one of them has verified
    it. ``mark_verified`` must be atomic across processes: of two accounts verifying one
    domain at once, one wins (SQL: a unique index on the domain of verified rows).
    """

    def add(self, challenge: DomainChallenge) -> DomainChallenge:
        """Keep ``challenge``, or return the one the account already holds for the domain."""
        ...

    def get(self, account_id: str, domain: str) -> DomainChallenge | None:
        """The account's challenge for ``domain`` (normalized), or None."""
        ...

    def domains_of(self, account_id: str) -> list[DomainChallenge]:
        """The account's domains, verified or not, sorted by domain."""
        ...

    def owner(self, domain: str) -> str | None:
        """The account that has verified exactly ``domain``, or None."""
        ...

    def mark_verified(self, account_id: str, domain: str, *, at: datetime) -> bool:
        """Record that the account proved ``domain``; False (and nothing changed) when another
        account has verified it, or the account holds no challenge for it."""
        ...

    def remove(self, account_id: str, domain: str) -> None:
        """Forget the account's challenge (and so its ownership) for ``domain``."""


@runtime_checkable
class TxtResolver(Protocol):
    """Looks TXT records up (the default is :class:`samljit.domains.DnsTxtResolver`).

    Tests and apps with their own DNS client plug in any object with this method::

        class FixedTxt:
            def __init__(self, records: dict[str, list[str]]) -> None:
                self.records = records

            def txt(self, name: str) -> list[str]:
                return self.records.get(name, [])
    """

    def txt(self, name: str) -> list[str]:
        """The values of the TXT records of ``name`` (each record's strings joined); an empty
        list when the name does not exist or has none.

        Raises:
            DnsTimeout: ``dns_timeout``, no answer in time.
            DnsFailed: ``dns_failed``, the servers answered with a failure.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginRecord:
    """One SSO login or refusal, as the account's administrators see it."""

    at: datetime
    account_id: str
    outcome: str
    """``"succeeded"`` or ``"refused"``."""
    email: str | None = None
    """The verified address (the IdP's signed word); None when the refusal came before the
    response was verified."""
    code: str | None = None
    """The refusal's error code (docs/errors.md)."""
    reason: str | None = None
    """The refusal in plain words (:data:`samljit.history.REFUSAL_REASONS`)."""


@runtime_checkable
class LoginHistory(Protocol):
    """Each account's recent SSO logins and refusals, bounded: a store keeps the last N of
    each account (the reference stores: 200) and drops older ones as it records."""

    def record(self, record: LoginRecord) -> None:
        """Keep ``record``, dropping the account's oldest beyond the bound."""

    def recent(self, account_id: str, limit: int = 50) -> list[LoginRecord]:
        """The account's last ``limit`` records, newest first."""
        ...


# --- async variants: the same contracts, each method a coroutine (for AsyncLoginService) ---


@runtime_checkable
class AsyncReplayCache(Protocol):
    """:class:`ReplayCache` for asyncio apps."""

    async def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """As :meth:`ReplayCache.add`, awaited."""


@runtime_checkable
class AsyncUserStore(Protocol):
    """:class:`UserStore` for asyncio apps (same transaction rules)."""

    async def get_by_email(self, email: str) -> UserRecord | None:
        """As :meth:`UserStore.get_by_email`, awaited."""

    async def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        """As :meth:`UserStore.create`, awaited."""

    async def update(
        self, user_id: str, *, changes: Mapping[str, str | None], last_sso_login: datetime
    ) -> UserRecord:
        """As :meth:`UserStore.update`, awaited."""

    async def users_of(self, account_id: str) -> Iterable[UserRecord]:
        """As :meth:`UserStore.users_of`, awaited."""


@runtime_checkable
class AsyncSessionIssuer(Protocol):
    """:class:`SessionIssuer` for asyncio apps."""

    async def issue(self, user: UserRecord, context: LoginContext) -> object:
        """As :meth:`SessionIssuer.issue`, awaited."""


@runtime_checkable
class AsyncSessionRevoker(Protocol):
    """:class:`SessionRevoker` for asyncio apps."""

    async def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        """As :meth:`SessionRevoker.revoke`, awaited."""


@runtime_checkable
class AsyncAccountStore(Protocol):
    """:class:`AccountStore` for asyncio apps."""

    async def get(self, account_id: str) -> AccountConfig | None:
        """As :meth:`AccountStore.get`, awaited."""

    async def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        """As :meth:`AccountStore.find_by_idp_entity_id`, awaited."""

    async def save(self, config: AccountConfig) -> None:
        """As :meth:`AccountStore.save`, awaited."""

    async def delete(self, account_id: str) -> None:
        """As :meth:`AccountStore.delete`, awaited."""


@runtime_checkable
class AsyncRequestStore(Protocol):
    """:class:`RequestStore` for asyncio apps (``consume`` just as atomic)."""

    async def save(self, request: PendingRequest) -> None:
        """As :meth:`RequestStore.save`, awaited."""

    async def get(self, request_id: str) -> PendingRequest | None:
        """As :meth:`RequestStore.get`, awaited."""

    async def consume(self, request_id: str, *, now: datetime) -> bool:
        """As :meth:`RequestStore.consume`, awaited."""


class _InThread:
    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)
        if not callable(method):
            return method

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call

    def __repr__(self) -> str:
        return f"in_thread({self._target!r})"


def in_thread(store: object) -> Any:
    """``store`` with each method turned into a coroutine that runs it on a worker thread:
    a blocking (SQL, file) store for :class:`~samljit.AsyncLoginService`, so store I/O
    does not stop the event loop. The store must be usable from several threads (the
    SQLite stores and a SQLAlchemy engine are).

    Example::

        service = AsyncLoginService(users=in_thread(SQLiteUserStore(path)), ...)
    """
    return _InThread(store)
