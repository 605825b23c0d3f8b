"""The SCIM documents: users and groups as JSON resources, list responses, errors and the
discovery endpoints (RFC 7643, RFC 7644 §4), built with scim2-models."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    Group,
    ListResponse,
    Mutability,
    ResourceType,
    ResponseParameters,
    Schema,
    ServiceProviderConfig,
    User,
)
from scim2_models import Error as ErrorDocument

from ..errors import ScimError, ScimInvalid
from ..protocols import DirectoryGroup, DirectoryUser

UserModel = User[EnterpriseUser]
"""The User resource this service serves: the core schema and the enterprise extension."""

CONTENT_TYPE = "application/scim+json"
MAX_FILTER_RESULTS = 10_000

# What is never kept of a User the IdP wrote: what the service owns, and the password
# (writeOnly, RFC 7643 §4.1.1: users sign in at the IdP; samljit keeps no password).
_HIDDEN = ("id", "meta", "groups", "schemas", "password")


def parse_json(body: bytes) -> dict[str, Any]:
    """The request's JSON object, or ``invalidSyntax``."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScimInvalid(f"the body is not JSON: {exc}", scim_type="invalidSyntax") from exc
    if not isinstance(data, dict):
        raise ScimInvalid("the body is not a JSON object", scim_type="invalidSyntax")
    return data


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def manager_reference(value: Any, base: str) -> Any:
    """The enterprise ``manager`` as scim2-models needs it, with its ``$ref``: IdPs send only
    the manager's ID (Entra ID as a bare string in PATCH, ``{"value": id}`` elsewhere)."""
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, Mapping) and isinstance(value.get("value"), str) and "$ref" not in value:
        return {**value, "$ref": f"{base}/Users/{value['value']}"}
    return value


def with_references(data: Mapping[str, Any], base: str) -> dict[str, Any]:
    """``data`` with the references IdPs leave out filled in (the manager's ``$ref``)."""
    extension = data.get(ENTERPRISE)
    if isinstance(extension, Mapping) and "manager" in extension:
        manager = manager_reference(extension["manager"], base)
        return {**data, ENTERPRISE: {**extension, "manager": manager}}
    return dict(data)


def validated_user(data: Mapping[str, Any], context: Context) -> Any:
    """``data`` as a User of this service, or ``invalidValue`` saying what is wrong."""
    try:
        return UserModel.model_validate(dict(data), scim_ctx=context)
    except ValidationError as exc:
        raise ScimInvalid(f"not a valid User: {_first(exc)}", scim_type="invalidValue") from exc


def validated_group(data: Mapping[str, Any], context: Context) -> Group:
    """``data`` as a Group, or ``invalidValue``."""
    try:
        return Group.model_validate(dict(data), scim_ctx=context)
    except ValidationError as exc:
        raise ScimInvalid(f"not a valid Group: {_first(exc)}", scim_type="invalidValue") from exc


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", ""))


def stored_resource(user: Any) -> dict[str, Any]:
    """What is kept of a validated User: everything the IdP wrote but what the service
    owns (``id``, ``meta``, ``groups``) and the ``password``, which is never stored."""
    data: dict[str, Any] = user.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    return {k: v for k, v in data.items() if k not in _HIDDEN}


