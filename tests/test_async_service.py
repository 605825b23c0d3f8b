"""AsyncLoginService: what is particular to running the login rules on an event loop.

The rules are LoginService's own code, and every behaviour test of ``test_service.py``,
``test_sp_initiated.py`` and ``test_logout.py`` runs against both services (``[sync]`` and
``[async]``). This module pins down what only the event loop adds: where the CPU-bound work
runs, how async, sync and ``in_thread`` stores are called, that LoginService refuses async
stores, and what concurrent logins on one loop give.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import samljit
from samljit import (
    AccountConfig,
    AsyncLoginService,
    ClaimMapping,
    LoginResult,
    LoginService,
    NewUser,
    SamlError,
    SPConfig,
    UserRecord,
    in_thread,
)
from samljit.protocols import DuplicateUser
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemoryRequestStore,
    MemoryUserStore,
)
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteUserStore
from samljit.testing import RecordingSessionIssuer, TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID
from .services import Awaiting, awaiting

SP = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
MAPPING = ClaimMapping.from_dict({"accepted_roles": ["developer", "finance"]})
N = 8
"""Logins run at once in the concurrency tests."""


@dataclass
class Stores:
    """A host app's stores, kept synchronous here so that a test can look into them; each
    test hands the service these or async versions of them."""

    accounts: MemoryAccountStore
    users: MemoryUserStore = field(default_factory=MemoryUserStore)
    replay_cache: MemoryReplayCache = field(default_factory=MemoryReplayCache)
    sessions: RecordingSessionIssuer = field(default_factory=RecordingSessionIssuer)

    def written(self) -> tuple[object, ...]:
        users = sorted(
            [*self.users.users_of("acme"), *self.users.users_of("globex")], key=lambda u: u.email
        )
        return users, len(self.replay_cache), self.sessions.users

    def sync_service(self, **options: Any) -> LoginService:
        return LoginService(
            accounts=self.accounts,
            users=self.users,
            sessions=self.sessions,
            replay_cache=self.replay_cache,
            clock=lambda: NOW,
            **options,
        )

    def async_service(self, **options: Any) -> AsyncLoginService:
        """AsyncLoginService over async versions of these stores (each method a coroutine
        that yields to the event loop before and after it works)."""
        options.setdefault("accounts", Awaiting(self.accounts))
        options.setdefault("users", Awaiting(self.users))
        options.setdefault("sessions", Awaiting(self.sessions))
        options.setdefault("replay_cache", Awaiting(self.replay_cache))
        return AsyncLoginService(clock=lambda: NOW, **options)


def _account(idp: TestIdP) -> AccountConfig:
    return AccountConfig(account_id="acme", idp_metadata=idp.metadata_xml, sp=SP, mapping=MAPPING)


@pytest.fixture
def stores(test_idp: TestIdP) -> Stores:
    return Stores(accounts=MemoryAccountStore([_account(test_idp)]))


@pytest.fixture(scope="module")
def stranger(test_idp: TestIdP) -> TestIdP:
    """Claims to be acme's IdP, with a key acme's metadata does not list."""
    return TestIdP(entity_id=test_idp.entity_id, key_type="ec")


def form(idp: TestIdP, *, name_id: str = "ada@acme.test", **knobs: Any) -> dict[str, str]:
    """The ACS form of a fresh IdP-initiated response for ``name_id``, a developer."""
    knobs.setdefault("attributes", {"full_name": ["Ada Lovelace"], "role": ["developer"]})
    issued = idp.issue_response(
        sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=NOW, name_id=name_id, **knobs
    )
    return {"SAMLResponse": issued.form_value}


def ada() -> UserRecord:
    return UserRecord(
        user_id="7", email="ada@acme.test", account_id="acme", full_name="Ada", role="developer"
    )


def recording_threads(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, calls: list[int]
) -> None:
    """Replace ``module.<name>`` by a wrapper that records the thread it runs on."""
    original = getattr(module, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)


# --- one API, each method a coroutine ---------------------------------------------------------


def test_async_login_service_offers_login_services_methods_each_as_a_coroutine() -> None:
    def public(cls: type) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")}

    assert public(AsyncLoginService) == public(LoginService)
    for name in public(LoginService):
        assert inspect.iscoroutinefunction(getattr(AsyncLoginService, name)), name
    # The same constructor, and where the worker-thread steps run.
    async_parameters = dict(inspect.signature(AsyncLoginService).parameters)
    executor = async_parameters.pop("executor")
    assert executor.kind is inspect.Parameter.KEYWORD_ONLY
    assert executor.default is None
    assert async_parameters == dict(inspect.signature(LoginService).parameters)


# --- CPU-bound work runs off the event loop ---------------------------------------------------


def test_signature_verification_runs_on_a_worker_thread_not_the_event_loops(
    stores: Stores, test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified_on: list[int] = []
    recording_threads(monkeypatch, samljit._acs_steps, "verify_response_xml", verified_on)

    async def login() -> int:
        await stores.async_service().complete_login(form(test_idp), account_id="acme")
        return threading.get_ident()

    loop_thread = asyncio.run(login())
    assert len(verified_on) == 1
    assert verified_on[0] != loop_thread


def test_idp_metadata_is_parsed_on_a_worker_thread_not_the_event_loops(
    stores: Stores, test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed_on: list[int] = []
    recording_threads(monkeypatch, samljit._idp_cache, "parse_idp_metadata", parsed_on)

    async def login() -> int:
        await stores.async_service().complete_login(form(test_idp), account_id="acme")
        return threading.get_ident()

    loop_thread = asyncio.run(login())
    assert len(parsed_on) == 1
    assert parsed_on[0] != loop_thread


def test_identity_provider_is_a_coroutine_that_parses_on_a_worker_thread(
    stores: Stores, test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed_on: list[int] = []
    recording_threads(monkeypatch, samljit._idp_cache, "parse_idp_metadata", parsed_on)
    service = stores.async_service()
    config = _account(test_idp)

    async def twice() -> tuple[int, bool]:
        first = await service.identity_provider(config)
        return threading.get_ident(), first is await service.identity_provider(config)

    loop_thread, cached = asyncio.run(twice())
    assert cached
    assert len(parsed_on) == 1
    assert parsed_on[0] != loop_thread


def test_the_event_loop_serves_other_requests_while_a_login_verifies(
    stores: Stores, test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification does not return until another task on the loop has run meanwhile: were
    it run on the loop's thread, that task could not run and verification would give up."""
    verify = samljit._acs_steps.verify_response_xml
    served_meanwhile = threading.Event()
    outcome: list[bool] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        verifying = asyncio.Event()

        def slow_verify(*args: Any, **kwargs: Any) -> Any:
            loop.call_soon_threadsafe(verifying.set)
            outcome.append(served_meanwhile.wait(timeout=2))
            return verify(*args, **kwargs)

        monkeypatch.setattr(samljit._acs_steps, "verify_response_xml", slow_verify)

        async def another_request() -> None:
            await verifying.wait()
            served_meanwhile.set()

        result, _ = await asyncio.gather(
            stores.async_service().complete_login(form(test_idp), account_id="acme"),
            another_request(),
        )
        assert result.outcome.action == "created"

    asyncio.run(main())
    assert outcome == [True]


