"""Attribute names each IdP really sends, as ClaimMapping presets (data only).

Sources: ../shared/FIELD-NOTES.md section 2 and each vendor's documentation. Okta, OneLogin,
Google Workspace and JumpCloud send only the NameID until an administrator adds attribute
statements, so their presets list the names their setup guides use; Entra ID, AD FS and
Keycloak send claim URIs. Entra ID's ``.../claims/name`` is the UPN, not a display name, so it
is never used for the full name.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["PRESETS"]

_XMLSOAP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
_MS_ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
_MS_GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
_OID_MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
_OID_EMAIL = "urn:oid:1.2.840.113549.1.9.1"
_OID_GIVEN = "urn:oid:2.5.4.42"
_OID_SURNAME = "urn:oid:2.5.4.4"
_OID_DISPLAY = "urn:oid:2.16.840.1.113730.3.1.241"

_GENERIC: dict[str, Any] = {
    "email_attributes": ("email", "Email", "mail", f"{_XMLSOAP}emailaddress", _OID_MAIL),
    "full_name_attributes": (
        "full_name",
        "fullName",
        "displayName",
        "name",
        "http://schemas.microsoft.com/identity/claims/displayname",
        _OID_DISPLAY,
    ),
    "first_name_attributes": (
        "firstName",
        "givenName",
        "given_name",
        f"{_XMLSOAP}givenname",
        _OID_GIVEN,
    ),
    "last_name_attributes": (
        "lastName",
        "sn",
        "surname",
        "family_name",
        f"{_XMLSOAP}surname",
        _OID_SURNAME,
    ),
    "role_attributes": ("role", "Role", "roles", _MS_ROLE),
    "group_attributes": ("groups", "memberOf", "Group", _MS_GROUPS),
}

PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "generic": MappingProxyType(_GENERIC),
        "okta": MappingProxyType(
            {
                "email_attributes": ("email", "Email"),
                "full_name_attributes": ("full_name", "name", "displayName"),
                "first_name_attributes": ("firstName",),
                "last_name_attributes": ("lastName",),
                "role_attributes": ("role",),
                "group_attributes": ("groups",),
            }
        ),
        "entra": MappingProxyType(
            {
                "email_attributes": (f"{_XMLSOAP}emailaddress", "email"),
                "full_name_attributes": (
                    "http://schemas.microsoft.com/identity/claims/displayname",
                    "full_name",
                ),
                "first_name_attributes": (f"{_XMLSOAP}givenname",),
                "last_name_attributes": (f"{_XMLSOAP}surname",),
                "role_attributes": (_MS_ROLE, "role"),
                "group_attributes": (_MS_GROUPS,),
            }
        ),
        "adfs": MappingProxyType(
            {
                "email_attributes": (f"{_XMLSOAP}emailaddress", f"{_XMLSOAP}upn"),
                "full_name_attributes": (f"{_XMLSOAP}name", "full_name"),
                "first_name_attributes": (f"{_XMLSOAP}givenname",),
                "last_name_attributes": (f"{_XMLSOAP}surname",),
                "role_attributes": (_MS_ROLE, "role"),
                "group_attributes": ("http://schemas.xmlsoap.org/claims/Group",),
            }
        ),
        "onelogin": MappingProxyType(
            {
                "email_attributes": ("email", "Email", "User.email"),
                "full_name_attributes": ("full_name", "name"),
                "first_name_attributes": ("firstName", "User.FirstName"),
                "last_name_attributes": ("lastName", "User.LastName"),
                "role_attributes": ("role", "roles"),
                "group_attributes": ("memberOf", "groups"),
            }
        ),
        "google": MappingProxyType(
            {
                "email_attributes": ("email", "Email"),
                "full_name_attributes": ("full_name", "name"),
                "first_name_attributes": ("firstName", "first_name"),
                "last_name_attributes": ("lastName", "last_name"),
                "role_attributes": ("role",),
                "group_attributes": ("groups",),
            }
        ),
        "keycloak": MappingProxyType(
            {
                "email_attributes": ("email", _OID_EMAIL, _OID_MAIL),
                "full_name_attributes": ("full_name", "name"),
                "first_name_attributes": ("givenName", "firstName", _OID_GIVEN),
                "last_name_attributes": ("surname", "lastName", _OID_SURNAME),
                "role_attributes": ("Role", "role"),
                "group_attributes": ("groups", "member"),
            }
        ),
        "jumpcloud": MappingProxyType(
            {
                "email_attributes": ("email", f"{_XMLSOAP}emailaddress"),
                "full_name_attributes": ("displayname", "full_name"),
                "first_name_attributes": ("firstname",),
                "last_name_attributes": ("lastname",),
                "role_attributes": ("role",),
                "group_attributes": ("memberOf", "groups"),
            }
        ),
    }
)
