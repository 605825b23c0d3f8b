"""Server-side sessions for web apps: the browser's cookie holds only an opaque random ID.

A signed cookie session (Flask's and Starlette's default) keeps its data in the browser:
anyone who reads the cookie reads the NameID and SessionIndex kept for logout, and a copy of
the cookie taken before logout still logs in afterwards, because nothing on the server can end
it. A :class:`SessionStore` keeps the data on the server instead, so that logout, the IdP's
Single Logout and expiry end a session for good.

- :class:`MemorySessionStore` keeps sessions in this process, with an idle timeout, an
  absolute lifetime and a size bound; it is also the :class:`~samljit.SessionRevoker` that
  ends every session of a user the IdP logs out, whichever browser holds it.
- :class:`samljit.integrations.flask.ServerSessionInterface` and
  :class:`samljit.integrations.fastapi.ServerSessionMiddleware` put a store behind
  ``flask.session`` and ``request.session``. Django's default sessions are server-side
  already (``django.contrib.sessions``, database backend).

The module imports no web framework. Several processes or hosts need a store they share
(implement :class:`SessionStore` over Redis or the app's database: five small methods).
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError
from ._web import SESSION_KEY

__all__ = ["SESSION_KEY", "MemorySessionStore", "ServerSession", "SessionStore"]


@runtime_checkable
class SessionStore(Protocol):
    """Where server-side sessions live, by an unguessable ID that is all the cookie holds.

    Every method is called on the request's path: keep them fast (an in-memory dict, one
    Redis or database round trip). Data is a JSON-like mapping; the store keeps a copy.
    """

    def create(self, data: Mapping[str, Any]) -> str:
        """Store a new session; return its new random ID (at least 128 bits of entropy)."""
        ...

    def load(self, session_id: str) -> dict[str, Any] | None:
        """A copy of the session's data, or None if it never existed, ended or expired."""
        ...

    def save(self, session_id: str, data: Mapping[str, Any]) -> bool:
        """Replace the data of a live session; False (and nothing written) if it has ended
        meanwhile, so that a request still holding a revoked session cannot revive it."""
        ...

    def delete(self, session_id: str) -> None:
        """End the session (logout). Unknown IDs are ignored."""
        ...

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        """End the sessions of the SSO login(s) the IdP logged out (see
        :class:`~samljit.SessionRevoker`); return how many ended."""
        ...


class ServerSession(dict[str, Any]):
    """The session dict an adapter gives the app: a plain dict that can also ask for a new
    ID (:meth:`rotate`), which the adapters do after every SSO login so that an ID planted
    before the login (session fixation) never becomes a logged-in session."""

    rotate_requested: bool = False

    def rotate(self) -> None:
        """Keep the data under a new session ID when the response is sent; the old ID ends."""
        self.rotate_requested = True


@dataclass(slots=True)
class _Entry:
    data: dict[str, Any]
    created: datetime
    used: datetime


class MemorySessionStore:
    """Sessions in this process's memory: for one process (a development server, the
    examples, an app with one worker). Also a :class:`~samljit.SessionRevoker`.

    Args:
        idle_timeout: a session not used for this long has ended.
        lifetime: a session ends this long after it began, however busy it is (the IdP's
            login is not re-checked meanwhile).
        max_sessions: the most sessions kept; when full, expired sessions are dropped first,
            then the oldest, so anonymous visitors cannot grow memory without bound.
        clock: the current time, timezone-aware (tests pass their own).

    Raises:
        ConfigError: ``configuration_invalid``, a bound that is not positive.
    """

    def __init__(
        self,
        *,
        idle_timeout: timedelta = timedelta(hours=2),
        lifetime: timedelta = timedelta(hours=12),
        max_sessions: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if idle_timeout <= timedelta(0) or lifetime <= timedelta(0) or max_sessions < 1:
            raise ConfigError("idle_timeout, lifetime and max_sessions must be positive")
        self.idle_timeout = idle_timeout
        self.lifetime = lifetime
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def count(self) -> int:
        """How many sessions are kept (expired ones included until they are dropped)."""
        return len(self._sessions)

    def create(self, data: Mapping[str, Any]) -> str:
        """Store a new session and return its new random ID."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                self._drop_expired(now)
            while len(self._sessions) >= self.max_sessions:
                del self._sessions[next(iter(self._sessions))]  # the oldest
            self._sessions[session_id] = _Entry(copy.deepcopy(dict(data)), now, now)
        return session_id

    def load(self, session_id: str) -> dict[str, Any] | None:
        """The session's data, or ``None`` when it is unknown, idle too long or past its
        lifetime."""
        now = self._clock()
        with self._lock:
            entry = self._live(session_id, now)
            if entry is None:
                return None
            entry.used = now
            return copy.deepcopy(entry.data)

    def save(self, session_id: str, data: Mapping[str, Any]) -> bool:
        """Write the session back; ``False`` when it has ended meanwhile (it is not revived)."""
        now = self._clock()
        with self._lock:
            entry = self._live(session_id, now)
            if entry is None:
                return False
            entry.data, entry.used = copy.deepcopy(dict(data)), now
            return True

    def delete(self, session_id: str) -> None:
        """End the session for good."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        """End the sessions of this login (see :class:`~samljit.SessionRevoker`); return how many
        ended."""
        with self._lock:
            ended = [
                session_id
                for session_id, entry in self._sessions.items()
                if _is_login(entry.data.get(SESSION_KEY), account_id, email, session_indexes)
            ]
            for session_id in ended:
                del self._sessions[session_id]
        return len(ended)

    def _live(self, session_id: str, now: datetime) -> _Entry | None:
        entry = self._sessions.get(session_id)
        if entry is None:
            return None
        if now - entry.used >= self.idle_timeout or now - entry.created >= self.lifetime:
            del self._sessions[session_id]
            return None
        return entry

    def _drop_expired(self, now: datetime) -> None:
        for session_id in list(self._sessions):
            self._live(session_id, now)


def _is_login(facts: object, account_id: str, email: str, session_indexes: tuple[str, ...]) -> bool:
    """Whether a session's SSO facts (kept by the adapters at login) name the login ended."""
    if not isinstance(facts, Mapping):
        return False
    if facts.get("account_id") != account_id or facts.get("email") != email:
        return False
    return not session_indexes or facts.get("session_index") in session_indexes
