"""Just-In-Time provisioning rules: create, update or refuse; and the stale-user report.

``plan_provisioning`` is a pure decision over the user found by email, so these tests use
plain :class:`samljit.UserRecord` values and no store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from samljit import Identity, NewUser, ProvisioningPolicy, SamlError, UserRecord
from samljit.provisioning import ProvisioningPlan, plan_provisioning, stale_users

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

ADA = Identity(
    email="ada@acme.test",
    full_name="Ada Lovelace",
    role="developer",
    account_id="acme",
)


def user(**fields: Any) -> UserRecord:
    values: dict[str, Any] = {
        "user_id": "7",
        "email": "ada@acme.test",
        "account_id": "acme",
        "full_name": "Ada Lovelace",
        "role": "developer",
        "last_sso_login": NOW - timedelta(days=3),
    }
    values.update(fields)
    return UserRecord(**values)


def plan(
    existing: UserRecord | None,
    identity: Identity = ADA,
    *,
    policy: ProvisioningPolicy | None = None,
    idp_initiated: bool = True,
) -> ProvisioningPlan:
    return plan_provisioning(
        existing,
        identity,
        account_id="acme",
        policy=policy or ProvisioningPolicy(),
        idp_initiated=idp_initiated,
    )


def refused(existing: UserRecord | None, **options: Any) -> SamlError:
    with pytest.raises(SamlError) as caught:
        plan(existing, **options)
    return caught.value


# --- a new email ----------------------------------------------------------------------------


def test_a_first_idp_initiated_login_creates_the_user_in_the_account() -> None:
    result = plan(None, idp_initiated=True)
    assert result.new_user == NewUser(
        email="ada@acme.test", account_id="acme", full_name="Ada Lovelace", role="developer"
    )
    assert result.existing is None
    assert result.outcome.action == "created"
    assert dict(result.outcome.changes) == {
        "full_name": (None, "Ada Lovelace"),
        "role": (None, "developer"),
    }


def test_by_default_a_first_sp_initiated_login_does_not_create_the_user() -> None:
    """The image-CDN product creates users only on their first, IdP-initiated login."""
    err = refused(None, idp_initiated=False)
    assert err.code == "user_not_provisioned"
    assert err.found == "ada@acme.test"


@pytest.mark.parametrize("idp_initiated", [True, False], ids=["idp-initiated", "sp-initiated"])
def test_create_users_always_creates_on_any_login(idp_initiated: bool) -> None:
    result = plan(
        None, policy=ProvisioningPolicy(create_users="always"), idp_initiated=idp_initiated
    )
    assert result.outcome.action == "created"
    assert result.new_user is not None


@pytest.mark.parametrize("idp_initiated", [True, False], ids=["idp-initiated", "sp-initiated"])
def test_create_users_never_refuses_every_unknown_email(idp_initiated: bool) -> None:
    err = refused(
        None, policy=ProvisioningPolicy(create_users="never"), idp_initiated=idp_initiated
    )
    assert err.code == "user_not_provisioned"


def test_a_user_is_created_in_the_account_that_verified_the_login() -> None:
    """The account is the one whose IdP signed, whatever the identity's claim says."""
    result = plan_provisioning(
        None,
        Identity(email="ada@acme.test", full_name=None, role="developer", account_id=None),
        account_id="acme",
        policy=ProvisioningPolicy(),
        idp_initiated=True,
    )
    assert result.new_user is not None
    assert result.new_user.account_id == "acme"
    assert dict(result.outcome.changes) == {"full_name": (None, None), "role": (None, "developer")}


def test_an_unknown_create_users_policy_is_a_configuration_error() -> None:
    with pytest.raises(SamlError) as caught:
        ProvisioningPolicy(create_users="sometimes")  # type: ignore[arg-type]
    assert caught.value.code == "configuration_invalid"


# --- an existing user -----------------------------------------------------------------------


