"""SCIM Users (RFC 7644 §3.3-§3.6) as samljit provisions them: ``userName`` is the email,
normalized by the rule of SAML NameIDs; the name and role go through the account's claim
mapping; SAML and SCIM write the same row; a deactivated user can neither sign in by SAML
nor keep a session; every change is an audit event with source ``scim``."""

from __future__ import annotations

import pytest

from samljit import ClaimMapping
from samljit.testing import TestIdP

from .scim_support import (
    BASE,
    ENTERPRISE,
    MAPPING,
    USER_SCHEMA,
    ScimApp,
    new_app,
)


@pytest.fixture
def scim(test_idp: TestIdP) -> ScimApp:
    return new_app(test_idp)


# --- create --------------------------------------------------------------------------------


def test_create_answers_201_with_the_location_of_the_new_user(scim: ScimApp) -> None:
    created = scim.create_user(externalId="okta-00u1", displayName="Ada Lovelace", active=True)
    user_id = created["id"]
    assert created.status == 201
    assert created.headers["Location"] == f"{BASE}/acme/Users/{user_id}"
    assert created["meta"]["location"] == created.headers["Location"]
    assert created["meta"]["resourceType"] == "User"
    assert created["userName"] == "ada@acme.example"
    assert created["externalId"] == "okta-00u1"
    assert created["active"] is True
    assert created.response.content_type == "application/scim+json"


def test_create_pre_provisions_the_app_user(scim: ScimApp) -> None:
    scim.create_user(name={"givenName": "Ada", "familyName": "Lovelace"})
    user = scim.user("ada@acme.example")
    assert (user.account_id, user.full_name, user.role, user.active) == (
        "acme",
        "Ada Lovelace",
        "developer",
        True,
    )
    assert user.last_sso_login is None


def test_a_pre_provisioned_user_may_sign_in_sp_initiated_as_the_same_row(scim: ScimApp) -> None:
    """Without SCIM, an SP-initiated first login of an unknown user is refused (the policy
    creates users only on IdP-initiated logins); after a SCIM create it logs in, same row."""
    assert (
        scim.saml_refused("ada@acme.example", in_response_to="_r1").code == "user_not_provisioned"
    )
    user_id = scim.create_user()["id"]
    result = scim.saml_login("ada@acme.example", in_response_to="_r2", role="admin")
    assert result.user.user_id == user_id
    assert result.user.role == "admin"  # updated by the login, as for any user
    assert len(scim.users.users_of("acme")) == 1


def test_create_adopts_the_user_a_saml_login_created(scim: ScimApp) -> None:
    """Same userName: the JIT user is adopted (its externalId recorded), never duplicated."""
    saml_user = scim.saml_login("ada@acme.example").user
    created = scim.create_user("Ada@Acme.Example", externalId="entra-42", displayName="Ada L.")
    assert created.status == 201
    assert created["id"] == saml_user.user_id
    assert scim.directory.get_user("acme", saml_user.user_id).external_id == "entra-42"
    assert [u.user_id for u in scim.users.users_of("acme")] == [saml_user.user_id]
    assert scim.user("ada@acme.example").full_name == "Ada L."


def test_create_is_409_for_a_user_the_directory_already_has(scim: ScimApp) -> None:
    scim.create_user()
    again = scim.send(
        "POST", "Users", {"userName": "ADA@acme.example", "roles": [{"value": "admin"}]}
    )
    assert again.status == 409
    assert again["scimType"] == "uniqueness"
    assert again.code == "scim_conflict"
    assert scim.user("ada@acme.example").role == "developer"


def test_create_is_409_for_another_accounts_email(scim: ScimApp) -> None:
    scim.create_user("ada@acme.example", account="globex")
    taken = scim.send(
        "POST", "Users", {"userName": "ada@acme.example", "roles": [{"value": "admin"}]}
    )
    assert taken.status == 409
    assert scim.user("ada@acme.example").account_id == "globex"
    assert scim.users.users_of("acme") == []


