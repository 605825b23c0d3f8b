"""Listing SCIM resources (RFC 7644 §3.4.2): ``filter`` (``eq``, ``co``, ``sw``, ``pr``,
``and``, ``or`` on ``userName``, ``externalId``, ``emails.value``, ``displayName``,
``active``), pagination by ``startIndex`` and ``count``, and ``attributes`` /
``excludedAttributes``; and the Groups endpoint."""

from __future__ import annotations

import pytest

from samljit.testing import TestIdP

from .scim_support import ScimApp, new_app


@pytest.fixture
def scim(test_idp: TestIdP) -> ScimApp:
    return new_app(test_idp)


@pytest.fixture
def people(scim: ScimApp) -> ScimApp:
    """Three acme users (one inactive) and one of globex's."""
    scim.create_user(
        "ada@acme.example",
        externalId="ext-ada",
        displayName="Ada Lovelace",
        emails=[{"value": "ada@acme.example", "type": "work", "primary": True}],
        active=True,
    )
    scim.create_user(
        "grace@acme.example",
        externalId="ext-grace",
        displayName="Grace Hopper",
        emails=[{"value": "grace@navy.example", "type": "work"}],
        active=True,
    )
    scim.create_user(
        "alan@acme.example", externalId="ext-alan", displayName="Alan Turing", active=False
    )
    scim.create_user("ada@globex.example", account="globex", displayName="Ada of Globex")
    return scim


def names(reply: object) -> list[str]:
    resources = reply["Resources"] if reply.json.get("Resources") else []  # type: ignore[attr-defined, index]
    return sorted(r["userName"] for r in resources)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "ada@acme.example"', ["ada@acme.example"]),
        ('userName eq "ADA@ACME.EXAMPLE"', ["ada@acme.example"]),
        ('externalId eq "ext-grace"', ["grace@acme.example"]),
        ('emails.value eq "grace@navy.example"', ["grace@acme.example"]),
        ('emails[type eq "work"].value eq "ada@acme.example"', ["ada@acme.example"]),
        ('displayName co "Hop"', ["grace@acme.example"]),
        ('userName sw "a"', ["ada@acme.example", "alan@acme.example"]),
        ("externalId pr", ["ada@acme.example", "alan@acme.example", "grace@acme.example"]),
        ("active eq false", ["alan@acme.example"]),
        ("active eq true", ["ada@acme.example", "grace@acme.example"]),
        ('userName sw "a" and active eq true', ["ada@acme.example"]),
        (
            'displayName co "Turing" or externalId eq "ext-ada"',
            ["ada@acme.example", "alan@acme.example"],
        ),
        ('userName ne "ada@acme.example"', ["alan@acme.example", "grace@acme.example"]),
        (
            'userName ew "acme.example"',
            ["ada@acme.example", "alan@acme.example", "grace@acme.example"],
        ),
        ('not (displayName co "Hop")', ["ada@acme.example", "alan@acme.example"]),
        ('displayName gt "B"', ["grace@acme.example"]),
        ('userName eq "nobody@acme.example"', []),
        ('userName eq "ada@globex.example"', []),
    ],
)
def test_filter(people: ScimApp, expression: str, expected: list[str]) -> None:
    reply = people.send("GET", f"Users?filter={expression}")
    assert reply.status == 200
    assert names(reply) == expected
    assert reply["totalResults"] == len(expected)


@pytest.mark.parametrize("expression", ['userName zz "x"', "userName eq", '(userName eq "a"'])
def test_a_bad_filter_is_invalid_filter(people: ScimApp, expression: str) -> None:
    reply = people.send("GET", f"Users?filter={expression}")
    assert reply.status == 400
    assert reply["scimType"] == "invalidFilter"


