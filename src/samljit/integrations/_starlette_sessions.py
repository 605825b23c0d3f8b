"""Server-side ``request.session`` for Starlette and FastAPI: :class:`ServerSessionMiddleware`
(exported by :mod:`samljit.integrations.fastapi`)."""

from __future__ import annotations

import copy
from typing import Any, Literal

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .sessions import ServerSession, SessionStore

__all__ = ["ServerSessionMiddleware"]


class ServerSessionMiddleware:
    """Server-side ``request.session`` for Starlette and FastAPI, in place of Starlette's
    SessionMiddleware: the cookie (HttpOnly, SameSite) holds only an opaque random ID, the
    data lives in ``store``. An emptied session (logout) is deleted from the store; a session
    the store has ended (expiry, the IdP's Single Logout) is never written back.

    The store is called on the event loop: give it an in-memory store or one whose calls
    are quick (see :class:`~samljit.integrations.sessions.SessionStore`).

    Args:
        store: where the sessions live; also the service's ``session_revoker``.
        cookie_name: the cookie holding the session ID.
        max_age: the cookie's Max-Age in seconds; None: a browser-session cookie (the
            store's own expiry applies either way).
        same_site: the cookie's SameSite attribute.
        https_only: mark the cookie Secure (do so whenever the app is served over HTTPS).
        path: the cookie's path.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: SessionStore,
        cookie_name: str = "session",
        max_age: int | None = None,
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        path: str = "/",
    ) -> None:
        self.app = app
        self.store = store
        self.cookie_name = cookie_name
        attributes = f"Path={path}; HttpOnly; SameSite={same_site}"
        if https_only:
            attributes += "; Secure"
        self._attributes = attributes
        self._max_age = "" if max_age is None else f"; Max-Age={max_age}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point: load the request's server-side session, save it after the
        response."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        session_id = HTTPConnection(scope).cookies.get(self.cookie_name) or None
        data = self.store.load(session_id) if session_id is not None else None
        if data is None:
            session_id = None
        session = ServerSession(data or {})
        before = copy.deepcopy(data or {})
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = self._commit(session_id, session, before)
                if cookie is not None:
                    headers = MutableHeaders(scope=message)
                    headers.append("Set-Cookie", cookie)
                    headers.add_vary_header("Cookie")
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _commit(
        self, session_id: str | None, session: ServerSession, before: dict[str, Any]
    ) -> str | None:
        """Write the session back; the Set-Cookie value to send, if any."""
        expired = f"{self.cookie_name}=; {self._attributes}; Max-Age=0"
        if not session:
            if session_id is None:
                return None
            self.store.delete(session_id)
            return expired
        if session_id is None or session.rotate_requested:
            if session_id is not None:
                self.store.delete(session_id)
            session_id = self.store.create(dict(session))
        elif session == before:
            return None
        elif not self.store.save(session_id, dict(session)):
            return expired  # ended meanwhile: stays ended
        return f"{self.cookie_name}={session_id}; {self._attributes}{self._max_age}"
