"""The SSO views (see :mod:`samljit.integrations` for the endpoints); mount them with
``path("sso/", include("samljit.integrations.django.urls"))``.

Settings:
    SAMLJIT_SERVICE: the :class:`~samljit.LoginService`, a zero-argument callable returning
        one, or the dotted path of either (resolved on first use, once).
    SAMLJIT_HOME: where the browser goes after logout (default ``"/"``).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..._service import LoginService
from ...errors import SamlError
from .. import _web
from .._form_fields import saml_post
from .._web import WebResponse
from ._settings import SettingObject
from .sessions import _request

__all__ = ["acs", "get_service", "login", "logout", "metadata", "slo", "sso_page"]

log = logging.getLogger("samljit.integrations")

_SERVICE = SettingObject("SAMLJIT_SERVICE", LoginService, "a samljit.LoginService")


def get_service() -> LoginService:
    """The ``SAMLJIT_SERVICE`` login service, resolved once."""
    return _SERVICE.require()


def _home() -> str:
    return str(getattr(settings, "SAMLJIT_HOME", "/"))


def _admin_mounted() -> bool:
    return getattr(settings, "SAMLJIT_ADMIN", None) is not None


def _serve(view: Callable[..., WebResponse]) -> Callable[..., HttpResponse]:
    """Run ``view`` with the request in the context (for the session issuer and revoker)
    and turn its WebResponse into Django's."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _request.set(request)
        try:
            response = view(request, *args, **kwargs)
        finally:
            _request.reset(token)
        django_response = HttpResponse(
            response.body, status=response.status, content_type=response.content_type
        )
        for name, value in response.headers.items():
            django_response[name] = value
        if response.location is not None:
            django_response["Location"] = response.location
        return django_response

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _form(request: HttpRequest) -> dict[str, str]:
    """The POSTed fields, first value of each (as the other adapters read them)."""
    return {name: values[0] for name, values in request.POST.lists() if values}


def _saml_form(request: HttpRequest) -> dict[str, str]:
    """The SAMLResponse, SAMLRequest and RelayState POSTed (no other field is decoded); the
    body is bounded by ``DATA_UPLOAD_MAX_MEMORY_SIZE``, as for ``request.POST``."""
    return saml_post(request.content_type or "", lambda: request.body, lambda: _form(request))


def _csrf_field(request: HttpRequest) -> str:
    token = html.escape(get_token(request))
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'


@require_http_methods(["GET", "POST"])
@csrf_protect
@_serve
def sso_page(request: HttpRequest) -> WebResponse:
    """GET: the SSO page (email form, with Django's CSRF token). POST: home-realm
    discovery, then the redirect to that email's IdP."""
    if request.method == "GET":
        next_url = request.GET.get("next")
        return _web.sso_page(request.path, next_url=next_url, csrf_field=_csrf_field(request))
    try:
        message = get_service().begin_login_for_email(
            request.POST.get("email", ""), relay_state=request.POST.get("next")
        )
    except SamlError as exc:
        return _web.failure(exc, step="discovery", account_id=None)
    return _web.outbound(message)


@require_GET
@_serve
def login(request: HttpRequest, account_id: str) -> WebResponse:
    """SP-initiated login at the account's IdP (``?next=/path``)."""
    try:
        message = get_service().begin_login(account_id, relay_state=request.GET.get("next"))
    except SamlError as exc:
        return _web.failure(exc, step="login", account_id=account_id)
    return _web.outbound(message)


@csrf_exempt
@require_POST
@_serve
def acs(request: HttpRequest, account_id: str) -> WebResponse:
    """The Assertion Consumer Service: CSRF-exempt, the response's signature protects it
    (and the IdP's cross-site POST carries no CSRF cookie). A response to an administrator's
    Test connection is posted on to the admin pages (with ``SAMLJIT_ADMIN``)."""
    form = _saml_form(request)
    try:
        result = get_service().complete_login(form, account_id=account_id)
    except SamlError as exc:
        admin_base = (
            reverse("samljit:admin", kwargs={"account_id": account_id})
            if _admin_mounted()
            else None
        )
        return _web.acs_refused(exc, form, account_id=account_id, admin_base=admin_base)
    _web.remember_login(request.session, result)
    return _web.redirect(result.redirect_to)


@require_GET
@_serve
def metadata(request: HttpRequest, account_id: str) -> WebResponse:
    """The SP metadata of the account (its URL is the SP's entity ID)."""
    try:
        return _web.metadata(get_service().sp_metadata(account_id))
    except SamlError as exc:
        return _web.failure(exc, step="metadata", account_id=account_id)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@_serve
def slo(request: HttpRequest, account_id: str) -> WebResponse:
    """Single Logout: CSRF-exempt, the message's signature protects it. The Redirect
    binding's signature covers the query exactly as sent, so the raw query string goes in."""
    try:
        if request.method == "GET":
            query = request.META.get("QUERY_STRING", "")
            result = get_service().handle_logout(account_id, query=query)
        else:
            result = get_service().handle_logout(account_id, form=_saml_form(request))
    except SamlError as exc:
        return _web.failure(exc, step="slo", account_id=account_id)
    return _web.after_logout(result)


@require_POST
@csrf_protect
@_serve
def logout(request: HttpRequest) -> WebResponse:
    """End the Django session, then log out at the IdP when the login came from SSO."""
    target = _web.logout_target(request.session)
    django_logout(request)
    if target is None:
        return _web.redirect(_home())
    account_id, name_id, session_index = target
    try:
        message = get_service().begin_logout(
            account_id, name_id=name_id, session_index=session_index, relay_state=_home()
        )
    except SamlError as exc:
        # The app session has ended; the IdP's may go on (no SLO endpoint, no key, ...).
        log.info("sso logout stayed local account=%s code=%s", account_id, exc.code)
        return _web.redirect(_home())
    return _web.outbound(message)
