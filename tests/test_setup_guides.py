"""Guided setup per IdP: each vendor's own labels in its console's order, filled in from the
account's SPConfig, ClaimMapping and account ID; docs/setup-guides.md is generated from it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import samljit
from samljit import setup_guides
from samljit.presets import PRESETS
from samljit.setup_guides import VENDORS, guided_setup

ROOT = Path(__file__).resolve().parents[1]
ROLES = ["account_administrator", "developer"]


def _account(*, slo: bool = True, preset: str = "okta", **mapping: object) -> samljit.AccountConfig:
    return samljit.AccountConfig(
        account_id="acme-42",
        idp_metadata=b"",
        sp=samljit.SPConfig(
            entity_id="https://sp.test/saml/acme-42",
            acs_url="https://sp.test/saml/acme-42/acs",
            slo_url="https://sp.test/saml/acme-42/slo" if slo else None,
        ),
        mapping=samljit.ClaimMapping.from_dict(
            {"preset": preset, "accepted_roles": ROLES, "account_attributes": ["tenant"], **mapping}
        ),
    )


# Each vendor's labels, in the order its console asks for them, for an SP with an SLO URL.
EXPECTED_LABELS = {
    "okta": [
        "Single sign-on URL",
        "Audience URI (SP Entity ID)",
        "Name ID format",
        "Application username",
        "Single Logout URL",
        "SP Issuer",
    ],
    "entra": [
        "Identifier (Entity ID)",
        "Reply URL (Assertion Consumer Service URL)",
        "Logout Url",
        "Unique User Identifier (Name ID): Name identifier format",
        "Unique User Identifier (Name ID): Source attribute",
    ],
    "google": ["ACS URL", "Entity ID", "Name ID format", "Name ID"],
    "onelogin": [
        "Audience (EntityID)",
        "Recipient",
        "ACS (Consumer) URL Validator",
        "ACS (Consumer) URL",
        "Single Logout URL",
        "SAML nameID format",
        "SAML signature element",
    ],
    "adfs": [
        "Relying party SAML 2.0 SSO service URL",
        "Relying party trust identifier",
        "SAML Logout endpoint: Trusted URL",
        "Transform an Incoming Claim: Outgoing name ID format",
    ],
    "keycloak": [
        "Client ID",
        "Valid redirect URIs",
        "Name ID format",
        "Assertion Consumer Service POST Binding URL",
        "Logout Service POST Binding URL",
        "Logout Service Redirect Binding URL",
    ],
    "jumpcloud": [
        "SP Entity ID",
        "ACS URL",
        "SAMLSubject NameID",
        "SAMLSubject NameID Format",
        "Signature Algorithm",
        "Single Logout URL",
    ],
    "generic": [
        "SP entity ID (Audience)",
        "Assertion Consumer Service URL (HTTP-POST)",
        "Single Logout URL",
        "NameID format",
        "SP metadata URL",
    ],
}


def _values(guide: setup_guides.SetupGuide) -> dict[str, str]:
    return {f.label: f.value for f in guide.fields}


def test_there_is_a_guide_for_each_vendor_of_the_issue_and_each_has_a_preset() -> None:
    assert set(VENDORS) == set(EXPECTED_LABELS)
    assert set(VENDORS) <= set(PRESETS)
    assert VENDORS[-1] == "generic"


@pytest.mark.parametrize("vendor", VENDORS)
def test_each_guide_uses_the_vendors_own_labels_in_console_order(vendor: str) -> None:
    guide = guided_setup(vendor, config=_account(), sp_metadata_url="https://sp.test/md")
    assert [f.label for f in guide.fields] == EXPECTED_LABELS[vendor]


@pytest.mark.parametrize(
    ("vendor", "entity_label", "acs_label"),
    [
        ("okta", "Audience URI (SP Entity ID)", "Single sign-on URL"),
        ("entra", "Identifier (Entity ID)", "Reply URL (Assertion Consumer Service URL)"),
        ("google", "Entity ID", "ACS URL"),
        ("onelogin", "Audience (EntityID)", "ACS (Consumer) URL"),
        ("adfs", "Relying party trust identifier", "Relying party SAML 2.0 SSO service URL"),
        ("keycloak", "Client ID", "Assertion Consumer Service POST Binding URL"),
        ("jumpcloud", "SP Entity ID", "ACS URL"),
        ("generic", "SP entity ID (Audience)", "Assertion Consumer Service URL (HTTP-POST)"),
    ],
)
def test_the_entity_id_and_acs_url_come_from_the_accounts_sp_config(
    vendor: str, entity_label: str, acs_label: str
) -> None:
    values = _values(guided_setup(vendor, config=_account()))
    assert values[entity_label] == "https://sp.test/saml/acme-42"
    assert values[acs_label] == "https://sp.test/saml/acme-42/acs"


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_slo_field_when_the_sp_has_no_slo_url(vendor: str) -> None:
    guide = guided_setup(vendor, config=_account(slo=False))
    labels = [f.label for f in guide.fields]
    assert "https://sp.test/saml/acme-42/slo" not in {f.value for f in guide.fields}
    assert not any("Logout" in label or label == "SP Issuer" for label in labels)


def test_the_slo_url_is_given_where_the_vendor_asks_for_it() -> None:
    values = _values(guided_setup("entra", config=_account()))
    assert values["Logout Url"] == "https://sp.test/saml/acme-42/slo"


def test_google_says_it_has_no_slo_instead_of_a_field() -> None:
    with_slo = guided_setup("google", config=_account())
    without = guided_setup("google", config=_account(slo=False))
    assert "https://sp.test/saml/acme-42/slo" not in _values(with_slo).values()
    assert len(with_slo.steps) == len(without.steps) + 1


def test_the_onelogin_validator_matches_exactly_the_acs_url() -> None:
    regex = _values(guided_setup("onelogin", config=_account()))["ACS (Consumer) URL Validator"]
    assert re.fullmatch(regex, "https://sp.test/saml/acme-42/acs")
    assert not re.fullmatch(regex, "https://spxtest/saml/acme-42/acs")
    assert not re.fullmatch(regex, "https://sp.test/saml/acme-42/acs/evil")


@pytest.mark.parametrize(
    ("vendor", "label", "email_label"),
    [
        ("okta", "Name ID format", "EmailAddress"),
        ("entra", "Unique User Identifier (Name ID): Name identifier format", "Email address"),
        ("google", "Name ID format", "EMAIL"),
        ("onelogin", "SAML nameID format", "Email"),
        ("keycloak", "Name ID format", "email"),
        (
            "jumpcloud",
            "SAMLSubject NameID Format",
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        ),
    ],
)
def test_the_name_id_format_is_the_accounts_in_the_vendors_words(
    vendor: str, label: str, email_label: str
) -> None:
    assert _values(guided_setup(vendor, config=_account()))[label] == email_label
    persistent = dataclasses.replace(
        _account(), name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    )
    assert _values(guided_setup(vendor, config=persistent))[label] != email_label


def test_an_account_that_sends_no_name_id_policy_is_still_guided_to_email() -> None:
    config = dataclasses.replace(_account(), name_id_format=None)
    assert _values(guided_setup("okta", config=config))["Name ID format"] == "EmailAddress"


def test_a_format_the_vendor_has_no_word_for_is_given_as_its_urn() -> None:
    urn = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
    config = dataclasses.replace(_account(), name_id_format=urn)
    assert _values(guided_setup("okta", config=config))["Name ID format"] == urn


def test_the_attribute_names_are_the_first_names_the_mapping_reads() -> None:
    guide = guided_setup("okta", config=_account())
    assert [(a.purpose, a.name) for a in guide.attributes] == [
        ("email", "email"),
        ("first_name", "firstName"),
        ("last_name", "lastName"),
        ("role", "role"),
        ("account", "tenant"),
    ]


def test_changing_the_mapping_changes_the_named_attributes() -> None:
    config = _account(
        email_attributes=["mailAddress"],
        first_name_attributes=["gn"],
        last_name_attributes=["sn"],
        role_attributes=["appRole"],
        account_attributes=["org_id"],
    )
    guide = guided_setup("okta", config=config)
    assert [a.name for a in guide.attributes] == ["mailAddress", "gn", "sn", "appRole", "org_id"]


def test_the_account_id_attribute_carries_this_accounts_id_as_a_constant() -> None:
    for vendor in VENDORS:
        (account,) = [
            a for a in guided_setup(vendor, config=_account()).attributes if a.purpose == "account"
        ]
        assert (account.name, account.value, account.constant) == ("tenant", "acme-42", True)


def test_adfs_spells_out_the_custom_rule_for_the_account_claim() -> None:
    (account,) = [a for a in guided_setup("adfs", config=_account()).attributes if a.constant]
    assert '=> issue(Type = "tenant", Value = "acme-42");' in account.help


def test_no_account_attribute_when_the_mapping_has_no_account_claim() -> None:
    guide = guided_setup("okta", config=_account(account_attributes=[]))
    assert "account" not in {a.purpose for a in guide.attributes}


def test_a_mapping_without_first_and_last_names_asks_for_the_full_name() -> None:
    guide = guided_setup("okta", config=_account(first_name_attributes=[]))
    purposes = [a.purpose for a in guide.attributes]
    assert "full_name" in purposes
    assert "first_name" not in purposes


def test_group_roles_ask_for_the_group_attribute_the_mapping_reads() -> None:
    config = _account(group_attributes=["memberOf"], group_roles=[["Devs", "developer"]])
    (groups,) = [a for a in guided_setup("okta", config=config).attributes if a.purpose == "groups"]
    assert groups.name == "memberOf"
    assert "groups" not in {a.purpose for a in guided_setup("okta", config=_account()).attributes}


def test_the_role_statement_lists_the_values_the_mapping_accepts() -> None:
    (role,) = [a for a in guided_setup("okta", config=_account()).attributes if a.purpose == "role"]
    assert all(accepted in role.help for accepted in ROLES)
    translated = _account(role_values={"Okta Admins": "account_administrator"})
    (role,) = [a for a in guided_setup("okta", config=translated).attributes if a.purpose == "role"]
    assert "Okta Admins" in role.help


def test_the_group_statement_lists_the_groups_the_rules_read() -> None:
    config = _account(group_attributes=["memberOf"], group_roles=[["Devs", "developer"]])
    (groups,) = [a for a in guided_setup("okta", config=config).attributes if a.purpose == "groups"]
    assert "Devs" in groups.help


def test_a_mapping_without_role_attributes_asks_for_no_role() -> None:
    config = _account(role_attributes=[], unaccepted_role="default", default_role="developer")
    assert "role" not in {a.purpose for a in guided_setup("okta", config=config).attributes}


def test_the_sp_metadata_url_is_offered_where_the_idp_can_import_it() -> None:
    with_url = guided_setup("adfs", config=_account(), sp_metadata_url="https://sp.test/md")
    without = guided_setup("adfs", config=_account())
    assert "https://sp.test/md" in with_url.steps[0]
    assert "https://sp.test/md" not in without.steps[0]
    assert (
        _values(guided_setup("generic", config=_account(), sp_metadata_url="https://sp.test/md"))[
            "SP metadata URL"
        ]
        == "https://sp.test/md"
    )
    assert "SP metadata URL" not in _values(guided_setup("generic", config=_account()))


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_guide_says_who_may_sign_in_and_ends_handing_the_idp_metadata_back(
    vendor: str,
) -> None:
    guide = guided_setup(vendor, config=_account())
    assert guide.steps
    assert "metadata" in guide.steps[-1].lower()
    assert any("may sign in" in step for step in guide.steps)


def test_an_unknown_vendor_is_a_configuration_error() -> None:
    with pytest.raises(samljit.ConfigError) as info:
        guided_setup("pingfederate", config=_account())
    assert info.value.code == "configuration_invalid"


def test_a_guide_is_frozen() -> None:
    guide = guided_setup("okta", config=_account())
    with pytest.raises(dataclasses.FrozenInstanceError):
        guide.vendor = "entra"  # type: ignore[misc]


def test_the_docs_page_is_generated_from_the_guides(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/setup-guides.md holds, between its markers, what ``python -m samljit.setup_guides
    --markdown`` prints: regenerate it with that command when the data changes."""
    assert setup_guides._main(["--markdown"]) == 0
    generated = capsys.readouterr().out
    page = (ROOT / "docs" / "setup-guides.md").read_text()
    begin, end = "<!-- begin generated -->\n", "<!-- end generated -->"
    assert page[page.index(begin) + len(begin) : page.index(end)].strip() == generated.strip()
    for vendor in VENDORS:
        guide = guided_setup(vendor, config=setup_guides._example_account(vendor))
        assert f"## {guide.display_name}\n" in generated


def test_the_markdown_command_refuses_other_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert setup_guides._main([]) == 2
    assert "usage" in capsys.readouterr().err
