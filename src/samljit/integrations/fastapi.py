"""samljit for FastAPI and any other Starlette (ASGI) app.

::

    app.add_middleware(SessionMiddleware, secret_key=...)   # starlette.middleware.sessions
    sso = SamlSso(service)          # a samljit.AsyncLoginService
    sso.install(app)                # mounts /sso/... (see samljit.integrations)

Nothing here blocks the event loop: stores are awaited, and verification runs on a worker
thread (see :class:`~samljit.AsyncLoginService`). The app's own SessionIssuer logs the user
in; :func:`current_request` gives it the request (for ``request.session``). The adapter
keeps, under ``request.session["samljit"]``, what SP-initiated logout needs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl

from .._extras import missing_extra

try:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute, Mount, Route, Router
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "fastapi", exc) from exc

from ..errors import InputError, SamlError
from ..service import AsyncLoginService
from . import _web
from ._web import CurrentSessionRevoker, WebResponse, sp_config

__all__ = ["SamlSso", "current_request", "current_session_revoker", "sp_config"]

log = logging.getLogger("samljit.integrations")

_request: ContextVar[Request | None] = ContextVar("samljit_request", default=None)

MAX_FORM_BYTES = 2 * 1024 * 1024
"""The largest POST body read (a SAMLResponse is limited to far less by SPConfig.limits)."""


def current_request() -> Request | None:
    """The request an SSO endpoint is serving, for the app's SessionIssuer and revoker."""
    return _request.get()


def _current_session() -> MutableMapping[str, Any] | None:
    request = _request.get()
    return request.session if request is not None else None


current_session_revoker = CurrentSessionRevoker(_current_session)
"""Ends the current request's session when the IdP's LogoutRequest names its login."""


class SamlSso:
    """The SSO endpoints of :mod:`samljit.integrations` as Starlette routes under ``prefix``."""

    def __init__(
        self, service: AsyncLoginService, *, prefix: str = "/sso", home: str = "/"
    ) -> None:
        self.service = service
        self.prefix = prefix.rstrip("/")
        self.home = home
        self.routes: list[BaseRoute] = [
            Route("/", _handler(self.sso_page), methods=["GET"], name="sso_page"),
            Route("/", _handler(self.discover), methods=["POST"], name="discover"),
            Route("/logout", _handler(self.logout), methods=["POST"], name="logout"),
            Route("/{account_id}/login", _handler(self.login), methods=["GET"], name="login"),
            Route("/{account_id}/acs", _handler(self.acs), methods=["POST"], name="acs"),
            Route("/{account_id}/metadata", _handler(self.metadata), methods=["GET"]),
            Route("/{account_id}/slo", _handler(self.slo), methods=["GET", "POST"], name="slo"),
        ]

    def install(self, app: Any) -> None:
        """Mount the routes on a FastAPI or Starlette ``app`` (or a Router)."""
        router: Router = app if isinstance(app, Router) else app.router
        router.routes.append(Mount(self.prefix, routes=self.routes, name="samljit"))

    async def sso_page(self, request: Request) -> WebResponse:
        return _web.sso_page(request.url.path, next_url=request.query_params.get("next"))

    async def discover(self, request: Request) -> WebResponse:
        try:
            form = await _form(request)
            message = await self.service.begin_login_for_email(
                form.get("email", ""), relay_state=form.get("next")
            )
        except SamlError as exc:
            return _web.failure(exc, step="discovery", account_id=None)
        return _web.outbound(message)

    async def login(self, request: Request) -> WebResponse:
        account_id = request.path_params["account_id"]
        try:
            message = await self.service.begin_login(
                account_id, relay_state=request.query_params.get("next")
            )
        except SamlError as exc:
            return _web.failure(exc, step="login", account_id=account_id)
        return _web.outbound(message)

    async def acs(self, request: Request) -> WebResponse:
        account_id = request.path_params["account_id"]
        try:
            form = await _form(request)
            result = await self.service.complete_login(form, account_id=account_id)
        except SamlError as exc:
            return _web.failure(exc, step="acs", account_id=account_id)
        _web.remember_login(request.session, result)
        return _web.redirect(result.redirect_to)

    async def metadata(self, request: Request) -> WebResponse:
        account_id = request.path_params["account_id"]
        try:
            return _web.metadata(await self.service.sp_metadata(account_id))
        except SamlError as exc:
            return _web.failure(exc, step="metadata", account_id=account_id)

    async def slo(self, request: Request) -> WebResponse:
        account_id = request.path_params["account_id"]
        try:
            if request.method == "GET":
                result = await self.service.handle_logout(account_id, query=request.url.query)
            else:
                form = await _form(request)
                result = await self.service.handle_logout(account_id, form=form)
        except SamlError as exc:
            return _web.failure(exc, step="slo", account_id=account_id)
        return _web.after_logout(result)

    async def logout(self, request: Request) -> WebResponse:
        target = _web.logout_target(request.session)
        request.session.clear()
        if target is None:
            return _web.redirect(self.home)
        account_id, name_id, session_index = target
        try:
            message = await self.service.begin_logout(
                account_id, name_id=name_id, session_index=session_index, relay_state=self.home
            )
        except SamlError as exc:
            # The app session has ended; the IdP's may go on (no SLO endpoint, no key, ...).
            log.info("sso logout stayed local account=%s code=%s", account_id, exc.code)
            return _web.redirect(self.home)
        return _web.outbound(message)


def _handler(
    view: Callable[[Request], Awaitable[WebResponse]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        token = _request.set(request)
        try:
            response = await view(request)
        finally:
            _request.reset(token)
        headers = dict(response.headers)
        if response.location is not None:
            headers["Location"] = response.location
        return Response(
            response.body,
            status_code=response.status,
            media_type=response.content_type,
            headers=headers,
        )

    return endpoint


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded POST body (first value of each field), read with a size bound."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InputError(f"the POST body is larger than {MAX_FORM_BYTES} bytes")
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields
