"""In-memory stores: for tests, single-process apps and the CLI. Not shared across workers."""

from __future__ import annotations

import collections
import dataclasses
import heapq
import itertools
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .._accounts import AccountConfig
from ..errors import ConfigError, StoreFull
from ..metadata import parse_idp_metadata
from ..protocols import (
    DomainChallenge,
    DuplicateUser,
    LoginContext,
    LoginRecord,
    NewUser,
    PendingRequest,
    UserRecord,
)
from ._records import created_record

__all__ = [
    "DEFAULT_HISTORY_SIZE",
    "DEFAULT_MAX_PENDING",
    "MemoryAccountStore",
    "MemoryDirectoryStore",
    "MemoryDomainStore",
    "MemoryLoginHistory",
    "MemoryReplayCache",
    "MemoryRequestStore",
    "MemoryScimTokenStore",
    "MemorySessionIssuer",
    "MemoryUserStore",
]


DEFAULT_MAX_PENDING = 10_000
"""How many unexpired requests the memory and SQLite request stores hold at most. Requests
in flight are about the logins started per second times the seconds users spend at the IdP
(abandoned ones stay for ``request_lifetime``): 10,000 is 16 abandoned logins a second for
10 minutes, and about 10 MB of memory at most."""


DEFAULT_HISTORY_SIZE = 200
"""How many login records the memory and SQLite login histories keep per account."""


def _checked_history_size(per_account: int) -> int:
    if per_account < 1:
        raise ConfigError(f"per_account must be at least 1, got {per_account}")
    return per_account


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _checked_max_pending(max_pending: int) -> int:
    if max_pending < 1:
        raise ConfigError(f"max_pending must be at least 1, got {max_pending}")
    return max_pending


