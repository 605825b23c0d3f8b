"""samljit for Django.

::

    INSTALLED_APPS += ["samljit.integrations.django"]        # models: SsoProfile, SsoAccount
    SAMLJIT_SERVICE = "myproject.sso.service"                 # a LoginService, or a factory
    SAMLJIT_ADMIN = "myproject.sso.admin"                     # optional: the admin pages
    SAMLJIT_SCIM = "myproject.sso.scim"                       # optional: a ScimService
    urlpatterns += [path("sso/", include("samljit.integrations.django.urls"))]
    urlpatterns += [path("scim/v2/", include("samljit.integrations.django.scim_urls"))]

The reference stores (:class:`DjangoUserStore` over ``django.contrib.auth`` users, the
role as a Group; :class:`DjangoAccountStore`; for SCIM, :class:`DjangoDirectoryStore` over
the same users and :class:`DjangoScimTokenStore`), the :class:`DjangoSessionIssuer`
(``django.contrib.auth.login`` on the request being served) and
:data:`current_session_revoker` plug into the app's :class:`~samljit.LoginService`;
:func:`login_service` builds one with all of them; :func:`admin_pages` builds the
account administrators' pages (mounted under ``sso/admin/<account>/`` once
``SAMLJIT_ADMIN`` names them). The adapter keeps, under
``request.session["samljit"]``, what SP-initiated logout needs. Only the ACS and SLO views,
and the SCIM endpoint (bearer tokens, :mod:`~samljit.integrations.django.scim_views`), go
without Django's CSRF check.

The names are loaded on first use: Django imports this package while it is still
setting up its apps, before models may be imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..._extras import missing_extra
from .._web import sp_config

try:
    import django  # noqa: F401 - every module of this package needs it
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "django", exc) from exc

if TYPE_CHECKING:
    from .admin_views import admin_pages
    from .service import login_service
    from .sessions import DjangoSessionIssuer, current_request, current_session_revoker
    from .stores import (
        DjangoAccountStore,
        DjangoDirectoryStore,
        DjangoScimTokenStore,
        DjangoUserStore,
    )

__all__ = [
    "DjangoAccountStore",
    "DjangoDirectoryStore",
    "DjangoScimTokenStore",
    "DjangoSessionIssuer",
    "DjangoUserStore",
    "admin_pages",
    "current_request",
    "current_session_revoker",
    "login_service",
    "sp_config",
]

_LAZY = {
    "admin_pages": "admin_views",
    "DjangoAccountStore": "stores",
    "DjangoDirectoryStore": "stores",
    "DjangoScimTokenStore": "stores",
    "DjangoUserStore": "stores",
    "DjangoSessionIssuer": "sessions",
    "current_request": "sessions",
    "current_session_revoker": "sessions",
    "login_service": "service",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
