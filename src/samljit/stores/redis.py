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

from ..protocols import PendingRequest
from ._redis_accounts import AsyncCachedAccountStore, CachedAccountStore
from ._redis_accounts import unavailable as _unavailable

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
