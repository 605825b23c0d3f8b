"""One typed step per call the flows make to the host app's ports (``samljit.protocols``).

Each helper yields a :class:`~samljit._flow.Call` of the bound method and returns its result
with the type the protocol promises (an async store's coroutine is awaited by the async
driver, so the flows see the same types whichever store is plugged in).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from datetime import datetime

from ._accounts import AccountConfig
from ._flow import Call, Flow
from .protocols import (
    AccountStore,
    AsyncAccountStore,
    AsyncReplayCache,
    AsyncRequestStore,
    AsyncSessionIssuer,
    AsyncSessionRevoker,
    AsyncUserStore,
    LoginContext,
    NewUser,
    PendingRequest,
    ReplayCache,
    RequestStore,
    SessionIssuer,
    SessionRevoker,
    UserRecord,
    UserStore,
)

Accounts = AccountStore | AsyncAccountStore
Users = UserStore | AsyncUserStore
Sessions = SessionIssuer | AsyncSessionIssuer
Replays = ReplayCache | AsyncReplayCache
Requests = RequestStore | AsyncRequestStore
Revoker = SessionRevoker | AsyncSessionRevoker
DomainOwner = Callable[[str], str | Awaitable[str | None] | None]


def get_account(accounts: Accounts, account_id: str) -> Flow[AccountConfig | None]:
    config: AccountConfig | None = yield Call("accounts.get", accounts.get, (account_id,))
    return config


def version_reader(accounts: Accounts) -> Callable[[str], object] | None:
    """The store's optional ``config_version`` method, or None (see
    :class:`~samljit.AccountStore`)."""
    method = getattr(accounts, "config_version", None)
    return method if callable(method) else None


def account_version(read: Callable[[str], object], account_id: str) -> Flow[Hashable | None]:
    version: Hashable | None = yield Call("accounts.config_version", read, (account_id,))
    return version


def accounts_of_idp(accounts: Accounts, entity_id: str) -> Flow[list[AccountConfig]]:
    function = accounts.find_by_idp_entity_id
    configs: list[AccountConfig] = yield Call(
        "accounts.find_by_idp_entity_id", function, (entity_id,)
    )
    return configs


def get_user(users: Users, email: str) -> Flow[UserRecord | None]:
    user: UserRecord | None = yield Call("users.get_by_email", users.get_by_email, (email,))
    return user


def create_user(users: Users, user: NewUser, *, now: datetime) -> Flow[UserRecord]:
    created: UserRecord = yield Call("users.create", users.create, (user,), {"now": now})
    return created


def update_user(
    users: Users, user_id: str, *, changes: Mapping[str, str | None], last_sso_login: datetime
) -> Flow[UserRecord]:
    options = {"changes": changes, "last_sso_login": last_sso_login}
    updated: UserRecord = yield Call("users.update", users.update, (user_id,), options)
    return updated


def users_of(users: Users, account_id: str) -> Flow[Iterable[UserRecord]]:
    found: Iterable[UserRecord] = yield Call("users.users_of", users.users_of, (account_id,))
    return found


def issue_session(sessions: Sessions, user: UserRecord, context: LoginContext) -> Flow[object]:
    session: object = yield Call("sessions.issue", sessions.issue, (user, context))
    return session


def add_replay_key(
    replay_cache: Replays, key: str, *, expires_at: datetime, now: datetime
) -> Flow[bool]:
    options = {"expires_at": expires_at, "now": now}
    added: bool = yield Call("replay_cache.add", replay_cache.add, (key,), options)
    return added


def save_request(requests: Requests, request: PendingRequest) -> Flow[None]:
    yield Call("request_store.save", requests.save, (request,))


def get_request(requests: Requests, request_id: str) -> Flow[PendingRequest | None]:
    pending: PendingRequest | None = yield Call("request_store.get", requests.get, (request_id,))
    return pending


def consume_request(requests: Requests, request_id: str, *, now: datetime) -> Flow[bool]:
    function = requests.consume
    consumed: bool = yield Call("request_store.consume", function, (request_id,), {"now": now})
    return consumed


def revoke_sessions(
    revoker: Revoker, *, account_id: str, email: str, session_indexes: tuple[str, ...]
) -> Flow[int]:
    options = {"account_id": account_id, "email": email, "session_indexes": session_indexes}
    revoked: int = yield Call("session_revoker.revoke", revoker.revoke, (), options)
    return revoked


def owner_of_domain(account_for_domain: DomainOwner, domain: str) -> Flow[str | None]:
    owner: str | None = yield Call("account_for_domain", account_for_domain, (domain,))
    return owner
