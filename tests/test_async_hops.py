"""Thread hand-offs in AsyncLoginService: the worker-thread steps of a login (CPU work and
``in_thread`` store calls) that sit next to each other run in one hand-off to a worker
thread, never on the event loop's thread; the rest runs on the loop; ``executor=`` says
which threads.

A hand-off is one call of the executor's ``submit``: these tests count them with an
executor that records each.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

import samljit._acs_steps
import samljit._idp_cache
from samljit import (
    AccountConfig,
    AsyncLoginService,
    AuditEvent,
    ClaimMapping,
    ConfigError,
    LoginResult,
    LoginService,
    SamlError,
    SPConfig,
    in_thread,
)
from samljit.stores.memory import MemoryAccountStore, MemoryReplayCache, MemoryUserStore
from samljit.testing import RecordingSessionIssuer, TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID
from .services import Awaiting

SP = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
MAPPING = ClaimMapping.from_dict({"accepted_roles": ["developer"]})


class CountingExecutor(ThreadPoolExecutor):
    """One worker thread, named ``samljit-test``; records each hand-off."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="samljit-test")
        self.hand_offs = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.hand_offs += 1
        return super().submit(fn, *args, **kwargs)


class Where:
    """``target`` with each method call recorded as (method, name of the thread it ran on)."""

    def __init__(self, target: object, calls: list[tuple[str, str]]) -> None:
        self.target = target
        self.calls = calls

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.target, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, threading.current_thread().name))
            return method(*args, **kwargs)

        return call


def watch(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, calls: list[tuple[str, str]]
) -> None:
    """Record, in ``calls``, each call of ``module.<name>`` with its thread's name."""
    original = getattr(module, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append((name, threading.current_thread().name))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)


def form(idp: TestIdP, name_id: str = "ada@acme.test") -> dict[str, str]:
    issued = idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id=name_id,
        attributes={"role": ["developer"]},
    )
    return {"SAMLResponse": issued.form_value}


def account(idp: TestIdP) -> MemoryAccountStore:
    return MemoryAccountStore(
        [AccountConfig(account_id="acme", idp_metadata=idp.metadata_xml, sp=SP, mapping=MAPPING)]
    )


def run_login(service: AsyncLoginService, posted: dict[str, str]) -> tuple[LoginResult, str]:
    async def login() -> tuple[LoginResult, str]:
        result = await service.complete_login(posted, account_id="acme")
        return result, threading.current_thread().name

    return asyncio.run(login())