def test_create_after_a_scim_delete_adopts_the_deactivated_user(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    assert scim.send("DELETE", f"Users/{user_id}").status == 204
    again = scim.create_user(active=True)
    assert again["id"] == user_id
    assert scim.user("ada@acme.example").active


def test_create_needs_a_user_name(scim: ScimApp) -> None:
    reply = scim.send("POST", "Users", {"schemas": [USER_SCHEMA], "displayName": "Nobody"})
    assert reply.status == 400
    assert reply["scimType"] == "invalidValue"
    assert scim.users.users_of("acme") == []


def test_create_is_refused_for_an_account_without_sso_configuration(scim: ScimApp) -> None:
    scim.accounts.delete("acme")
    reply = scim.send("POST", "Users", {"userName": "ada@acme.example"})
    assert reply.status == 400
    assert reply.code == "sso_disabled"
    assert scim.users.users_of("acme") == []


# --- the same rules as SAML ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Ada@ACME.example", "ada@acme.example"),
        ("  ada@acme.example\t", "ada@acme.example"),
    ],
)
def test_user_name_is_normalized_like_a_name_id(scim: ScimApp, sent: str, stored: str) -> None:
    created = scim.create_user(sent)
    assert created["userName"] == stored
    assert scim.user(stored).email == stored


def test_distinct_addresses_are_never_merged(scim: ScimApp) -> None:
    """Only ASCII case and surrounding blanks are normalized: no dot or plus folding."""
    addresses = ["ada@acme.example", "a.da@acme.example", "ada+x@acme.example"]
    ids = {scim.create_user(a)["id"] for a in addresses}
    assert len(ids) == 3
    assert sorted(u.email for u in scim.users.users_of("acme")) == sorted(addresses)


@pytest.mark.parametrize("user_name", ["ada@", "ada@@acme.example", "ada@acme.example\u212a"])
def test_a_user_name_that_is_not_an_address_samljit_accepts_is_email_invalid(
    scim: ScimApp, user_name: str
) -> None:
    reply = scim.send("POST", "Users", {"userName": user_name, "roles": [{"value": "admin"}]})
    assert reply.status == 400
    assert reply["scimType"] == "invalidValue"
    assert reply.code == "email_invalid"
    assert scim.users.users_of("acme") == []


def test_a_user_name_without_at_sign_is_email_invalid(scim: ScimApp) -> None:
    reply = scim.send("POST", "Users", {"userName": "ada.lovelace", "roles": [{"value": "admin"}]})
    assert reply.status == 400
    assert reply.code == "email_invalid"


def test_an_address_at_another_accounts_domain_is_domain_not_owned(scim: ScimApp) -> None:
    scim.domain_owners["globex.example"] = "globex"
    scim.service = scim.make_service()
    reply = scim.send(
        "POST", "Users", {"userName": "spy@globex.example", "roles": [{"value": "admin"}]}
    )
    assert reply.status == 400
    assert reply["scimType"] == "invalidValue"
    assert reply.code == "domain_not_owned"
    assert scim.users.get_by_email("spy@globex.example") is None
    owned = scim.send(
        "POST",
        "Users",
        {"userName": "spy@globex.example", "roles": [{"value": "admin"}]},
        account="globex",
    )
    assert owned.status == 201


def test_the_role_comes_from_roles_through_role_values(scim: ScimApp) -> None:
    scim.create_user(roles=[{"value": "Engineering"}])
    assert scim.user("ada@acme.example").role == "developer"


def test_the_primary_role_wins(scim: ScimApp) -> None:
    scim.create_user(roles=[{"value": "viewer"}, {"value": "admin", "primary": True}])
    assert scim.user("ada@acme.example").role == "admin"


def test_a_role_the_mapping_does_not_accept_is_role_not_accepted(scim: ScimApp) -> None:
    reply = scim.send(
        "POST", "Users", {"userName": "ada@acme.example", "roles": [{"value": "root"}]}
    )
    assert reply.status == 400
    assert reply["scimType"] == "invalidValue"
    assert reply.code == "role_not_accepted"
    assert scim.users.users_of("acme") == []
    no_role = scim.send("POST", "Users", {"userName": "ada@acme.example"})
    assert no_role.code == "role_not_accepted"


def test_a_default_role_takes_an_unaccepted_value(scim: ScimApp) -> None:
    scim.with_mapping(MAPPING.with_changes(unaccepted_role="default", default_role="viewer"))
    scim.create_user(roles=[{"value": "root"}])
    assert scim.user("ada@acme.example").role == "viewer"


