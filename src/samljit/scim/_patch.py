"""RFC 7644 §3.5.2 PATCH requests as IdPs send them, read into scim2-models' ``PatchOp``.

Microsoft Entra ID sends two forms the RFC does not spell out, which are read as the
operations they stand for (its "Known issues and resolutions with SCIM 2.0 protocol
compliance" page):

- a path-less operation whose ``value`` keys are attribute paths, e.g.
  ``{"op": "replace", "value": {"name.givenName": "Ada", "emails[type eq \\"work\\"].value":
  "ada@acme.example"}}``: one operation per path;
- ``{"op": "Remove", "path": "members", "value": [{"value": "42"}]}``: the removal of those
  values, ``members[value eq "42"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp

from ..errors import ScimInvalid
from ._documents import manager_reference, with_references

__all__ = ["changes_password", "invalid", "patch_op"]


def patch_op(model: Any, data: Mapping[str, Any], base: str = "") -> Any:
    """``data`` as a ``PatchOp`` of ``model``, or ``invalidValue``; ``base`` (the account's
    SCIM root) completes the references IdPs leave out."""
    body = dict(data)
    operations = body.get("Operations")
    if isinstance(operations, list):
        body["Operations"] = [_referenced(o, base) for op in operations for o in _expanded(op)]
    try:
        return PatchOp[model].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    except ValidationError as exc:
        raise ScimInvalid(f"not a valid PatchOp: {exc.errors()[0].get('msg', '')}") from exc


def _expanded(operation: Any) -> list[Any]:
    if not isinstance(operation, Mapping):
        return [operation]
    op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
    if path is None and isinstance(value, Mapping):
        # Keys that are paths (dotted, filtered or URN-qualified) become operations of their own.
        plain = {k: v for k, v in value.items() if not _is_path(k)}
        paths = [{"op": op, "path": k, "value": v} for k, v in value.items() if _is_path(k)]
        return ([{"op": op, "value": plain}] if plain or not paths else []) + paths
    if (
        isinstance(op, str)
        and op.lower() == "remove"
        and isinstance(path, str)
        and "[" not in path
        and isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and isinstance(v.get("value"), str) for v in value)
    ):
        return [{"op": op, "path": f'{path}[value eq "{_quoted(v["value"])}"]'} for v in value]
    return [operation]


def _referenced(operation: Any, base: str) -> Any:
    if not isinstance(operation, Mapping) or "value" not in operation:
        return operation
    path, value = operation.get("path"), operation["value"]
    if isinstance(path, str) and path.lower().rsplit(":", 1)[-1] == "manager":
        return {**operation, "value": manager_reference(value, base)}
    if path is None and isinstance(value, Mapping):
        return {**operation, "value": with_references(value, base)}
    return operation


def _is_path(key: object) -> bool:
    return isinstance(key, str) and any(c in key for c in ".[:")


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def changes_password(data: Mapping[str, Any]) -> bool:
    """Whether a PatchOp sets the password (by ``path``, or in a path-less value)."""
    operations = data.get("Operations")
    for operation in operations if isinstance(operations, list) else []:
        if not isinstance(operation, Mapping):
            continue
        path = operation.get("path")
        value = operation.get("value")
        if isinstance(path, str) and path.strip().lower().rsplit(":", 1)[-1] == "password":
            return True
        if (
            path is None
            and isinstance(value, Mapping)
            and any(str(k).lower().rsplit(":", 1)[-1] == "password" for k in value)
        ):
            return True
    return False


def invalid(exc: Exception) -> ScimInvalid:
    """A patch scim2-models cannot apply, as an RFC 7644 §3.12 error of its scimType."""
    scim_type = getattr(exc, "scim_type", None) or "invalidValue"
    return ScimInvalid(f"the patch cannot be applied: {exc}", scim_type=str(scim_type))