def user_model(entry: DirectoryUser, groups: Sequence[DirectoryGroup], base: str) -> Any:
    """The User resource of ``entry``: what the IdP wrote, with the app's own values of the
    fields the app owns (the email as ``userName``, ``active`` unless unassigned while the
    user is active), its groups and its meta."""
    record = entry.user
    data: dict[str, Any] = dict(entry.resource)
    if not data:  # written only by SAML logins: what the app knows
        data = {
            "displayName": record.full_name,
            "emails": [{"value": record.email, "primary": True, "type": "work"}],
            "roles": [{"value": record.role, "primary": True}],
            "active": record.active,
        }
    if "active" in data or not record.active:
        # Unassigned (never written, or removed by a PATCH) means active: it stays so.
        data["active"] = record.active
    data.update(
        {
            "id": record.user_id,
            "userName": record.email,
            "externalId": entry.external_id,
            "groups": [
                {
                    "value": g.group_id,
                    "display": g.display_name,
                    "$ref": f"{base}/Groups/{g.group_id}",
                }
                for g in groups
            ],
            "meta": _meta(
                "User",
                f"{base}/Users/{record.user_id}",
                entry.created_at,
                entry.updated_at,
                entry.version,
            ),
        }
    )
    cleaned = {k: v for k, v in data.items() if v is not None}
    try:
        return UserModel.model_validate(cleaned, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    except ValidationError:
        if entry.resource:
            raise
        # A SAML user whose address email-validator refuses (a special-use domain such as
        # .test) is still listed: its userName carries the address.
        cleaned.pop("emails", None)
        return UserModel.model_validate(cleaned, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def group_model(group: DirectoryGroup, base: str) -> Group:
    """The Group resource of ``group``. A member's ``display`` is not kept (the schema
    declares it read-only), so that a group reads back as the IdP wrote it."""
    data: dict[str, Any] = {
        "id": group.group_id,
        "displayName": group.display_name,
        "externalId": group.external_id,
        "members": [
            {
                "value": m,
                "$ref": f"{base}/Users/{m}",
                "type": "User",
            }
            for m in group.members
        ],
        "meta": _meta(
            "Group",
            f"{base}/Groups/{group.group_id}",
            group.created_at,
            group.updated_at,
            group.version,
        ),
    }
    return Group.model_validate(
        {k: v for k, v in data.items() if v is not None},
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
    )


def _meta(
    kind: str, location: str, created: datetime | None, updated: datetime | None, version: int
) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceType": kind, "location": location, "version": f'W/"{version}"'}
    if created is not None:
        meta["created"] = created.isoformat()
    if updated is not None:
        meta["lastModified"] = updated.isoformat()
    return meta


def response_parameters(query: Mapping[str, str]) -> ResponseParameters[Any] | None:
    """``attributes`` / ``excludedAttributes`` of the query, or None."""
    attributes = _names(query.get("attributes"))
    excluded = _names(query.get("excludedAttributes"))
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters.model_validate(
            {"attributes": attributes or None, "excludedAttributes": excluded or None}
        )
    except ValidationError as exc:
        raise ScimInvalid(f"bad attributes: {_first(exc)}", scim_type="invalidPath") from exc


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").split(",") if n.strip()]


def dump(model: Any, context: Context, parameters: ResponseParameters[Any] | None = None) -> bytes:
    """The JSON of a resource or message."""
    data = model.model_dump(scim_ctx=context, response_parameters=parameters)
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def list_document(
    models: Sequence[Any],
    total: int,
    start: int,
    kind: type[Any],
    parameters: ResponseParameters[Any] | None,
) -> bytes:
    """A ListResponse of ``models`` (one page)."""
    page = ListResponse[kind](  # type: ignore[valid-type]
        total_results=total, start_index=start, items_per_page=len(models), resources=list(models)
    )
    return dump(page, Context.SEARCH_RESPONSE, parameters)


def error_document(exc: ScimError) -> bytes:
    """RFC 7644 §3.12: the error's status, scimType and detail (with samljit's code)."""
    document = ErrorDocument(
        status=exc.status, scim_type=exc.scim_type, detail=f"{exc.code}: {exc.message}"
    )
    return json.dumps(document.model_dump(), separators=(",", ":")).encode("utf-8")


def service_provider_config(documentation: str | None, max_results: int) -> ServiceProviderConfig:
    """What this service supports: PATCH and filters; not bulk, sort, ETags or passwords."""
    data: dict[str, Any] = {
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A bearer token of the account, issued by its administrator.",
                "primary": True,
            }
        ],
    }
    if documentation:
        data["documentationUri"] = documentation
    return ServiceProviderConfig.model_validate(data)


def resource_types() -> list[ResourceType]:
    """The User and Group resource types."""
    return [ResourceType.from_resource(UserModel), ResourceType.from_resource(Group)]


def schemas() -> list[Schema]:
    """The schemas of User, the enterprise extension and Group, as this service serves
    them: a member's ``display`` is the member's ``userName``, so it is read-only."""
    group = Group.to_schema()
    for attribute in group.attributes or []:
        if attribute.name == "members":
            for sub in attribute.sub_attributes or []:
                if sub.name == "display":
                    sub.mutability = Mutability.read_only
    return [User.to_schema(), EnterpriseUser.to_schema(), group]
