"""A Redis restart loses nothing it acknowledged.

The server writes every command to its append-only file and fsyncs it before answering
(``appendfsync always``). Whether it is shut down (SIGTERM, Redis's SHUTDOWN) or killed
(SIGKILL, a crash), it comes back on the same directory with every used assertion and every
outstanding request, and the workers' clients reconnect by themselves.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from samljit import PendingRequest
from samljit.testing import TestIdP

from .conftest import RedisServer
from .sites import ACCOUNT, Worker, respond, users_in, wall_clock


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


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["shutdown", "crash"])
def test_used_assertions_and_outstanding_requests_survive_a_restart(
    worker: Worker, redis_server: RedisServer, test_idp: TestIdP, how: signal.Signals
) -> None:
    used = respond(test_idp, worker.now)
    assert worker.outcome(used) == "ok"
    outstanding = worker.begin_login()
    answered = worker.begin_login()
    assert worker.outcome(respond(test_idp, worker.now, in_response_to=answered)) == "ok"

    redis_server.restart(how)

    # The same service objects, their clients reconnecting after the restart.
    assert worker.outcome(used) == "replayed"
    assert worker.outcome(respond(test_idp, worker.now, in_response_to=answered)) == (
        "in_response_to_mismatch"
    )
    assert worker.outcome(respond(test_idp, worker.now, in_response_to=outstanding)) == "ok"
    assert users_in(worker.db) == [("ada@acme.test", ACCOUNT)]


def test_a_pending_request_survives_a_restart_with_every_field(
    worker: Worker, redis_server: RedisServer
) -> None:
    request_store = worker.service.request_store
    assert request_store is not None
    request = PendingRequest(
        request_id="_request1",
        account_id=ACCOUNT,
        relay_state="/media/library",
        expires_at=wall_clock() + timedelta(minutes=10),
        kind="logout",
    )
    worker.run(request_store.save(request))
    redis_server.restart(signal.SIGKILL)
    assert worker.run(request_store.get("_request1")) == request
