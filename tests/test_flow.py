"""The flow machinery behind both login services (``samljit._flow``): one operation written
once as a generator of steps, run by a sync and an async driver."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from samljit import AsyncLoginService, ConfigError, LoginService, MemoryReplayCache, in_thread
from samljit._flow import Call, Compute, Flow, check_plugged, compute, ports, run_async, run_sync


class Interrupted(BaseException):
    """Not an Exception: like KeyboardInterrupt, it is not thrown into the flow."""


def watched(steps: list[Call | Compute], closed: list[bool]) -> Flow[list[object]]:
    """A flow that yields ``steps`` and records whether it was closed before its end."""
    results: list[object] = []
    try:
        for step in steps:
            results.append((yield step))
    except GeneratorExit:
        closed.append(True)
        raise
    return results


def interrupt() -> None:
    raise Interrupted


def test_each_driver_sends_each_step_its_result() -> None:
    steps: list[Call | Compute] = [Call("port", str.upper, ("a",)), Compute(len, ("abc",))]
    assert run_sync(watched(steps, [])) == ["A", 3]
    assert asyncio.run(run_async(watched(steps, []))) == ["A", 3]


def test_the_sync_driver_closes_a_flow_that_an_interruption_leaves() -> None:
    closed: list[bool] = []
    flow = watched([Call("port", interrupt)], closed)  # kept: not closed by the collector
    with pytest.raises(Interrupted):
        run_sync(flow)
    assert closed == [True]


def test_the_async_driver_closes_a_flow_that_a_cancellation_leaves() -> None:
    closed: list[bool] = []
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    flow = watched([Call("port", forever)], closed)  # kept: not closed by the collector

    async def main() -> None:
        task = asyncio.create_task(run_async(flow))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert closed == [True]


def test_an_exception_of_a_step_is_raised_in_the_flow_which_may_handle_it() -> None:
    def fails() -> None:
        raise KeyError("x")

    def handles() -> Generator[Call, Any, str]:
        try:
            yield Call("port", fails)
        except KeyError:
            return "handled"
        return "not raised"

    assert run_sync(handles()) == "handled"
    assert asyncio.run(run_async(handles())) == "handled"


def test_the_sync_driver_refuses_a_port_that_returns_an_awaitable() -> None:
    async def coroutine() -> int:
        return 1

    with pytest.raises(ConfigError) as caught:
        run_sync(watched([Call("users.create", coroutine)], []))
    assert caught.value.code == "configuration_invalid"


def test_compute_runs_on_a_worker_thread_in_the_async_driver_only() -> None:
    def where() -> Flow[int]:
        return (yield from compute(threading.get_ident))

    assert run_sync(where()) == threading.get_ident()
    assert asyncio.run(run_async(where())) != threading.get_ident()


class Counting(ThreadPoolExecutor):
    """One worker thread; counts the hand-offs (calls of ``submit``)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.hand_offs = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.hand_offs += 1
        return super().submit(fn, *args, **kwargs)


def test_consecutive_thread_bound_steps_run_in_one_hand_off_and_a_loop_call_ends_it() -> None:
    def get_ident_of_store() -> int:
        return threading.get_ident()

    blocking = in_thread(type("Store", (), {"where": staticmethod(get_ident_of_store)})())
    steps: list[Call | Compute] = [
        Compute(threading.get_ident),
        Call("store.where", blocking.where),
        Compute(threading.get_ident),
        Call("port", threading.get_ident),  # a sync port: on the loop
        Compute(threading.get_ident),
    ]

    async def main(executor: Counting) -> tuple[list[object], int]:
        return await run_async(watched(steps, []), executor=executor), threading.get_ident()

    with Counting() as executor:
        ran_on, loop = asyncio.run(main(executor))
    assert executor.hand_offs == 2
    worker = ran_on[0]
    assert worker != loop
    assert ran_on == [worker, worker, worker, loop, worker]


def test_the_flows_code_between_thread_bound_steps_runs_on_the_worker_thread() -> None:
    def flow() -> Flow[tuple[int, int]]:
        yield from compute(len, "")
        between = threading.get_ident()  # e.g. mapping claims after verification
        yield from compute(len, "")
        return between, threading.get_ident()

    async def main() -> tuple[tuple[int, int], int]:
        return await run_async(flow()), threading.get_ident()

    (between, after), loop = asyncio.run(main())
    assert between != loop
    assert after == between  # the flow ended in the hand-off: its result came back from it


def test_thread_bound_steps_see_the_callers_context_variables() -> None:
    request: contextvars.ContextVar[str] = contextvars.ContextVar("request")

    async def main() -> str:
        request.set("POST /sso/acme/acs")
        return await run_async(compute(request.get))

    assert asyncio.run(main()) == "POST /sso/acme/acs"


def test_a_cancellation_during_a_hand_off_closes_the_flow_after_its_step_and_runs_no_more() -> None:
    closed: list[bool] = []
    ran: list[str] = []
    in_step = threading.Event()
    release = threading.Event()

    def slow() -> None:
        in_step.set()
        release.wait(timeout=5)
        ran.append("slow")

    flow = watched([Compute(slow), Compute(ran.append, ("next",))], closed)

    async def main(executor: Counting) -> None:
        task = asyncio.create_task(run_async(flow, executor=executor))
        await asyncio.to_thread(in_step.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert closed == []  # the worker thread is inside the flow's step: not yet
        release.set()

    with Counting() as executor:
        asyncio.run(main(executor))
    # Leaving the executor waited for its thread: the step returned, the flow was closed.
    assert ran == ["slow"]
    assert closed == [True]


def test_the_ports_are_read_from_the_protocols_the_constructor_names() -> None:
    found = ports(LoginService.__init__)
    assert found["users"] == ("get_by_email", "create", "update", "users_of")
    assert found["replay_cache"] == ("add",)
    assert found["account_for_domain"] == ()  # a hook: called itself
    assert "clock" not in found  # never awaited
    assert "audit" not in found
    assert ports(AsyncLoginService.__init__) == found


def test_the_plug_check_refuses_a_store_with_an_async_method_of_its_protocol() -> None:
    class AsyncAdd:
        async def add(self, key: str, **options: object) -> bool:
            return True

    check_plugged(LoginService.__init__, {"replay_cache": MemoryReplayCache()})
    with pytest.raises(ConfigError) as caught:
        check_plugged(LoginService.__init__, {"replay_cache": AsyncAdd()})
    assert caught.value.code == "configuration_invalid"
