"""The SCIM 2.0 service provider of every account, written once for every framework: an
adapter turns each request under ``/scim/v2/{account}/`` into a :class:`ScimRequest` and
:meth:`ScimService.handle`'s :class:`ScimResponse` into its own.

Before anything else, the bearer token must be an active token of the account in the URL
(401 otherwise) and the app's rate-limit hook must agree (429); a body over the limit is
refused unread by the adapter (413). Users and groups of another account are not found
(404). Every change is an :class:`~samljit.AuditEvent` with ``source="scim"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, Group, ResourceType, Schema, SCIMException, ScimFilter

from .._accounts import AccountConfig
from .._context import owner_of_email
from .._flow import run_sync
from .._results import AuditEvent
from ..directory import ScimTokens
from ..errors import (
    ClaimError,
    ProvisioningError,
    SamlError,
    ScimError,
    ScimInvalid,
    ScimMethodNotAllowed,
    ScimNotFound,
    ScimNotSupported,
    ScimRateLimited,
    ScimTooLarge,
    ScimUnauthorized,
)
from ..protocols import (
    AccountStore,
    DirectoryStore,
    ScimToken,
    SessionRevoker,
)
from ._documents import (
    CONTENT_TYPE,
    UserModel,
    dump,
    error_document,
    group_model,
    list_document,
    parse_json,
    resource_types,
    response_parameters,
    schemas,
    service_provider_config,
    user_model,
    validated_group,
)
from ._groups import GroupWrites
from ._users import UserWrites

__all__ = ["ScimRequest", "ScimResponse", "ScimService"]

audit_log = logging.getLogger("samljit.audit")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimRequest:
    """One SCIM request, in plain values."""

    method: str
    account_id: str
    path: str = ""
    """The part after the account's SCIM root, e.g. ``Users/42``."""
    base_url: str
    """The account's SCIM root as the IdP reaches it, without a trailing slash (e.g.
    ``https://app.example.com/scim/v2/acme``), for ``meta.location``."""
    query: Mapping[str, str] = field(default_factory=dict)
    authorization: str | None = None
    """The ``Authorization`` header."""
    body: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimResponse:
    """A framework-neutral SCIM response."""

    status: int = 200
    body: bytes = b""
    content_type: str = CONTENT_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Call:
    """A request that passed authentication: the account, its configuration and who acts."""

    request: ScimRequest
    token: ScimToken
    config: AccountConfig | None

    @property
    def account_id(self) -> str:
        return self.request.account_id

    @property
    def base(self) -> str:
        return self.request.base_url.rstrip("/")


