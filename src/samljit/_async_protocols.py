"""The async variants of the login ports, re-exported by :mod:`samljit.protocols`: the same
contracts, each method a coroutine (for :class:`~samljit.AsyncLoginService`), and
:func:`in_thread` to run a blocking store's methods on a worker thread."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._accounts import AccountConfig
    from .protocols import LoginContext, NewUser, PendingRequest, UserRecord

__all__ = [
    "AsyncAccountStore",
    "AsyncReplayCache",
    "AsyncRequestStore",
    "AsyncSessionIssuer",
    "AsyncSessionRevoker",
    "AsyncUserStore",
    "in_thread",
]


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
    """:class:`AccountStore` for asyncio apps (the optional ``config_version`` may be a
    coroutine too)."""

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

        # AsyncLoginService runs the method itself on its worker thread, with the steps next
        # to it, rather than awaiting this coroutine (one hand-off for several steps).
        setattr(call, _BLOCKING, method)
        return call

    def __repr__(self) -> str:
        return f"in_thread({self._target!r})"


_BLOCKING = "_samljit_blocking_method"


def blocking_method(function: object) -> Callable[..., object] | None:
    """The blocking method that ``function``, a method of an :func:`in_thread` store, runs
    on a worker thread; None for any other callable."""
    method = getattr(function, _BLOCKING, None)
    return method if callable(method) else None


def in_thread(store: object) -> Any:
    """``store`` with each method turned into a coroutine that runs it on a worker thread:
    a blocking (SQL, file) store for :class:`~samljit.AsyncLoginService`, so store I/O
    does not stop the event loop. The store must be usable from several threads (the
    SQLite stores and a SQLAlchemy engine are).

    The service runs these methods on its executor's thread together with the CPU-bound
    steps next to them (one hand-off to the thread, not one per call); called directly,
    each coroutine runs its method with :func:`asyncio.to_thread`.

    Example::

        service = AsyncLoginService(users=in_thread(SQLiteUserStore(path)), ...)
    """
    return _InThread(store)
