"""What every adapter does to mount :class:`~samljit.scim.ScimService` beside the SSO
endpoints: the routes under ``{scim_prefix}/{account}/``, the request in plain values, the
body refused unread when it is over ``ScimService.max_body_bytes``.

The SCIM endpoint is an API called with a bearer token, never by a browser with cookies: the
adapters exempt it from their framework's CSRF check (the token is the proof), and pass the
``Authorization`` header and the query through to the service, which checks the token first.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ScimTooLarge
from ..scim import ScimRequest, ScimResponse, ScimService
from ..scim._documents import error_document

__all__ = [
    "DEFAULT_SCIM_PREFIX",
    "SCIM_METHODS",
    "declared_length",
    "first_values",
    "over_limit",
    "scim_base_url",
    "scim_prefix",
    "scim_request",
    "too_large",
]

DEFAULT_SCIM_PREFIX = "/scim/v2"
"""Where the adapters mount the SCIM endpoint: ``/scim/v2/{account}/Users`` and so on."""

SCIM_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
"""The methods routed to the service (it answers 405 where one does not apply)."""


def scim_prefix(prefix: str) -> str:
    """``prefix`` as a mount point: one leading slash, no trailing one."""
    return "/" + prefix.strip("/")


def scim_base_url(root: str, prefix: str, account_id: str) -> str:
    """The account's SCIM root under the request's URL root (scheme, host and the app's
    mount point, as the framework reports them behind its proxy settings), e.g.
    ``https://app.example.com/scim/v2/acme``: what ``meta.location`` and ``Location`` use."""
    return f"{root.rstrip('/')}{scim_prefix(prefix)}/{account_id}"


def declared_length(value: str | None) -> int | None:
    """The ``Content-Length`` header as a number; None when absent, -1 when not a number
    (refused as too large: the body cannot be bounded by it)."""
    if value is None or value == "":
        return None
    try:
        length = int(value)
    except ValueError:
        return -1
    return length if length >= 0 else -1


def too_large(service: ScimService, found: int | None = None) -> ScimResponse:
    """The 413 SCIM error of a body over ``service.max_body_bytes``, sent without reading it."""
    limit = service.max_body_bytes
    error = ScimTooLarge(
        f"the request body is larger than {limit} bytes", expected=limit, found=found
    )
    return ScimResponse(status=error.status, body=error_document(error))


def over_limit(service: ScimService, length: int | None) -> bool:
    """Whether a declared ``Content-Length`` (see :func:`declared_length`) is refused."""
    return length is not None and (length < 0 or length > service.max_body_bytes)


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The first value of each query parameter (``filter``, ``startIndex``, ``count``...)."""
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def scim_request(
    *,
    method: str,
    account_id: str,
    path: str,
    base_url: str,
    query: Iterable[tuple[str, str]],
    authorization: str | None,
    body: bytes,
) -> ScimRequest:
    """One request to the service, in plain values."""
    return ScimRequest(
        method=method.upper(),
        account_id=account_id,
        path=path,
        base_url=base_url,
        query=first_values(query),
        authorization=authorization,
        body=body,
    )