def test_a_list_holds_only_the_accounts_users(people: ScimApp) -> None:
    listed = people.send("GET", "Users")
    assert listed["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert names(listed) == ["ada@acme.example", "alan@acme.example", "grace@acme.example"]
    assert names(people.send("GET", "Users", account="globex")) == ["ada@globex.example"]


@pytest.mark.parametrize(
    ("query", "start", "expected"),
    [
        ("startIndex=1&count=2", 1, ["ada@acme.example", "grace@acme.example"]),
        ("startIndex=3&count=2", 3, ["alan@acme.example"]),
        ("startIndex=4", 4, []),
        ("startIndex=0&count=1", 1, ["ada@acme.example"]),  # less than 1 is 1 (RFC 7644)
        ("count=0", 1, []),
        ("count=-5", 1, []),  # negative is 0
    ],
)
def test_pagination(people: ScimApp, query: str, start: int, expected: list[str]) -> None:
    reply = people.send("GET", f"Users?{query}")
    resources = reply.json.get("Resources", [])
    assert [r["userName"] for r in resources] == expected
    assert reply["totalResults"] == 3
    assert reply["startIndex"] == start
    assert reply["itemsPerPage"] == len(expected)


def test_pagination_of_a_filtered_list(people: ScimApp) -> None:
    reply = people.send("GET", 'Users?filter=userName sw "a"&startIndex=2&count=1')
    assert reply["totalResults"] == 2
    assert [r["userName"] for r in reply["Resources"]] == ["alan@acme.example"]


def test_attributes_returns_only_those_and_the_always_returned(people: ScimApp) -> None:
    reply = people.send("GET", 'Users?filter=userName eq "ada@acme.example"&attributes=displayName')
    (user,) = reply["Resources"]
    assert set(user) == {"schemas", "id", "displayName"}
    single = people.send("GET", f"Users/{user['id']}?attributes=userName,externalId")
    assert set(single.json) == {"schemas", "id", "userName", "externalId"}


def test_excluded_attributes_leaves_those_out(people: ScimApp) -> None:
    reply = people.send("GET", "Users?excludedAttributes=emails,displayName")
    for user in reply["Resources"]:
        assert "emails" not in user
        assert "displayName" not in user
        assert "userName" in user
        assert "id" in user


# --- Groups --------------------------------------------------------------------------------


def test_group_create_read_replace_patch_delete(scim: ScimApp) -> None:
    ada = scim.create_user("ada@acme.example")["id"]
    grace = scim.create_user("grace@acme.example")["id"]
    created = scim.send(
        "POST",
        "Groups",
        {"displayName": "Engineers", "externalId": "g-1", "members": [{"value": ada}]},
    )
    assert created.status == 201
    group_id = created["id"]
    assert created.headers["Location"].endswith(f"/acme/Groups/{group_id}")
    assert [m["value"] for m in created["members"]] == [ada]
    assert created["members"][0]["$ref"].endswith(f"/acme/Users/{ada}")

    added = scim.patch(
        f"Groups/{group_id}", {"op": "add", "path": "members", "value": [{"value": grace}]}
    )
    assert [m["value"] for m in added["members"]] == [ada, grace]
    renamed = scim.patch(
        f"Groups/{group_id}", {"op": "replace", "path": "displayName", "value": "Eng"}
    )
    assert renamed["displayName"] == "Eng"
    replaced = scim.send(
        "PUT", f"Groups/{group_id}", {"displayName": "Engineers", "members": [{"value": grace}]}
    )
    assert [m["value"] for m in replaced["members"]] == [grace]
    assert scim.send("GET", f"Groups/{group_id}")["meta"]["version"] == 'W/"4"'
    listed = scim.send("GET", 'Groups?filter=displayName eq "Engineers"')
    assert [g["id"] for g in listed["Resources"]] == [group_id]
    assert (
        scim.send("GET", "Groups?excludedAttributes=members")["Resources"][0].get("members") is None
    )
    assert scim.send("DELETE", f"Groups/{group_id}").status == 204
    assert scim.send("GET", "Groups")["totalResults"] == 0


def test_a_group_needs_a_display_name(scim: ScimApp) -> None:
    assert scim.send("POST", "Groups", {"members": []}).status == 400
    group_id = scim.send("POST", "Groups", {"displayName": "Engineers"})["id"]
    reply = scim.patch(f"Groups/{group_id}", {"op": "remove", "path": "displayName"})
    assert reply.status == 400
    assert scim.send("GET", f"Groups/{group_id}")["displayName"] == "Engineers"


def test_a_member_must_be_a_user_of_the_account(scim: ScimApp) -> None:
    for member in ({"value": "999"}, {"display": "no value"}):
        reply = scim.send("POST", "Groups", {"displayName": "Engineers", "members": [member]})
        assert reply.status == 400
        assert reply["scimType"] == "invalidValue"
    assert scim.send("GET", "Groups")["totalResults"] == 0


def test_a_deleted_user_cannot_be_made_a_member(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    scim.send("DELETE", f"Users/{user_id}")
    reply = scim.send(
        "POST", "Groups", {"displayName": "Engineers", "members": [{"value": user_id}]}
    )
    assert reply.status == 400


def test_a_member_given_twice_is_kept_once(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    reply = scim.send("POST", "Groups", {"displayName": "Eng", "members": [{"value": user_id}] * 2})
    assert [m["value"] for m in reply["members"]] == [user_id]


def test_group_events_say_how_the_membership_changed(scim: ScimApp) -> None:
    user_id = scim.create_user()["id"]
    group_id = scim.send("POST", "Groups", {"displayName": "Engineers"})["id"]
    scim.patch(
        f"Groups/{group_id}", {"op": "add", "path": "members", "value": [{"value": user_id}]}
    )
    created, updated = scim.scim_events("scim_group_created") + scim.scim_events(
        "scim_group_updated"
    )
    assert created.changes == {"group": (None, "Engineers"), "members": ("0", "0")}
    assert updated.changes == {"group": (None, "Engineers"), "members": ("0", "1")}