def test_the_role_comes_from_group_membership_through_group_roles(scim: ScimApp) -> None:
    """As for SAML claims: a ``roles`` value the mapping accepts wins; without one, the
    user's groups go through ``group_roles``; without either, the default role."""
    scim.with_mapping(MAPPING.with_changes(unaccepted_role="default", default_role="viewer"))
    user_id = scim.create_user(roles=[])["id"]
    assert scim.user("ada@acme.example").role == "viewer"
    group = scim.send("POST", "Groups", {"displayName": "Admins", "members": [{"value": user_id}]})
    assert group.status == 201
    assert scim.user("ada@acme.example").role == "admin"
    assert scim.send("GET", f"Users/{user_id}")["groups"][0]["display"] == "Admins"
    left = scim.patch(
        f"Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{user_id}"]'}
    )
    assert left.status == 200
    assert scim.user("ada@acme.example").role == "viewer"


def test_a_roles_value_wins_over_group_membership(scim: ScimApp) -> None:
    user_id = scim.create_user(roles=[{"value": "viewer"}])["id"]
    scim.send("POST", "Groups", {"displayName": "Admins", "members": [{"value": user_id}]})
    assert scim.user("ada@acme.example").role == "viewer"


def test_deleting_a_group_works_out_the_former_members_roles_again(scim: ScimApp) -> None:
    scim.with_mapping(MAPPING.with_changes(unaccepted_role="default", default_role="viewer"))
    user_id = scim.create_user(roles=[])["id"]
    group = scim.send("POST", "Groups", {"displayName": "Admins", "members": [{"value": user_id}]})
    assert scim.user("ada@acme.example").role == "admin"
    assert scim.send("DELETE", f"Groups/{group['id']}").status == 204
    assert scim.user("ada@acme.example").role == "viewer"
    assert scim.send("GET", f"Groups/{group['id']}").status == 404


# --- read, replace, patch ------------------------------------------------------------------


def test_get_returns_the_user_as_written(scim: ScimApp) -> None:
    user_id = scim.create_user(
        schemas=[USER_SCHEMA, ENTERPRISE],
        displayName="Ada Lovelace",
        emails=[{"value": "ada@acme.example", "type": "work", "primary": True}],
        **{ENTERPRISE: {"department": "Analytical Engines", "employeeNumber": "1815"}},
    )["id"]
    user = scim.send("GET", f"Users/{user_id}")
    assert user.status == 200
    assert user["id"] == user_id
    assert user["displayName"] == "Ada Lovelace"
    assert user["emails"] == [{"value": "ada@acme.example", "type": "work", "primary": True}]
    assert user[ENTERPRISE]["department"] == "Analytical Engines"
    assert user["meta"]["version"] == 'W/"1"'


def test_get_of_a_saml_only_user_shows_what_the_app_knows(scim: ScimApp) -> None:
    user = scim.saml_login("ada@acme.example", role="admin").user
    shown = scim.send("GET", f"Users/{user.user_id}")
    assert shown["userName"] == "ada@acme.example"
    assert shown["displayName"] == "Ada Lovelace"
    assert shown["roles"] == [{"value": "admin", "primary": True}]
    assert shown["active"] is True


def test_get_of_an_unknown_user_is_404(scim: ScimApp) -> None:
    reply = scim.send("GET", "Users/999")
    assert reply.status == 404
    assert reply.code == "scim_not_found"


def test_put_replaces_the_user(scim: ScimApp) -> None:
    user_id = scim.create_user(displayName="Ada", title="Countess")["id"]
    replaced = scim.send(
        "PUT",
        f"Users/{user_id}",
        {
            "schemas": [USER_SCHEMA],
            "userName": "ada@acme.example",
            "displayName": "Ada King",
            "roles": [{"value": "admin"}],
            "active": True,
        },
    )
    assert replaced.status == 200
    assert replaced["displayName"] == "Ada King"
    assert "title" not in replaced.json
    user = scim.user("ada@acme.example")
    assert (user.full_name, user.role) == ("Ada King", "admin")
    assert replaced["meta"]["version"] == 'W/"2"'