# --- async stores: their coroutines are awaited -------------------------------------------------


def test_a_login_with_async_stores_awaits_each_and_creates_the_user(
    stores: Stores, test_idp: TestIdP
) -> None:
    result = asyncio.run(stores.async_service().complete_login(form(test_idp), account_id="acme"))
    assert result.outcome.action == "created"
    assert stores.users.get_by_email("ada@acme.test") == result.user
    assert result.user.last_sso_login == NOW
    assert len(stores.replay_cache) == 1
    assert result.session == "session-1"
    assert stores.sessions.users == [result.user]


class AsyncLosingTheRace:
    """An async UserStore through which another worker creates the user between this login's
    lookup and its insert: ``create`` then raises DuplicateUser."""

    def __init__(self, users: MemoryUserStore, rival: NewUser) -> None:
        self.users = users
        self.rival: NewUser | None = rival

    async def get_by_email(self, email: str) -> UserRecord | None:
        await asyncio.sleep(0)
        found = self.users.get_by_email(email)
        if found is None and self.rival is not None:
            self.users.create(self.rival, now=NOW - timedelta(seconds=1))
            self.rival = None
        return found

    async def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        await asyncio.sleep(0)
        return self.users.create(user, now=now)

    async def update(self, user_id: str, **changes: Any) -> UserRecord:
        await asyncio.sleep(0)
        return self.users.update(user_id, **changes)