@pytest.mark.parametrize("idp_initiated", [True, False], ids=["idp-initiated", "sp-initiated"])
def test_an_existing_user_with_the_same_name_and_role_is_unchanged(idp_initiated: bool) -> None:
    existing = user()
    result = plan(existing, idp_initiated=idp_initiated)
    assert result.outcome.action == "unchanged"
    assert dict(result.outcome.changes) == {}
    assert result.existing == existing
    assert result.new_user is None


@pytest.mark.parametrize(
    ("existing", "changes"),
    [
        (user(full_name="Ada King"), {"full_name": ("Ada King", "Ada Lovelace")}),
        (user(full_name=None), {"full_name": (None, "Ada Lovelace")}),
        (user(role="finance"), {"role": ("finance", "developer")}),
        (
            user(full_name="Ada King", role="account_administrator"),
            {
                "full_name": ("Ada King", "Ada Lovelace"),
                "role": ("account_administrator", "developer"),
            },
        ),
    ],
    ids=["name changed", "name added", "role changed", "name and role changed"],
)
def test_a_changed_name_or_role_is_updated_and_reported_as_old_and_new(
    existing: UserRecord, changes: dict[str, tuple[str | None, str | None]]
) -> None:
    result = plan(existing)
    assert result.outcome.action == "updated"
    assert dict(result.outcome.changes) == changes
    assert result.existing == existing


def test_an_identity_without_a_name_keeps_the_users_name() -> None:
    """An IdP that stops sending a name does not erase the one the app has."""
    nameless = Identity(email="ada@acme.test", full_name=None, role="developer", account_id="acme")
    result = plan(user(), nameless)
    assert result.outcome.action == "unchanged"


def test_update_users_false_leaves_name_and_role_as_they_are() -> None:
    result = plan(
        user(full_name="Ada King", role="finance"),
        policy=ProvisioningPolicy(update_users=False),
    )
    assert result.outcome.action == "unchanged"
    assert dict(result.outcome.changes) == {}


@pytest.mark.parametrize(
    "policy",
    [
        ProvisioningPolicy(),
        ProvisioningPolicy(create_users="always"),
        ProvisioningPolicy(update_users=False),
    ],
    ids=["default", "create always", "no updates"],
)
def test_a_user_of_another_account_is_refused_never_moved(policy: ProvisioningPolicy) -> None:
    err = refused(user(account_id="globex", role="finance"), policy=policy)
    assert err.code == "account_mismatch"
    assert err.expected == "acme"
    assert err.found == "globex"


def test_the_identitys_account_claim_does_not_make_another_accounts_user_acceptable() -> None:
    globex_claim = Identity(
        email="ada@acme.test", full_name="Ada Lovelace", role="developer", account_id="globex"
    )
    err = refused(user(account_id="globex"), identity=globex_claim)
    assert err.code == "account_mismatch"


# --- stale users ----------------------------------------------------------------------------


def test_stale_users_lists_never_logged_in_first_then_oldest_login_first() -> None:
    never = user(user_id="1", email="never@acme.test", last_sso_login=None)
    old = user(user_id="2", email="old@acme.test", last_sso_login=NOW - timedelta(days=400))
    older = user(user_id="3", email="older@acme.test", last_sso_login=NOW - timedelta(days=900))
    recent = user(user_id="4", email="recent@acme.test", last_sso_login=NOW - timedelta(days=2))
    report = stale_users([old, recent, never, older], now=NOW, days=90)
    assert [u.email for u in report] == ["never@acme.test", "older@acme.test", "old@acme.test"]


def test_stale_users_cutoff_is_exactly_days_before_now() -> None:
    """A login exactly N days ago is not stale; one microsecond earlier is."""
    at_cutoff = user(user_id="1", email="edge@acme.test", last_sso_login=NOW - timedelta(days=30))
    just_before = user(
        user_id="2",
        email="before@acme.test",
        last_sso_login=NOW - timedelta(days=30, microseconds=1),
    )
    report = stale_users([at_cutoff, just_before], now=NOW, days=30)
    assert [u.email for u in report] == ["before@acme.test"]


def test_stale_users_of_an_active_account_is_empty() -> None:
    assert stale_users([user(last_sso_login=NOW)], now=NOW, days=1) == []
