"""SCIM provisioning without HTTP (samljit.directory): a directory user maps to an identity by
the account's claim mapping, exactly as SAML claims do; a deactivated user may not log in;
the accounts' bearer tokens are random, kept only as digests, and bound to their account."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from samljit import AccountConfig, ClaimMapping, ProvisioningPolicy, SPConfig, UserRecord
from samljit.directory import TOKEN_PREFIX, ScimTokens, directory_identity, token_digest
from samljit.errors import ConfigError, EmailInvalid, RoleNotAccepted, UserDeactivated
from samljit.provisioning import plan_provisioning
from samljit.stores.memory import MemoryScimTokenStore
from samljit.testing import FixedClock

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MAPPING = ClaimMapping.from_dict(
    {
        "accepted_roles": ["account_administrator", "developer", "finance"],
        "role_values": {"Finance Team": "finance"},
        "group_roles": [{"group": "Engineering", "role": "developer"}],
    }
)


# --- the identity of a directory user ---------------------------------------------------------


def test_the_user_name_is_the_email_normalized_as_a_name_id_is() -> None:
    identity = directory_identity(MAPPING, user_name="  Ada@ACME.example ", roles=["developer"])
    assert identity.email == "ada@acme.example"


def test_distinct_addresses_stay_distinct() -> None:
    one = directory_identity(MAPPING, user_name="a.da@acme.example", roles=["developer"])
    two = directory_identity(MAPPING, user_name="ada@acme.example", roles=["developer"])
    assert one.email != two.email


def test_a_user_name_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(EmailInvalid):
        directory_identity(MAPPING, user_name="ada", roles=["developer"])


def test_roles_go_through_role_values_and_accepted_roles() -> None:
    identity = directory_identity(MAPPING, user_name="ada@acme.example", roles=["Finance Team"])
    assert identity.role == "finance"


def test_an_unaccepted_role_is_refused_with_the_saml_code() -> None:
    with pytest.raises(RoleNotAccepted) as caught:
        directory_identity(MAPPING, user_name="ada@acme.example", roles=["superuser"])
    assert caught.value.code == "role_not_accepted"


def test_group_membership_gives_the_role_by_the_group_rules() -> None:
    identity = directory_identity(MAPPING, user_name="ada@acme.example", groups=["Engineering"])
    assert identity.role == "developer"


def test_a_role_value_wins_over_a_group_rule_as_in_saml() -> None:
    identity = directory_identity(
        MAPPING, user_name="ada@acme.example", roles=["finance"], groups=["Engineering"]
    )
    assert identity.role == "finance"


def test_the_full_name_comes_from_the_display_name_else_the_given_and_family_names() -> None:
    named = directory_identity(
        MAPPING, user_name="ada@acme.example", full_name="Ada King", roles=["developer"]
    )
    parts = directory_identity(
        MAPPING,
        user_name="ada@acme.example",
        given_name="Ada",
        family_name="Lovelace",
        roles=["developer"],
    )
    assert (named.full_name, parts.full_name) == ("Ada King", "Ada Lovelace")


def test_the_account_claim_of_saml_is_not_asked_of_a_directory_user() -> None:
    """The endpoint's account is the account: SCIM requests carry no account claim."""
    mapping = MAPPING.with_changes(account_attributes=["imagekit_id"])
    identity = directory_identity(mapping, user_name="ada@acme.example", roles=["developer"])
    assert identity.account_id is None


# --- a deactivated user may not log in ----------------------------------------------------------


def _user(active: bool) -> UserRecord:
    return UserRecord(
        user_id="1",
        email="ada@acme.example",
        account_id="acme",
        full_name="Ada",
        role="developer",
        active=active,
    )


def test_a_deactivated_user_may_not_log_in() -> None:
    identity = directory_identity(MAPPING, user_name="ada@acme.example", roles=["developer"])
    with pytest.raises(UserDeactivated) as caught:
        plan_provisioning(
            _user(active=False),
            identity,
            account_id="acme",
            policy=ProvisioningPolicy(),
            idp_initiated=True,
        )
    assert caught.value.code == "user_deactivated"


def test_an_active_user_logs_in_as_before() -> None:
    identity = directory_identity(MAPPING, user_name="ada@acme.example", roles=["finance"])
    plan = plan_provisioning(
        _user(active=True),
        identity,
        account_id="acme",
        policy=ProvisioningPolicy(),
        idp_initiated=False,
    )
    assert plan.outcome.action == "updated"


def test_users_are_active_unless_a_directory_says_otherwise() -> None:
    assert UserRecord(
        user_id="1", email="a@b.example", account_id="a", full_name=None, role="r"
    ).active


def test_the_delete_policy_is_checked_and_kept_with_the_account() -> None:
    with pytest.raises(ConfigError):
        ProvisioningPolicy(scim_delete="purge")  # type: ignore[arg-type]
    config = AccountConfig(
        account_id="acme",
        idp_metadata=b"<x/>",
        sp=SPConfig(entity_id="https://sp.example/md", acs_url="https://sp.example/acs"),
        mapping=MAPPING,
        policy=ProvisioningPolicy(scim_delete="delete"),
    )
    assert config.to_dict()["policy"]["scim_delete"] == "delete"


# --- tokens --------------------------------------------------------------------------------------


@pytest.fixture
def tokens() -> ScimTokens:
    return ScimTokens(MemoryScimTokenStore(), clock=FixedClock(NOW))


def test_a_token_is_256_random_bits_shown_once_and_stored_as_its_digest(
    tokens: ScimTokens,
) -> None:
    secret, token = tokens.issue("acme", label="Okta")
    assert secret.startswith(TOKEN_PREFIX)
    assert len(secret) - len(TOKEN_PREFIX) >= 43  # 32 bytes, URL-safe base64
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest() == token_digest(secret)
    stored = tokens.tokens_of("acme")
    assert stored == [token]
    assert secret not in repr(stored)


def test_two_tokens_are_never_the_same(tokens: ScimTokens) -> None:
    assert tokens.issue("acme")[0] != tokens.issue("acme")[0]


def test_a_token_authenticates_only_its_own_account(tokens: ScimTokens) -> None:
    secret, token = tokens.issue("acme")
    found = tokens.authenticate("acme", secret)
    assert found is not None
    assert found.token_id == token.token_id
    assert tokens.authenticate("globex", secret) is None
    assert tokens.authenticate("acme", secret + "x") is None
    assert tokens.authenticate("acme", "") is None


def test_its_last_use_is_recorded(tokens: ScimTokens) -> None:
    secret, _ = tokens.issue("acme")
    tokens.authenticate("acme", secret)
    assert tokens.tokens_of("acme")[0].last_used_at == NOW


def test_a_revoked_token_authenticates_nothing_and_the_other_one_still_works() -> None:
    clock = FixedClock(NOW)
    tokens = ScimTokens(MemoryScimTokenStore(), clock=clock)
    old, first = tokens.issue("acme", label="old")
    clock.advance(timedelta(minutes=1))
    new, _ = tokens.issue("acme", label="new")
    assert tokens.revoke("acme", first.token_id)
    assert not tokens.revoke("acme", first.token_id)  # once
    assert tokens.authenticate("acme", old) is None
    assert tokens.authenticate("acme", new) is not None
    assert [t.label for t in tokens.tokens_of("acme")] == ["old", "new"]


def test_another_account_cannot_revoke_a_token(tokens: ScimTokens) -> None:
    secret, token = tokens.issue("acme")
    assert not tokens.revoke("globex", token.token_id)
    assert tokens.authenticate("acme", secret) is not None