def test_duplicate_user_from_an_async_create_makes_the_login_update_the_winners_user(
    stores: Stores, test_idp: TestIdP
) -> None:
    rival = NewUser(email="ada@acme.test", account_id="acme", full_name="Ada", role="finance")
    service = stores.async_service(users=AsyncLosingTheRace(stores.users, rival))
    result = asyncio.run(service.complete_login(form(test_idp), account_id="acme"))
    assert result.outcome.action == "updated"
    assert dict(result.outcome.changes) == {
        "full_name": ("Ada", "Ada Lovelace"),
        "role": ("finance", "developer"),
    }
    [stored] = stores.users.users_of("acme")
    assert stored == result.user
    assert stored.last_sso_login == NOW


# --- sync stores, and in_thread ---------------------------------------------------------------


class ThreadRecorder:
    """``target`` with each method call recorded as (method, thread it ran on)."""

    def __init__(self, target: object) -> None:
        self.target = target
        self.calls: list[tuple[str, int]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.target, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, threading.get_ident()))
            return method(*args, **kwargs)

        return call


def test_sync_stores_are_called_directly_on_the_event_loops_thread(
    stores: Stores, test_idp: TestIdP
) -> None:
    users = ThreadRecorder(stores.users)
    replay_cache = ThreadRecorder(stores.replay_cache)
    service = AsyncLoginService(
        accounts=stores.accounts,
        users=users,
        sessions=stores.sessions,
        replay_cache=replay_cache,
        clock=lambda: NOW,
    )

    async def login() -> tuple[LoginResult, int]:
        result = await service.complete_login(form(test_idp), account_id="acme")
        return result, threading.get_ident()

    result, loop_thread = asyncio.run(login())
    assert result.outcome.action == "created"
    assert stores.users.get_by_email("ada@acme.test") == result.user
    assert [name for name, _ in users.calls + replay_cache.calls] == [
        "get_by_email",
        "create",
        "add",
    ]
    assert {thread for _, thread in users.calls + replay_cache.calls} == {loop_thread}


def test_in_thread_runs_each_method_on_a_worker_thread_and_returns_its_value() -> None:
    users = ThreadRecorder(MemoryUserStore([ada()]))

    async def look_up() -> tuple[UserRecord | None, int]:
        return await in_thread(users).get_by_email("ada@acme.test"), threading.get_ident()

    found, loop_thread = asyncio.run(look_up())
    assert found == ada()
    [(name, thread)] = users.calls
    assert name == "get_by_email"
    assert thread != loop_thread


def test_in_thread_raises_the_methods_exception() -> None:
    new = NewUser(email="ada@acme.test", account_id="acme", full_name=None, role="developer")
    with pytest.raises(DuplicateUser):
        asyncio.run(in_thread(MemoryUserStore([ada()])).create(new, now=NOW))


def test_in_thread_keeps_the_stores_other_attributes_and_names_it() -> None:
    store = MemoryRequestStore()
    store.region = "eu"  # type: ignore[attr-defined]
    wrapped = in_thread(store)
    assert wrapped.region == "eu"
    assert repr(wrapped) == f"in_thread({store!r})"


def test_blocking_sqlite_stores_in_thread_log_a_user_in(tmp_path: Path, test_idp: TestIdP) -> None:
    db = tmp_path / "app.sqlite3"
    blocking = [SQLiteAccountStore(db), SQLiteUserStore(db), SQLiteReplayCache(db)]
    accounts, users, replay_cache = blocking
    accounts.save(_account(test_idp))
    sessions = RecordingSessionIssuer()

    async def login() -> LoginResult:
        # One worker thread, so that closing each store's connection on it closes them all.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
        service = AsyncLoginService(
            accounts=in_thread(accounts),
            users=in_thread(users),
            sessions=in_thread(sessions),
            replay_cache=in_thread(replay_cache),
            clock=lambda: NOW,
        )
        try:
            return await service.complete_login(form(test_idp), account_id="acme")
        finally:
            for store in blocking:
                await in_thread(store).close()

    result = asyncio.run(login())
    assert result.outcome.action == "created"
    assert users.get_by_email("ada@acme.test") == result.user
    assert sessions.users == [result.user]
    for store in blocking:
        store.close()


# --- LoginService refuses async stores ------------------------------------------------------


class OneAsync:
    """``target`` with just ``method`` made an ``async def``."""

    def __init__(self, target: object, method: str) -> None:
        self.target = target
        self.method = method

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.target, name)
        return awaiting(attribute) if name == self.method else attribute


