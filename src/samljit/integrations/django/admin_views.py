"""The account administrator's SSO pages (:mod:`samljit.integrations.admin`) as Django views.

::

    SAMLJIT_ADMIN = "myproject.sso.admin"   # an AdminPages, a factory, or the dotted path

They are mounted by ``samljit.integrations.django.urls`` under ``admin/<account>/``, and
answer 404 until ``SAMLJIT_ADMIN`` is set: the pages exist only with the app's
``can_administer`` hook. :func:`admin_pages` builds the AdminPages with the Django account
store and the login service's SP metadata and metadata refresh state filled in.

Django's own CSRF protection guards every POST (``csrf_protect``; the forms carry
``csrfmiddlewaretoken``) but Test connection's result, which carries the IdP's signed response
instead; the request body is refused (413) before it is read when its
``Content-Length`` exceeds what the pages can accept.

Each page is rendered in the template ``samljit/admin/layout.html``: this app ships the
built-in layout under that name (found with ``APP_DIRS``), and a project's own template of
that name (its ``DIRS``, or an app listed earlier) replaces it (docs/theming.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from ..._accounts import AccountConfig
from ..._results import OutboundMessage
from ..._service import LoginService
from ...metadata_source import MetadataSource
from ...provisioning import TestLoginResult
from .._admin import AdminPages, AdminRequest
from .._admin_test import RESULT_PATH
from .._web import ADMIN_LAYOUT, WebResponse, layout_context
from ._settings import SettingObject
from .stores import DjangoAccountStore
from .views import _csrf_field, _form, _serve, get_service

__all__ = ["admin_pages", "admin_view", "get_admin_pages"]

# Room for the form's encoding: pasted XML is URL-encoded (up to 3 bytes a character) and
# the preview's confirmation carries the document in base64, plus the other fields.
_BODY_FACTOR = 4
_BODY_SLACK = 64 * 1024

_PAGES = SettingObject("SAMLJIT_ADMIN", AdminPages, "a samljit.integrations.admin.AdminPages")


def admin_pages(
    *,
    can_administer: Callable[[HttpRequest, str], bool],
    new_account: Callable[[str], AccountConfig],
    service: LoginService | None = None,
    **options: Any,
) -> AdminPages:
    """The :class:`~samljit.integrations.admin.AdminPages` of a Django project, for the
    ``SAMLJIT_ADMIN`` setting: accounts in :class:`DjangoAccountStore`; the SP metadata, the
    metadata URL's refresh state and Test connection from the login service.

    Args:
        can_administer: ``(request, account_id) -> bool``, the app's rule, e.g.
            ``request.user`` is an administrator of that account. Required.
        new_account: the configuration an account without SSO starts from (its SPConfig,
            e.g. ``sp_config(base_url, account_id)``, and its mapping).
        service: the login service (default: ``SAMLJIT_SERVICE``, resolved on first use).
        options: the other arguments of AdminPages (``history``, ``audit``,
            ``sp_metadata_url``, ``templates``...); they replace the ones filled in here.
    """

    arguments: dict[str, Any] = {
        "accounts": DjangoAccountStore(),
        "service": service if service is not None else _ServiceSetting(),
        **options,
    }
    return AdminPages(can_administer=can_administer, new_account=new_account, **arguments)


class _ServiceSetting:
    """``SAMLJIT_SERVICE``, resolved at the first call (settings may name it by path)."""

    def begin_test_login(
        self,
        account_id: str,
        *,
        admin_id: str,
        relay_state: str | None = None,
        force_authn: bool = False,
    ) -> OutboundMessage:
        return get_service().begin_test_login(
            account_id, admin_id=admin_id, relay_state=relay_state, force_authn=force_authn
        )

    def complete_test_login(
        self, form: Mapping[str, str], *, account_id: str | None, admin_id: str
    ) -> TestLoginResult:
        return get_service().complete_test_login(form, account_id=account_id, admin_id=admin_id)

    def metadata_source(self, config: AccountConfig) -> MetadataSource | None:
        return get_service().metadata_source(config)

    def sp_metadata(self, account_id: str) -> bytes:
        return get_service().sp_metadata(account_id)


def get_admin_pages() -> AdminPages | None:
    """The ``SAMLJIT_ADMIN`` pages, resolved once; None when the setting is absent."""
    return _PAGES.get()


def _admin_id(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return str(user.get_username())


@_serve
def _handle(request: HttpRequest, pages: AdminPages, account_id: str, path: str) -> Any:
    files = {
        name: upload.read(pages.max_metadata_bytes + 1)  # the pages refuse what is over
        for name, upload in request.FILES.items()
    }
    response = pages.handle(
        AdminRequest(
            method=request.method or "GET",
            account_id=account_id,
            path=path,
            form=_form(request) if request.method == "POST" else {},
            files=files,
            admin_id=_admin_id(request),
            # csrf_protect let the POST through: Django's check passed (never for the
            # test result, which AdminPages does not ask for one).
            csrf_ok=getattr(request, "csrf_processing_done", False) is True,
            csrf_field=_csrf_field(request),
            native=request,
            base=request.path.removesuffix(path),
        )
    )
    return _in_layout(request, response, account_id)


_checked = csrf_protect(_handle)


def _in_layout(request: HttpRequest, response: WebResponse, account_id: str) -> WebResponse:
    """An admin page in the template ``samljit/admin/layout.html``, with the request's context
    processors; as it is when the project's template engines find no such template."""
    if response.page is None:
        return response
    try:
        template = get_template(ADMIN_LAYOUT)
    except TemplateDoesNotExist:
        return response
    context = layout_context(response.page, account_id=account_id, safe=mark_safe)
    document = template.render(context, request)
    return dataclasses.replace(response, body=document.encode("utf-8"))


# Exempt from the middleware's check only so that the body's size is checked before
# anything reads it; _checked makes the same check (csrf_protect) right after.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def admin_view(request: HttpRequest, account_id: str, path: str = "") -> HttpResponse:
    """An admin page of ``account_id`` (``path`` after its admin root); 404 without
    ``SAMLJIT_ADMIN``, 413 for a body larger than the pages accept."""
    pages = get_admin_pages()
    if pages is None:
        raise Http404("SAMLJIT_ADMIN is not set")
    limit = _BODY_FACTOR * pages.max_metadata_bytes + _BODY_SLACK
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = limit + 1
    if length > limit:
        return HttpResponse("Request body too large", status=413, content_type="text/plain")
    # The IdP's signed response, posted on by the ACS, carries no CSRF token: the page checks
    # that it answers this administrator's own Test connection instead.
    view = _handle if path.strip("/") == RESULT_PATH else _checked
    response: HttpResponse = view(request, pages, account_id, path)
    return response
