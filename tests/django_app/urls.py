"""The test project's URLs: samljit under /sso/, its SCIM endpoint under /scim/v2/, and a
home page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"home of {request.user}")


urlpatterns = [
    path("", home),
    path("sso/", include("samljit.integrations.django.urls")),
    path("scim/v2/", include("samljit.integrations.django.scim_urls")),
]
