"""Both login services behind ``LoginService``'s synchronous interface, so that each behaviour
test runs against each of them without being written twice.

``[sync]`` is :class:`samljit.LoginService` itself. ``[async]`` is
:class:`samljit.AsyncLoginService` given the same stores and hooks made genuinely async (each
method a coroutine that hands control back to the event loop before and after it works, as a
network store's does), and driven to completion on the test's event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from samljit import AsyncLoginService
from samljit._flow import ports

T = TypeVar("T")

PORTS = ports(AsyncLoginService.__init__)
STORES = tuple(name for name, methods in PORTS.items() if methods)
"""The constructor arguments whose methods the service calls (and may await)."""
HOOKS = tuple(name for name, methods in PORTS.items() if not methods)
"""The constructor arguments that are themselves called (and may be awaited)."""


def awaiting(function: Callable[..., T]) -> Callable[..., Coroutine[Any, Any, T]]:
    """``function`` as a coroutine function that yields to the event loop around the call."""

    @functools.wraps(function)
    async def call(*args: Any, **kwargs: Any) -> T:
        await asyncio.sleep(0)
        result = function(*args, **kwargs)
        await asyncio.sleep(0)
        return result

    return call


class Awaiting:
    """``target`` with every method an ``async def`` (see :func:`awaiting`); other attributes
    as they are."""

    def __init__(self, target: object) -> None:
        self.target = target

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.target, name)
        return awaiting(attribute) if callable(attribute) else attribute


class SyncFacade:
    """An :class:`AsyncLoginService` called like a :class:`LoginService`: each coroutine
    method runs to completion on ``runner``'s loop (on a fresh loop in any other thread, as
    each worker thread of a threaded server would have its own)."""

    def __init__(self, service: AsyncLoginService, runner: asyncio.Runner) -> None:
        self.service = service
        self._runner = runner
        self._thread = threading.get_ident()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.service, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute  # configuration

        @functools.wraps(attribute)
        def run(*args: Any, **kwargs: Any) -> Any:
            coroutine = attribute(*args, **kwargs)
            if threading.get_ident() == self._thread:
                return self._runner.run(coroutine)
            return asyncio.run(coroutine)

        return run


def async_service_factory(runner: asyncio.Runner) -> Callable[..., SyncFacade]:
    """A factory with ``LoginService``'s (keyword-only) arguments that builds the async
    service over async versions of the stores and hooks it is given."""

    def make(**arguments: Any) -> SyncFacade:
        for name in STORES:
            if arguments.get(name) is not None:
                arguments[name] = Awaiting(arguments[name])
        for name in HOOKS:
            if arguments.get(name) is not None:
                arguments[name] = awaiting(arguments[name])
        return SyncFacade(AsyncLoginService(**arguments), runner)

    return make
