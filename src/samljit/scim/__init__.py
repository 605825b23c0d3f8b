"""SCIM 2.0 provisioning (RFC 7643, RFC 7644): the endpoint through which each account's IdP
creates, updates, deactivates and deletes its users and groups, writing the same users as
SAML logins. Needs the ``[scim]`` extra (scim2-models).

::

    tokens = ScimTokens(SQLiteScimTokenStore("app.sqlite3"))
    scim = ScimService(accounts=accounts, directory=directory, tokens=tokens,
                       session_revoker=sessions, account_for_domain=owner)
    response = scim.handle(ScimRequest(method="GET", account_id="acme", path="Users",
                                       base_url="https://app.example.com/scim/v2/acme",
                                       authorization=request.headers["Authorization"]))

The Flask, FastAPI and Django adapters mount it under ``/scim/v2/{account}/`` (docs/scim.md).
"""

from .._extras import missing_extra

try:
    import scim2_models  # noqa: F401
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise missing_extra(__name__, "scim", exc) from exc

from ._documents import CONTENT_TYPE
from ._service import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_PAGE_SIZE,
    ScimRequest,
    ScimResponse,
    ScimService,
)

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_PAGE_SIZE",
    "ScimRequest",
    "ScimResponse",
    "ScimService",
]