def test_a_login_with_blocking_stores_hands_off_to_a_worker_thread_twice(
    test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account (its version, then its configuration), decoding, metadata parsing,
    verification and the user lookup are one hand-off; the replay check (a sync in-memory
    store, on the loop) ends it; the JIT create and the session are the second. Each of them
    was a hand-off of its own before."""
    calls: list[tuple[str, str]] = []
    watch(monkeypatch, samljit._acs_steps, "peek_response", calls)
    watch(monkeypatch, samljit._idp_cache, "parse_idp_metadata", calls)
    watch(monkeypatch, samljit._acs_steps, "verify_response_xml", calls)
    executor = CountingExecutor()
    service = AsyncLoginService(
        accounts=in_thread(Where(account(test_idp), calls)),
        users=in_thread(Where(MemoryUserStore(), calls)),
        sessions=in_thread(Where(RecordingSessionIssuer(), calls)),
        replay_cache=Where(MemoryReplayCache(), calls),
        clock=lambda: NOW,
        executor=executor,
    )
    with executor:
        result, loop = run_login(service, form(test_idp))
    assert result.outcome.action == "created"
    assert executor.hand_offs == 2
    worker = "samljit-test_0"
    assert calls == [
        ("config_version", worker),
        ("get", worker),
        ("peek_response", worker),
        ("parse_idp_metadata", worker),
        ("verify_response_xml", worker),
        ("get_by_email", worker),
        ("add", loop),
        ("create", worker),
        ("issue", worker),
    ]


def test_with_async_stores_each_cpu_step_still_runs_off_the_loop(
    test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Async stores are awaited on the loop, between them the CPU work is handed off:
    decoding (with the metadata parse and verification next to it: one hand-off)."""
    calls: list[tuple[str, str]] = []
    watch(monkeypatch, samljit._acs_steps, "peek_response", calls)
    watch(monkeypatch, samljit._acs_steps, "verify_response_xml", calls)
    executor = CountingExecutor()
    service = AsyncLoginService(
        accounts=Awaiting(account(test_idp)),
        users=Awaiting(MemoryUserStore()),
        sessions=Awaiting(RecordingSessionIssuer()),
        replay_cache=Awaiting(MemoryReplayCache()),
        clock=lambda: NOW,
        executor=executor,
    )
    with executor:
        result, loop = run_login(service, form(test_idp))
    assert result.outcome.action == "created"
    assert executor.hand_offs == 1
    assert calls == [("peek_response", "samljit-test_0"), ("verify_response_xml", "samljit-test_0")]
    assert loop != "samljit-test_0"


def test_without_executor_the_steps_run_on_the_loops_default_executor(
    test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    watch(monkeypatch, samljit._acs_steps, "verify_response_xml", calls)
    default = CountingExecutor()
    service = AsyncLoginService(
        accounts=in_thread(account(test_idp)),
        users=in_thread(MemoryUserStore()),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
    )

    async def login() -> LoginResult:
        asyncio.get_running_loop().set_default_executor(default)
        return await service.complete_login(form(test_idp), account_id="acme")

    assert asyncio.run(login()).outcome.action == "created"
    assert service.executor is None
    assert default.hand_offs == 2
    assert calls == [("verify_response_xml", "samljit-test_0")]


def test_a_rejected_login_ends_its_hand_off_and_audits_on_the_loop(
    test_idp: TestIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit hook is a port like the stores: called on the loop's thread, even when the
    refusal was raised on the worker thread."""
    audited: list[tuple[str, str]] = []

    def audit(event: AuditEvent) -> None:
        audited.append((event.name, threading.current_thread().name))

    executor = CountingExecutor()
    service = AsyncLoginService(
        accounts=in_thread(account(test_idp)),
        users=in_thread(MemoryUserStore()),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
        audit=audit,
        executor=executor,
    )
    stranger = TestIdP(entity_id=test_idp.entity_id, key_type="ec")

    async def login() -> tuple[str, str]:
        with pytest.raises(SamlError) as refused:
            await service.complete_login(form(stranger), account_id="acme")
        return refused.value.code, threading.current_thread().name

    with executor:
        code, loop = asyncio.run(login())
    assert code == "untrusted_key"
    assert executor.hand_offs == 1
    assert audited == [("login_rejected", loop)]


def test_concurrent_logins_with_one_worker_thread_each_get_their_user(
    test_idp: TestIdP,
) -> None:
    """Hand-offs of several logins interleave on the one thread; none is lost or mixed."""
    users = MemoryUserStore()
    executor = CountingExecutor()
    service = AsyncLoginService(
        accounts=in_thread(account(test_idp)),
        users=in_thread(users),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
        executor=executor,
    )
    emails = [f"user{number}@acme.test" for number in range(8)]

    async def logins() -> list[LoginResult]:
        return await asyncio.gather(
            *(service.complete_login(form(test_idp, email), account_id="acme") for email in emails)
        )

    with executor:
        results = asyncio.run(logins())
    assert [result.user.email for result in results] == emails
    assert sorted(user.email for user in users.users_of("acme")) == sorted(emails)
    assert executor.hand_offs == 2 * len(emails)


def test_an_async_audit_hook_is_awaited_by_the_async_service_and_refused_by_the_sync_one(
    test_idp: TestIdP,
) -> None:
    audited: list[str] = []

    async def audit(event: AuditEvent) -> None:
        await asyncio.sleep(0)
        audited.append(event.name)

    options: dict[str, Any] = {
        "users": MemoryUserStore(),
        "sessions": RecordingSessionIssuer(),
        "replay_cache": MemoryReplayCache(),
        "clock": lambda: NOW,
        "audit": audit,
    }
    service = AsyncLoginService(accounts=account(test_idp), **options)
    result, _ = run_login(service, form(test_idp))
    assert result.outcome.action == "created"
    assert audited == ["user_created", "login_succeeded"]

    sync = LoginService(**{**options, "users": MemoryUserStore(), "accounts": account(test_idp)})
    with pytest.raises(ConfigError) as refused:
        sync.complete_login(form(test_idp, "grace@acme.test"), account_id="acme")
    assert refused.value.code == "configuration_invalid"