def refusal(call: Callable[[], object]) -> tuple[str, str]:
    """The code and message of the SamlError ``call`` raises (the error itself is not kept:
    its traceback would keep alive what a leak check wants collected)."""
    try:
        call()
    except SamlError as exc:
        return exc.code, str(exc)
    raise AssertionError("not refused")


@contextlib.contextmanager
def no_coroutine_left_unawaited() -> Iterator[None]:
    """Python warns when a coroutine is collected without having been awaited."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


class NoSessions:
    """A SessionRevoker with nothing to end."""

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        return 0


CALLED = [
    ("accounts", "get"),
    ("accounts", "find_by_idp_entity_id"),
    ("users", "get_by_email"),
    ("users", "create"),
    ("users", "update"),
    ("users", "users_of"),
    ("sessions", "issue"),
    ("replay_cache", "add"),
    ("request_store", "save"),
    ("request_store", "get"),
    ("request_store", "consume"),
    ("session_revoker", "revoke"),
    ("account_for_domain", None),
]
"""Every store method and hook LoginService calls."""


@pytest.mark.parametrize(
    ("argument", "method"), CALLED, ids=[f"{a}.{m}" if m else a for a, m in CALLED]
)
def test_login_service_refuses_an_async_store_naming_the_method_and_writes_nothing(
    stores: Stores, test_idp: TestIdP, argument: str, method: str | None
) -> None:
    """Refused when the service is built: found only when first called, an async session
    issuer would fail the login after the user was created."""
    arguments: dict[str, Any] = {
        "accounts": stores.accounts,
        "users": stores.users,
        "sessions": stores.sessions,
        "replay_cache": stores.replay_cache,
        "request_store": MemoryRequestStore(),
        "session_revoker": NoSessions(),
        "account_for_domain": {"acme.test": "acme"}.get,
        "clock": lambda: NOW,
    }
    target = arguments[argument]
    arguments[argument] = awaiting(target) if method is None else OneAsync(target, method)
    before = stores.written()
    with no_coroutine_left_unawaited():
        code, message = refusal(
            lambda: LoginService(**arguments).complete_login(form(test_idp), account_id="acme")
        )
    assert code == "configuration_invalid"
    assert f"{argument}.{method or '__call__'} is async" in message
    assert "AsyncLoginService" in message
    assert stores.written() == before


class Later:
    """An awaitable that is not a coroutine (as a Future or a Deferred is)."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __await__(self) -> Iterator[None]:
        yield None
        return self.value


class DeferringAccounts:
    """An account store whose ``get`` is a plain function that returns an awaitable (as a
    decorated async method can): only calling it shows that it is async."""

    def __init__(self, accounts: MemoryAccountStore, awaitable: str) -> None:
        self.accounts = accounts
        self.awaitable = awaitable
        self.ran = False

    def get(self, account_id: str) -> Any:
        if self.awaitable == "other":
            return Later(self.accounts.get(account_id))
        return self._get(account_id)

    async def _get(self, account_id: str) -> AccountConfig | None:
        self.ran = True
        return self.accounts.get(account_id)


@pytest.mark.parametrize("awaitable", ["coroutine", "other"])
def test_login_service_refuses_an_awaitable_from_a_store_when_it_is_called(
    stores: Stores, test_idp: TestIdP, awaitable: str
) -> None:
    accounts = DeferringAccounts(stores.accounts, awaitable)
    service = LoginService(
        accounts=accounts,
        users=stores.users,
        sessions=stores.sessions,
        replay_cache=stores.replay_cache,
        clock=lambda: NOW,
    )
    before = stores.written()
    with no_coroutine_left_unawaited():
        code, message = refusal(lambda: service.complete_login(form(test_idp), account_id="acme"))
    assert code == "configuration_invalid"
    assert "accounts.get is async" in message
    assert accounts.ran is False
    assert stores.written() == before


# --- rejections: the same code as LoginService, nothing written ----------------------------


def grace_of_globex() -> UserRecord:
    return UserRecord(
        user_id="9", email="grace@acme.test", account_id="globex", full_name=None, role="finance"
    )


REJECTED: dict[str, Callable[[TestIdP, TestIdP], tuple[dict[str, str], str]]] = {
    "role_not_accepted": lambda idp, _: (
        form(idp, attributes={"role": ["superuser"]}),
        "acme",
    ),
    "untrusted_key": lambda _, stranger: (form(stranger), "acme"),
    "sso_disabled": lambda idp, _: (form(idp), "initech"),
    "account_mismatch": lambda idp, _: (form(idp, name_id="grace@acme.test"), "acme"),
    "malformed_response": lambda idp, _: ({"RelayState": "/"}, "acme"),
}


