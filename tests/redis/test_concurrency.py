"""Many workers, one Redis: a response is used once however many workers it reaches at once.

``[sync]`` runs each worker as its own process (LoginService on its own Redis client, users in
one shared SQLite file), started together at a barrier. ``[async]`` runs AsyncLoginServices on
the async stores, each with its own client, under one ``asyncio.gather``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from samljit import LoginResult, SamlError
from samljit.testing import IssuedResponse, TestIdP

from .conftest import RedisServer
from .sites import ACCOUNT, Worker, post_in_worker_process, respond, users_in, wall_clock

WORKERS = 8


def post_in_processes(
    server: RedisServer, db: Path, idp: TestIdP, now: datetime, form_values: list[str]
) -> list[str]:
    """Each form value posted by its own worker process, all at once; their outcomes."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(form_values))
    results = context.Queue()
    processes = [
        context.Process(
            target=post_in_worker_process,
            args=(server.url, db, idp.metadata_xml, now, form_value, barrier, results),
        )
        for form_value in form_values
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    results.close()
    results.join_thread()
    return sorted(outcomes)


def post_under_gather(
    server: RedisServer, db: Path, idp: TestIdP, now: datetime, form_values: list[str]
) -> list[str]:
    """Each form value posted by its own AsyncLoginService, all under one gather."""
    with asyncio.Runner() as runner:
        workers = [
            Worker(
                "async", url=server.url, db=db, metadata=idp.metadata_xml, now=now, runner=runner
            )
            for _ in form_values
        ]

        async def post_all() -> list[LoginResult | BaseException]:
            return await asyncio.gather(
                *(
                    worker.service.complete_login({"SAMLResponse": value}, account_id=ACCOUNT)
                    for worker, value in zip(workers, form_values, strict=True)
                ),
                return_exceptions=True,
            )

        try:
            results = runner.run(post_all())
        finally:
            for worker in workers:
                worker.close()
    outcomes = []
    for result in results:
        if isinstance(result, SamlError):
            outcomes.append(result.code)
        elif isinstance(result, LoginResult):
            outcomes.append("ok")
        else:
            raise result
    return sorted(outcomes)


Post = Callable[[RedisServer, Path, TestIdP, datetime, list[str]], list[str]]


@pytest.fixture(params=["sync", "async"])
def post_at_once(request: pytest.FixtureRequest) -> Post:
    return post_in_processes if request.param == "sync" else post_under_gather


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The users of every worker."""
    return tmp_path / "users.sqlite3"


def test_the_same_assertion_posted_to_every_worker_at_once_logs_in_once(
    post_at_once: Post, redis_server: RedisServer, db: Path, test_idp: TestIdP
) -> None:
    """IdP-initiated, so that no request is used up first: only the replay cache (one
    ``SET NX``) stands between the copies."""
    now = wall_clock()
    issued = respond(test_idp, now)
    outcomes = post_at_once(redis_server, db, test_idp, now, [issued.form_value] * WORKERS)
    assert outcomes == ["ok"] + ["replayed"] * (WORKERS - 1)
    assert users_in(db) == [("ada@acme.test", ACCOUNT)]


def test_one_request_answered_by_two_valid_responses_at_once_logs_in_once(
    post_at_once: Post, redis_server: RedisServer, db: Path, test_idp: TestIdP
) -> None:
    now = wall_clock()
    starter = Worker("sync", url=redis_server.url, db=db, metadata=test_idp.metadata_xml, now=now)
    try:
        request_id = starter.begin_login()
    finally:
        starter.close()
    answers: list[IssuedResponse] = [
        respond(test_idp, now, in_response_to=request_id, name_id=email)
        for email in ("ada@acme.test", "grace@acme.test")
    ]
    assert answers[0].assertion_id != answers[1].assertion_id
    outcomes = post_at_once(redis_server, db, test_idp, now, [a.form_value for a in answers])
    assert outcomes == ["in_response_to_mismatch", "ok"]
    assert len(users_in(db)) == 1
