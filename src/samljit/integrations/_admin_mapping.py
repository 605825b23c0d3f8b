"""The claim mapping form of the admin pages: form fields to a ClaimMapping and sample claims."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._claims import ClaimMapping, Claims
from ..errors import ConfigError
from ..presets import PRESETS

__all__ = ["mapping_fields", "mapping_from_form", "sample_claims"]


def mapping_fields(mapping: ClaimMapping) -> dict[str, str]:
    """The form's fields filled in from ``mapping``."""
    return {
        "preset": "",
        "accepted_roles": ", ".join(mapping.accepted_roles),
        "account_attribute": mapping.account_attributes[0] if mapping.account_attributes else "",
        "group_attribute": mapping.group_attributes[0] if mapping.group_attributes else "",
        "group_roles": "\n".join(f"{rule.group} = {rule.role}" for rule in mapping.group_roles),
    }


def mapping_from_form(current: ClaimMapping, form: Mapping[str, str]) -> ClaimMapping:
    """``current`` with the form's changes: the preset's attribute names (when one is
    chosen), then the accepted roles, the account-id attribute, the groups attribute and the
    group-to-role rules. Settings the form does not show are kept.

    Raises:
        ConfigError: ``configuration_invalid``, an unknown preset, a rule without ``=`` or
            a role that is not accepted.
    """
    data: dict[str, Any] = current.to_dict()
    preset = form.get("preset", "").strip()
    if preset:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        data.update(PRESETS[preset])
    if "accepted_roles" in form:
        data["accepted_roles"] = _items(form["accepted_roles"])
    if "account_attribute" in form:
        data["account_attributes"] = _items(form["account_attribute"])[:1]
    if form.get("group_attribute", "").strip():
        data["group_attributes"] = _items(form["group_attribute"])[:1]
    if "group_roles" in form:
        rules = []
        for line in _lines(form["group_roles"]):
            group, sep, role = line.partition("=")
            if not sep or not group.strip() or not role.strip():
                raise ConfigError(f"a group-to-role rule is 'group = role', not {line!r}")
            rules.append({"group": group.strip(), "role": role.strip()})
        data["group_roles"] = rules
    return ClaimMapping.from_dict(data)


def sample_claims(form: Mapping[str, str]) -> Claims:
    """The sample claims of the form: a NameID and ``name = value`` lines (a name may repeat).

    Raises:
        ConfigError: ``configuration_invalid``, a line without ``=``.
    """
    attributes: dict[str, list[str]] = {}
    for line in _lines(form.get("sample_attributes", "")):
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"a sample attribute is 'name = value', not {line!r}")
        attributes.setdefault(name.strip(), []).append(value.strip())
    return Claims(
        name_id=form.get("sample_name_id", "").strip(),
        attributes={name: tuple(values) for name, values in attributes.items()},
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]
