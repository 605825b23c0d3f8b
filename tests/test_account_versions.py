"""Each worker keeps the account configurations it read, keyed by the store's version.

An account store with ``config_version`` lets a login whose version is unchanged skip reading
the configuration and hashing its metadata; any change an administrator saves (metadata,
mapping, policy, deletion) still takes effect at the next login on every worker. A store
without it is read at every login, as before.

Two "workers" are two services over one store (memory: one store object; SQLite: a store
object each on one file, as two processes have). Each rule runs with the sync and the async
service.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from samljit import (
    AccountConfig,
    ClaimMapping,
    LoginResult,
    LoginService,
    ProvisioningPolicy,
    SamlError,
    SPConfig,
)
from samljit._idp_cache import AccountCache, IdPCache, SourceCache
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemoryRequestStore,
    MemoryUserStore,
)
from samljit.stores.sqlite import SQLiteAccountStore
from samljit.testing import RecordingSessionIssuer, TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID

SP = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
DEVELOPERS = ClaimMapping.from_dict({"accepted_roles": ["developer"]})
FINANCE = ClaimMapping.from_dict({"accepted_roles": ["finance"]})


class Counting:
    """An app's account store that counts the reads reaching it; ``config_version`` exists only
    when the store has it (``versions=False`` hides it, as an app's own store may lack it)."""

    def __init__(self, store: Any, *, versions: bool = True) -> None:
        self.store = store
        self.gets = 0
        self.versions = 0
        if versions and hasattr(store, "config_version"):
            self.config_version = self._config_version

    def get(self, account_id: str) -> AccountConfig | None:
        self.gets += 1
        config: AccountConfig | None = self.store.get(account_id)
        return config

    def _config_version(self, account_id: str) -> object:
        self.versions += 1
        return self.store.config_version(account_id)

    def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        found: list[AccountConfig] = self.store.find_by_idp_entity_id(entity_id)
        return found

    def save(self, config: AccountConfig) -> None:
        self.store.save(config)

    def delete(self, account_id: str) -> None:
        self.store.delete(account_id)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The metadata documents hashed to look up a parsed IdP or a metadata source."""
    hashed: list[bytes] = []
    by_idp, by_source = IdPCache._key, SourceCache._key

    def idp_key(config: AccountConfig) -> Any:
        hashed.append(config.idp_metadata)
        return by_idp(config)

    def source_key(config: AccountConfig) -> Any:
        hashed.append(config.idp_metadata)
        return by_source(config)

    monkeypatch.setattr(IdPCache, "_key", staticmethod(idp_key))
    monkeypatch.setattr(SourceCache, "_key", staticmethod(source_key))
    return hashed


def _config(idp: TestIdP, **changes: Any) -> AccountConfig:
    policy = ProvisioningPolicy(create_users="always")
    config = AccountConfig(
        account_id="acme", idp_metadata=idp.metadata_xml, sp=SP, mapping=DEVELOPERS, policy=policy
    )
    return dataclasses.replace(config, **changes)


class Deployment:
    """The app's account store (for the administrator) and the workers' services."""

    def __init__(
        self, admin: Any, stores: list[Any], login_service: Callable[..., LoginService]
    ) -> None:
        self.admin = admin
        self.stores = stores
        self.services = [
            login_service(
                accounts=store,
                users=MemoryUserStore(),
                sessions=RecordingSessionIssuer(),
                replay_cache=MemoryReplayCache(),
                clock=lambda: NOW,
            )
            for store in stores
        ]
        self.logins = 0

    def login(self, worker: int, idp: TestIdP, *, role: str = "developer") -> LoginResult:
        self.logins += 1
        issued = idp.issue_response(
            sp_entity_id=SP_ENTITY_ID,
            acs_url=ACS_URL,
            now=NOW,
            name_id=f"user{self.logins}@acme.test",
            attributes={"role": [role]},
        )
        form = {"SAMLResponse": issued.form_value}
        return self.services[worker].complete_login(form, account_id="acme")

    def refused(self, worker: int, idp: TestIdP, **options: Any) -> str:
        with pytest.raises(SamlError) as caught:
            self.login(worker, idp, **options)
        return caught.value.code


@pytest.fixture(scope="module")
def idp() -> TestIdP:
    return TestIdP(entity_id="https://idp.acme.test/metadata", key_type="ec")


@pytest.fixture(scope="module")
def rotated(idp: TestIdP) -> TestIdP:
    """The same IdP after a key rollover."""
    return TestIdP(entity_id=idp.entity_id, key_type="ec")


@pytest.fixture(params=["memory", "sqlite"])
def deployment(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    login_service: Callable[..., LoginService],
) -> Iterator[Deployment]:
    if request.param == "memory":
        shared = MemoryAccountStore()
        yield Deployment(shared, [Counting(shared), Counting(shared)], login_service)
        return
    opened = [SQLiteAccountStore(tmp_path / "app.sqlite3") for _ in range(3)]
    yield Deployment(opened[0], [Counting(s) for s in opened[1:]], login_service)
    for store in opened:
        store.close()


def test_a_repeat_login_reads_only_the_version_and_hashes_nothing(
    deployment: Deployment, idp: TestIdP, hashes: list[bytes]
) -> None:
    deployment.admin.save(_config(idp))
    deployment.login(0, idp)
    hashed = len(hashes)
    for _ in range(3):
        assert deployment.login(0, idp).outcome.action == "created"
    store = deployment.stores[0]
    assert (store.versions, store.gets) == (4, 1)
    assert len(hashes) == hashed


def test_new_metadata_takes_effect_at_the_next_login_on_every_worker(
    deployment: Deployment, idp: TestIdP, rotated: TestIdP
) -> None:
    deployment.admin.save(_config(idp))
    for worker in (0, 1):
        deployment.login(worker, idp)
    deployment.admin.save(_config(rotated))
    for worker in (0, 1):
        assert deployment.refused(worker, idp) == "untrusted_key"
        assert deployment.login(worker, rotated).outcome.action == "created"


def test_a_new_mapping_takes_effect_at_the_next_login_on_every_worker(
    deployment: Deployment, idp: TestIdP
) -> None:
    deployment.admin.save(_config(idp))
    for worker in (0, 1):
        deployment.login(worker, idp)
    deployment.admin.save(_config(idp, mapping=FINANCE))
    for worker in (0, 1):
        assert deployment.refused(worker, idp) == "role_not_accepted"
        assert deployment.login(worker, idp, role="finance").outcome.action == "created"


def test_a_new_policy_takes_effect_at_the_next_login_on_every_worker(
    deployment: Deployment, idp: TestIdP
) -> None:
    deployment.admin.save(_config(idp))
    for worker in (0, 1):
        deployment.login(worker, idp)
    deployment.admin.save(_config(idp, policy=ProvisioningPolicy(create_users="never")))
    for worker in (0, 1):
        assert deployment.refused(worker, idp) == "user_not_provisioned"


def test_deleting_the_configuration_disables_sso_at_the_next_login_on_every_worker(
    deployment: Deployment, idp: TestIdP, rotated: TestIdP
) -> None:
    deployment.admin.save(_config(idp))
    for worker in (0, 1):
        deployment.login(worker, idp)
    deployment.admin.delete("acme")
    for worker in (0, 1):
        assert deployment.refused(worker, idp) == "sso_disabled"
    deployment.admin.save(_config(rotated))
    for worker in (0, 1):
        assert deployment.refused(worker, idp) == "untrusted_key"
        assert deployment.login(worker, rotated).outcome.action == "created"


def test_a_change_saved_between_the_version_and_the_read_is_read_again(
    idp: TestIdP, rotated: TestIdP, login_service: Callable[..., LoginService]
) -> None:
    """The version is read first: a configuration read after it is never kept under a
    version newer than itself, so a save racing a login cannot leave a worker stale."""
    store = MemoryAccountStore([_config(idp)])

    class SavedRightAfterTheRead(Counting):
        def get(self, account_id: str) -> AccountConfig | None:
            config = super().get(account_id)
            if self.gets == 1:
                store.save(_config(rotated))  # the administrator, in between
            return config

    deployment = Deployment(store, [SavedRightAfterTheRead(store)], login_service)
    assert deployment.login(0, idp).outcome.action == "created"
    assert deployment.refused(0, idp) == "untrusted_key"
    assert deployment.login(0, rotated).outcome.action == "created"


@pytest.mark.parametrize(
    "reason", ["no config_version", "config_version returns None"], ids=["without", "unknown"]
)
def test_a_store_that_cannot_tell_versions_is_read_and_hashed_at_every_login(
    idp: TestIdP, login_service: Callable[..., LoginService], hashes: list[bytes], reason: str
) -> None:
    store = MemoryAccountStore([_config(idp)])
    counting = Counting(store, versions=False)
    if reason == "config_version returns None":
        counting.config_version = lambda account_id: None  # type: ignore[attr-defined]
    deployment = Deployment(store, [counting], login_service)
    deployment.login(0, idp)
    hashed = len(hashes)
    for _ in range(3):
        deployment.login(0, idp)
    assert counting.gets == 4
    assert len(hashes) == hashed + 3


def test_an_account_whose_metadata_comes_from_a_url_reuses_its_source_without_hashing(
    idp: TestIdP, rotated: TestIdP, hashes: list[bytes]
) -> None:
    url = "https://idp.acme.test/metadata.xml"
    published = {url: idp.metadata_xml}
    store = MemoryAccountStore([_config(idp, idp_metadata_url=url)])
    counting = Counting(store)
    service = LoginService(
        accounts=counting,
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
        metadata_fetcher=lambda url, **_: published[url],
    )
    deployment = Deployment(store, [counting], lambda **_: service)
    deployment.login(0, idp)
    hashed = len(hashes)
    for _ in range(3):
        deployment.login(0, idp)
    assert counting.gets == 1
    assert len(hashes) == hashed
    store.save(_config(rotated, idp_metadata_url=url))
    published[url] = rotated.metadata_xml
    assert deployment.login(0, rotated).outcome.action == "created"


# --- the stores' versions -------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryAccountStore()
        return
    made = SQLiteAccountStore(tmp_path / "app.sqlite3")
    yield made
    made.close()


def test_a_stores_version_changes_at_every_save_and_delete(store: Any, idp: TestIdP) -> None:
    assert store.config_version("acme") is None
    store.save(_config(idp))
    first = store.config_version("acme")
    assert store.config_version("acme") == first
    store.save(_config(idp))  # the same configuration again still counts as a change
    second = store.config_version("acme")
    store.delete("acme")
    assert store.config_version("acme") is None
    store.save(_config(idp))
    assert len({first, second, store.config_version("acme")}) == 3


def test_the_sqlite_version_is_the_same_in_every_process(tmp_path: Path, idp: TestIdP) -> None:
    one, two = (SQLiteAccountStore(tmp_path / "app.sqlite3") for _ in range(2))
    one.save(_config(idp))
    assert two.config_version("acme") == one.config_version("acme") is not None
    one.close()
    two.close()


# --- bounded ----------------------------------------------------------------------------------


def test_the_configuration_cache_keeps_at_most_metadata_cache_size_accounts(
    idp: TestIdP,
) -> None:
    store = Counting(MemoryAccountStore(_config(idp, account_id=name) for name in ("a", "b", "c")))
    service = LoginService(
        accounts=store,
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
        request_store=MemoryRequestStore(),
        metadata_cache_size=2,
    )
    for name in ("a", "b", "a", "c", "a", "b"):
        service.begin_login(name)
    assert store.gets == 4  # a, b, c, then b again: c pushed out b, the least recently used


def test_the_configuration_cache_also_bounds_the_metadata_it_holds(idp: TestIdP) -> None:
    size = len(idp.metadata_xml)
    cache = AccountCache(100, max_bytes=2 * size)
    for name in ("a", "b", "c"):
        cache.keep(name, 1, _config(idp, account_id=name))
    assert [cache.get(name, 1) is not None for name in ("a", "b", "c")] == [False, True, True]
    cache.keep("a", 1, None)  # a disabled account holds no metadata
    assert all(cache.get(name, 1) is not None for name in ("a", "b", "c"))


def test_a_cached_configuration_is_replaced_when_its_version_changes(idp: TestIdP) -> None:
    cache = AccountCache(10)
    cache.keep("acme", 1, _config(idp))
    assert cache.get("acme", 1) is not None
    assert cache.get("acme", 2) is None


def test_a_sqlite_file_made_before_versions_were_read_gets_their_index(
    tmp_path: Path, idp: TestIdP
) -> None:
    """``config_version`` reads ``updated_at`` from a covering index (the row would be walked
    through to its end, past the whole metadata): a file made without it gets it on open."""
    path = tmp_path / "old.sqlite3"
    old = SQLiteAccountStore(path)
    old.save(_config(idp))
    old.close()
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("DROP INDEX samljit_accounts_version")
    reopened = SQLiteAccountStore(path)
    assert reopened.config_version("acme") is not None
    plan = reopened.db.connection().execute(
        "EXPLAIN QUERY PLAN SELECT updated_at FROM samljit_accounts"
        " INDEXED BY samljit_accounts_version WHERE account_id = 'acme'"
    )
    assert "COVERING INDEX" in " ".join(str(row["detail"]) for row in plan)
    reopened.close()