class ScimService:
    """The SCIM endpoint of every account (RFC 7643, RFC 7644): ``Users``, ``Groups``,
    ``ServiceProviderConfig``, ``ResourceTypes`` and ``Schemas``.

    SCIM and SAML write the same users: the ``userName`` is the email, normalized by the
    rule of SAML NameIDs; the name and role go through the account's claim mapping (the
    ``roles`` values and group memberships as role and group claims) and the domain
    ownership rule applies. ``active: false`` deactivates a user: its SAML logins are
    refused (``user_deactivated``) and its sessions revoked through ``session_revoker``.

    Args:
        accounts: the accounts' SSO configurations (mapping and policy).
        directory: the users and groups.
        tokens: the accounts' bearer tokens.
        session_revoker: ends a deactivated user's sessions.
        account_for_domain: who owns an email domain (as for the login service).
        domain_owner_covers_subdomains: as for the login service.
        audit: called with every change.
        clock: the current time.
        max_body_bytes: the largest request body (adapters refuse larger ones unread).
        max_page_size: the most resources one list response holds.
        rate_limit: ``(account_id, token_id) -> bool``: False refuses the request (429).
        documentation_uri: shown in ``ServiceProviderConfig``.
    """

    def __init__(
        self,
        *,
        accounts: AccountStore,
        directory: DirectoryStore,
        tokens: ScimTokens,
        session_revoker: SessionRevoker | None = None,
        account_for_domain: Callable[[str], str | None] | None = None,
        domain_owner_covers_subdomains: bool = True,
        audit: Callable[[AuditEvent], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
        rate_limit: Callable[[str, str], bool] | None = None,
        documentation_uri: str | None = None,
    ) -> None:
        self.accounts = accounts
        self.directory = directory
        self.tokens = tokens
        self.max_body_bytes = max_body_bytes
        self.max_page_size = max_page_size
        self._rate_limit = rate_limit
        self._documentation = documentation_uri
        self._clock = clock or (lambda: datetime.now(UTC))
        self._audit = audit

        def owner(email: str) -> str | None:
            return run_sync(
                owner_of_email(account_for_domain, domain_owner_covers_subdomains, email)
            )

        self._users = UserWrites(directory, session_revoker, owner, self._emit, self._clock)
        self._groups = GroupWrites(directory, self._users, self._emit, self._clock)

    # --- dispatch -------------------------------------------------------------------------

    def handle(self, request: ScimRequest) -> ScimResponse:
        """Answer one request: size, token, rate limit, then the resource."""
        try:
            if len(request.body) > self.max_body_bytes:
                raise ScimTooLarge(
                    f"the body is {len(request.body)} bytes; at most {self.max_body_bytes}",
                    expected=self.max_body_bytes,
                    found=len(request.body),
                )
            call = self._authenticated(request)
            return self._route(call)
        except ScimError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'} if exc.status == 401 else {}
            return ScimResponse(status=exc.status, body=error_document(exc), headers=headers)
        except (ClaimError, ProvisioningError) as exc:
            invalid = ScimInvalid(exc.message, scim_type="invalidValue", found=exc.code)
            invalid.code = exc.code  # type: ignore[misc]
            return ScimResponse(status=400, body=error_document(invalid))
        except (SCIMException, ValidationError) as exc:
            # What scim2-models refuses past the checks above (a path or value it cannot use).
            scim_type = getattr(exc, "scim_type", None) or "invalidValue"
            invalid = ScimInvalid(
                f"the request cannot be applied: {exc}"[:500], scim_type=str(scim_type)
            )
            return ScimResponse(status=400, body=error_document(invalid))

    def _authenticated(self, request: ScimRequest) -> _Call:
        scheme, _, secret = (request.authorization or "").partition(" ")
        token = (
            self.tokens.authenticate(request.account_id, secret.strip())
            if scheme.lower() == "bearer" and secret.strip()
            else None
        )
        if token is None:
            raise ScimUnauthorized("a bearer token of this account is required")
        if (
            self._rate_limit is not None
            and self._rate_limit(request.account_id, token.token_id) is not True
        ):
            raise ScimRateLimited("too many requests: try again later")
        return _Call(request=request, token=token, config=self.accounts.get(request.account_id))

    def _route(self, call: _Call) -> ScimResponse:
        method = call.request.method.upper()
        parts = [p for p in call.request.path.strip("/").split("/") if p]
        kind, ident = [*parts, "", ""][:2]
        if len(parts) > 2:
            raise ScimNotFound(f"no such endpoint {call.request.path!r}")
        if kind in ("ServiceProviderConfig", "ResourceTypes", "Schemas") and method != "GET":
            raise _not_allowed(method, "GET")  # RFC 7644 §4: discovery is read-only
        if kind == "ServiceProviderConfig" and not ident:
            config = service_provider_config(self._documentation, self.max_page_size)
            return self._ok(dump(config, Context.RESOURCE_QUERY_RESPONSE))
        if kind in ("ResourceTypes", "Schemas"):
            return self._discovery(kind, ident)
        if kind == ".search" or ident == ".search":
            # RFC 7644 §3.4.3: POST .search is optional; filter with GET instead.
            raise ScimNotSupported("POST .search is not supported: filter with GET")
        if kind == "Users":
            return self._users_endpoint(call, method, ident)
        if kind == "Groups":
            return self._groups_endpoint(call, method, ident)
        if kind == "Bulk":
            raise ScimNotSupported("bulk operations are not supported (ServiceProviderConfig)")
        raise ScimNotFound(f"no such endpoint {call.request.path!r}")

    def _discovery(self, kind: str, ident: str) -> ScimResponse:
        model: Any = ResourceType if kind == "ResourceTypes" else Schema
        items: list[Any] = list(resource_types() if kind == "ResourceTypes" else schemas())
        if ident:
            found = [i for i in items if i.id == ident]
            if not found:
                raise ScimNotFound(f"no {kind} {ident!r}")
            return self._ok(dump(found[0], Context.RESOURCE_QUERY_RESPONSE))
        return self._ok(list_document(items, len(items), 1, model, None))

    # --- Users ----------------------------------------------------------------------------

    def _users_endpoint(self, call: _Call, method: str, ident: str) -> ScimResponse:
        query = call.request.query
        parameters = response_parameters(query)
        if not ident:
            if method == "GET":
                return self._list_users(call, parameters)
            if method == "POST":
                entry = self._users.create(call, parse_json(call.request.body))
                body = dump(self._user(call, entry), Context.RESOURCE_CREATION_RESPONSE, parameters)
                location = f"{call.base}/Users/{entry.user.user_id}"
                return ScimResponse(status=201, body=body, headers={"Location": location})
            raise _not_allowed(method, "GET, POST")
        if method == "GET":
            entry = self._users.get(call, ident)
        elif method == "PUT":
            entry = self._users.replace(call, ident, parse_json(call.request.body))
        elif method == "PATCH":
            entry = self._users.patch(call, ident, parse_json(call.request.body))
        elif method == "DELETE":
            self._users.delete(call, ident)
            return ScimResponse(status=204, content_type="")
        else:
            raise _not_allowed(method, "GET, PUT, PATCH, DELETE")
        return self._ok(dump(self._user(call, entry), Context.RESOURCE_QUERY_RESPONSE, parameters))

    def _user(self, call: _Call, entry: Any, groups: list[Any] | None = None) -> Any:
        if groups is None:
            groups = self._users.groups_of(call.account_id, entry.user.user_id)
        return user_model(entry, groups, call.base)

    def _list_users(self, call: _Call, parameters: Any) -> ScimResponse:
        start, count = self._page(call.request.query)
        text = call.request.query.get("filter")
        candidates = self._users.candidates(call, text)
        # The account's groups read once for the whole list, not once per user.
        groups = list(self.directory.groups(call.account_id))

        def model(entry: Any) -> Any:
            mine = [g for g in groups if entry.user.user_id in g.members]
            return self._user(call, entry, mine)

        if not text:  # no filter: only the page's users are built
            page = [model(e) for e in candidates[start - 1 : start - 1 + count]]
            return self._ok(list_document(page, len(candidates), start, UserModel, parameters))
        matcher = _filter(UserModel, text)
        models = [m for m in map(model, candidates) if matcher.match(m)]
        page = models[start - 1 : start - 1 + count]
        return self._ok(list_document(page, len(models), start, UserModel, parameters))

    # --- Groups ---------------------------------------------------------------------------

    def _groups_endpoint(self, call: _Call, method: str, ident: str) -> ScimResponse:
        parameters = response_parameters(call.request.query)
        if not ident:
            if method == "GET":
                return self._list_groups(call, parameters)
            if method == "POST":
                group = self._groups.create(
                    call,
                    validated_group(
                        parse_json(call.request.body), Context.RESOURCE_CREATION_REQUEST
                    ),
                )
                body = dump(
                    self._group(call, group), Context.RESOURCE_CREATION_RESPONSE, parameters
                )
                location = f"{call.base}/Groups/{group.group_id}"
                return ScimResponse(status=201, body=body, headers={"Location": location})
            raise _not_allowed(method, "GET, POST")
        if method == "GET":
            group = self._groups.get(call, ident)
        elif method == "PUT":
            group = self._groups.replace(call, ident, parse_json(call.request.body))
        elif method == "PATCH":
            group = self._groups.patch(call, ident, parse_json(call.request.body))
        elif method == "DELETE":
            self._groups.delete(call, ident)
            return ScimResponse(status=204, content_type="")
        else:
            raise _not_allowed(method, "GET, PUT, PATCH, DELETE")
        return self._ok(dump(self._group(call, group), Context.RESOURCE_QUERY_RESPONSE, parameters))

    def _list_groups(self, call: _Call, parameters: Any) -> ScimResponse:
        start, count = self._page(call.request.query)
        text = call.request.query.get("filter")
        groups = list(self.directory.groups(call.account_id))
        if not text:  # no filter: only the page's groups are built, as for users
            page = [self._group(call, g) for g in groups[start - 1 : start - 1 + count]]
            return self._ok(list_document(page, len(groups), start, Group, parameters))
        matcher = _filter(Group, text)
        models = [m for m in (self._group(call, g) for g in groups) if matcher.match(m)]
        page = models[start - 1 : start - 1 + count]
        return self._ok(list_document(page, len(models), start, Group, parameters))

    def _group(self, call: _Call, group: Any) -> Group:
        return group_model(group, call.base)

    # --- helpers --------------------------------------------------------------------------

    def _page(self, query: Mapping[str, str]) -> tuple[int, int]:
        if "sortBy" in query:
            raise ScimNotSupported("sorting is not supported (ServiceProviderConfig sort)")
        try:
            start = max(1, int(query.get("startIndex", "1")))
            count = int(query.get("count", str(self.max_page_size)))
        except ValueError as exc:
            raise ScimInvalid("startIndex and count must be integers") from exc
        return start, max(0, min(count, self.max_page_size))

    @staticmethod
    def _ok(body: bytes) -> ScimResponse:
        return ScimResponse(status=200, body=body)

    def _emit(self, event: AuditEvent) -> None:
        audit_log.info(
            "%s account=%s email=%s by=%s changes=%s",
            event.name,
            event.account_id,
            event.email,
            event.admin_id,
            dict(event.changes) or None,
            extra={"samljit_event": event},
        )
        if self._audit is not None:
            self._audit(event)


def _filter(model: Any, text: str) -> Any:
    try:
        return ScimFilter[model](text)
    except (ValueError, TypeError, SamlError, SCIMException) as exc:
        raise ScimInvalid(f"bad filter {text[:200]!r}: {exc}", scim_type="invalidFilter") from exc


def _not_allowed(method: str, allowed: str) -> ScimMethodNotAllowed:
    return ScimMethodNotAllowed(f"{method} is not allowed here (allowed: {allowed})")
