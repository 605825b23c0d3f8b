"""The SCIM endpoint (:mod:`samljit.scim`) as a Django view; mount it with
``path("scim/v2/", include("samljit.integrations.django.scim_urls"))``.

Settings:
    SAMLJIT_SCIM: the :class:`~samljit.scim.ScimService`, a zero-argument callable returning
        one, or the dotted path of either (resolved on first use, once). Without it every
        SCIM URL answers 404.

The view is exempt from Django's CSRF check: an IdP calls it with the account's bearer
token, never a browser with cookies. The body is refused (413) before it is read when its
``Content-Length`` is over ``ScimService.max_body_bytes``, and read no further than that
otherwise.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ...scim import ScimResponse, ScimService
from .._scim_web import declared_length, over_limit, scim_request, too_large
from ._settings import SettingObject

__all__ = ["get_scim_service", "scim_view"]

_SCIM = SettingObject("SAMLJIT_SCIM", ScimService, "a samljit.scim.ScimService")


def get_scim_service() -> ScimService | None:
    """The ``SAMLJIT_SCIM`` service, resolved once; None when the setting is absent."""
    return _SCIM.get()


@csrf_exempt
def scim_view(request: HttpRequest, account_id: str, path: str = "") -> HttpResponse:
    """Every SCIM request of ``account_id`` (``path`` after its SCIM root, e.g.
    ``Users/42``); 404 without ``SAMLJIT_SCIM``."""
    scim = get_scim_service()
    if scim is None:
        raise Http404("SAMLJIT_SCIM is not set")
    length = declared_length(request.META.get("CONTENT_LENGTH"))
    if over_limit(scim, length):
        return _respond(too_large(scim, length))
    body = request.read(scim.max_body_bytes + 1)
    if len(body) > scim.max_body_bytes:
        return _respond(too_large(scim))
    root = request.path[: len(request.path) - len(path)] if path else request.path
    response = scim.handle(
        scim_request(
            method=request.method or "GET",
            account_id=account_id,
            path=path,
            base_url=request.build_absolute_uri(root).rstrip("/"),
            query=((name, value) for name, values in request.GET.lists() for value in values),
            authorization=request.headers.get("Authorization"),
            body=body,
        )
    )
    return _respond(response)


def _respond(response: ScimResponse) -> HttpResponse:
    answer = HttpResponse(response.body, status=response.status)
    if response.content_type:
        answer["Content-Type"] = response.content_type
    else:  # 204 No Content
        del answer["Content-Type"]
    for name, value in response.headers.items():
        answer[name] = value
    return answer
