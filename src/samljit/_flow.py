"""Flows: each service operation written once, as a generator of typed steps, and the two
drivers that run them (the idiom of httpx's ``Auth.auth_flow`` and psycopg's ``generators.py``
with ``waiting.py``).

A flow yields a :class:`Call` for each call to something the host app plugged in (a store
method or a hook, bound: ``Call("users.get_by_email", users.get_by_email, (email,))``) and a
:class:`Compute` for CPU-bound work (parsing, verification); it receives each result, or the
exception it raised, and returns its own result. ``_ports.py`` wraps each port in a helper
returning a typed ``Flow[T]``, so a flow reads ``user = yield from get_user(users, email)``.

:func:`run_sync` calls everything inline and refuses an awaitable; :func:`run_async` awaits
what a call returns when it is awaitable and runs :class:`Compute` on a worker thread. Both
close the flow whatever ends the run (an exception, a cancellation), so its ``finally``
blocks run at once. :func:`check_plugged` refuses async stores before a sync service starts,
from the protocol classes named by the service's constructor annotations.
"""

from __future__ import annotations

import asyncio
import collections.abc
import functools
import inspect
import typing
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from . import protocols
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


async def run_async(flow: Flow[T]) -> T:
    """Run ``flow`` to its end on the event loop: awaitables returned by ports are awaited,
    :class:`Compute` runs on a worker thread."""
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
                if isinstance(step, Compute):
                    call = functools.partial(step.function, *step.args, **step.kwargs)
                    value = await asyncio.to_thread(call)
                else:
                    value = step.function(*step.args, **step.kwargs)
                    if inspect.isawaitable(value):
                        value = await value
            except Exception as exc:
                error = exc
    finally:
        flow.close()


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
