"""samljit for Flask.

::

    sso = SamlSso(service)          # a samljit.LoginService
    sso.init_app(app)               # mounts /sso/... (see samljit.integrations)

The app's own :class:`~samljit.SessionIssuer` logs the user in (for example
``flask.session["user_id"] = user.user_id``); the adapter also keeps, under
``session["samljit"]``, what SP-initiated logout needs. Flask's default session is a signed
cookie that the browser can read and that logout cannot revoke: give the app server-side
sessions, ``app.session_interface = ServerSessionInterface(store)`` with a
:class:`~samljit.integrations.sessions.SessionStore`, and pass the same store as the
service's ``session_revoker``.

``POST /sso/logout`` needs the session's logout token: render the button with
:meth:`SamlSso.logout_form` (or put :func:`logout_token` in a ``samljit_csrf`` field).
Flask-WTF's CSRFProtect, when installed, is told to exempt the ACS and SLO endpoints only.

The account administrators' pages (:mod:`samljit.integrations.admin`) are mounted under
``/sso/admin/<account>/`` when the app passes them with who is acting::

    SamlSso(service, app=app, admin=AdminPages(...),
            admin_id=lambda request: session.get("email", ""))

Their forms carry the session's token (the logout token), which every admin POST must send
back; Flask-WTF's CSRFProtect is told to leave them to that check. When the app's templates
have ``samljit/admin/layout.html``, each page is rendered in it (docs/theming.md).

With ``scim=ScimService(...)``, each account's SCIM 2.0 endpoint is mounted beside them,
under ``/scim/v2/<account>/`` (``scim_prefix``), exempt from Flask-WTF's CSRFProtect: its
requests carry the account's bearer token instead (docs/scim.md).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._extras import missing_extra

try:
    from flask import (
        Blueprint,
        Flask,
        Response,
        current_app,
        has_request_context,
        render_template,
        request,
        session,
        url_for,
    )
    from flask.sessions import SessionInterface, SessionMixin
    from flask.wrappers import Request as FlaskRequest
    from flask.wrappers import Response as FlaskResponse
    from werkzeug.datastructures import CallbackDict
    from werkzeug.exceptions import RequestEntityTooLarge
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "flask", exc) from exc

from .._service import LoginService
from ..errors import ConfigError, SamlError
from . import _jinja, _web
from ._admin import AdminPages, AdminRequest
from ._form_fields import saml_post
from ._web import CurrentSessionRevoker, WebResponse, sp_config
from .sessions import MemorySessionStore, SessionStore

if TYPE_CHECKING:
    from ..scim import ScimService

__all__ = [
    "MemorySessionStore",
    "SamlSso",
    "ServerSessionInterface",
    "current_session_revoker",
    "logout_token",
    "sp_config",
]

log = logging.getLogger("samljit.integrations")

current_session_revoker = CurrentSessionRevoker(lambda: session if has_request_context() else None)
"""Ends the current request's Flask session when the IdP's LogoutRequest names its login
(for cookie sessions; with server-side sessions, the store is the revoker)."""


def logout_token() -> str:
    """The current session's logout token, for a ``samljit_csrf`` field of the app's own
    logout form (``POST /sso/logout`` refuses a session's logout without it)."""
    return _web.logout_token(session)


class SamlSso:
    """The SSO endpoints of :mod:`samljit.integrations` as a Flask blueprint named
    ``samljit``, under ``prefix``; registered on ``app`` at once when given (else call
    :meth:`init_app`).

    Args:
        service: the login service.
        prefix: where the endpoints are mounted.
        home: where logout leads.
        app: the app to register on now.
        admin: the account administrators' pages, mounted at ``{prefix}/admin/<account>/``
            (GET and POST) when given; their ``can_administer`` hook gets Flask's request.
            Each page is rendered in the app's template ``samljit/admin/layout.html`` when
            it has one (see :data:`~samljit.integrations.admin.ADMIN_LAYOUT`).
        admin_id: who is acting on the admin pages, for the audit events, from Flask's
            request (e.g. ``lambda request: session.get("email", "")``); required with ``admin``.
            Asked on every admin request, before ``can_administer``: give ``""`` when
            nobody is signed in.
        scim: the SCIM endpoint of every account, mounted at ``{scim_prefix}/<account>/`` as
            the blueprint ``samljit_scim`` when given (the ``[scim]`` extra).
        scim_prefix: where the SCIM endpoint is mounted.

    Raises:
        ConfigError: ``configuration_invalid``, ``admin`` without ``admin_id``.
    """

    def __init__(
        self,
        service: LoginService,
        *,
        prefix: str = "/sso",
        home: str = "/",
        app: Flask | None = None,
        admin: AdminPages | None = None,
        admin_id: Callable[[FlaskRequest], str] | None = None,
        scim: ScimService | None = None,
        scim_prefix: str = "/scim/v2",
    ) -> None:
        if admin is not None and admin_id is None:
            raise ConfigError("the admin pages need admin_id(request): who is acting")
        self.service = service
        self.home = home
        self.admin = admin
        self.admin_id = admin_id
        self.blueprint = Blueprint("samljit", __name__, url_prefix=prefix)
        add = self.blueprint.add_url_rule
        add("/", "sso_page", self.sso_page, methods=["GET"])
        add("/", "discover", self.discover, methods=["POST"])
        add("/logout", "logout", self.logout, methods=["POST"])
        add("/<account_id>/login", "login", self.login, methods=["GET"])
        add("/<account_id>/acs", "acs", self.acs, methods=["POST"])
        add("/<account_id>/metadata", "metadata", self.metadata, methods=["GET"])
        add("/<account_id>/slo", "slo", self.slo, methods=["GET", "POST"])
        if admin is not None:
            both = ["GET", "POST"]
            root = {"path": ""}
            add("/admin/<account_id>/", "admin", self.admin_page, methods=both, defaults=root)
            add("/admin/<account_id>/<path:path>", "admin", self.admin_page, methods=both)
        self.scim_blueprint: Blueprint | None = None
        if scim is not None:
            from ._flask_scim import scim_blueprint  # needs the [scim] extra

            self.scim_blueprint = scim_blueprint(scim, scim_prefix)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Mount the endpoints on ``app``; when Flask-WTF's CSRFProtect is installed, exempt only
        the ACS and SLO (and the SCIM endpoint)."""
        app.register_blueprint(self.blueprint)
        if self.scim_blueprint is not None:
            app.register_blueprint(self.scim_blueprint)
        csrf: Any = app.extensions.get("csrf")
        if csrf is not None and hasattr(csrf, "exempt"):
            if self.scim_blueprint is not None:  # a bearer-token API, no cookies
                csrf.exempt(self.scim_blueprint)
            # Flask-WTF matches a view by its module and name, not by its endpoint.
            csrf.exempt(self.acs)
            csrf.exempt(self.slo)
            if self.admin is not None:  # checked against the session's own token instead
                csrf.exempt(self.admin_page)

    def logout_form(self, label: str = "Log out") -> str:
        """The logout button (``button#logout``), an HTML form with the session's token."""
        return _web.logout_form(session, url_for(self.blueprint.name + ".logout"), label=label)

    def sso_page(self) -> Response:
        """The SSO page: a form asking for the work email (``GET /sso/``)."""
        return _respond(_web.sso_page(request.path, next_url=request.args.get("next")))

    def discover(self) -> Response:
        """Home-realm discovery: send the browser to the email's IdP (``POST /sso/``)."""
        try:
            message = self.service.begin_login_for_email(
                request.form.get("email", ""), relay_state=request.form.get("next")
            )
        except SamlError as exc:
            return _respond(_web.failure(exc, step="discovery", account_id=None))
        return _respond(_web.outbound(message))

    def login(self, account_id: str) -> Response:
        """SP-initiated login at the account's IdP (``GET /sso/{account}/login?next=``)."""
        try:
            message = self.service.begin_login(account_id, relay_state=request.args.get("next"))
        except SamlError as exc:
            return _respond(_web.failure(exc, step="login", account_id=account_id))
        return _respond(_web.outbound(message))

    def acs(self, account_id: str) -> Response:
        """The Assertion Consumer Service (``POST /sso/{account}/acs``); CSRF-exempt, signed
        instead. A response to an administrator's Test connection is posted on to the admin
        pages."""
        form = saml_post(request.mimetype, request.get_data, lambda: request.form.to_dict())
        try:
            result = self.service.complete_login(form, account_id=account_id)
        except SamlError as exc:
            admin_base = (
                url_for(self.blueprint.name + ".admin", account_id=account_id, path="")
                if self.admin is not None
                else None
            )
            return _respond(
                _web.acs_refused(exc, form, account_id=account_id, admin_base=admin_base)
            )
        _web.remember_login(session, result)
        return _respond(_web.redirect(result.redirect_to))

    def metadata(self, account_id: str) -> Response:
        """The account's SP metadata, for the IdP (``GET /sso/{account}/metadata``)."""
        try:
            return _respond(_web.metadata(self.service.sp_metadata(account_id)))
        except SamlError as exc:
            return _respond(_web.failure(exc, step="metadata", account_id=account_id))

    def slo(self, account_id: str) -> Response:
        """Single Logout, both bindings (``GET``/``POST /sso/{account}/slo``); CSRF-exempt, signed
        instead."""
        try:
            if request.method == "GET":
                query = request.query_string.decode("latin-1")
                result = self.service.handle_logout(account_id, query=query)
            else:
                form = saml_post(request.mimetype, request.get_data, lambda: request.form.to_dict())
                result = self.service.handle_logout(account_id, form=form)
        except SamlError as exc:
            return _respond(_web.failure(exc, step="slo", account_id=account_id))
        return _respond(_web.after_logout(result))

    def logout(self) -> Response:
        """End the app session, then log out at the IdP (``POST /sso/logout``, with the logout
        token)."""
        if not _web.logout_allowed(session, request.form):
            return _respond(_web.logout_refused())
        target = _web.logout_target(session)
        session.clear()
        if target is None:
            return _respond(_web.redirect(self.home))
        account_id, name_id, session_index = target
        try:
            message = self.service.begin_logout(
                account_id, name_id=name_id, session_index=session_index, relay_state=self.home
            )
        except SamlError as exc:
            # The app session has ended; the IdP's may go on (no SLO endpoint, no key, ...).
            log.info("sso logout stayed local account=%s code=%s", account_id, exc.code)
            return _respond(_web.redirect(self.home))
        return _respond(_web.outbound(message))

    def admin_page(self, account_id: str, path: str) -> Response:
        """An account administrator's page (``GET``/``POST /sso/admin/{account}/{path}``): the
        request in plain values to :meth:`AdminPages.handle`, its body read up to
        :attr:`AdminPages.max_body_bytes`."""
        assert self.admin is not None
        assert self.admin_id is not None
        limit = self.admin.max_body_bytes
        request.max_content_length = limit
        request.max_form_memory_size = limit
        try:
            form = request.form.to_dict()
            files = {name: upload.read() for name, upload in request.files.items()}
        except RequestEntityTooLarge:
            return _respond(_web.too_large(limit))
        csrf_ok = request.method == "POST" and _web.csrf_valid(session, form)
        response = self.admin.handle(
            AdminRequest(
                method=request.method,
                account_id=account_id,
                path=path,
                form=form,
                files=files,
                admin_id=self.admin_id(request),
                csrf_ok=csrf_ok,
                csrf_field=_web.csrf_input(session),
                native=request,
                base=url_for(self.blueprint.name + ".admin", account_id=account_id, path=""),
            )
        )
        return _respond(_in_layout(response, account_id))


def _in_layout(response: WebResponse, account_id: str) -> WebResponse:
    """An admin page in the app's ``samljit/admin/layout.html`` (its templates folder or a
    blueprint's), rendered as Flask renders any template; as it is when there is none."""
    template = _jinja.layout(current_app.jinja_env) if response.page is not None else None
    if template is None or response.page is None:  # not a page, or the app has no layout
        return response
    document = render_template(template, **_jinja.context(response.page, account_id))
    return dataclasses.replace(response, body=document.encode("utf-8"))


def _respond(response: WebResponse) -> Response:
    headers = dict(response.headers)
    if response.location is not None:
        headers["Location"] = response.location
    return Response(
        response.body, status=response.status, content_type=response.content_type, headers=headers
    )


class _ServerSession(CallbackDict[str, Any], SessionMixin):
    """``flask.session`` over a SessionStore: the data, the ID it is stored under (None
    until first saved), and whether it changed or asked for a new ID."""

    def __init__(self, data: Mapping[str, Any], session_id: str | None) -> None:
        def on_update(self: _ServerSession) -> None:
            self.modified = True
            self.accessed = True

        super().__init__(data, on_update)
        self.session_id = session_id
        self.modified = False
        self.rotate_requested = False

    def rotate(self) -> None:
        """Keep the data under a new ID when the response is sent; the old ID ends."""
        self.rotate_requested = True
        self.modified = True


class ServerSessionInterface(SessionInterface):
    """Server-side ``flask.session``: the cookie (``SESSION_COOKIE_NAME``, HttpOnly, with
    the app's ``SESSION_COOKIE_*`` settings) holds only an opaque random ID; the data lives
    in ``store``. Clearing the session (logout) deletes it from the store, and a session
    the store has ended (expiry, the IdP's Single Logout) is never written back::

        store = MemorySessionStore()
        app.session_interface = ServerSessionInterface(store)
        service = LoginService(..., session_revoker=store)
    """

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def open_session(self, app: Flask, request: FlaskRequest) -> _ServerSession:
        """Load the server-side session the cookie names (a new, empty one when unknown or
        ended)."""
        session_id = request.cookies.get(self.get_cookie_name(app))
        data = self.store.load(session_id) if session_id else None
        if data is None:
            return _ServerSession({}, None)
        return _ServerSession(data, session_id)

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        """Write the session to its store, and set or forget its cookie."""
        assert isinstance(session, _ServerSession)
        if session.accessed:
            response.vary.add("Cookie")
        if not session.modified:
            return
        if not session:
            if session.session_id is not None:
                self.store.delete(session.session_id)
                self._forget_cookie(app, response)
            return
        session_id = session.session_id
        if session_id is None or session.rotate_requested:
            if session_id is not None:
                self.store.delete(session_id)
            session_id = self.store.create(dict(session))
        elif not self.store.save(session_id, dict(session)):
            self._forget_cookie(app, response)  # ended meanwhile: stays ended
            return
        response.set_cookie(
            self.get_cookie_name(app),
            session_id,
            expires=self.get_expiration_time(app, session),
            httponly=True,
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app) or "Lax",
        )

    def _forget_cookie(self, app: Flask, response: FlaskResponse) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            httponly=True,
            samesite=self.get_cookie_samesite(app) or "Lax",
        )
