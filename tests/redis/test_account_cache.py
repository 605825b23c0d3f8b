"""CachedAccountStore: each worker keeps the account configurations it read, and an
administrator's save or delete on any worker reaches every worker's next login.

Two "workers" here are two CachedAccountStores with their own Redis clients over one app
store, as two processes over one database would be. Each rule runs sync and async.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from samljit import (
    AccountConfig,
    AsyncLoginService,
    ClaimMapping,
    LoginService,
    MemoryAccountStore,
    MemoryReplayCache,
    MemoryUserStore,
    SamlError,
    StoreUnavailable,
)
from samljit.stores.redis import AsyncCachedAccountStore, CachedAccountStore
from samljit.testing import RecordingSessionIssuer, TestIdP

from ..conftest import ACS_URL, NOW, SP_ENTITY_ID
from .conftest import RedisServer
from .sites import account


class CountingStore(MemoryAccountStore):
    """The app's account store, counting the reads that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, account_id: str) -> AccountConfig | None:
        self.reads += 1
        return super().get(account_id)


class AsyncView:
    """The same app store seen through async methods (as an async app's store is)."""

    def __init__(self, store: CountingStore) -> None:
        self.store = store

    async def get(self, account_id: str) -> AccountConfig | None:
        return self.store.get(account_id)

    async def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        return self.store.find_by_idp_entity_id(entity_id)

    async def save(self, config: AccountConfig) -> None:
        self.store.save(config)

    async def delete(self, account_id: str) -> None:
        self.store.delete(account_id)


class Worker:
    """One worker's CachedAccountStore (or its async twin), called synchronously."""

    def __init__(self, kind: str, store: CountingStore, url: str, **options: Any) -> None:
        self.kind = kind
        if kind == "sync":
            self.client: Any = redis.Redis.from_url(url, socket_timeout=0.3)
            self.cache: Any = CachedAccountStore(store, self.client, **options)
        else:
            self.runner = asyncio.Runner()
            self.client = redis.asyncio.Redis.from_url(url, socket_timeout=0.3)
            self.cache = AsyncCachedAccountStore(AsyncView(store), self.client, **options)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.cache, name)
        if self.kind == "sync":
            return method
        return lambda *args: self.runner.run(method(*args))

    def close(self) -> None:
        if self.kind == "sync":
            self.client.close()
        else:
            self.runner.run(self.client.aclose())
            self.runner.close()