class MemoryReplayCache:
    """A :class:`~samljit.protocols.ReplayCache` in a dict, atomic within one process.

    Expired keys are dropped as time passes (``now`` as given to :meth:`add`), so memory is
    bounded by the number of assertions that are still valid.
    """

    def __init__(self) -> None:
        self._expiry: dict[str, datetime] = {}
        self._queue: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``key`` until ``expires_at``; ``True`` if it was new (see
        :class:`~samljit.ReplayCache`)."""
        with self._lock:
            while self._queue and self._queue[0][0] <= now:
                _, old = heapq.heappop(self._queue)
                if self._expiry.get(old, now) <= now:
                    self._expiry.pop(old, None)
            current = self._expiry.get(key)
            if current is not None and current > now:
                return False
            self._expiry[key] = expires_at
            heapq.heappush(self._queue, (expires_at, key))
            return True

    def __len__(self) -> int:
        return len(self._expiry)


class MemoryUserStore:
    """A :class:`~samljit.protocols.UserStore` in a dict keyed by email."""

    def __init__(self, users: Iterable[UserRecord] = ()) -> None:
        self._users = {u.email: u for u in users}
        self._ids = itertools.count(len(self._users) + 1)
        self._lock = threading.Lock()

    def get_by_email(self, email: str) -> UserRecord | None:
        """The user with this (normalized) email, or ``None`` (see :class:`~samljit.UserStore`)."""
        return self._users.get(email)

    def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        """Insert the new user; :class:`~samljit.protocols.DuplicateUser` if the email exists (see
        :class:`~samljit.UserStore`)."""
        with self._lock:
            if user.email in self._users:
                raise DuplicateUser(user.email)
            record = created_record(user, next(self._ids), now=now)
            self._users[user.email] = record
            return record

    def update(
        self, user_id: str, *, changes: Mapping[str, str | None], last_sso_login: datetime
    ) -> UserRecord:
        """Apply ``changes`` and record the SSO login (see :class:`~samljit.UserStore`)."""
        with self._lock:
            current = next(u for u in self._users.values() if u.user_id == user_id)
            fields: dict[str, Any] = {**changes, "last_sso_login": last_sso_login}
            record = dataclasses.replace(current, **fields)
            self._users[record.email] = record
            return record

    def users_of(self, account_id: str) -> list[UserRecord]:
        """Every user of the account, for the stale-user report."""
        return [u for u in self._users.values() if u.account_id == account_id]

    def delete(self, email: str) -> None:
        """Remove a user (what the app's own admin screen does; SSO never deletes)."""
        self._users.pop(email, None)


class MemoryAccountStore:
    """A :class:`~samljit.protocols.AccountStore` in a dict; each save and delete counts a
    version (``config_version``)."""

    def __init__(self, configs: Iterable[AccountConfig] = ()) -> None:
        self._configs: dict[str, AccountConfig] = {}
        self._entity_ids: dict[str, str] = {}
        self._versions: dict[str, int] = {}
        self._changes = itertools.count(1)
        for config in configs:
            self.save(config)

    def get(self, account_id: str) -> AccountConfig | None:
        """The account's SSO configuration, or ``None``."""
        return self._configs.get(account_id)

    def config_version(self, account_id: str) -> int | None:
        """A number that grows at every save of the account; ``None`` when it has none."""
        return self._versions.get(account_id)

    def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        """The accounts whose IdP has this entity ID."""
        return [self._configs[a] for a, e in self._entity_ids.items() if e == entity_id]

    def save(self, config: AccountConfig) -> None:
        """Store ``config``; its metadata is parsed now, so a bad document is refused here."""
        idp = parse_idp_metadata(config.idp_metadata, entity_id=config.idp_entity_id).idp
        self._configs[config.account_id] = config
        self._entity_ids[config.account_id] = idp.entity_id
        self._versions[config.account_id] = next(self._changes)

    def delete(self, account_id: str) -> None:
        """Remove the account's configuration: SSO is disabled for it."""
        self._versions.pop(account_id, None)
        self._configs.pop(account_id, None)
        self._entity_ids.pop(account_id, None)


class MemorySessionIssuer:
    """A :class:`~samljit.protocols.SessionIssuer` that hands out random, unguessable session
    IDs and keeps them in a dict (one process only; a real app uses its session store)."""

    def __init__(self) -> None:
        self.sessions: dict[str, UserRecord] = {}

    def issue(self, user: UserRecord, context: LoginContext) -> str:
        """Issue the app's session for the user who logged in (see
        :class:`~samljit.SessionIssuer`)."""
        session_id = secrets.token_urlsafe(32)
        self.sessions[session_id] = user
        return session_id


class MemoryRequestStore:
    """A :class:`~samljit.protocols.RequestStore` in a dict (one process only), bounded.

    Anyone can start a login, so the store holds at most ``max_pending`` requests. Expired
    requests are dropped at each ``consume`` (at the service's ``now``) and, when the store is
    full, before a new one is refused: ``save`` then raises :class:`~samljit.StoreFull`
    (``store_full``) rather than push out a request a user is completing at the IdP (see
    docs/scaling.md).

    Args:
        max_pending: the most unexpired requests held at once.
        clock: the current time, to find expired requests when the store is full
            (``datetime.now(UTC)`` unless given; tests with a fixed clock pass theirs).
    """

    def __init__(
        self,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.max_pending = _checked_max_pending(max_pending)
        self._clock = clock or _wall_clock
        self._requests: dict[str, PendingRequest] = {}
        self._expiry: list[tuple[datetime, str]] = []  # a heap; may hold consumed requests
        self._lock = threading.Lock()

    def save(self, request: PendingRequest) -> None:
        """Keep a pending request until it is consumed or expires."""
        with self._lock:
            if request.request_id not in self._requests:
                if len(self._requests) >= self.max_pending:
                    self._purge(self._clock())
                if len(self._requests) >= self.max_pending:
                    raise StoreFull(
                        f"{len(self._requests)} requests are pending, the most this store "
                        "holds: no new login can start until some are answered or expire",
                        expected=self.max_pending,
                        found=len(self._requests),
                    )
            self._requests[request.request_id] = request
            heapq.heappush(self._expiry, (request.expires_at, request.request_id))

    def get(self, request_id: str) -> PendingRequest | None:
        """The pending request with this ID, even when expired, or ``None``."""
        return self._requests.get(request_id)

    def consume(self, request_id: str, *, now: datetime) -> bool:
        """Remove the request: ``True`` only if it was stored and unexpired, atomically (see
        :class:`~samljit.RequestStore`)."""
        with self._lock:
            self._purge(now)
            return self._requests.pop(request_id, None) is not None

    def _purge(self, now: datetime) -> None:
        """Drop the requests expired at ``now``; amortised O(log n) per request."""
        while self._expiry and self._expiry[0][0] <= now:
            _, request_id = heapq.heappop(self._expiry)
            current = self._requests.get(request_id)
            if current is not None and current.expires_at <= now:
                del self._requests[request_id]
        # Consumed (or re-saved) requests leave entries behind: rebuild now and then, so the
        # heap stays within a constant factor of the store.
        if len(self._expiry) > 2 * len(self._requests) + 64:
            self._expiry = [(r.expires_at, k) for k, r in self._requests.items()]
            heapq.heapify(self._expiry)

    def __len__(self) -> int:
        return len(self._requests)


class MemoryDomainStore:
    """A :class:`~samljit.protocols.DomainStore` in a dict; ``mark_verified`` is atomic
    within one process."""

    def __init__(self) -> None:
        self._challenges: dict[tuple[str, str], DomainChallenge] = {}
        self._owners: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, challenge: DomainChallenge) -> DomainChallenge:
        """Keep ``challenge``, or return the account's existing one for the domain."""
        with self._lock:
            return self._challenges.setdefault((challenge.account_id, challenge.domain), challenge)

    def get(self, account_id: str, domain: str) -> DomainChallenge | None:
        """The account's challenge for ``domain``, or None."""
        return self._challenges.get((account_id, domain))

    def domains_of(self, account_id: str) -> list[DomainChallenge]:
        """The account's domains, sorted."""
        return sorted(
            (c for (owner, _), c in self._challenges.items() if owner == account_id),
            key=lambda challenge: challenge.domain,
        )

    def owner(self, domain: str) -> str | None:
        """The account that has verified ``domain``, or None."""
        return self._owners.get(domain)

    def mark_verified(self, account_id: str, domain: str, *, at: datetime) -> bool:
        """Make the account the owner; False when another one is, or it holds no challenge."""
        with self._lock:
            challenge = self._challenges.get((account_id, domain))
            if challenge is None or self._owners.get(domain, account_id) != account_id:
                return False
            self._owners[domain] = account_id
            if challenge.verified_at is None:
                self._challenges[(account_id, domain)] = dataclasses.replace(
                    challenge, verified_at=at
                )
            return True

    def remove(self, account_id: str, domain: str) -> None:
        """Forget the account's challenge and ownership of ``domain``."""
        with self._lock:
            self._challenges.pop((account_id, domain), None)
            if self._owners.get(domain) == account_id:
                del self._owners[domain]


class MemoryLoginHistory:
    """A :class:`~samljit.protocols.LoginHistory` in memory: the last ``per_account`` records
    of each account.

    Args:
        per_account: how many records each account keeps.
    """

    def __init__(self, *, per_account: int = DEFAULT_HISTORY_SIZE) -> None:
        self.per_account = _checked_history_size(per_account)
        self._records: dict[str, collections.deque[LoginRecord]] = {}
        self._lock = threading.Lock()

    def record(self, record: LoginRecord) -> None:
        """Keep ``record``, dropping the account's oldest beyond ``per_account``."""
        with self._lock:
            records = self._records.setdefault(
                record.account_id, collections.deque(maxlen=self.per_account)
            )
            records.append(record)

    def recent(self, account_id: str, limit: int = 50) -> list[LoginRecord]:
        """The account's last ``limit`` records, newest first."""
        with self._lock:
            records = list(self._records.get(account_id, ()))
        return records[::-1][: max(limit, 0)]


from ._memory_directory import MemoryDirectoryStore, MemoryScimTokenStore  # noqa: E402
