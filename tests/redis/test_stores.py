"""The Redis replay cache and request store against a real Redis: the contracts of
``samljit.ReplayCache`` and ``samljit.RequestStore``.

Each test runs with the synchronous stores (``[sync]``) and the ``redis.asyncio`` ones
(``[async]``), whose coroutines are run to completion so that both read the same. Expiry is
real: keys live on Redis's clock, and the tests wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from samljit import PendingRequest, StoreUnavailable
from samljit.stores.redis import (
    DEFAULT_TIMEOUT,
    AsyncRedisReplayCache,
    AsyncRedisRequestStore,
    RedisReplayCache,
    RedisRequestStore,
)

from .conftest import RedisServer, free_port, running_server
from .sites import wall_clock

CLASSES = {
    "sync": (RedisReplayCache, RedisRequestStore),
    "async": (AsyncRedisReplayCache, AsyncRedisRequestStore),
}


class Blocking:
    """A store whose coroutine methods run to completion on ``runner``."""

    def __init__(self, store: Any, runner: asyncio.Runner | None) -> None:
        self.store = store
        self.runner = runner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if self.runner is None or not inspect.iscoroutinefunction(attribute):
            return attribute
        runner = self.runner
        return lambda *args, **kwargs: runner.run(attribute(*args, **kwargs))


class Stores:
    """Makes the stores under test from a URL, each on its own client, and closes the clients."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.runner = asyncio.Runner() if kind == "async" else None
        self.replay_cache_class, self.request_store_class = CLASSES[kind]
        self._clients: list[Any] = []

    def replay_cache(self, url: str | None = None, **options: Any) -> Any:
        return self._made(self.replay_cache_class.from_url(url or self.url, **options))

    def request_store(self, url: str | None = None, **options: Any) -> Any:
        return self._made(self.request_store_class.from_url(url or self.url, **options))

    def _made(self, store: Any) -> Blocking:
        self._clients.append(store.client)
        return Blocking(store, self.runner)

    def close(self) -> None:
        for client in self._clients:
            if self.runner is None:
                client.close()
            else:
                self.runner.run(client.aclose())
        if self.runner is not None:
            self.runner.close()


@pytest.fixture(params=["sync", "async"])
def stores(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Stores]:
    made = Stores(request.param, redis_server.url)
    yield made
    made.close()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """The test's own view of the server."""
    with contextlib.closing(redis_server.client()) as client:
        yield client


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - wall_clock()).total_seconds()))


def pending(request_id: str = "_request1", **fields: Any) -> PendingRequest:
    fields.setdefault("account_id", "acme")
    fields.setdefault("relay_state", None)
    fields.setdefault("expires_at", wall_clock() + timedelta(minutes=10))
    return PendingRequest(request_id=request_id, **fields)


# --- the replay cache: add-if-absent, until the assertion expires ---------------------------


def test_add_is_true_for_a_new_key_and_false_for_one_already_recorded(stores: Stores) -> None:
    cache = stores.replay_cache()
    now = wall_clock()
    expires_at = now + timedelta(minutes=5)
    assert cache.add("idp _assertion1", expires_at=expires_at, now=now) is True
    assert cache.add("idp _assertion1", expires_at=expires_at, now=now) is False
    assert cache.add("idp _assertion2", expires_at=expires_at, now=now) is True


def test_a_key_is_recorded_by_every_worker_that_shares_the_redis(stores: Stores) -> None:
    """Two workers, each with its own client: what one recorded, the other sees."""
    one, other = stores.replay_cache(), stores.replay_cache()
    now = wall_clock()
    assert one.add("idp _assertion1", expires_at=now + timedelta(minutes=5), now=now) is True
    assert other.add("idp _assertion1", expires_at=now + timedelta(minutes=5), now=now) is False


def test_a_key_expires_when_the_assertion_does(stores: Stores, redis_client: redis.Redis) -> None:
    """Recorded until the assertion's own expiry (past the one-second floor), and not after."""
    cache = stores.replay_cache()
    now = wall_clock()
    expires_at = now + timedelta(seconds=1.4)
    assert cache.add("idp _assertion1", expires_at=expires_at, now=now) is True
    assert 1200 < redis_client.pttl("samljit:replay:idp _assertion1") <= 1400
    wait_until(now + timedelta(seconds=1.1))
    assert cache.add("idp _assertion1", expires_at=expires_at, now=wall_clock()) is False
    wait_until(expires_at + timedelta(seconds=0.15))
    assert redis_client.exists("samljit:replay:idp _assertion1") == 0
    assert cache.add("idp _assertion1", expires_at=expires_at, now=wall_clock()) is True


