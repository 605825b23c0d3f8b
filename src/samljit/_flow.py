"""Flows: each service operation written once, as a generator of typed steps, and the two
drivers that run them (the idiom of httpx's ``Auth.auth_flow`` and psycopg's ``generators.py``
with ``waiting.py``).

A flow yields a :class:`Call` for each call to something the host app plugged in (a store
method or a hook, bound: ``Call("users.get_by_email", users.get_by_email, (email,))``) and a
:class:`Compute` for CPU-bound work (parsing, verification); it receives each result, or the
exception it raised, and returns its own result. ``_ports.py`` wraps each port in a helper
returning a typed ``Flow[T]``, so a flow reads ``user = yield from get_user(users, email)``.

:func:`run_sync` calls everything inline and refuses an awaitable. :func:`run_async` runs
the *thread-bound* steps (each :class:`Compute`, and each call of a store wrapped with
:func:`~samljit.in_thread`) on a worker thread of the executor, the other calls on the event
loop, awaiting what they return when it is awaitable. A hand-off to a worker thread and back
costs more CPU than most store calls: so a worker thread, once handed a thread-bound step,
also runs the flow on from it, and each following step while it is thread-bound, and only
hands back the first step that belongs on the loop (or the flow's end). Account lookup,
decoding, verification and the user lookup of a login are one hand-off, not one each; the
flow's own CPU work between them runs there too.

Both drivers close the flow whatever ends the run (an exception, a cancellation), so its
``finally`` blocks run at once, or, when a worker thread is inside the flow, as soon as the
step it runs returns (it runs no further step). :func:`check_plugged` refuses async stores
before a sync service starts, from the protocol classes named by the service's constructor
annotations.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import functools
import inspect
import threading
import typing
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from . import protocols
from ._async_protocols import blocking_method
from .errors import ConfigError

__all__ = ["Call", "Compute", "Flow", "check_plugged", "compute", "ports", "run_async", "run_sync"]

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Call:
    """Call a port of the host app: ``function`` is a bound store method or a hook, which
    may return an awaitable (an async store's coroutine)."""

    port: str
    """What is called, for messages: ``users.create``, ``account_for_domain``."""
    function: Callable[..., object]
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Compute:
    """CPU-bound work: inline in the sync driver, on a worker thread in the async one so
    that the event loop keeps serving."""

    function: Callable[..., object]
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = field(default_factory=dict)


Step = Call | Compute
Flow = Generator[Step, Any, T]
"""A flow returning ``T``; it is sent the result of each step it yields."""


def compute(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Flow[T]:
    """Run ``function(*args, **kwargs)`` as CPU-bound work; its result, typed."""
    result: T = yield Compute(function, args, kwargs)
    return result


def _async_error(port: str) -> ConfigError:
    return ConfigError(f"{port} is async: use AsyncLoginService with async stores")


def run_sync(flow: Flow[T]) -> T:
    """Run ``flow`` to its end, every step inline.

    Raises:
        ConfigError: ``configuration_invalid``, a port returned an awaitable.
    """
    try:
        value: object = None
        error: Exception | None = None
        while True:
            try:
                step = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value, error = None, None
            try:
                value = step.function(*step.args, **step.kwargs)
                if isinstance(step, Call) and inspect.isawaitable(value):
                    close = getattr(value, "close", None)
                    if callable(close):
                        close()  # no "never awaited" warning
                    raise _async_error(step.port)
            except Exception as exc:
                error = exc  # the flow decides: DuplicateUser is handled, the rest propagates
    finally:
        flow.close()


@dataclass(frozen=True, slots=True)
class _Done:
    """The flow's result."""

    value: Any


def _advance(flow: Flow[T], value: object, error: Exception | None) -> Step | _Done:
    """Send ``value`` (or throw ``error``) into ``flow``: its next step, or its result."""
    try:
        return flow.send(value) if error is None else flow.throw(error)
    except StopIteration as stop:
        return _Done(stop.value)


def _thread_bound(step: Step) -> Callable[[], object] | None:
    """What ``step`` runs on a worker thread in the async driver, or None (on the loop)."""
    if isinstance(step, Compute):
        return functools.partial(step.function, *step.args, **step.kwargs)
    method = blocking_method(step.function)
    return None if method is None else functools.partial(method, *step.args, **step.kwargs)


class _Hop:
    """One hand-off of a flow to a worker thread: the thread-bound step, then the flow on to
    its next step, again while that step is thread-bound.

    A cancelled run may find the flow executing on the worker thread, where it cannot be
    closed: it is then marked abandoned, and the worker runs no further step and closes it.
    """

    def __init__(self, flow: Flow[Any]) -> None:
        self._flow = flow
        self._lock = threading.Lock()
        self._running = False
        self._abandoned = False

    def run(self, step: Step) -> Step | _Done:
        with self._lock:
            if self._abandoned:  # cancelled before this thread started it: already closed
                return step
            self._running = True
        try:
            while (call := _thread_bound(step)) is not None:
                value: object = None
                error: Exception | None = None
                try:
                    value = call()
                except Exception as exc:
                    error = exc
                if self._abandoned:
                    return step
                outcome = _advance(self._flow, value, error)
                if isinstance(outcome, _Done):
                    return outcome
                step = outcome
            return step
        finally:
            with self._lock:
                self._running = False
                if self._abandoned:
                    self._flow.close()

    def close(self) -> None:
        """Close the flow now, or when the worker thread inside it returns."""
        with self._lock:
            self._abandoned = True
            if self._running:
                return
        self._flow.close()


async def run_async(flow: Flow[T], *, executor: Executor | None = None) -> T:
    """Run ``flow`` to its end on the event loop: awaitables returned by ports are awaited;
    thread-bound steps run on ``executor`` (the loop's default executor when None), each
    run of consecutive ones in one hand-off."""
    loop = asyncio.get_running_loop()
    hop = _Hop(flow)
    try:
        outcome = _advance(flow, None, None)
        while not isinstance(outcome, _Done):
            step = outcome
            if _thread_bound(step) is not None:
                # The context is copied as asyncio.to_thread copies it (contextvars).
                context = contextvars.copy_context()
                outcome = await loop.run_in_executor(executor, context.run, hop.run, step)
                continue
            value: object = None
            error: Exception | None = None
            try:
                value = step.function(*step.args, **step.kwargs)
                if inspect.isawaitable(value):
                    value = await value
            except Exception as exc:
                error = exc  # the flow decides
            outcome = _advance(flow, value, error)
        result: T = outcome.value
        return result
    finally:
        hop.close()


def _sync_protocol(hint: object) -> type | None:
    """The synchronous protocol of ``samljit.protocols`` that a parameter's annotation names."""
    options: tuple[object, ...] = typing.get_args(hint) or (hint,)
    for option in options:
        if not isinstance(option, type) or not getattr(option, "_is_protocol", False):
            continue
        name = option.__name__
        if getattr(protocols, name, None) is option and not name.startswith("Async"):
            return option
    return None


def _may_be_awaited(hint: object) -> bool:
    """Whether the annotation is a hook that may return an awaitable (an async hook)."""
    for option in typing.get_args(hint) or (hint,):
        if typing.get_origin(option) is collections.abc.Callable:
            returned = typing.get_args(option)[-1]
            for kind in typing.get_args(returned) or (returned,):
                if typing.get_origin(kind) is collections.abc.Awaitable:
                    return True
    return False


@functools.cache
def ports(constructor: Callable[..., object]) -> Mapping[str, tuple[str, ...]]:
    """The host app's ports among the parameters of ``constructor``: for each store, the
    methods of its synchronous protocol; for each hook that may be async, ``()`` (the hook
    itself is called)."""
    found: dict[str, tuple[str, ...]] = {}
    for name, hint in typing.get_type_hints(constructor).items():
        protocol = _sync_protocol(hint)
        if protocol is not None:
            found[name] = tuple(
                member
                for member, value in vars(protocol).items()
                if callable(value) and not member.startswith("_")
            )
        elif _may_be_awaited(hint):
            found[name] = ()
    return found


def check_plugged(constructor: Callable[..., object], plugged: Mapping[str, object]) -> None:
    """Refuse, for a synchronous service, a store or hook whose methods are ``async def``.

    Found only when first called, an async store could fail a login after it wrote (a user
    created, then an async session issuer): it is refused before any login.

    Raises:
        ConfigError: ``configuration_invalid``.
    """
    for name, methods in ports(constructor).items():
        target = plugged.get(name)
        for method in methods or (None,):
            function = target if method is None else getattr(target, method, None)
            if inspect.iscoroutinefunction(function):
                raise _async_error(f"{name}.{method or '__call__'}")
