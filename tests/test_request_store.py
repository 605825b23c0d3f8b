"""Pending requests are bounded: anyone can start a login, so the request stores hold at most
``max_pending`` unexpired requests, drop expired ones first, and then refuse a new one with
``store_full`` rather than push out a request a user is completing at the IdP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from samljit import ConfigError, PendingRequest, SamlError
from samljit.stores.memory import DEFAULT_MAX_PENDING, MemoryAccountStore, MemoryRequestStore
from samljit.stores.sqlite import SQLiteRequestStore
from samljit.testing import FixedClock, TestIdP

from .conftest import NOW
from .sp_flows import App, account

LIFETIME = timedelta(minutes=10)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


StoreFactory = Callable[..., Any]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> Iterator[StoreFactory]:
    made: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("clock", clock)
        if request.param == "memory":
            store: Any = MemoryRequestStore(**options)
        else:
            store = SQLiteRequestStore(tmp_path / "requests.sqlite3", **options)
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, SQLiteRequestStore):
            store.close()


def pending(request_id: str, *, expires_at: datetime = NOW + LIFETIME) -> PendingRequest:
    return PendingRequest(
        request_id=request_id, account_id="acme", relay_state=None, expires_at=expires_at
    )


def fill(store: Any, count: int, *, expires_at: datetime = NOW + LIFETIME) -> list[str]:
    ids = [f"_r{i}" for i in range(count)]
    for request_id in ids:
        store.save(pending(request_id, expires_at=expires_at))
    return ids


def refused(store: Any, request: PendingRequest) -> SamlError:
    with pytest.raises(SamlError) as caught:
        store.save(request)
    return caught.value


def test_the_default_bound_is_ten_thousand_requests(make_store: StoreFactory) -> None:
    assert DEFAULT_MAX_PENDING == 10_000
    assert make_store().max_pending == DEFAULT_MAX_PENDING


def test_a_full_store_refuses_a_new_request_with_store_full(make_store: StoreFactory) -> None:
    store = make_store(max_pending=3)
    fill(store, 3)
    err = refused(store, pending("_new"))
    assert err.code == "store_full"
    assert (err.expected, err.found) == (3, 3)
    assert store.get("_new") is None


def test_a_full_store_keeps_every_request_users_are_completing(make_store: StoreFactory) -> None:
    """Refusing, not evicting: a flood of new logins never pushes out a pending one."""
    store = make_store(max_pending=3)
    ids = fill(store, 3)
    for attempt in range(5):
        assert refused(store, pending(f"_flood{attempt}")).code == "store_full"
    assert all(store.get(request_id) is not None for request_id in ids)
    assert store.consume(ids[0], now=NOW) is True


def test_expired_requests_are_dropped_to_make_room_before_refusing(
    make_store: StoreFactory, clock: FixedClock
) -> None:
    store = make_store(max_pending=3)
    old = fill(store, 2, expires_at=NOW + timedelta(minutes=1))
    store.save(pending("_current", expires_at=NOW + LIFETIME))
    clock.now = NOW + timedelta(minutes=1)
    store.save(pending("_new", expires_at=clock.now + LIFETIME))
    assert [store.get(request_id) for request_id in old] == [None, None]
    assert store.get("_current") is not None
    assert store.get("_new") is not None
    store.save(pending("_another", expires_at=clock.now + LIFETIME))
    assert refused(store, pending("_one_too_many")).code == "store_full"


def test_saving_a_pending_request_again_in_a_full_store_replaces_it(
    make_store: StoreFactory,
) -> None:
    store = make_store(max_pending=2)
    fill(store, 2)
    store.save(pending("_r0", expires_at=NOW + timedelta(minutes=3)))
    saved = store.get("_r0")
    assert saved is not None
    assert saved.expires_at == NOW + timedelta(minutes=3)


def test_an_answered_request_frees_its_place(make_store: StoreFactory) -> None:
    store = make_store(max_pending=2)
    first, _ = fill(store, 2)
    assert store.consume(first, now=NOW) is True
    store.save(pending("_new"))
    assert store.get("_new") is not None


def test_consume_drops_every_request_expired_at_its_now(make_store: StoreFactory) -> None:
    store = make_store(max_pending=3)
    fill(store, 3, expires_at=NOW + timedelta(minutes=1))
    assert store.consume("_unknown", now=NOW + timedelta(minutes=1)) is False
    fill(store, 3)  # room for three again: the expired ones are gone


@pytest.mark.parametrize("max_pending", [0, -1])
def test_max_pending_below_one_is_configuration_invalid(
    make_store: StoreFactory, max_pending: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_store(max_pending=max_pending)
    assert caught.value.code == "configuration_invalid"


def test_the_memory_store_stays_small_under_many_answered_logins() -> None:
    """Each answered request leaves nothing behind: what the store keeps stays within a
    constant factor of the requests pending, however many logins pass through it."""
    store = MemoryRequestStore(max_pending=10, clock=lambda: NOW)
    for number in range(5_000):
        store.save(pending(f"_r{number}"))
        assert store.consume(f"_r{number}", now=NOW) is True
    assert len(store) == 0
    assert len(store._expiry) <= 64


def test_the_sqlite_store_bound_is_shared_by_every_instance_on_the_file(
    tmp_path: Path, clock: FixedClock
) -> None:
    """Every worker process opens its own instance: the bound counts the rows of the file."""
    path = tmp_path / "requests.sqlite3"
    worker_a = SQLiteRequestStore(path, max_pending=2, clock=clock)
    worker_b = SQLiteRequestStore(path, max_pending=2, clock=clock)
    try:
        worker_a.save(pending("_a"))
        worker_b.save(pending("_b"))
        assert refused(worker_a, pending("_c")).code == "store_full"
        assert refused(worker_b, pending("_c")).code == "store_full"
    finally:
        worker_a.close()
        worker_b.close()


# --- through LoginService: sync and async --------------------------------------------------


@pytest.fixture
def full_app(test_idp: TestIdP, login_service: Callable[..., Any], clock: FixedClock) -> App:
    return App(
        login_service=login_service,
        request_store=MemoryRequestStore(max_pending=2, clock=clock),
        accounts=MemoryAccountStore([account("acme", test_idp.metadata_xml)]),
        clock=clock,
    )


def test_begin_login_on_a_full_store_is_store_full_and_keeps_the_pending_logins(
    full_app: App,
) -> None:
    first = full_app.service.begin_login("acme")
    second = full_app.service.begin_login("acme", binding="post")
    with pytest.raises(SamlError) as caught:
        full_app.service.begin_login("acme")
    assert caught.value.code == "store_full"
    assert full_app.request_store.get(first.message_id) is not None
    assert full_app.request_store.get(second.message_id) is not None


def test_begin_login_makes_room_once_the_pending_logins_expire(
    full_app: App, clock: FixedClock
) -> None:
    full_app.service.begin_login("acme")
    full_app.service.begin_login("acme")
    clock.now = NOW + full_app.service.request_lifetime
    assert full_app.service.begin_login("acme").message_id
    assert len(full_app.request_store) == 1
