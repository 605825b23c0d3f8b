"""samljit for FastAPI and any other Starlette (ASGI) app.

::

    store = MemorySessionStore()    # samljit.integrations.sessions, or your shared store
    app.add_middleware(ServerSessionMiddleware, store=store)
    sso = SamlSso(service)          # a samljit.AsyncLoginService(..., session_revoker=store)
    sso.install(app)                # mounts /sso/... (see samljit.integrations)

Nothing here blocks the event loop: stores are awaited, and verification runs on a worker
thread (see :class:`~samljit.AsyncLoginService`). The app's own SessionIssuer logs the user
in; :func:`current_request` gives it the request (for ``request.session``). The adapter
keeps, under ``request.session["samljit"]``, what SP-initiated logout needs: with
:class:`ServerSessionMiddleware` that stays on the server, where logout and the IdP's Single
Logout end it (Starlette's own SessionMiddleware keeps it readable in a cookie that stays
valid after logout). ``POST /sso/logout`` needs the session's logout token: render the button
with :meth:`SamlSso.logout_form`.

The account administrators' pages (:mod:`samljit.integrations.admin`) are mounted under
``/sso/admin/{account}/`` when the app passes them with who is acting::

    SamlSso(service, app=app, admin=AdminPages(...),
            admin_id=lambda request: request.session.get("email", ""))

They are synchronous: each request runs on a worker thread (``run_in_threadpool``), hooks
included. Their forms carry the session's token (the logout token), which every admin POST
must send back. With ``admin_templates=Jinja2Templates(...)`` holding
``samljit/admin/layout.html``, each page is rendered in it (docs/theming.md).

With ``scim=ScimService(...)``, each account's SCIM 2.0 endpoint is mounted beside them,
under ``/scim/v2/{account}/`` (``scim_prefix``); the service runs on a worker thread, and
its requests carry the account's bearer token (docs/scim.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from .._extras import missing_extra

try:
    import anyio.from_thread
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute, Mount, Route, Router
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "fastapi", exc) from exc

from .._service import AsyncLoginService
from ..errors import ConfigError, SamlError
from . import _web
from ._admin import AdminPages, AdminRequest
from ._admin_test import AdminService
from ._starlette_bodies import MAX_FORM_BYTES, TooLarge, admin_form, saml_form
from ._starlette_bodies import form as _form
from ._starlette_sessions import ServerSessionMiddleware
from ._web import CurrentSessionRevoker, WebResponse, sp_config
from .sessions import MemorySessionStore

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

    from ..scim import ScimService

__all__ = [
    "MAX_FORM_BYTES",
    "MemorySessionStore",
    "SamlSso",
    "ServerSessionMiddleware",
    "blocking",
    "current_request",
    "current_session_revoker",
    "from_thread",
    "sp_config",
]

log = logging.getLogger("samljit.integrations")

_P = ParamSpec("_P")
_T = TypeVar("_T")

_request: ContextVar[Request | None] = ContextVar("samljit_request", default=None)


def current_request() -> Request | None:
    """The request an SSO endpoint is serving, for the app's SessionIssuer and revoker."""
    return _request.get()


def _current_session() -> MutableMapping[str, Any] | None:
    request = _request.get()
    return request.session if request is not None else None


current_session_revoker = CurrentSessionRevoker(_current_session)
"""Ends the current request's session when the IdP's LogoutRequest names its login (for
cookie sessions; with :class:`ServerSessionMiddleware`, the store is the revoker)."""


def from_thread(function: Callable[_P, Awaitable[_T]]) -> Callable[_P, _T]:
    """A coroutine function as the plain callable the admin pages take, e.g.
    ``AdminPages(metadata_source=from_thread(service.metadata_source),
    sp_metadata=from_thread(service.sp_metadata))`` with an ``AsyncLoginService``: the
    pages run on a worker thread, which hands each call to the event loop and waits."""

    def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        async def run() -> _T:
            return await function(*args, **kwargs)

        return anyio.from_thread.run(run)

    return call


