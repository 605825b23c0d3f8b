"""Login state on Redis, shared by every worker on every host: a :class:`~samljit.ReplayCache`
and a :class:`~samljit.RequestStore`, sync and async.

Install with ``pip install samljit[redis]``; only importing this module imports ``redis``.

- ``add`` is one ``SET key 1 NX PX <lifetime>``: add-if-absent and expiry in one atomic
  command, the key living until the assertion's own expiry (plus the clock skew) on the
  app's clock: the lifetime is counted from the ``now`` the login service passes, so the
  Redis host's clock (which an absolute ``PXAT`` would be read on) does not matter.
- ``consume`` is one ``GETDEL``: of two responses racing for one request, exactly one gets it.
- Every key is ``<prefix><kind>:<id>``; give each app its own prefix when they share a Redis.
- Any Redis error (refused, timed out, dropped) raises :class:`~samljit.StoreUnavailable`:
  the login fails closed. Bound the wait with the client's ``socket_timeout`` (the
  ``from_url`` constructors set it); the next login reconnects by itself.

Example::

    replay_cache = RedisReplayCache.from_url("rediss://:password@redis.internal:6380/0")
    request_store = RedisRequestStore(replay_cache.client)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from .._extras import missing_extra

try:
    import redis
    import redis.asyncio
    import redis.asyncio.retry
    from redis.backoff import NoBackoff
    from redis.retry import Retry
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "redis", exc) from exc

from .._accounts import AccountConfig
from ..errors import StoreUnavailable
from ..protocols import AccountStore, AsyncAccountStore, PendingRequest

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncCachedAccountStore",
    "AsyncRedisReplayCache",
    "AsyncRedisRequestStore",
    "CachedAccountStore",
    "RedisReplayCache",
    "RedisRequestStore",
]

DEFAULT_TIMEOUT = 0.5
"""Seconds to connect, and to wait for each answer, in the ``from_url`` constructors."""
_MIN_LIFETIME = timedelta(seconds=1)


def _client_options(
    timeout: float, options: dict[str, Any], retry: Retry | redis.asyncio.retry.Retry
) -> dict[str, Any]:
    """Bounded waits and one quick retry (a dropped pooled connection is replaced once);
    TLS (``rediss://``, ``ssl_*``), auth (``username``, ``password``) pass through.

    ``retry`` must match the client: ``redis.asyncio`` awaits ``call_with_retry``, and the
    synchronous ``Retry`` there would hand back the coroutine without ever retrying."""
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": retry,
        "health_check_interval": 30,
        **options,
    }


def _sync_options(timeout: float, options: dict[str, Any]) -> dict[str, Any]:
    return _client_options(timeout, options, Retry(NoBackoff(), 1))


def _async_options(timeout: float, options: dict[str, Any]) -> dict[str, Any]:
    return _client_options(timeout, options, redis.asyncio.retry.Retry(NoBackoff(), 1))


def _lifetime_ms(expires_at: datetime, now: datetime) -> int:
    # Counted on the app's clock, which decides until when an assertion is acceptable; an
    # absolute PXAT would be read on the Redis host's clock, and a Redis clock running ahead
    # would drop the key while the assertion is still accepted. A lifetime in the past would
    # drop it at once: keep it briefly.
    return max(expires_at - now, _MIN_LIFETIME) // timedelta(milliseconds=1)


def _encode(request: PendingRequest) -> str:
    return json.dumps(
        {
            "request_id": request.request_id,
            "account_id": request.account_id,
            "relay_state": request.relay_state,
            "expires_at": request.expires_at.timestamp(),
            "kind": request.kind,
            "test_admin": request.test_admin,
        }
    )


def _decode(value: bytes | str | None) -> PendingRequest | None:
    if value is None:
        return None
    data = json.loads(value)
    return PendingRequest(
        request_id=data["request_id"],
        account_id=data["account_id"],
        relay_state=data["relay_state"],
        expires_at=datetime.fromtimestamp(data["expires_at"], UTC),
        kind=data["kind"],
        test_admin=data.get("test_admin"),  # absent from values stored before it existed
    )


@contextmanager
def _unavailable(what: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailable(
            f"Redis did not {what}: {type(exc).__name__}: {exc}", found=type(exc).__name__
        ) from exc


class _Prefixed:
    prefix: str

    def _replay_key(self, key: str) -> str:
        return f"{self.prefix}replay:{key}"

    def _request_key(self, request_id: str) -> str:
        return f"{self.prefix}request:{request_id}"


class _OnRedis(_Prefixed):
    """A client and a key prefix; ``from_url`` builds the client with bounded waits."""

    def __init__(self, client: redis.Redis, *, prefix: str = "samljit:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "samljit:", timeout: float = DEFAULT_TIMEOUT, **options: Any
    ) -> Self:
        """A store on a new client for ``url`` (``redis://``, or ``rediss://`` for TLS), with
        ``timeout`` bounding every wait; ``options`` go to ``redis.Redis.from_url``."""
        return cls(redis.Redis.from_url(url, **_sync_options(timeout, options)), prefix=prefix)


class _OnAsyncRedis(_Prefixed):
    """:class:`_OnRedis` with a ``redis.asyncio`` client."""

    def __init__(self, client: redis.asyncio.Redis, *, prefix: str = "samljit:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "samljit:", timeout: float = DEFAULT_TIMEOUT, **options: Any
    ) -> Self:
        """See :meth:`RedisReplayCache.from_url`."""
        client = redis.asyncio.Redis.from_url(url, **_async_options(timeout, options))
        return cls(client, prefix=prefix)


class RedisReplayCache(_OnRedis):
    """Used assertion IDs (and logout request IDs) on Redis, until they expire.

    Args:
        client: a ``redis.Redis`` (or ``RedisCluster``; with Sentinel, the master's client).
        prefix: put before every key.
    """

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``key`` until ``expires_at``; ``True`` if it was new (see
        :class:`~samljit.ReplayCache`)."""
        with _unavailable("record the assertion as used"):
            added = self.client.set(
                self._replay_key(key), b"1", nx=True, px=_lifetime_ms(expires_at, now)
            )
        return bool(added)


class RedisRequestStore(_OnRedis):
    """Outstanding AuthnRequests and LogoutRequests on Redis, each used up at most once.

    Args:
        client: a ``redis.Redis``.
        prefix: put before every key.
    """

    def save(self, request: PendingRequest) -> None:
        """Keep a pending request until it is consumed or expires."""
        with _unavailable("remember the request"):
            self.client.set(
                self._request_key(request.request_id),
                _encode(request),
                px=_lifetime_ms(request.expires_at, datetime.now(UTC)),
            )

    def get(self, request_id: str) -> PendingRequest | None:
        """The pending request with this ID, even when expired, or ``None``."""
        with _unavailable("look up the request"):
            value = self.client.get(self._request_key(request_id))
        return _decode(value)

    def consume(self, request_id: str, *, now: datetime) -> bool:
        """Remove the request: ``True`` only if it was stored and unexpired, atomically (see
        :class:`~samljit.RequestStore`)."""
        with _unavailable("use up the request"):
            value = self.client.getdel(self._request_key(request_id))
        return _unexpired(_decode(value), now)


class AsyncRedisReplayCache(_OnAsyncRedis):
    """:class:`RedisReplayCache` on ``redis.asyncio``, for :class:`~samljit.AsyncLoginService`."""

    async def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``key`` until ``expires_at``; ``True`` if it was new (see
        :class:`~samljit.ReplayCache`)."""
        with _unavailable("record the assertion as used"):
            added = await self.client.set(
                self._replay_key(key), b"1", nx=True, px=_lifetime_ms(expires_at, now)
            )
        return bool(added)


class AsyncRedisRequestStore(_OnAsyncRedis):
    """:class:`RedisRequestStore` on ``redis.asyncio``."""

    async def save(self, request: PendingRequest) -> None:
        """Keep a pending request until it is consumed or expires."""
        with _unavailable("remember the request"):
            await self.client.set(
                self._request_key(request.request_id),
                _encode(request),
                px=_lifetime_ms(request.expires_at, datetime.now(UTC)),
            )

    async def get(self, request_id: str) -> PendingRequest | None:
        """The pending request with this ID, even when expired, or ``None``."""
        with _unavailable("look up the request"):
            value = await self.client.get(self._request_key(request_id))
        return _decode(value)

    async def consume(self, request_id: str, *, now: datetime) -> bool:
        """Remove the request: ``True`` only if it was stored and unexpired, atomically (see
        :class:`~samljit.RequestStore`)."""
        with _unavailable("use up the request"):
            value = await self.client.getdel(self._request_key(request_id))
        return _unexpired(_decode(value), now)


def _unexpired(pending: PendingRequest | None, now: datetime) -> bool:
    return pending is not None and pending.expires_at > now


class _Cached:
    __slots__ = ("config", "loaded", "version")

    def __init__(
        self, version: bytes | str | None, config: AccountConfig | None, loaded: float
    ) -> None:
        self.version, self.config, self.loaded = version, config, loaded


class _AccountCache:
    def __init__(self, prefix: str, max_age: float) -> None:
        self.prefix, self.max_age = prefix, max_age
        self.items: dict[str, _Cached] = {}

    def key(self, account_id: str) -> str:
        return f"{self.prefix}account-version:{account_id}"

    def fresh(self, account_id: str, version: bytes | str | None) -> _Cached | None:
        cached = self.items.get(account_id)
        if cached is None or cached.version != version:
            return None
        return cached if time.monotonic() - cached.loaded < self.max_age else None

    def keep(
        self, account_id: str, version: bytes | str | None, config: AccountConfig | None
    ) -> None:
        self.items[account_id] = _Cached(version, config, time.monotonic())


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
        with _unavailable("announce the account change to the other workers"):
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
        with _unavailable("announce the account change to the other workers"):
            await self.client.incr(self._cache.key(account_id))
