"""samljit for Flask.

::

    sso = SamlSso(service)          # a samljit.LoginService
    sso.init_app(app)               # mounts /sso/... (see samljit.integrations)

The app's own :class:`~samljit.SessionIssuer` logs the user in (for example
``flask.session["user_id"] = user.user_id``); the adapter also keeps, under
``session["samljit"]``, what SP-initiated logout needs. Flask-WTF's CSRFProtect, when
installed, is told to exempt the ACS and SLO endpoints only.
"""

from __future__ import annotations

import logging
from typing import Any

from .._extras import missing_extra

try:
    from flask import Blueprint, Flask, Response, has_request_context, request, session
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "flask", exc) from exc

from ..errors import SamlError
from ..service import LoginService
from . import _web
from ._web import CurrentSessionRevoker, WebResponse, sp_config

__all__ = ["SamlSso", "current_session_revoker", "sp_config"]

log = logging.getLogger("samljit.integrations")

current_session_revoker = CurrentSessionRevoker(lambda: session if has_request_context() else None)
"""Ends the current request's Flask session when the IdP's LogoutRequest names its login."""


class SamlSso:
    """The SSO endpoints of :mod:`samljit.integrations` as a Flask blueprint named
    ``samljit``, under ``prefix``."""

    def __init__(self, service: LoginService, *, prefix: str = "/sso", home: str = "/") -> None:
        self.service = service
        self.home = home
        self.blueprint = Blueprint("samljit", __name__, url_prefix=prefix)
        add = self.blueprint.add_url_rule
        add("/", "sso_page", self.sso_page, methods=["GET"])
        add("/", "discover", self.discover, methods=["POST"])
        add("/logout", "logout", self.logout, methods=["POST"])
        add("/<account_id>/login", "login", self.login, methods=["GET"])
        add("/<account_id>/acs", "acs", self.acs, methods=["POST"])
        add("/<account_id>/metadata", "metadata", self.metadata, methods=["GET"])
        add("/<account_id>/slo", "slo", self.slo, methods=["GET", "POST"])

    def init_app(self, app: Flask) -> None:
        app.register_blueprint(self.blueprint)
        csrf: Any = app.extensions.get("csrf")
        if csrf is not None and hasattr(csrf, "exempt"):
            csrf.exempt(self.blueprint.name + ".acs")
            csrf.exempt(self.blueprint.name + ".slo")

    def sso_page(self) -> Response:
        return _respond(_web.sso_page(request.path, next_url=request.args.get("next")))

    def discover(self) -> Response:
        try:
            message = self.service.begin_login_for_email(
                request.form.get("email", ""), relay_state=request.form.get("next")
            )
        except SamlError as exc:
            return _respond(_web.failure(exc, step="discovery", account_id=None))
        return _respond(_web.outbound(message))

    def login(self, account_id: str) -> Response:
        try:
            message = self.service.begin_login(account_id, relay_state=request.args.get("next"))
        except SamlError as exc:
            return _respond(_web.failure(exc, step="login", account_id=account_id))
        return _respond(_web.outbound(message))

    def acs(self, account_id: str) -> Response:
        try:
            result = self.service.complete_login(request.form.to_dict(), account_id=account_id)
        except SamlError as exc:
            return _respond(_web.failure(exc, step="acs", account_id=account_id))
        _web.remember_login(session, result)
        return _respond(_web.redirect(result.redirect_to))

    def metadata(self, account_id: str) -> Response:
        try:
            return _respond(_web.metadata(self.service.sp_metadata(account_id)))
        except SamlError as exc:
            return _respond(_web.failure(exc, step="metadata", account_id=account_id))

    def slo(self, account_id: str) -> Response:
        try:
            if request.method == "GET":
                query = request.query_string.decode("latin-1")
                result = self.service.handle_logout(account_id, query=query)
            else:
                result = self.service.handle_logout(account_id, form=request.form.to_dict())
        except SamlError as exc:
            return _respond(_web.failure(exc, step="slo", account_id=account_id))
        return _respond(_web.after_logout(result))

    def logout(self) -> Response:
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


def _respond(response: WebResponse) -> Response:
    headers = dict(response.headers)
    if response.location is not None:
        headers["Location"] = response.location
    return Response(
        response.body, status=response.status, content_type=response.content_type, headers=headers
    )
