"""The account administrator's self-serve SSO pages, framework-neutral.

Mounted by every adapter: Flask and FastAPI (``SamlSso(service, admin=AdminPages(...),
admin_id=...)``) and Django (the ``SAMLJIT_ADMIN`` setting); elsewhere an adapter (or an app)
routes ``GET``/``POST {prefix}/admin/{account}/{path}`` to :meth:`AdminPages.handle` with an
:class:`AdminRequest`, and turns the returned response into its framework's. See
docs/admin-pages.md for the pages and the authorization hook, docs/theming.md for the app's
base layout (``samljit/admin/layout.html`` in each framework's templates) and the templates.
"""

from __future__ import annotations

from ._admin import DEFAULT_MAX_METADATA_BYTES, AdminEvent, AdminPages, AdminRequest
from ._admin_domains import DomainsView, DomainView
from ._admin_pages import (
    STYLESHEET,
    CertificateView,
    ConnectView,
    GuideView,
    IdpView,
    LoginView,
    MappingView,
    Problem,
    StatusView,
    Templates,
    esc,
)
from ._admin_scim import ScimTokenView, ScimView
from ._admin_test import AdminService, TestResultView
from ._web import ADMIN_LAYOUT, PageParts, WebResponse

__all__ = [
    "ADMIN_LAYOUT",
    "DEFAULT_MAX_METADATA_BYTES",
    "STYLESHEET",
    "AdminEvent",
    "AdminPages",
    "AdminRequest",
    "AdminService",
    "CertificateView",
    "ConnectView",
    "DomainView",
    "DomainsView",
    "GuideView",
    "IdpView",
    "LoginView",
    "MappingView",
    "PageParts",
    "Problem",
    "ScimTokenView",
    "ScimView",
    "StatusView",
    "Templates",
    "TestResultView",
    "WebResponse",
    "esc",
]