def test_put_may_change_the_user_name_but_not_to_anothers(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    scim.create_user("grace@acme.example")
    body = {"userName": "grace@acme.example", "roles": [{"value": "admin"}]}
    clash = scim.send("PUT", f"Users/{user_id}", body)
    assert clash.status == 409
    body["userName"] = "ada.king@acme.example"
    assert scim.send("PUT", f"Users/{user_id}", body).status == 200
    assert scim.user("ada.king@acme.example").user_id == user_id
    assert scim.users.get_by_email("ada@acme.example") is None


def test_patch_replace_add_and_remove(scim: ScimApp) -> None:
    user_id = scim.create_user(displayName="Ada", title="Countess")["id"]
    reply = scim.patch(
        f"Users/{user_id}",
        {"op": "replace", "path": "displayName", "value": "Ada Lovelace"},
        {"op": "add", "path": "nickName", "value": "Enchantress of Numbers"},
        {"op": "remove", "path": "title"},
    )
    assert reply.status == 200
    assert reply["displayName"] == "Ada Lovelace"
    assert reply["nickName"] == "Enchantress of Numbers"
    assert "title" not in reply.json
    assert scim.user("ada@acme.example").full_name == "Ada Lovelace"


def test_patch_with_a_value_filter_path(scim: ScimApp) -> None:
    user_id = scim.create_user(
        emails=[
            {"value": "ada@acme.example", "type": "work", "primary": True},
            {"value": "ada@home.example", "type": "home"},
        ]
    )["id"]
    reply = scim.patch(
        f"Users/{user_id}",
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "countess@acme.example"},
    )
    assert reply.status == 200
    assert [e["value"] for e in reply["emails"]] == ["countess@acme.example", "ada@home.example"]
    removed = scim.patch(f"Users/{user_id}", {"op": "remove", "path": 'emails[type eq "home"]'})
    assert [e["value"] for e in removed["emails"]] == ["countess@acme.example"]


def test_patch_without_a_path_sets_the_attributes_of_its_value(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    reply = scim.patch(
        f"Users/{user_id}",
        {"op": "replace", "value": {"displayName": "Ada King", "roles": [{"value": "admin"}]}},
    )
    assert reply.status == 200
    user = scim.user("ada@acme.example")
    assert (user.full_name, user.role) == ("Ada King", "admin")


def test_patch_to_an_unaccepted_role_is_refused_and_changes_nothing(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    reply = scim.patch(
        f"Users/{user_id}", {"op": "replace", "path": "roles", "value": [{"value": "root"}]}
    )
    assert reply.status == 400
    assert reply.code == "role_not_accepted"
    assert scim.user("ada@acme.example").role == "developer"
    assert scim.send("GET", f"Users/{user_id}")["roles"] == [
        {"value": "developer", "primary": True}
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"Operations": [{"op": "replace", "path": "displayName", "value": "x"}], "schemas": ["x"]},
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "jump"}],
        },
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": "all"},
    ],
)
def test_a_malformed_patch_is_400_and_changes_nothing(
    scim: ScimApp, body: dict[str, object]
) -> None:
    user_id = scim.create_user(displayName="Ada")["id"]
    reply = scim.send("PATCH", f"Users/{user_id}", body)
    assert reply.status == 400
    assert scim.send("GET", f"Users/{user_id}")["meta"]["version"] == 'W/"1"'


