"""``path("sso/", include("samljit.integrations.django.urls"))``: the endpoints listed in
:mod:`samljit.integrations`, named ``samljit:<view>``, and the administrator's pages under
``admin/<account>/`` (``samljit:admin``, ``samljit:admin_page``; see ``SAMLJIT_ADMIN``)."""

from __future__ import annotations

from django.urls import path

from . import admin_views, views

app_name = "samljit"

urlpatterns = [
    path("", views.sso_page, name="sso_page"),
    path("logout", views.logout, name="logout"),
    path("<str:account_id>/login", views.login, name="login"),
    path("<str:account_id>/acs", views.acs, name="acs"),
    path("<str:account_id>/metadata", views.metadata, name="metadata"),
    path("<str:account_id>/slo", views.slo, name="slo"),
    # The administrator's pages: 404 until SAMLJIT_ADMIN is set (admin_views).
    path("admin/<str:account_id>/", admin_views.admin_view, name="admin"),
    path("admin/<str:account_id>/<path:path>", admin_views.admin_view, name="admin_page"),
]
