"""The account store cache of :mod:`samljit.stores.redis` (:class:`CachedAccountStore`), and
the error mapping every Redis store shares."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .._extras import missing_extra

try:
    import redis
    import redis.asyncio
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra("samljit.stores.redis", "redis", exc) from exc

from .._accounts import AccountConfig
from ..errors import StoreUnavailable
from ..protocols import AccountStore, AsyncAccountStore

__all__ = ["AsyncCachedAccountStore", "CachedAccountStore", "unavailable"]


@contextmanager
def unavailable(what: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailable(
            f"Redis did not {what}: {type(exc).__name__}: {exc}", found=type(exc).__name__
        ) from exc


class _Cached:
    __slots__ = ("config", "load", "loaded", "version")

    def __init__(
        self, version: bytes | str | None, config: AccountConfig | None, loaded: float, load: int
    ) -> None:
        self.version, self.config, self.loaded, self.load = version, config, loaded, load


class _AccountCache:
    def __init__(self, prefix: str, max_age: float) -> None:
        self.prefix, self.max_age = prefix, max_age
        self.items: dict[str, _Cached] = {}
        self.loads = itertools.count()

    def key(self, account_id: str) -> str:
        return f"{self.prefix}account-version:{account_id}"

    def fresh(self, account_id: str, version: bytes | str | None) -> _Cached | None:
        cached = self.items.get(account_id)
        if cached is None or cached.version != version:
            return None
        return cached if time.monotonic() - cached.loaded < self.max_age else None

    def keep(
        self, account_id: str, version: bytes | str | None, config: AccountConfig | None
    ) -> _Cached:
        cached = _Cached(version, config, time.monotonic(), next(self.loads))
        self.items[account_id] = cached
        return cached


class CachedAccountStore:
    """The app's :class:`~samljit.AccountStore` with each worker keeping the configurations
    it read, invalidated in every worker at once when an administrator saves or deletes one.

    A login then costs one Redis ``GET`` of the account's version number instead of a
    database query and a JSON decode. ``save`` and ``delete`` go to the app's store first,
    then ``INCR`` the version, so a worker never keeps a configuration older than the last
    acknowledged change (deleting the metadata disables SSO on every worker at its next
    login). When Redis does not answer, ``get`` asks the app's store (it cannot tell whether
    its copy is current), and ``save``/``delete`` raise ``store_unavailable`` after writing:
    the other workers then see the change within ``max_age`` seconds.
    """

    def __init__(
        self,
        accounts: AccountStore,
        client: redis.Redis,
        *,
        prefix: str = "samljit:",
        max_age: float = 300.0,
    ) -> None:
        self.accounts = accounts
        self.client = client
        self._cache = _AccountCache(prefix, max_age)

    def get(self, account_id: str) -> AccountConfig | None:
        """The account's SSO configuration, or ``None``."""
        try:
            version = self.client.get(self._cache.key(account_id))
        except redis.RedisError:
            return self.accounts.get(account_id)
        cached = self._cache.fresh(account_id, version)
        if cached is not None:
            return cached.config
        config = self.accounts.get(account_id)
        self._cache.keep(account_id, version, config)
        return config

    def config_version(self, account_id: str) -> tuple[bytes | str | None, int] | None:
        """The Redis version number of the account with the load of this worker's copy (it
        changes when the copy is read again after ``max_age``), or ``None`` when Redis does
        not answer; reads the configuration when this worker has no current copy.

        With it the login service keeps the parsed configuration until either changes (see
        :class:`~samljit.AccountStore`)."""
        try:
            version = self.client.get(self._cache.key(account_id))
        except redis.RedisError:
            return None
        cached = self._cache.fresh(account_id, version)
        if cached is None:
            cached = self._cache.keep(account_id, version, self.accounts.get(account_id))
        return version, cached.load

    def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        """The accounts whose IdP has this entity ID."""
        return self.accounts.find_by_idp_entity_id(entity_id)

    def save(self, config: AccountConfig) -> None:
        """Insert or replace the account's configuration."""
        self.accounts.save(config)
        self._changed(config.account_id)

    def delete(self, account_id: str) -> None:
        """Remove the account's configuration: SSO is disabled for it."""
        self.accounts.delete(account_id)
        self._changed(account_id)

    def _changed(self, account_id: str) -> None:
        self._cache.items.pop(account_id, None)
        with unavailable("announce the account change to the other workers"):
            self.client.incr(self._cache.key(account_id))


class AsyncCachedAccountStore:
    """:class:`CachedAccountStore` on ``redis.asyncio``, in front of an async (or
    :func:`~samljit.in_thread`-wrapped) account store."""

    def __init__(
        self,
        accounts: AsyncAccountStore,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "samljit:",
        max_age: float = 300.0,
    ) -> None:
        self.accounts = accounts
        self.client = client
        self._cache = _AccountCache(prefix, max_age)

    async def get(self, account_id: str) -> AccountConfig | None:
        """The account's SSO configuration, or ``None``."""
        try:
            version = await self.client.get(self._cache.key(account_id))
        except redis.RedisError:
            return await self.accounts.get(account_id)
        cached = self._cache.fresh(account_id, version)
        if cached is not None:
            return cached.config
        config = await self.accounts.get(account_id)
        self._cache.keep(account_id, version, config)
        return config

    async def config_version(self, account_id: str) -> tuple[bytes | str | None, int] | None:
        """See :meth:`CachedAccountStore.config_version`."""
        try:
            version = await self.client.get(self._cache.key(account_id))
        except redis.RedisError:
            return None
        cached = self._cache.fresh(account_id, version)
        if cached is None:
            config = await self.accounts.get(account_id)
            cached = self._cache.keep(account_id, version, config)
        return version, cached.load

    async def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        """The accounts whose IdP has this entity ID."""
        return await self.accounts.find_by_idp_entity_id(entity_id)

    async def save(self, config: AccountConfig) -> None:
        """Insert or replace the account's configuration."""
        await self.accounts.save(config)
        await self._changed(config.account_id)

    async def delete(self, account_id: str) -> None:
        """Remove the account's configuration: SSO is disabled for it."""
        await self.accounts.delete(account_id)
        await self._changed(account_id)

    async def _changed(self, account_id: str) -> None:
        self._cache.items.pop(account_id, None)
        with unavailable("announce the account change to the other workers"):
            await self.client.incr(self._cache.key(account_id))