@pytest.mark.parametrize("case", REJECTED)
def test_a_rejected_login_with_async_stores_writes_nothing_and_has_the_sync_code(
    test_idp: TestIdP, stranger: TestIdP, case: str
) -> None:
    posted, account_id = REJECTED[case](test_idp, stranger)

    def rejection(kind: str) -> tuple[str, list[tuple[str, str | None]]]:
        stores = Stores(
            accounts=MemoryAccountStore([_account(test_idp)]),
            users=MemoryUserStore([grace_of_globex()]),
        )
        events: list[samljit.AuditEvent] = []
        before = stores.written()
        if kind == "sync":
            service = stores.sync_service(audit=events.append)
            code, _ = refusal(lambda: service.complete_login(posted, account_id=account_id))
        else:
            async_service = stores.async_service(audit=events.append)
            code, _ = refusal(
                lambda: asyncio.run(async_service.complete_login(posted, account_id=account_id))
            )
        assert stores.written() == before, kind
        return code, [(event.name, event.code) for event in events]

    assert rejection("async") == rejection("sync") == (case, [("login_rejected", case)])


# --- concurrency on one event loop ------------------------------------------------------------


class AllAtOnce:
    """Async versions of ``target``'s methods; ``method`` holds each caller until ``parties``
    callers are in it at once (failing after 10 s): proof that the logins are in flight
    together when they get there."""

    def __init__(self, target: object, method: str, parties: int) -> None:
        self.target = target
        self.method = method
        self.parties = parties
        self._barrier: asyncio.Barrier | None = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.target, name)
        if name != self.method:
            return awaiting(attribute)

        async def together(*args: Any, **kwargs: Any) -> Any:
            if self._barrier is None:
                self._barrier = asyncio.Barrier(self.parties)
            async with asyncio.timeout(10):
                await self._barrier.wait()
            return attribute(*args, **kwargs)

        return together


def test_concurrent_logins_with_one_assertion_log_in_exactly_once(
    stores: Stores, test_idp: TestIdP
) -> None:
    posted = form(test_idp)
    service = stores.async_service(replay_cache=AllAtOnce(stores.replay_cache, "add", N))

    async def post_n_times() -> list[LoginResult | BaseException]:
        return await asyncio.gather(
            *(service.complete_login(posted, account_id="acme") for _ in range(N)),
            return_exceptions=True,
        )

    outcomes = asyncio.run(post_n_times())
    [logged_in] = [o for o in outcomes if isinstance(o, LoginResult)]
    assert [o.code for o in outcomes if isinstance(o, SamlError)] == ["replayed"] * (N - 1)
    assert stores.users.users_of("acme") == [logged_in.user]
    assert stores.sessions.users == [logged_in.user]
    assert len(stores.replay_cache) == 1


def test_distinct_users_logging_in_at_once_all_succeed(stores: Stores, test_idp: TestIdP) -> None:
    emails = [f"user{i}@acme.test" for i in range(N)]
    posted = [form(test_idp, name_id=email) for email in emails]
    service = stores.async_service(sessions=AllAtOnce(stores.sessions, "issue", N))

    async def log_everyone_in() -> list[LoginResult]:
        return await asyncio.gather(
            *(service.complete_login(one, account_id="acme") for one in posted)
        )

    results = asyncio.run(log_everyone_in())
    assert [r.user.email for r in results] == emails
    assert [r.identity.email for r in results] == emails
    assert {r.outcome.action for r in results} == {"created"}
    assert sorted(u.email for u in stores.users.users_of("acme")) == sorted(emails)
    assert len({r.session for r in results}) == N
    assert len(stores.replay_cache) == N


def test_the_response_is_decoded_and_peeked_at_on_a_worker_thread(
    stores: Stores, test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding the POSTed value and finding the request it answers cost CPU in proportion to
    its size, before anything is authenticated: not on the event loop."""
    peeked_on: list[int] = []
    recording_threads(monkeypatch, samljit._acs_steps, "peek_response", peeked_on)

    async def login() -> int:
        await stores.async_service().complete_login(form(test_idp), account_id="acme")
        return threading.get_ident()

    loop_thread = asyncio.run(login())
    assert len(peeked_on) == 1
    assert peeked_on[0] != loop_thread