class _Blocking:
    """An ``AsyncLoginService`` as the synchronous :class:`AdminService` the admin pages call
    on their worker thread."""

    def __init__(self, service: AsyncLoginService) -> None:
        self.begin_test_login = from_thread(service.begin_test_login)
        self.complete_test_login = from_thread(service.complete_test_login)
        self.metadata_source = from_thread(service.metadata_source)
        self.sp_metadata = from_thread(service.sp_metadata)


def blocking(service: AsyncLoginService) -> AdminService:
    """``service`` for ``AdminPages(service=...)``: the admin pages run on a worker thread,
    which hands each call to the event loop and waits (Test connection, the SP metadata and
    the metadata URL's refresh state)."""
    return _Blocking(service)


class SamlSso:
    """The SSO endpoints of :mod:`samljit.integrations` as Starlette routes under ``prefix``;
    mounted on ``app`` at once when given (else call :meth:`install`).

    Args:
        service: the login service.
        prefix: where the routes are mounted.
        home: where logout leads.
        app: the FastAPI or Starlette app (or Router) to mount on now.
        admin: the account administrators' pages, mounted at ``{prefix}/admin/{account}/``
            (GET and POST) when given; their ``can_administer`` hook gets the Request, on a
            worker thread.
        admin_id: who is acting on the admin pages, for the audit events, from the Request
            (e.g. ``lambda request: request.session.get("email", "")``), on a worker thread;
            required with ``admin``. Asked on every admin request, before
            ``can_administer``: give ``""`` when nobody is signed in.
        admin_templates: the app's ``Jinja2Templates``: each admin page is rendered in its
            ``samljit/admin/layout.html`` when it has one (with ``request`` and the context
            processors, as ``TemplateResponse`` renders), else in the built-in layout.
        scim: the SCIM endpoint of every account, mounted at ``{scim_prefix}/{account}/``
            (named ``samljit_scim``) when given (the ``[scim]`` extra).
        scim_prefix: where the SCIM endpoint is mounted.

    Raises:
        ConfigError: ``configuration_invalid``, ``admin`` without ``admin_id``.
    """

    def __init__(
        self,
        service: AsyncLoginService,
        *,
        prefix: str = "/sso",
        home: str = "/",
        app: Any = None,
        admin: AdminPages | None = None,
        admin_id: Callable[[Request], str] | None = None,
        admin_templates: Jinja2Templates | None = None,
        scim: ScimService | None = None,
        scim_prefix: str = "/scim/v2",
    ) -> None:
        if admin is not None and admin_id is None:
            raise ConfigError("the admin pages need admin_id(request): who is acting")
        self.service = service
        self.admin = admin
        self.admin_id = admin_id
        self.admin_templates = admin_templates
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
        if admin is not None:
            page = _handler(self.admin_page)
            both = ["GET", "POST"]
            self.routes.append(Route("/admin/{account_id}/{path:path}", page, methods=both))
        self.scim_mount: Mount | None = None
        if scim is not None:
            from ._starlette_scim import scim_mount  # needs the [scim] extra

            self.scim_mount = scim_mount(scim, scim_prefix)
        if app is not None:
            self.install(app)

    def install(self, app: Any) -> None:
        """Mount the routes on a FastAPI or Starlette ``app`` (or a Router)."""
        router: Router = app if isinstance(app, Router) else app.router
        router.routes.append(Mount(self.prefix, routes=self.routes, name="samljit"))
        if self.scim_mount is not None:
            router.routes.append(self.scim_mount)

    def logout_form(self, request: Request, label: str = "Log out") -> str:
        """The logout button (``button#logout``), an HTML form with the session's token."""
        return _web.logout_form(request.session, f"{self.prefix}/logout", label=label)

    async def sso_page(self, request: Request) -> WebResponse:
        """The SSO page: a form asking for the work email (``GET /sso/``)."""
        return _web.sso_page(request.url.path, next_url=request.query_params.get("next"))

    async def discover(self, request: Request) -> WebResponse:
        """Home-realm discovery: send the browser to the email's IdP (``POST /sso/``)."""
        try:
            form = await _form(request)
            message = await self.service.begin_login_for_email(
                form.get("email", ""), relay_state=form.get("next")
            )
        except SamlError as exc:
            return _web.failure(exc, step="discovery", account_id=None)
        return _web.outbound(message)

    async def login(self, request: Request) -> WebResponse:
        """SP-initiated login at the account's IdP (``GET /sso/{account}/login?next=``)."""
        account_id = request.path_params["account_id"]
        try:
            message = await self.service.begin_login(
                account_id, relay_state=request.query_params.get("next")
            )
        except SamlError as exc:
            return _web.failure(exc, step="login", account_id=account_id)
        return _web.outbound(message)

    async def acs(self, request: Request) -> WebResponse:
        """The Assertion Consumer Service (``POST /sso/{account}/acs``); CSRF-exempt, signed
        instead. A response to an administrator's Test connection is posted on to the admin
        pages."""
        account_id = request.path_params["account_id"]
        try:
            form = await saml_form(request)
        except SamlError as exc:
            return _web.failure(exc, step="acs", account_id=account_id)
        try:
            result = await self.service.complete_login(form, account_id=account_id)
        except SamlError as exc:
            admin_base = f"{self.prefix}/admin/{account_id}/" if self.admin is not None else None
            return _web.acs_refused(exc, form, account_id=account_id, admin_base=admin_base)
        _web.remember_login(request.session, result)
        return _web.redirect(result.redirect_to)

    async def metadata(self, request: Request) -> WebResponse:
        """The account's SP metadata, for the IdP (``GET /sso/{account}/metadata``)."""
        account_id = request.path_params["account_id"]
        try:
            return _web.metadata(await self.service.sp_metadata(account_id))
        except SamlError as exc:
            return _web.failure(exc, step="metadata", account_id=account_id)

    async def slo(self, request: Request) -> WebResponse:
        """Single Logout, both bindings (``GET``/``POST /sso/{account}/slo``); CSRF-exempt, signed
        instead."""
        account_id = request.path_params["account_id"]
        try:
            if request.method == "GET":
                result = await self.service.handle_logout(account_id, query=request.url.query)
            else:
                form = await saml_form(request)
                result = await self.service.handle_logout(account_id, form=form)
        except SamlError as exc:
            return _web.failure(exc, step="slo", account_id=account_id)
        return _web.after_logout(result)

    async def logout(self, request: Request) -> WebResponse:
        """End the app session, then log out at the IdP (``POST /sso/logout``, with the logout
        token)."""
        try:
            form = await _form(request)
        except SamlError as exc:
            return _web.failure(exc, step="logout", account_id=None)
        if not _web.logout_allowed(request.session, form):
            return _web.logout_refused()
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

    async def admin_page(self, request: Request) -> WebResponse:
        """An account administrator's page (``GET``/``POST /sso/admin/{account}/{path}``):
        the body read up to :attr:`AdminPages.max_body_bytes`, then the request in plain
        values to :meth:`AdminPages.handle` on a worker thread."""
        admin, admin_id = self.admin, self.admin_id
        assert admin is not None
        assert admin_id is not None
        form: dict[str, str] = {}
        files: dict[str, bytes] = {}
        if request.method == "POST":
            try:
                form, files = await admin_form(request, admin.max_body_bytes)
            except TooLarge:
                return _web.too_large(admin.max_body_bytes)
        account_id = request.path_params["account_id"]
        csrf_ok = request.method == "POST" and _web.csrf_valid(request.session, form)
        csrf_field = _web.csrf_input(request.session)
        templates = self.admin_templates

        def handle() -> WebResponse:
            response = admin.handle(
                AdminRequest(
                    method=request.method,
                    account_id=account_id,
                    path=request.path_params["path"],
                    form=form,
                    files=files,
                    admin_id=admin_id(request),
                    csrf_ok=csrf_ok,
                    csrf_field=csrf_field,
                    native=request,
                    base=f"{self.prefix}/admin/{account_id}/",
                )
            )
            if templates is None:
                return response
            from ._jinja import starlette_layout  # Jinja only for an app that gave templates

            return starlette_layout(templates, request, response, account_id)

        return await run_in_threadpool(handle)


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
