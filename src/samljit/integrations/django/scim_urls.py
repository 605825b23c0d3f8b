"""``path("scim/v2/", include("samljit.integrations.django.scim_urls"))``: each account's SCIM
endpoint under ``<account>/`` (named ``samljit_scim:scim``), answered by the ``SAMLJIT_SCIM``
service (404 until it is set)."""

from __future__ import annotations

from django.urls import path

from .scim_views import scim_view

app_name = "samljit_scim"

urlpatterns = [
    path("<str:account_id>", scim_view, name="scim_root"),
    path("<str:account_id>/", scim_view, name="scim_root_slash"),
    path("<str:account_id>/<path:path>", scim_view, name="scim"),
]