def test_an_expiry_in_the_past_still_blocks_the_key_for_a_moment(
    stores: Stores, redis_client: redis.Redis
) -> None:
    """Redis would drop a key whose expiry has passed at once, letting a second add through."""
    cache = stores.replay_cache()
    now = wall_clock()
    expires_at = now - timedelta(minutes=1)
    assert cache.add("idp _assertion1", expires_at=expires_at, now=now) is True
    assert cache.add("idp _assertion1", expires_at=expires_at, now=now) is False
    assert 0 < redis_client.pttl("samljit:replay:idp _assertion1") <= 1000
    wait_until(now + timedelta(seconds=1.1))
    assert cache.add("idp _assertion1", expires_at=expires_at, now=wall_clock()) is True


def test_a_redis_clock_running_ahead_of_the_apps_does_not_drop_the_key_early(
    stores: Stores, redis_client: redis.Redis
) -> None:
    """The app decides until when an assertion is acceptable, by its clock (``now``): a Redis
    host whose clock runs an hour ahead must not drop the key before that."""
    cache = stores.replay_cache()
    app_now = wall_clock() - timedelta(hours=1)
    expires_at = app_now + timedelta(minutes=5)
    assert cache.add("idp _assertion1", expires_at=expires_at, now=app_now) is True
    assert cache.add("idp _assertion1", expires_at=expires_at, now=app_now) is False
    assert 299_000 < redis_client.pttl("samljit:replay:idp _assertion1") <= 300_000


# --- the request store: saved, looked up, used up once ---------------------------------------


@pytest.mark.parametrize(
    "request_fields",
    [
        {"relay_state": None},
        {
            "relay_state": "/media/library?folder=a%20b&sort=-date",
            "kind": "logout",
            "account_id": "globex-é",
            "expires_at": datetime(2026, 11, 25, 12, 10, 0, 123457, tzinfo=UTC),
        },
    ],
    ids=["login", "logout"],
)
def test_a_saved_request_comes_back_with_every_field(
    stores: Stores, request_fields: dict[str, Any]
) -> None:
    requests = stores.request_store()
    request = pending(**request_fields)
    requests.save(request)
    assert requests.get(request.request_id) == request
    assert stores.request_store().get(request.request_id) == request  # another worker


def test_consume_is_true_once_and_then_the_request_is_gone(stores: Stores) -> None:
    requests = stores.request_store()
    requests.save(pending("_request1"))
    requests.save(pending("_request2"))
    assert requests.consume("_request1", now=wall_clock()) is True
    assert requests.consume("_request1", now=wall_clock()) is False
    assert requests.get("_request1") is None
    assert requests.get("_request2") is not None


def test_an_unknown_request_is_none_and_cannot_be_consumed(stores: Stores) -> None:
    requests = stores.request_store()
    assert requests.get("_never-sent") is None
    assert requests.consume("_never-sent", now=wall_clock()) is False


def test_consume_of_an_expired_request_is_false_and_uses_it_up(stores: Stores) -> None:
    """Expired by the service's clock, though Redis still holds it."""
    requests = stores.request_store()
    now = wall_clock()
    requests.save(pending(expires_at=now + timedelta(minutes=10)))
    assert requests.consume("_request1", now=now + timedelta(minutes=10)) is False
    assert requests.get("_request1") is None


def test_a_request_saved_already_expired_is_kept_a_moment_but_never_consumed(
    stores: Stores, redis_client: redis.Redis
) -> None:
    requests = stores.request_store()
    requests.save(pending(expires_at=wall_clock() - timedelta(seconds=5)))
    assert 0 < redis_client.pttl("samljit:request:_request1") <= 1000
    assert requests.consume("_request1", now=wall_clock()) is False


def test_a_request_key_expires_when_the_request_does(
    stores: Stores, redis_client: redis.Redis
) -> None:
    requests = stores.request_store()
    requests.save(pending(expires_at=wall_clock() + timedelta(minutes=10)))
    assert 599_000 < redis_client.pttl("samljit:request:_request1") <= 600_000


# --- keys and prefixes -----------------------------------------------------------------------


def test_keys_are_prefix_kind_and_id(stores: Stores, redis_client: redis.Redis) -> None:
    now = wall_clock()
    stores.replay_cache().add("idp _a1", expires_at=now + timedelta(minutes=5), now=now)
    stores.request_store(prefix="app1:").save(pending("_r1"))
    assert sorted(redis_client.keys()) == [b"app1:request:_r1", b"samljit:replay:idp _a1"]


def test_prefixes_keep_two_apps_on_one_redis_apart(stores: Stores) -> None:
    now = wall_clock()
    expires_at = now + timedelta(minutes=5)
    media, billing = stores.replay_cache(prefix="media:"), stores.replay_cache(prefix="billing:")
    assert media.add("idp _assertion1", expires_at=expires_at, now=now) is True
    assert billing.add("idp _assertion1", expires_at=expires_at, now=now) is True
    assert media.add("idp _assertion1", expires_at=expires_at, now=now) is False

    media_requests = stores.request_store(prefix="media:")
    billing_requests = stores.request_store(prefix="billing:")
    media_requests.save(pending("_request1"))
    assert billing_requests.get("_request1") is None
    assert billing_requests.consume("_request1", now=now) is False
    assert media_requests.consume("_request1", now=now) is True