def test_patch_of_an_unknown_attribute_path_is_400(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    reply = scim.patch(f"Users/{user_id}", {"op": "replace", "path": "shoeSize", "value": 42})
    assert reply.status == 400
    assert reply["scimType"] in ("invalidPath", "noTarget", "invalidValue")


# --- deactivation and delete ---------------------------------------------------------------


def test_deactivation_refuses_saml_logins_and_revokes_sessions(scim: ScimApp) -> None:
    user_id = scim.create_user(active=True)["id"]
    scim.saml_login("ada@acme.example")
    session = scim.open_session("ada@acme.example")
    other = scim.open_session("grace@acme.example")
    reply = scim.patch(f"Users/{user_id}", {"op": "replace", "path": "active", "value": False})
    assert reply.status == 200
    assert reply["active"] is False
    assert scim.user("ada@acme.example").active is False
    assert scim.sessions.load(session) is None
    assert scim.sessions.load(other) is not None
    assert scim.saml_refused("ada@acme.example").code == "user_deactivated"
    assert scim.saml_refused("ada@acme.example", in_response_to="_r").code == "user_deactivated"
    (event,) = scim.scim_events("scim_user_deactivated")
    assert event.changes["active"] == ("true", "false")


def test_reactivation_restores_saml_login(scim: ScimApp) -> None:
    user_id = scim.create_user(active=False)["id"]
    assert scim.saml_refused("ada@acme.example").code == "user_deactivated"
    reply = scim.patch(f"Users/{user_id}", {"op": "replace", "path": "active", "value": True})
    assert reply["active"] is True
    assert scim.saml_login("ada@acme.example").user.user_id == user_id
    assert [e.name for e in scim.scim_events()] == ["scim_user_created", "scim_user_reactivated"]


def test_deactivation_goes_through_even_when_the_role_no_longer_maps(scim: ScimApp) -> None:
    """A user must always be removable: deactivating keeps the fields that no longer map."""
    user_id = scim.create_user(active=True)["id"]
    scim.with_mapping(ClaimMapping.from_dict({"accepted_roles": ["auditor"]}))
    reply = scim.patch(f"Users/{user_id}", {"op": "replace", "path": "active", "value": False})
    assert reply.status == 200
    user = scim.user("ada@acme.example")
    assert (user.active, user.role) == (False, "developer")


def test_delete_under_the_deactivate_policy_keeps_the_user_inactive_and_answers_404(
    scim: ScimApp,
) -> None:
    user_id = scim.create_user(active=True)["id"]
    session = scim.open_session("ada@acme.example")
    assert scim.send("DELETE", f"Users/{user_id}").status == 204
    assert scim.send("GET", f"Users/{user_id}").status == 404
    assert scim.send("DELETE", f"Users/{user_id}").status == 404
    assert scim.send("GET", 'Users?filter=userName eq "ada@acme.example"')["totalResults"] == 0
    assert scim.user("ada@acme.example").active is False
    assert scim.sessions.load(session) is None
    assert scim.saml_refused("ada@acme.example").code == "user_deactivated"
    (event,) = scim.scim_events("scim_user_deleted")
    assert event.changes["deleted"] == (None, "deactivate")


def test_delete_under_the_delete_policy_removes_the_row(scim: ScimApp) -> None:
    scim.with_policy(scim_delete="delete")
    user_id = scim.create_user(active=True)["id"]
    group = scim.send("POST", "Groups", {"displayName": "Admins", "members": [{"value": user_id}]})
    session = scim.open_session("ada@acme.example")
    assert scim.send("DELETE", f"Users/{user_id}").status == 204
    assert scim.users.get_by_email("ada@acme.example") is None
    assert scim.send("GET", f"Users/{user_id}").status == 404
    assert scim.send("GET", f"Groups/{group['id']}").json.get("members", []) == []
    assert scim.sessions.load(session) is None


# --- audit ---------------------------------------------------------------------------------


def test_every_change_is_an_audit_event_from_scim_naming_the_token(scim: ScimApp) -> None:
    user_id = scim.create_user(displayName="Ada")["id"]
    scim.patch(f"Users/{user_id}", {"op": "replace", "path": "displayName", "value": "Ada King"})
    group = scim.send("POST", "Groups", {"displayName": "Engineers"})
    scim.send("DELETE", f"Groups/{group['id']}")
    scim.send("DELETE", f"Users/{user_id}")
    (token,) = scim.tokens.tokens_of("acme")
    assert [e.name for e in scim.events] == [
        "scim_user_created",
        "scim_user_updated",
        "scim_group_created",
        "scim_group_deleted",
        "scim_user_deleted",
    ]
    assert {e.source for e in scim.events} == {"scim"}
    assert {e.admin_id for e in scim.events} == {f"scim-token:{token.token_id}"}
    assert {e.account_id for e in scim.events} == {"acme"}
    assert scim.events[0].changes["email"] == (None, "ada@acme.example")
    assert scim.events[1].changes == {"full_name": ("Ada", "Ada King")}


def test_a_refused_request_writes_no_event(scim: ScimApp) -> None:
    scim.send("POST", "Users", {"userName": "ada@acme.example", "roles": [{"value": "root"}]})
    scim.send("GET", "Users", token=None)
    assert scim.events == []
