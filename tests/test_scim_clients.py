"""The request sequences real IdPs send, replayed as their public provisioning docs show
them, against :class:`~samljit.scim.ScimService`:

- Okta, "Okta and SCIM Version 2.0"
  (https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20): before a create,
  ``GET /Users?filter=userName eq "..."&startIndex=1&count=100``; then ``POST /Users``;
  profile updates by ``PUT``; deactivation and reactivation by a path-less
  ``{"op": "replace", "value": {"active": false}}``; group push by ``POST /Groups`` and
  ``PATCH`` of ``members``.
- Microsoft Entra ID, "Tutorial: Develop and plan provisioning for a SCIM endpoint"
  (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups)
  and "Known issues and resolutions with SCIM 2.0 protocol compliance"
  (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility):
  a ``userName eq`` query before the create, the enterprise extension, capitalised ``op``
  values (``"Replace"``, ``"Add"``, ``"Remove"``), ``"active": "False"`` as a string, a
  path-less PATCH whose keys are paths (``"name.givenName"``,
  ``emails[type eq "work"].value``, URN-qualified extension attributes), groups created
  empty and filled by ``PATCH`` ``"Add"`` of ``members``, members removed by
  ``{"op": "Remove", "path": "members", "value": [{"value": ...}]}``, groups read with
  ``excludedAttributes=members``.

Each sequence runs twice: handed to the service as an adapter would, and over HTTP against
the endpoint served by uvicorn on 127.0.0.1. Each ends where it matters to the app: the user
row, SAML login refused (``user_deactivated``) and sessions revoked after the deactivation,
and restored after a reactivation.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from samljit.testing import TestIdP

from .scim_support import (
    ENTERPRISE,
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    ScimApp,
    new_app,
    serving,
)


@pytest.fixture(params=["in-process", "over-http"])
def scim(request: pytest.FixtureRequest, test_idp: TestIdP) -> Iterator[ScimApp]:
    """The app, called as an adapter would call ScimService, and over HTTP against the
    endpoint served by uvicorn on 127.0.0.1."""
    app = new_app(test_idp)
    if request.param == "in-process":
        yield app
        return
    with serving(app):
        yield app


def test_okta_user_lifecycle(scim: ScimApp) -> None:
    lookup = scim.send(
        "GET", 'Users?filter=userName eq "ada.lovelace@acme.example"&startIndex=1&count=100'
    )
    assert lookup.status == 200
    assert lookup["totalResults"] == 0
    assert lookup.json.get("Resources", []) == []

    created = scim.send(
        "POST",
        "Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": "ada.lovelace@acme.example",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"primary": True, "value": "ada.lovelace@acme.example", "type": "work"}],
            "displayName": "Ada Lovelace",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "roles": [{"value": "developer"}],
            "active": True,
        },
    )
    assert created.status == 201
    user_id = created["id"]
    again = scim.send(
        "GET", 'Users?filter=userName eq "ada.lovelace@acme.example"&startIndex=1&count=100'
    )
    assert [r["id"] for r in again["Resources"]] == [user_id]
    assert scim.send("GET", f"Users/{user_id}")["externalId"] == "00ujl29u0le5T6Aj10h7"

    # A profile change in Okta: the whole user by PUT.
    put = scim.send(
        "PUT",
        f"Users/{user_id}",
        {
            "schemas": [USER_SCHEMA],
            "id": user_id,
            "userName": "ada.lovelace@acme.example",
            "name": {"givenName": "Ada", "familyName": "King"},
            "emails": [{"primary": True, "value": "ada.lovelace@acme.example", "type": "work"}],
            "displayName": "Ada King",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "roles": [{"value": "admin"}],
            "active": True,
        },
    )
    assert put.status == 200
    user = scim.user("ada.lovelace@acme.example")
    assert (user.full_name, user.role) == ("Ada King", "admin")

    scim.saml_login("ada.lovelace@acme.example", role="admin")
    session = scim.open_session("ada.lovelace@acme.example")
    deactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    assert scim.send("PATCH", f"Users/{user_id}", deactivate)["active"] is False
    assert scim.sessions.load(session) is None
    assert scim.saml_refused("ada.lovelace@acme.example").code == "user_deactivated"

    reactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": True}}],
    }
    assert scim.send("PATCH", f"Users/{user_id}", reactivate)["active"] is True
    assert scim.saml_login("ada.lovelace@acme.example", role="admin").user.user_id == user_id
    assert [e.name for e in scim.scim_events()] == [
        "scim_user_created",
        "scim_user_updated",
        "scim_user_deactivated",
        "scim_user_reactivated",
    ]


def test_okta_group_push(scim: ScimApp) -> None:
    scim.with_mapping(scim.mapping.with_changes(unaccepted_role="default", default_role="viewer"))
    ada = scim.create_user("ada@acme.example", roles=[])["id"]
    grace = scim.create_user("grace@acme.example", roles=[])["id"]
    assert scim.send("GET", 'Groups?filter=displayName eq "Admins"')["totalResults"] == 0
    group = scim.send(
        "POST",
        "Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Admins",
            "members": [{"value": ada, "display": "ada@acme.example"}],
        },
    )
    assert group.status == 201
    assert scim.user("ada@acme.example").role == "admin"
    members = scim.patch(
        f"Groups/{group['id']}",
        {"op": "remove", "path": f'members[value eq "{ada}"]'},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": grace, "display": "grace@acme.example"}],
        },
    )
    assert [m["value"] for m in members["members"]] == [grace]
    assert scim.user("ada@acme.example").role == "viewer"
    assert scim.user("grace@acme.example").role == "admin"
    renamed = scim.patch(
        f"Groups/{group['id']}",
        {"op": "replace", "value": {"id": group["id"], "displayName": "Administrators"}},
    )
    assert renamed["displayName"] == "Administrators"
    assert scim.user("grace@acme.example").role == "viewer"  # no group_roles rule for it
    assert scim.send("DELETE", f"Groups/{group['id']}").status == 204


def test_entra_user_lifecycle(scim: ScimApp) -> None:
    lookup = scim.send("GET", 'Users?filter=userName eq "Test_User_ab6490ee@acme.example"')
    assert lookup["totalResults"] == 0

    created = scim.send(
        "POST",
        "Users",
        {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee@acme.example",
            "active": True,
            "emails": [
                {"primary": True, "type": "work", "value": "Test_User_fd0ea19b@acme.example"}
            ],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "roles": [
                {
                    "primary": "True",
                    "type": "WindowsAzureActiveDirectoryRole",
                    "value": "Engineering",
                }
            ],
            ENTERPRISE: {
                "employeeNumber": "1815",
                "department": "Engines",
            },
        },
    )
    assert created.status == 201
    user_id = created["id"]
    assert created["userName"] == "test_user_ab6490ee@acme.example"
    assert created[ENTERPRISE]["department"] == "Engines"
    user = scim.user("test_user_ab6490ee@acme.example")
    assert (user.full_name, user.role) == ("givenName familyName", "developer")
    by_name = scim.send("GET", 'Users?filter=userName eq "Test_User_ab6490ee@acme.example"')
    assert [r["id"] for r in by_name["Resources"]] == [user_id]
    by_external = scim.send(
        "GET", 'Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"'
    )
    assert [r["id"] for r in by_external["Resources"]] == [user_id]

    # "Update user [Multi-valued properties]" and "[Single-valued properties]".
    updated = scim.patch(
        f"Users/{user_id}",
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "updatedEmail@acme.example",
        },
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )
    assert updated.status == 200
    assert updated["emails"][0]["value"] == "updatedEmail@acme.example"
    assert updated["name"]["familyName"] == "updatedFamilyName"
    renamed = scim.patch(
        f"Users/{user_id}", {"op": "Replace", "path": "userName", "value": "5b50642d@acme.example"}
    )
    assert renamed["userName"] == "5b50642d@acme.example"
    assert scim.user("5b50642d@acme.example").user_id == user_id

    # The path-less form with paths for keys (the "aadOptscim062020" behaviour).
    pathless = scim.patch(
        f"Users/{user_id}",
        {
            "op": "replace",
            "value": {
                "displayName": "Ada Lovelace",
                'emails[type eq "work"].value': "ada@acme.example",
                "name.givenName": "Ada",
                "name.familyName": "Lovelace",
                f"{ENTERPRISE}:employeeNumber": "1816",
            },
        },
    )
    assert pathless.status == 200
    assert pathless["name"] == {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "formatted": "givenName familyName",
    }
    assert pathless["emails"][0]["value"] == "ada@acme.example"
    assert pathless[ENTERPRISE]["employeeNumber"] == "1816"
    assert scim.user("5b50642d@acme.example").full_name == "Ada Lovelace"
    added = scim.patch(f"Users/{user_id}", {"op": "Add", "value": {"nickName": "Babs"}})
    assert added["nickName"] == "Babs"

    # Disable user: "active" as the string "False" (the older job), then as a boolean.
    scim.saml_login("5b50642d@acme.example")
    session = scim.open_session("5b50642d@acme.example")
    disabled = scim.patch(f"Users/{user_id}", {"op": "Replace", "path": "active", "value": "False"})
    assert disabled["active"] is False
    assert scim.user("5b50642d@acme.example").active is False
    assert scim.sessions.load(session) is None
    assert scim.saml_refused("5b50642d@acme.example").code == "user_deactivated"
    enabled = scim.patch(f"Users/{user_id}", {"op": "Replace", "value": {"active": "True"}})
    assert enabled["active"] is True
    scim.saml_login("5b50642d@acme.example")
    assert (
        scim.patch(f"Users/{user_id}", {"op": "replace", "path": "active", "value": False})[
            "active"
        ]
        is False
    )

    # Hard delete, 30 days after the soft delete.
    assert scim.send("DELETE", f"Users/{user_id}").status == 204
    assert scim.send("GET", f"Users/{user_id}").status == 404
    assert scim.user("5b50642d@acme.example").active is False


def test_entra_groups(scim: ScimApp) -> None:
    scim.with_mapping(scim.mapping.with_changes(unaccepted_role="default", default_role="viewer"))
    user_id = scim.create_user("ada@acme.example", roles=[])["id"]
    assert (
        scim.send("GET", 'Groups?excludedAttributes=members&filter=displayName eq "Engineers"')[
            "totalResults"
        ]
        == 0
    )
    group = scim.send(
        "POST",
        "Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Engineers",
            "meta": {"resourceType": "Group"},
        },
    )
    assert group.status == 201
    group_id = group["id"]
    assert group.json.get("members", []) == []

    add = scim.patch(
        f"Groups/{group_id}",
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user_id}]},
    )
    assert add.status == 200
    assert scim.user("ada@acme.example").role == "developer"
    member = scim.send(
        "GET",
        f'Groups?excludedAttributes=members&filter=id eq "{group_id}"'
        f' and members[value eq "{user_id}"]',
    )
    assert member["totalResults"] == 1
    assert "members" not in member["Resources"][0]
    read = scim.send("GET", f"Groups/{group_id}?excludedAttributes=members")
    assert read["displayName"] == "Engineers"
    assert "members" not in read.json

    renamed = scim.patch(
        f"Groups/{group_id}", {"op": "Replace", "path": "displayName", "value": "Admins"}
    )
    assert renamed["displayName"] == "Admins"
    assert scim.user("ada@acme.example").role == "admin"

    removed = scim.patch(
        f"Groups/{group_id}",
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user_id}]},
    )
    assert removed.status == 200
    assert removed.json.get("members", []) == []
    assert scim.user("ada@acme.example").role == "viewer"
    not_member = scim.send(
        "GET",
        f'Groups?excludedAttributes=members&filter=id eq "{group_id}"'
        f' and members[value eq "{user_id}"]',
    )
    assert not_member["totalResults"] == 0
    assert scim.send("DELETE", f"Groups/{group_id}").status == 204


def test_entra_manager_by_id_only(scim: ScimApp) -> None:
    """Entra ID's default mappings send the enterprise ``manager`` as the manager's ID only:
    ``{"value": id}`` in a create, a bare string in a PATCH. The ``$ref`` is filled in."""
    boss = scim.send(
        "POST",
        "Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": "grace@acme.example",
            "roles": [{"value": "developer"}],
        },
    )
    assert boss.status == 201
    created = scim.send(
        "POST",
        "Users",
        {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": "ada@acme.example",
            "roles": [{"value": "developer"}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": boss["id"]}},
        },
    )
    assert created.status == 201
    manager = created[ENTERPRISE]["manager"]
    assert manager["value"] == boss["id"]
    assert manager["$ref"].endswith(f"/Users/{boss['id']}")

    patched = scim.send(
        "PATCH",
        f"Users/{created['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "42"}],
        },
    )
    assert patched.status == 200
    assert patched[ENTERPRISE]["manager"]["value"] == "42"
    assert patched[ENTERPRISE]["manager"]["$ref"].endswith("/Users/42")
