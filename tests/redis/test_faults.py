"""Redis down, stalled, or dropping the connection in the middle of a login.

An SP-initiated login calls Redis three times: ``get`` the request, ``consume`` it, ``add`` the
assertion to the replay cache; only then does it write the user. Each fault strikes just before
one of those steps (``[get]``, ``[consume]``, ``[add]``). A login that cannot reach Redis fails
closed with ``store_unavailable``, writes no user, and gives up within the bound the client's
timeout sets (every attempt timing out, plus a generous second); the same service object logs
in again as soon as Redis is back. The workers' clients have ``from_url(timeout=0.3)``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from samljit import SamlError
from samljit.testing import TestIdP

from .conftest import RedisServer
from .sites import ACCOUNT, BOUND, STEPS, Worker, respond, users_in, wall_clock


@pytest.fixture(params=["sync", "async"])
def worker(
    request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path: Path, test_idp: TestIdP
) -> Iterator[Worker]:
    made = Worker(
        request.param,
        url=redis_server.url,
        db=tmp_path / "users.sqlite3",
        metadata=test_idp.metadata_xml,
        now=wall_clock(),
    )
    yield made
    made.close()


def refused_in_time(worker: Worker, test_idp: TestIdP, request_id: str) -> SamlError:
    issued = respond(test_idp, worker.now, in_response_to=request_id)
    started = time.monotonic()
    with pytest.raises(SamlError) as caught:
        worker.complete(issued)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"the login took {elapsed:.2f} s to fail"
    return caught.value


def logs_in(worker: Worker, test_idp: TestIdP) -> bool:
    """A whole new SP-initiated login, on the same service object."""
    request_id = worker.begin_login()
    return worker.outcome(respond(test_idp, worker.now, in_response_to=request_id)) == "ok"


@pytest.mark.parametrize("step", list(STEPS))
def test_with_redis_stopped_a_login_fails_closed_and_recovers_when_it_is_back(
    worker: Worker, redis_server: RedisServer, test_idp: TestIdP, step: str
) -> None:
    request_id = worker.begin_login()
    worker.interrupt(step, redis_server.stop)
    error = refused_in_time(worker, test_idp, request_id)
    assert (error.code, error.found) == ("store_unavailable", "ConnectionError")
    assert users_in(worker.db) == []

    redis_server.start()
    assert logs_in(worker, test_idp)
    assert users_in(worker.db) == [("ada@acme.test", ACCOUNT)]


def test_with_redis_stopped_no_login_can_even_begin(
    worker: Worker, redis_server: RedisServer
) -> None:
    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(SamlError) as caught:
        worker.begin_login()
    assert time.monotonic() - started < BOUND
    assert caught.value.code == "store_unavailable"


@pytest.mark.parametrize("step", list(STEPS))
def test_with_redis_stalled_a_login_fails_closed_within_the_timeout_and_recovers(
    worker: Worker, redis_server: RedisServer, test_idp: TestIdP, step: str
) -> None:
    """Redis stops answering for a second (``CLIENT PAUSE``: a stall like a slow disk or a
    long command), longer than the workers' timeout."""
    request_id = worker.begin_login()
    with contextlib.closing(redis_server.client()) as control:
        worker.interrupt(step, lambda: control.execute_command("CLIENT PAUSE", 1000, "ALL"))
        error = refused_in_time(worker, test_idp, request_id)
        assert (error.code, error.found) == ("store_unavailable", "TimeoutError")
        assert users_in(worker.db) == []
        control.ping()  # answered once the pause is over

    # The stalled commands ran after the pause; whatever they recorded stays used up.
    assert logs_in(worker, test_idp)
    assert users_in(worker.db) == [("ada@acme.test", ACCOUNT)]


@pytest.mark.parametrize("step", list(STEPS))
def test_a_connection_dropped_between_steps_is_replaced_once_and_the_login_completes_once(
    worker: Worker, redis_server: RedisServer, test_idp: TestIdP, step: str
) -> None:
    """Redis (or a proxy, or a failover) closes the workers' connections mid-login: the next
    command reconnects once, as ``from_url``'s one retry allows, and runs exactly once."""
    request_id = worker.begin_login()
    issued = respond(test_idp, worker.now, in_response_to=request_id)
    with contextlib.closing(redis_server.client()) as control:
        # SKIPME (the default) spares the control connection itself.
        worker.interrupt(step, lambda: control.execute_command("CLIENT KILL TYPE normal"))
        assert worker.outcome(issued) == "ok"
    assert users_in(worker.db) == [("ada@acme.test", ACCOUNT)]
    assert worker.outcome(issued) == "in_response_to_mismatch"
