"""The app that benchmarks/load_bench.py serves with uvicorn (2 workers): FastAPI, the samljit
FastAPI adapter over AsyncLoginService, users and accounts in SQLite (WAL), the replay cache
and request store on Redis.

It is wired as examples/fastapi_app/app.py is (the app's own cookie session logs the user
in), with Redis for the login state. Configuration comes from ``$SAMLJIT_LOAD_DIR/app.json``,
which load_bench.py writes: ``database`` (the SQLite file, with account ``acme`` saved in
it) and ``redis_url``. load_bench.py also imports :func:`build_app` to profile the same app
in-process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse

import samljit
from samljit.integrations import fastapi as sso
from samljit.stores.redis import AsyncRedisReplayCache, AsyncRedisRequestStore
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteUserStore

PREFIX = "samljit:bench:"
"""Every Redis key of the benchmark starts with this (load_bench.py counts them)."""


class Sessions:
    """Logs the provisioned user in to the app's own (cookie) session, as the example does."""

    def issue(self, user: samljit.UserRecord, context: samljit.LoginContext) -> str:
        request = sso.current_request()
        assert request is not None
        request.session["email"] = user.email
        return user.email


class InlineExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once, on the calling (event loop) thread.

    AsyncLoginService sends verification, and ``in_thread`` sends each store call, to the
    loop's default executor. In a server with one worker process per core those threads
    win no parallelism (the GIL), and handing work to them and back costs CPU: with this
    executor as the default one the same code runs inline instead.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


OFFLOAD = ("threads", "thread", "inline")
"""How the loop's default executor (used by ``asyncio.to_thread``) is set up:

- ``threads``: asyncio's own (min(32, CPUs + 4) threads), what samljit gets by default;
- ``thread``: a single thread, so one verification at a time competes with the loop;
- ``inline``: :class:`InlineExecutor`, no threads at all.
"""


def make_executor(offload: str) -> concurrent.futures.Executor | None:
    if offload == "threads":
        return None
    if offload == "thread":
        return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="samljit")
    if offload == "inline":
        return InlineExecutor()
    if offload.startswith("threads=") and offload[8:].isdigit():
        return concurrent.futures.ThreadPoolExecutor(int(offload[8:]), thread_name_prefix="samljit")
    raise ValueError(f"offload must be one of {OFFLOAD}, not {offload!r}")


def build_app(settings: dict[str, Any]) -> FastAPI:
    """The benchmark's FastAPI app for ``settings`` (the contents of app.json)."""
    database = Path(settings["database"])
    replay_cache = AsyncRedisReplayCache.from_url(settings["redis_url"], prefix=PREFIX)
    service = samljit.AsyncLoginService(
        accounts=samljit.in_thread(SQLiteAccountStore(database)),
        users=samljit.in_thread(SQLiteUserStore(database)),
        sessions=Sessions(),
        replay_cache=replay_cache,
        request_store=AsyncRedisRequestStore(replay_cache.client, prefix=PREFIX),
    )
    offload = settings.get("offload", "threads")
    make_executor(offload)  # refuse a wrong name now, not in every worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = make_executor(offload)
        if executor is not None:
            asyncio.get_running_loop().set_default_executor(executor)
        yield
        await replay_cache.client.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/_worker")
    async def worker() -> PlainTextResponse:
        """Which worker process serves this connection (the generator balances on it)."""
        return PlainTextResponse(str(os.getpid()))

    app.add_middleware(SessionMiddleware, secret_key=settings["secret_key"])
    sso.SamlSso(service).install(app)
    return app


def _settings() -> dict[str, Any] | None:
    folder = os.environ.get("SAMLJIT_LOAD_DIR")
    if not folder:
        return None
    result: dict[str, Any] = json.loads((Path(folder) / "app.json").read_text())
    return result


_loaded = _settings()
app = build_app(_loaded) if _loaded is not None else FastAPI()
