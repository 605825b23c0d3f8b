"""Reading a Starlette request's body with a bound: the SSO endpoints' urlencoded forms, the
admin pages' forms and uploads, and the SCIM endpoint's JSON (see
:mod:`samljit.integrations.fastapi`)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from ..errors import InputError
from ._form_fields import form_fields

__all__ = ["MAX_FORM_BYTES", "TooLarge", "admin_form", "bounded_body", "form", "saml_form"]

MAX_FORM_BYTES = 2 * 1024 * 1024
"""The largest POST body read (a SAMLResponse is limited to far less by SPConfig.limits)."""


class TooLarge(Exception):
    """The body is over the limit; the rest of it was not read."""


async def bounded_body(request: Request, limit: int) -> bytes:
    """The whole body when it is at most ``limit`` bytes; else TooLarge, having read at
    most one chunk past the limit."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


async def admin_form(request: Request, limit: int) -> tuple[dict[str, str], dict[str, bytes]]:
    """An admin POST's fields and uploaded files (first of each name), its body read whole
    only when at most ``limit`` bytes; an unreadable body gives no fields (so no CSRF token,
    a 403)."""
    data = await bounded_body(request, limit)

    async def replay() -> Message:
        return {"type": "http.request", "body": data, "more_body": False}

    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    try:
        async with Request(request.scope, replay).form(max_part_size=limit) as parsed:
            for name, value in parsed.multi_items():
                if isinstance(value, UploadFile):
                    files.setdefault(name, await value.read())
                else:
                    fields.setdefault(name, value)
    except (MultiPartException, HTTPException):  # the latter when the scope has an app
        return {}, {}
    return fields, files


async def _body(request: Request) -> str:
    try:
        body = await bounded_body(request, MAX_FORM_BYTES)
    except TooLarge:
        raise InputError(f"the POST body is larger than {MAX_FORM_BYTES} bytes") from None
    return body.decode("latin-1")


async def saml_form(request: Request) -> dict[str, str]:
    """The SAMLResponse, SAMLRequest and RelayState of the urlencoded POST body, read with a
    size bound; no other field is decoded."""
    return form_fields(await _body(request))


async def form(request: Request) -> dict[str, str]:
    """The urlencoded POST body (first value of each field), read with a size bound."""
    body = await _body(request)
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        fields.setdefault(name, value)
    return fields
