"""The SCIM endpoint as a Flask blueprint (mounted by
:class:`~samljit.integrations.flask.SamlSso` when given ``scim=``)."""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..scim import ScimResponse, ScimService
from ._scim_web import (
    SCIM_METHODS,
    declared_length,
    over_limit,
    scim_base_url,
    scim_prefix,
    scim_request,
    too_large,
)

__all__ = ["scim_blueprint"]


def scim_blueprint(scim: ScimService, prefix: str) -> Blueprint:
    """The blueprint ``samljit_scim``: every SCIM request under ``{prefix}/{account}/``."""
    blueprint = Blueprint("samljit_scim", __name__, url_prefix=scim_prefix(prefix))

    def endpoint(account_id: str, path: str) -> Response:
        length = declared_length(request.headers.get("Content-Length"))
        if over_limit(scim, length):
            return _respond(too_large(scim, length))
        request.max_content_length = scim.max_body_bytes  # also bounds a chunked body
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return _respond(too_large(scim))
        response = scim.handle(
            scim_request(
                method=request.method,
                account_id=account_id,
                path=path,
                base_url=scim_base_url(request.url_root, prefix, account_id),
                query=request.args.items(multi=True),
                authorization=request.headers.get("Authorization"),
                body=body,
            )
        )
        return _respond(response)

    endpoint.__name__ = "scim"
    add, methods = blueprint.add_url_rule, SCIM_METHODS
    # The account's root itself, with or without its slash (no redirect for an API client).
    root = {"path": ""}
    add("/<account_id>/", "scim", endpoint, methods=methods, defaults=root, strict_slashes=False)
    add("/<account_id>/<path:path>", "scim", endpoint, methods=methods)
    return blueprint


def _respond(response: ScimResponse) -> Response:
    answer = Response(response.body, status=response.status, headers=dict(response.headers))
    if response.content_type:
        answer.content_type = response.content_type
    else:  # 204 No Content
        answer.headers.remove("Content-Type")
    return answer