# --- failing closed --------------------------------------------------------------------------


def test_every_operation_raises_store_unavailable_when_nothing_listens(stores: Stores) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    cache, requests = stores.replay_cache(url), stores.request_store(url)
    now = wall_clock()
    calls = {
        "add": lambda: cache.add("idp _a1", expires_at=now + timedelta(minutes=5), now=now),
        "save": lambda: requests.save(pending()),
        "get": lambda: requests.get("_request1"),
        "consume": lambda: requests.consume("_request1", now=now),
    }
    for name, call in calls.items():
        with pytest.raises(StoreUnavailable) as caught:
            call()
        assert caught.value.code == "store_unavailable", name
        assert caught.value.found == "ConnectionError", name
        assert isinstance(caught.value.__cause__, redis.ConnectionError), name


# --- client options: timeouts, retry, auth and TLS -------------------------------------------


def test_from_url_bounds_every_wait_and_retries_once(stores: Stores) -> None:
    for store in (stores.replay_cache(timeout=0.25), stores.request_store(timeout=0.25)):
        client = store.client
        options = client.connection_pool.connection_kwargs
        assert (options["socket_timeout"], options["socket_connect_timeout"]) == (0.25, 0.25)
        retry = options["retry"]
        assert retry.get_retries() == 1
        # redis.asyncio awaits its Retry; the synchronous one would never retry there.
        assert isinstance(
            retry, redis.retry.Retry if stores.kind == "sync" else redis.asyncio.retry.Retry
        )
    assert stores.replay_cache().client.connection_pool.connection_kwargs["socket_timeout"] == (
        DEFAULT_TIMEOUT
    )


def test_auth_and_tls_options_in_the_url_and_as_keywords_reach_the_client(stores: Stores) -> None:
    store = stores.replay_cache(
        "rediss://reporting:s3cret@redis.internal:6380/2",
        ssl_ca_certs="/etc/ssl/redis-ca.pem",
        ssl_certfile="/etc/ssl/app.pem",
        ssl_keyfile="/etc/ssl/app.key",
        timeout=2.0,
    )
    pool = store.client.connection_pool
    options = pool.connection_kwargs
    assert {k: options[k] for k in ("host", "port", "db", "username", "password")} == {
        "host": "redis.internal",
        "port": 6380,
        "db": 2,
        "username": "reporting",
        "password": "s3cret",
    }
    assert options["ssl_ca_certs"] == "/etc/ssl/redis-ca.pem"
    assert (options["ssl_certfile"], options["ssl_keyfile"]) == (
        "/etc/ssl/app.pem",
        "/etc/ssl/app.key",
    )
    ssl_connection = redis.SSLConnection if stores.kind == "sync" else redis.asyncio.SSLConnection
    assert pool.connection_class is ssl_connection
    # A keyword given to from_url wins over samljit's defaults.
    keyword = stores.replay_cache("redis://:secret@redis.internal", socket_timeout=9.0)
    assert keyword.client.connection_pool.connection_kwargs["password"] == "secret"
    assert keyword.client.connection_pool.connection_kwargs["socket_timeout"] == 9.0


def test_a_password_protected_redis_needs_the_right_password(
    stores: Stores, tmp_path: Path
) -> None:
    now = wall_clock()
    expires_at = now + timedelta(minutes=5)
    with running_server(tmp_path, password="correct horse") as server:
        for url in (
            f"redis://:wrong@127.0.0.1:{server.port}/0",
            f"redis://127.0.0.1:{server.port}/0",
        ):
            with pytest.raises(StoreUnavailable) as caught:
                stores.replay_cache(url).add("idp _a1", expires_at=expires_at, now=now)
            assert caught.value.code == "store_unavailable"
        right = stores.replay_cache(f"redis://127.0.0.1:{server.port}/0", password="correct horse")
        assert right.add("idp _a1", expires_at=expires_at, now=now) is True
        assert right.add("idp _a1", expires_at=expires_at, now=now) is False


def _tls_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "samljit test redis")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "redis.crt", directory / "redis.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_path, key_path


def test_a_tls_redis_is_reached_with_the_ca_given_and_refused_without_it(
    stores: Stores, tmp_path: Path
) -> None:
    certificate, key = _tls_certificate(tmp_path)
    tls_port = free_port()
    with running_server(
        tmp_path,
        "--tls-port", str(tls_port),
        "--tls-cert-file", str(certificate),
        "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(certificate),
        "--tls-auth-clients", "no",
    ):  # fmt: skip
        now = wall_clock()
        expires_at = now + timedelta(minutes=5)
        url = f"rediss://127.0.0.1:{tls_port}/0"
        trusting = stores.replay_cache(url, ssl_ca_certs=str(certificate))
        assert trusting.add("idp _a1", expires_at=expires_at, now=now) is True
        with pytest.raises(StoreUnavailable) as caught:
            stores.replay_cache(url).add("idp _a2", expires_at=expires_at, now=now)
        assert caught.value.code == "store_unavailable"