@pytest.fixture(params=["sync", "async"])
def workers(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> Iterator[tuple[CountingStore, Any]]:
    store = CountingStore()
    made: list[Worker] = []

    def worker(**options: Any) -> Worker:
        made.append(Worker(request.param, store, redis_server.url, **options))
        return made[-1]

    yield store, worker
    for each in made:
        each.close()


@pytest.fixture
def config(test_idp: TestIdP) -> AccountConfig:
    return account(test_idp.metadata_xml)


def test_a_configuration_is_read_from_the_app_store_once_per_worker(
    workers: Any, config: AccountConfig
) -> None:
    store, worker = workers
    store.save(config)
    one = worker()
    assert one.get("acme") == config
    assert one.get("acme") == config
    assert store.reads == 1


def test_a_change_saved_on_one_worker_reaches_the_others_next_read(
    workers: Any, config: AccountConfig
) -> None:
    _store, worker = workers
    one, two = worker(), worker()
    one.save(config)
    assert two.get("acme") == config
    changed = dataclasses.replace(config, name_id_format=None)
    one.save(changed)
    assert two.get("acme") == changed
    assert one.get("acme") == changed


def test_deleting_the_metadata_on_one_worker_disables_sso_on_every_worker(
    workers: Any, config: AccountConfig
) -> None:
    _store, worker = workers
    one, two = worker(), worker()
    one.save(config)
    assert two.get("acme") == config
    one.delete("acme")
    assert two.get("acme") is None
    assert one.get("acme") is None


def test_an_unknown_account_is_remembered_as_unknown_until_it_is_saved(
    workers: Any, config: AccountConfig
) -> None:
    store, worker = workers
    one, two = worker(), worker()
    assert one.get("acme") is None
    assert one.get("acme") is None
    assert store.reads == 1
    two.save(config)
    assert one.get("acme") == config


def test_a_copy_older_than_max_age_is_read_again(workers: Any, config: AccountConfig) -> None:
    store, worker = workers
    store.save(config)
    one = worker(max_age=0.0)
    one.get("acme")
    one.get("acme")
    assert store.reads == 2


def test_lookups_by_idp_entity_id_go_to_the_app_store(
    workers: Any, config: AccountConfig, test_idp: TestIdP
) -> None:
    store, worker = workers
    store.save(config)
    assert worker().find_by_idp_entity_id(test_idp.entity_id) == [config]


def test_without_redis_every_read_goes_to_the_app_store_and_sees_the_latest_change(
    workers: Any, config: AccountConfig, redis_server: RedisServer
) -> None:
    store, worker = workers
    one = worker()
    one.save(config)
    assert one.get("acme") == config
    redis_server.stop()
    store.delete("acme")  # changed in the database by something that cannot tell Redis
    assert one.get("acme") is None
    assert one.get("acme") is None
    assert store.reads == 3


def test_a_save_while_redis_is_down_is_written_and_reported_unavailable(
    workers: Any, config: AccountConfig, redis_server: RedisServer
) -> None:
    store, worker = workers
    one = worker()
    redis_server.stop()
    with pytest.raises(StoreUnavailable) as raised:
        one.save(config)
    assert raised.value.code == "store_unavailable"
    assert store.get("acme") == config
    with contextlib.suppress(StoreUnavailable):
        one.delete("acme")
    assert store.get("acme") is None


# --- the login service on CachedAccountStore --------------------------------------------------


class LoggingIn:
    """A worker's login service over its CachedAccountStore (sync or async)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        service_class = LoginService if worker.kind == "sync" else AsyncLoginService
        self.service: Any = service_class(
            accounts=worker.cache,
            users=MemoryUserStore(),
            sessions=RecordingSessionIssuer(),
            replay_cache=MemoryReplayCache(),
            clock=lambda: NOW,
        )
        self.logins = 0

    def login(self, idp: TestIdP, *, role: str = "developer") -> str:
        """The login's outcome, or the code it was refused with."""
        self.logins += 1
        issued = idp.issue_response(
            sp_entity_id=SP_ENTITY_ID,
            acs_url=ACS_URL,
            now=NOW,
            name_id=f"user{self.logins}@acme.test",
            attributes={"role": [role]},
        )
        form = {"SAMLResponse": issued.form_value}
        try:
            result = self.service.complete_login(form, account_id="acme")
            if self.worker.kind == "async":
                result = self.worker.runner.run(result)
        except SamlError as exc:
            return exc.code
        return str(result.outcome.action)


@pytest.fixture(scope="module")
def rotated(test_idp: TestIdP) -> TestIdP:
    return TestIdP(entity_id=test_idp.entity_id)


def test_a_repeat_login_reads_only_the_redis_version(
    workers: Any, config: AccountConfig, test_idp: TestIdP
) -> None:
    store, worker = workers
    store.save(config)
    one = LoggingIn(worker())
    assert [one.login(test_idp) for _ in range(3)] == ["created"] * 3
    assert store.reads == 1
    version = one.worker.config_version("acme")
    assert one.worker.config_version("acme") == version
    worker().save(config)
    assert one.worker.config_version("acme") != version


def test_each_change_saved_on_one_worker_reaches_every_workers_next_login(
    workers: Any, config: AccountConfig, test_idp: TestIdP, rotated: TestIdP
) -> None:
    _store, worker = workers
    admin = worker()
    admin.save(config)
    logging_in = [LoggingIn(worker()), LoggingIn(worker())]
    assert [w.login(test_idp) for w in logging_in] == ["created"] * 2

    admin.save(dataclasses.replace(config, idp_metadata=rotated.metadata_xml))
    assert [w.login(test_idp) for w in logging_in] == ["untrusted_key"] * 2
    assert [w.login(rotated) for w in logging_in] == ["created"] * 2

    finance = ClaimMapping.from_dict({"accepted_roles": ["finance"]})
    admin.save(dataclasses.replace(config, mapping=finance))
    assert [w.login(test_idp) for w in logging_in] == ["role_not_accepted"] * 2
    assert [w.login(test_idp, role="finance") for w in logging_in] == ["created"] * 2

    admin.delete("acme")
    assert [w.login(test_idp) for w in logging_in] == ["sso_disabled"] * 2
    admin.save(config)
    assert [w.login(test_idp) for w in logging_in] == ["created"] * 2


def test_a_change_redis_never_heard_of_reaches_logins_after_max_age(
    workers: Any, config: AccountConfig, test_idp: TestIdP
) -> None:
    """The app's store changed while Redis missed the announcement: the worker's copy (and
    the service's parsed one with it) lasts no longer than ``max_age``."""
    store, worker = workers
    store.save(config)
    one = LoggingIn(worker(max_age=0.0))
    assert one.login(test_idp) == "created"
    store.delete("acme")  # no INCR
    assert one.login(test_idp) == "sso_disabled"


def test_without_redis_logins_read_the_app_store_and_see_the_latest_change(
    workers: Any, config: AccountConfig, test_idp: TestIdP, redis_server: RedisServer
) -> None:
    store, worker = workers
    store.save(config)
    one = LoggingIn(worker())
    assert one.login(test_idp) == "created"
    redis_server.stop()
    assert one.worker.config_version("acme") is None
    store.delete("acme")
    assert one.login(test_idp) == "sso_disabled"
