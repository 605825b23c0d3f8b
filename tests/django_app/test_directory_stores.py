"""The SCIM stores against their contract (``samljit.protocols.DirectoryStore`` and
``ScimTokenStore``): one set of tests for the memory stores and the SQL ones, SQLite,
SQLAlchemy and Django, on SQLite and on PostgreSQL (see ``directory_kinds.py``).

The directory is over the user store's own rows: one person is one user whether SAML or
SCIM wrote it, and ``UserRecord.active`` is what the login service reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from samljit import NewUser
from samljit.directory import ScimTokens, token_digest
from samljit.protocols import (
    DirectoryGroup,
    DirectoryStore,
    DirectoryUser,
    DuplicateUser,
    ScimToken,
    ScimTokenStore,
    StaleWrite,
)

from ..conftest import NOW
from .directory_kinds import KINDS, Stores, stores

ADA = NewUser(email="ada@acme.test", account_id="acme", full_name="Ada Lovelace", role="developer")
GRACE = NewUser(
    email="grace@acme.test", account_id="acme", full_name="Grace Hopper", role="finance"
)
LATER = NOW + timedelta(hours=1)
RESOURCE = {
    "userName": "ada@acme.test",
    "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
    "emails": [{"value": "ada@acme.test", "type": "work", "primary": True}],
    "title": "Analyst — Première",
    "active": True,
    "x": [1, 2.5, None, False, {"nested": ["a"]}],
}
NOT_KEYS = ["abc", "", "-1", "1e3", " 1", "\u0661", "9" * 40]  # \u0661: an Arabic-Indic 1


@pytest.fixture(params=KINDS)
def family(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with stores(request.param, request, tmp_path) as made:
        yield made


def create(family: Stores, user: NewUser = ADA, **options: Any) -> DirectoryUser:
    arguments: dict[str, Any] = {
        "active": True,
        "external_id": "okta-ada",
        "resource": RESOURCE,
        "now": NOW,
        **options,
    }
    created: DirectoryUser = family.directory.create_user(user, **arguments)
    return created


def write(family: Stores, entry: DirectoryUser, **changes: Any) -> DirectoryUser:
    record = entry.user
    arguments: dict[str, Any] = {
        "version": entry.version,
        "email": record.email,
        "full_name": record.full_name,
        "role": record.role,
        "active": record.active,
        "external_id": entry.external_id,
        "resource": entry.resource,
        "now": LATER,
        **changes,
    }
    written: DirectoryUser = family.directory.write_user(
        record.account_id, record.user_id, **arguments
    )
    return written


# --- users -----------------------------------------------------------------------------------


def test_the_stores_implement_the_protocols(family: Stores) -> None:
    assert isinstance(family.directory, DirectoryStore)
    assert isinstance(family.tokens, ScimTokenStore)


def test_a_created_user_is_at_version_1_and_not_yet_logged_in(family: Stores) -> None:
    created = create(family)
    record = created.user
    assert (record.email, record.account_id, record.full_name, record.role, record.active) == (
        "ada@acme.test",
        "acme",
        "Ada Lovelace",
        "developer",
        True,
    )
    assert record.last_sso_login is None
    assert (created.external_id, created.resource, created.version) == ("okta-ada", RESOURCE, 1)
    assert created.created_at == created.updated_at == NOW


def test_a_created_user_is_found_by_id_email_and_external_id(family: Stores) -> None:
    created = create(family)
    assert family.directory.get_user("acme", created.user.user_id) == created
    assert family.directory.find_user("acme", "ada@acme.test") == created
    assert family.directory.find_external("acme", "okta-ada") == created
    assert list(family.directory.users("acme")) == [created]


def test_the_directorys_user_is_the_user_stores_user(family: Stores) -> None:
    """One person, one user: what SCIM creates is what SAML logins find, and the reverse."""
    created = create(family)
    assert family.users.get_by_email("ada@acme.test") == created.user
    saml = family.users.create(GRACE, now=NOW)
    seen = family.directory.find_user("acme", "grace@acme.test")
    assert seen is not None
    assert seen.user == saml


def test_a_user_only_saml_wrote_has_no_directory_data_and_version_0(family: Stores) -> None:
    saml = family.users.create(ADA, now=NOW)
    seen = family.directory.get_user("acme", saml.user_id)
    assert seen is not None
    assert (seen.user.active, seen.external_id, dict(seen.resource), seen.version) == (
        True,
        None,
        {},
        0,
    )


def test_creating_an_email_that_exists_in_any_account_is_a_duplicate(family: Stores) -> None:
    family.users.create(ADA, now=NOW)
    with pytest.raises(DuplicateUser):
        create(family)
    with pytest.raises(DuplicateUser):
        create(family, dataclasses.replace(ADA, account_id="globex"))
    assert [u.user.email for u in family.directory.users("acme")] == ["ada@acme.test"]
    assert list(family.directory.users("globex")) == []


def test_a_deactivated_user_is_inactive_for_the_user_store(family: Stores) -> None:
    created = create(family, active=False)
    assert created.user.active is False
    found = family.users.get_by_email("ada@acme.test")
    assert found is not None
    assert found.active is False


def test_a_saml_update_never_reactivates_nor_touches_the_directory_data(family: Stores) -> None:
    created = create(family, active=False)
    updated = family.users.update(
        created.user.user_id,
        changes={"full_name": "Ada King", "role": "finance"},
        last_sso_login=LATER,
    )
    assert (updated.active, updated.full_name, updated.role) == (False, "Ada King", "finance")
    after = family.directory.get_user("acme", created.user.user_id)
    assert after is not None
    assert after.user == updated
    assert (after.external_id, after.resource, after.version) == ("okta-ada", RESOURCE, 1)


def test_saml_created_users_are_active(family: Stores) -> None:
    created = family.users.create(ADA, now=NOW)
    assert created.active is True
    assert family.users.get_by_email("ada@acme.test") == created
    assert [u.active for u in family.users.users_of("acme")] == [True]


def test_a_write_replaces_the_fields_and_grows_the_version(family: Stores) -> None:
    created = create(family)
    written = write(
        family,
        created,
        full_name="Ada King",
        role="finance",
        active=False,
        external_id="okta-ada-2",
        resource={"userName": "ada@acme.test", "title": "Countess"},
    )
    record = written.user
    assert (record.user_id, record.full_name, record.role, record.active) == (
        created.user.user_id,
        "Ada King",
        "finance",
        False,
    )
    assert (written.external_id, dict(written.resource), written.version) == (
        "okta-ada-2",
        {"userName": "ada@acme.test", "title": "Countess"},
        2,
    )
    assert (written.created_at, written.updated_at) == (NOW, LATER)
    assert family.directory.get_user("acme", record.user_id) == written
    assert family.directory.find_external("acme", "okta-ada") is None
    assert family.users.get_by_email("ada@acme.test") == record


def test_a_write_can_adopt_a_user_that_only_saml_wrote(family: Stores) -> None:
    saml = family.users.create(ADA, now=NOW)
    seen = family.directory.get_user("acme", saml.user_id)
    assert seen is not None
    adopted = write(family, seen, external_id="entra-1", resource=RESOURCE)
    assert (adopted.user.user_id, adopted.external_id, adopted.version) == (
        saml.user_id,
        "entra-1",
        1,
    )
    assert adopted.user.last_sso_login == NOW
    assert [u.user.user_id for u in family.directory.users("acme")] == [saml.user_id]


def test_a_write_can_change_the_email(family: Stores) -> None:
    created = create(family)
    written = write(family, created, email="ada.king@acme.test")
    assert written.user.email == "ada.king@acme.test"
    assert family.directory.find_user("acme", "ada@acme.test") is None
    assert family.directory.find_user("acme", "ada.king@acme.test") == written
    assert family.users.get_by_email("ada@acme.test") is None
    assert family.users.get_by_email("ada.king@acme.test") == written.user


def test_a_write_at_an_old_version_is_stale_and_changes_nothing(family: Stores) -> None:
    created = create(family)
    first = write(family, created, full_name="Ada King")
    with pytest.raises(StaleWrite):
        write(family, created, full_name="Ada Byron")
    assert family.directory.get_user("acme", created.user.user_id) == first


def test_a_write_of_a_missing_or_another_accounts_user_is_stale(family: Stores) -> None:
    created = create(family)
    with pytest.raises(StaleWrite):
        family.directory.write_user(
            "globex",
            created.user.user_id,
            version=1,
            email="ada@acme.test",
            full_name=None,
            role="developer",
            active=False,
            external_id=None,
            resource={},
            now=LATER,
        )
    for user_id in [str(int(created.user.user_id) + 1000), *NOT_KEYS]:
        with pytest.raises(StaleWrite):
            write(
                family,
                dataclasses.replace(
                    created, user=dataclasses.replace(created.user, user_id=user_id)
                ),
            )
    assert family.directory.get_user("acme", created.user.user_id) == created


def test_a_write_to_another_users_email_is_a_duplicate(family: Stores) -> None:
    ada = create(family)
    family.users.create(GRACE, now=NOW)
    with pytest.raises(DuplicateUser):
        write(family, ada, email="grace@acme.test")
    assert family.directory.get_user("acme", ada.user.user_id) == ada


def test_lookups_are_per_account(family: Stores) -> None:
    ada = create(family)
    globex = create(
        family,
        NewUser(email="ada@globex.test", account_id="globex", full_name=None, role="developer"),
    )
    assert family.directory.get_user("globex", ada.user.user_id) is None
    assert family.directory.find_user("globex", "ada@acme.test") is None
    assert family.directory.find_external("acme", "okta-ada") == ada
    assert family.directory.find_external("globex", "okta-ada") == globex
    assert list(family.directory.users("globex")) == [globex]
    assert list(family.directory.users("initech")) == []


def test_users_are_listed_by_id(family: Stores) -> None:
    made = [
        create(
            family, NewUser(email=f"u{i}@acme.test", account_id="acme", full_name=None, role="r")
        )
        for i in (3, 1, 2)
    ]
    listed = list(family.directory.users("acme"))
    assert listed == sorted(made, key=lambda u: int(u.user.user_id))
    assert [u.user.email for u in listed] == ["u3@acme.test", "u1@acme.test", "u2@acme.test"]


@pytest.mark.parametrize("user_id", NOT_KEYS)
def test_an_id_that_cannot_be_a_users_is_not_found(family: Stores, user_id: str) -> None:
    create(family)
    assert family.directory.get_user("acme", user_id) is None
    assert family.directory.delete_user("acme", user_id) is False
    assert family.directory.get_group("acme", user_id) is None
    assert family.directory.delete_group("acme", user_id) is False


def test_deleting_a_user_removes_it_and_its_memberships(family: Stores) -> None:
    ada, grace = create(family), create(family, GRACE, external_id=None)
    group = family.directory.create_group(
        "acme",
        display_name="Engineering",
        external_id=None,
        members=(ada.user.user_id, grace.user.user_id),
        now=NOW,
    )
    assert family.directory.delete_user("globex", ada.user.user_id) is False
    assert family.directory.delete_user("acme", ada.user.user_id) is True
    assert family.directory.get_user("acme", ada.user.user_id) is None
    assert family.users.get_by_email("ada@acme.test") is None
    kept = family.directory.get_group("acme", group.group_id)
    assert kept is not None
    assert kept.members == (grace.user.user_id,)
    assert family.directory.delete_user("acme", ada.user.user_id) is False


# --- groups ----------------------------------------------------------------------------------


def test_a_created_group_keeps_its_members_in_order(family: Stores) -> None:
    ada, grace = create(family), create(family, GRACE, external_id=None)
    members = (grace.user.user_id, ada.user.user_id)
    group = family.directory.create_group(
        "acme", display_name="Finance", external_id="okta-g1", members=members, now=NOW
    )
    assert (group.account_id, group.display_name, group.external_id, group.members) == (
        "acme",
        "Finance",
        "okta-g1",
        members,
    )
    assert (group.version, group.created_at, group.updated_at) == (1, NOW, NOW)
    assert family.directory.get_group("acme", group.group_id) == group
    assert list(family.directory.groups("acme")) == [group]


def test_groups_are_per_account_and_listed_by_id(family: Stores) -> None:
    made = [
        family.directory.create_group(
            account, display_name=name, external_id=None, members=(), now=NOW
        )
        for account, name in [("acme", "b"), ("globex", "g"), ("acme", "a")]
    ]
    assert list(family.directory.groups("acme")) == [made[0], made[2]]
    assert family.directory.get_group("globex", made[0].group_id) is None
    assert list(family.directory.groups("initech")) == []


def test_a_group_write_replaces_it_and_grows_the_version(family: Stores) -> None:
    ada, grace = create(family), create(family, GRACE, external_id=None)
    group = family.directory.create_group(
        "acme", display_name="Finance", external_id=None, members=(ada.user.user_id,), now=NOW
    )
    written = family.directory.write_group(
        "acme",
        group.group_id,
        version=1,
        display_name="Finance EU",
        external_id="entra-g",
        members=(grace.user.user_id, ada.user.user_id),
        now=LATER,
    )
    assert written == DirectoryGroup(
        group_id=group.group_id,
        account_id="acme",
        display_name="Finance EU",
        external_id="entra-g",
        members=(grace.user.user_id, ada.user.user_id),
        created_at=NOW,
        updated_at=LATER,
        version=2,
    )
    assert family.directory.get_group("acme", group.group_id) == written
    emptied = family.directory.write_group(
        "acme", group.group_id, version=2, display_name="x", external_id=None, members=(), now=LATER
    )
    assert (emptied.members, emptied.version) == ((), 3)


def test_a_group_write_at_an_old_version_or_elsewhere_is_stale(family: Stores) -> None:
    group = family.directory.create_group(
        "acme", display_name="Finance", external_id=None, members=(), now=NOW
    )
    family.directory.write_group(
        "acme", group.group_id, version=1, display_name="A", external_id=None, members=(), now=NOW
    )
    for account_id, version in [("acme", 1), ("globex", 2)]:
        with pytest.raises(StaleWrite):
            family.directory.write_group(
                account_id,
                group.group_id,
                version=version,
                display_name="B",
                external_id=None,
                members=(),
                now=NOW,
            )
    current = family.directory.get_group("acme", group.group_id)
    assert current is not None
    assert (current.display_name, current.version) == ("A", 2)


def test_deleting_a_group_keeps_its_members(family: Stores) -> None:
    ada = create(family)
    group = family.directory.create_group(
        "acme", display_name="Finance", external_id=None, members=(ada.user.user_id,), now=NOW
    )
    assert family.directory.delete_group("globex", group.group_id) is False
    assert family.directory.delete_group("acme", group.group_id) is True
    assert family.directory.get_group("acme", group.group_id) is None
    assert family.directory.delete_group("acme", group.group_id) is False
    assert family.directory.get_user("acme", ada.user.user_id) == ada


# --- tokens ----------------------------------------------------------------------------------


def token(token_id: str, account_id: str = "acme", **fields: Any) -> ScimToken:
    fields.setdefault("created_at", NOW)
    return ScimToken(
        token_id=token_id, account_id=account_id, digest=token_digest(token_id), **fields
    )


def test_a_token_is_found_by_its_digest_only(family: Stores) -> None:
    kept = token("t1", label="Okta")
    family.tokens.add(kept)
    assert family.tokens.find(token_digest("t1")) == kept
    assert family.tokens.find(token_digest("t2")) is None
    assert family.tokens.find("t1") is None


def test_an_accounts_tokens_are_listed_oldest_first(family: Stores) -> None:
    for made in [
        token("late", created_at=LATER),
        token("other", "globex"),
        token("early-a"),
        token("early-b"),
    ]:
        family.tokens.add(made)
    assert [t.token_id for t in family.tokens.tokens_of("acme")] == ["early-a", "early-b", "late"]
    assert [t.token_id for t in family.tokens.tokens_of("globex")] == ["other"]
    assert family.tokens.tokens_of("initech") == []


def test_a_token_is_revoked_once_and_only_by_its_account(family: Stores) -> None:
    family.tokens.add(token("t1"))
    assert family.tokens.revoke("globex", "t1", now=LATER) is False
    assert family.tokens.revoke("acme", "t1", now=LATER) is True
    assert family.tokens.revoke("acme", "t1", now=LATER + timedelta(hours=1)) is False
    assert family.tokens.revoke("acme", "unknown", now=LATER) is False
    revoked = family.tokens.find(token_digest("t1"))
    assert revoked is not None
    assert (revoked.revoked_at, revoked.active) == (LATER, False)


def test_touching_a_token_records_its_last_use(family: Stores) -> None:
    family.tokens.add(token("t1"))
    family.tokens.touch("t1", now=LATER)
    family.tokens.touch("unknown", now=LATER)
    assert family.tokens.find(token_digest("t1")) == token("t1", last_used_at=LATER)


def test_token_times_in_any_zone_come_back_as_the_same_instants(family: Stores) -> None:
    zone = timezone(timedelta(hours=-7))
    made = token("t1", created_at=NOW.astimezone(zone), last_used_at=LATER.astimezone(zone))
    family.tokens.add(made)
    found = family.tokens.find(token_digest("t1"))
    assert found == made
    assert found is not None
    assert found.created_at.astimezone(UTC) == NOW


def test_scim_tokens_issue_authenticate_and_revoke_through_the_store(family: Stores) -> None:
    tokens = ScimTokens(family.tokens, clock=lambda: NOW)
    secret, issued = tokens.issue("acme", label="Entra")
    assert tokens.authenticate("acme", secret) == issued
    assert tokens.authenticate("globex", secret) is None
    assert tokens.tokens_of("acme") == [dataclasses.replace(issued, last_used_at=NOW)]
    assert tokens.revoke("acme", issued.token_id) is True
    assert tokens.authenticate("acme", secret) is None
