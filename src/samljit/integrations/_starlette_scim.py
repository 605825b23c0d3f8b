"""The SCIM endpoint as Starlette routes (mounted by
:class:`~samljit.integrations.fastapi.SamlSso` when given ``scim=``)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

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
from ._starlette_bodies import TooLarge, bounded_body

__all__ = ["scim_mount"]


def scim_mount(scim: ScimService, prefix: str) -> Mount:
    """The mount ``samljit_scim``: every SCIM request under ``{prefix}/{account}/``, answered
    on a worker thread (the service and its stores are synchronous)."""

    async def endpoint(request: Request) -> Response:
        length = declared_length(request.headers.get("content-length"))
        if over_limit(scim, length):
            return _respond(too_large(scim, length))
        try:
            body = await bounded_body(request, scim.max_body_bytes)
        except TooLarge:
            return _respond(too_large(scim))
        account_id = request.path_params["account_id"]
        scim_call = scim_request(
            method=request.method,
            account_id=account_id,
            path=request.path_params.get("path", ""),
            base_url=scim_base_url(str(request.base_url), prefix, account_id),
            query=request.query_params.multi_items(),
            authorization=request.headers.get("authorization"),
            body=body,
        )
        return _respond(await run_in_threadpool(scim.handle, scim_call))

    routes = [
        Route("/{account_id}", endpoint, methods=SCIM_METHODS),
        Route("/{account_id}/{path:path}", endpoint, methods=SCIM_METHODS),
    ]
    return Mount(scim_prefix(prefix), routes=routes, name="samljit_scim")


def _respond(response: ScimResponse) -> Response:
    return Response(
        response.body,
        status_code=response.status,
        media_type=response.content_type or None,
        headers=dict(response.headers),
    )
