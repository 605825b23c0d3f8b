"""A host app's workers on the Redis stores, for the concurrency, durability and fault tests.

A :class:`Worker` is what one process of a many-worker deployment holds: its own Redis client
(``from_url`` with a short timeout), a :class:`~samljit.LoginService` (``sync``) or an
:class:`~samljit.AsyncLoginService` on the async stores (``async``), and the users in a SQLite
file that every worker shares. The account lets SP-initiated logins create users, so a login
that got through would write one.

Times are the wall clock's: Redis expires keys on its own clock, and the service's clock is
fixed at the moment the responses were issued for.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sqlite3
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from samljit import (
    AccountConfig,
    AsyncLoginService,
    ClaimMapping,
    LoginContext,
    LoginResult,
    LoginService,
    ProvisioningPolicy,
    SamlError,
    SPConfig,
    UserRecord,
)
from samljit.stores.memory import MemoryAccountStore
from samljit.stores.redis import (
    AsyncRedisReplayCache,
    AsyncRedisRequestStore,
    RedisReplayCache,
    RedisRequestStore,
)
from samljit.stores.sqlite import SQLiteUserStore
from samljit.testing import IssuedResponse, TestIdP

from ..conftest import ACS_URL, SP_ENTITY_ID

T = TypeVar("T")

TIMEOUT = 0.3
"""The workers' Redis timeout (``from_url(timeout=...)``), in seconds."""
RETRIES = 1
"""The one retry ``from_url`` gives every command."""
BOUND = TIMEOUT * (RETRIES + 1) + 1.0
"""The longest a failing login may take: every attempt timing out, plus a generous second."""

ACCOUNT = "acme"
SP = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
MAPPING = ClaimMapping.from_dict({"accepted_roles": ["developer"]})


def account(metadata: bytes) -> AccountConfig:
    return AccountConfig(
        account_id=ACCOUNT,
        idp_metadata=metadata,
        sp=SP,
        mapping=MAPPING,
        policy=ProvisioningPolicy(create_users="always"),
    )


def wall_clock() -> datetime:
    return datetime.now(UTC)


def respond(idp: TestIdP, now: datetime, **knobs: Any) -> IssuedResponse:
    """A response from ``idp`` issued at ``now`` for Ada, a developer of acme."""
    knobs.setdefault("name_id", "ada@acme.test")
    knobs.setdefault("attributes", {"full_name": ["Ada Lovelace"], "role": ["developer"]})
    return idp.issue_response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=now, **knobs)


def users_in(db: Path) -> list[tuple[str, str]]:
    """(email, account) of every user in the shared SQLite file, read without samljit."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT email, account_id FROM samljit_users ORDER BY email")
        return [(email, account_id) for email, account_id in rows]


class Sessions:
    def issue(self, user: UserRecord, context: LoginContext) -> str:
        return f"session for {user.email}"


class Interrupted:
    """``store`` with ``action`` run once, just before the first call of its ``method``: a
    fault that strikes between two steps of a login."""

    def __init__(self, store: object, method: str, action: Callable[[], object]) -> None:
        self.store = store
        self.method = method
        self.action: Callable[[], object] | None = action

    def strike(self) -> None:
        action, self.action = self.action, None
        if action is not None:
            action()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if name != self.method:
            return attribute
        if inspect.iscoroutinefunction(attribute):

            async def interrupted_coroutine(*args: Any, **kwargs: Any) -> Any:
                self.strike()
                return await attribute(*args, **kwargs)

            return interrupted_coroutine

        def interrupted(*args: Any, **kwargs: Any) -> Any:
            self.strike()
            return attribute(*args, **kwargs)

        return interrupted


STEPS = {"get": "request_store", "consume": "request_store", "add": "replay_cache"}
"""The Redis calls of an SP-initiated login, in order, and the store that makes each."""


class Worker:
    """One worker process of the host app (see the module docstring).

    Args:
        kind: ``sync`` (LoginService) or ``async`` (AsyncLoginService on the async stores).
        url: the Redis URL.
        db: the SQLite file with the users, shared by every worker.
        metadata: the IdP metadata of account acme.
        now: the service's (fixed) clock.
        runner: for ``async``, the event loop to run on (a new one by default).
    """

    def __init__(
        self,
        kind: str,
        *,
        url: str,
        db: Path,
        metadata: bytes,
        now: datetime,
        timeout: float = TIMEOUT,
        runner: asyncio.Runner | None = None,
    ) -> None:
        self.kind = kind
        self.now = now
        self.db = db
        self.users = SQLiteUserStore(db)
        self._own_runner = kind == "async" and runner is None
        self.runner = asyncio.Runner() if self._own_runner else runner
        stores: dict[str, Any] = {
            "accounts": MemoryAccountStore([account(metadata)]),
            "users": self.users,
            "sessions": Sessions(),
            "clock": lambda: now,
        }
        self.service: LoginService | AsyncLoginService
        if kind == "sync":
            cache = RedisReplayCache.from_url(url, timeout=timeout)
            requests = RedisRequestStore(cache.client)
            self.service = LoginService(replay_cache=cache, request_store=requests, **stores)
        else:
            async_cache = AsyncRedisReplayCache.from_url(url, timeout=timeout)
            async_requests = AsyncRedisRequestStore(async_cache.client)
            self.service = AsyncLoginService(
                replay_cache=async_cache, request_store=async_requests, **stores
            )
        self.client = self.service.replay_cache.client  # type: ignore[union-attr]

    def run(self, value: T | Coroutine[Any, Any, T]) -> T:
        if inspect.iscoroutine(value):
            assert self.runner is not None
            return self.runner.run(value)
        return value  # type: ignore[return-value]

    def begin_login(self) -> str:
        """Start an SP-initiated login (the request is saved in Redis); its request ID."""
        return self.run(self.service.begin_login(ACCOUNT)).message_id

    def complete(self, issued: IssuedResponse | str) -> LoginResult:
        form_value = issued if isinstance(issued, str) else issued.form_value
        return self.run(
            self.service.complete_login({"SAMLResponse": form_value}, account_id=ACCOUNT)
        )

    def outcome(self, issued: IssuedResponse | str) -> str:
        """``ok`` for a login, else the error code."""
        try:
            self.complete(issued)
        except SamlError as error:
            return error.code
        return "ok"

    def interrupt(self, step: str, action: Callable[[], object]) -> None:
        """Run ``action`` just before the login's ``step`` (a key of :data:`STEPS`)."""
        target = STEPS[step]
        setattr(self.service, target, Interrupted(getattr(self.service, target), step, action))

    def close(self) -> None:
        if self.kind == "sync":
            self.client.close()
        else:
            self.run(self.client.aclose())
            if self._own_runner:
                assert self.runner is not None
                self.runner.close()
        self.users.close()


def post_in_worker_process(
    url: str, db: Path, metadata: bytes, now: datetime, form_value: str, barrier: Any, results: Any
) -> None:
    """One worker process: build its own service, wait for the others, post the response and
    report the outcome."""
    worker = Worker("sync", url=url, db=db, metadata=metadata, now=now)
    try:
        barrier.wait(timeout=60)
        results.put(worker.outcome(form_value))
    finally:
        worker.close()
