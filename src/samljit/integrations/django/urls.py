"""``path("sso/", include("samljit.integrations.django.urls"))``: the endpoints listed in
:mod:`samljit.integrations`, named ``samljit:<view>``."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "samljit"

urlpatterns = [
    path("", views.sso_page, name="sso_page"),
    path("logout", views.logout, name="logout"),
    path("<str:account_id>/login", views.login, name="login"),
    path("<str:account_id>/acs", views.acs, name="acs"),
    path("<str:account_id>/metadata", views.metadata, name="metadata"),
    path("<str:account_id>/slo", views.slo, name="slo"),
]
