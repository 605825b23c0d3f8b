"""Claim mapping as a specification: NameID and attributes in, an Identity or a code out.

No XML here: every case builds :class:`samljit.Claims` directly, as ``samljit mapping test``
does. The vendor cases follow ../shared/FIELD-NOTES.md section 2.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from samljit import ClaimMapping, Claims, GroupRole, Identity, SamlError, normalize_email
from samljit.presets import PRESETS

ACCEPTED = (
    "account_administrator",
    "developer",
    "media_library_full_access",
    "media_library_view_only_access",
    "media_library_restricted_access",
    "finance",
)
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
PAIRWISE_ID = "a3f9c2d1-7b6e-4f0a-9c8d-2e1f0b3a4c5d"

XMLSOAP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
MS_ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
MS_GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
ENTRA_DISPLAY_NAME = "http://schemas.microsoft.com/identity/claims/displayname"
OID_MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
OID_EMAIL = "urn:oid:1.2.840.113549.1.9.1"
OID_GIVEN = "urn:oid:2.5.4.42"
OID_SURNAME = "urn:oid:2.5.4.4"
OID_DISPLAY = "urn:oid:2.16.840.1.113730.3.1.241"

Attributes = Mapping[str, Sequence[str]]


def mapping(**settings: Any) -> ClaimMapping:
    """The app's mapping: the accepted roles of the image-CDN product, plus ``settings``."""
    return ClaimMapping.from_dict({"accepted_roles": list(ACCEPTED), **settings})


def claims(
    attributes: Attributes | None = None,
    *,
    name_id: str = "ada@acme.test",
    name_id_format: str | None = EMAIL,
    friendly_names: Mapping[str, str] | None = None,
) -> Claims:
    """Claims with a role, so that tests of other fields need not repeat it."""
    return Claims(
        name_id=name_id,
        name_id_format=name_id_format,
        attributes={"role": ["developer"]} if attributes is None else attributes,
        friendly_names=friendly_names or {},
    )


def rejected(the_mapping: ClaimMapping, the_claims: Claims) -> SamlError:
    with pytest.raises(SamlError) as caught:
        the_mapping.map(the_claims)
    return caught.value


# --- email: the unique user key ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name_id", "name_id_format", "attributes", "email"),
    [
        ("ada@acme.test", EMAIL, {}, "ada@acme.test"),
        ("Ada.Lovelace@ACME.Test", EMAIL, {}, "ada.lovelace@acme.test"),
        ("  ada@acme.test\n", EMAIL, {}, "ada@acme.test"),
        ("ada@acme.test", UNSPECIFIED, {}, "ada@acme.test"),
        ("ada@acme.test", None, {}, "ada@acme.test"),
        ("ada@acme.test", UNSPECIFIED, {"email": ["other@acme.test"]}, "ada@acme.test"),
        ("ada@acme.test", PERSISTENT, {"email": ["other@acme.test"]}, "other@acme.test"),
        ("ada@acme.test", TRANSIENT, {"email": ["other@acme.test"]}, "other@acme.test"),
        (
            "ada@acme.test",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
            {"email": ["other@acme.test"]},
            "other@acme.test",
        ),
        (PAIRWISE_ID, PERSISTENT, {"email": ["Ada@Acme.test "]}, "ada@acme.test"),
        (PAIRWISE_ID, PERSISTENT, {"mail": ["ada@acme.test"]}, "ada@acme.test"),
        ("_9c1e0f", TRANSIENT, {"mail": ["ada@acme.test"]}, "ada@acme.test"),
        ("ada", UNSPECIFIED, {"email": ["ada@acme.test"]}, "ada@acme.test"),
        ("ada", EMAIL, {"mail": ["ada@acme.test"]}, "ada@acme.test"),
        (
            PAIRWISE_ID,
            PERSISTENT,
            {"email": ["first@acme.test"], "mail": ["second@acme.test"]},
            "first@acme.test",
        ),
        (
            PAIRWISE_ID,
            PERSISTENT,
            {"email": ["", "  "], "mail": ["second@acme.test"]},
            "second@acme.test",
        ),
        (PAIRWISE_ID, PERSISTENT, {"email": [" ", "ada@acme.test"]}, "ada@acme.test"),
        (PAIRWISE_ID, PERSISTENT, {"email": ["ada", "ada@acme.test"]}, "ada@acme.test"),
        (PAIRWISE_ID, PERSISTENT, {"email": ["ada"], "mail": ["ada@acme.test"]}, "ada@acme.test"),
    ],
    ids=[
        "emailAddress NameID",
        "NameID lower-cased",
        "NameID surrounding space trimmed",
        "unspecified NameID that is an address",
        "NameID without a format that is an address",
        "an address NameID wins over the email attribute",
        "a persistent NameID is opaque even when it looks like an address",
        "a transient NameID is opaque even when it looks like an address",
        "a Kerberos principal is not an email",
        "persistent NameID: email attribute, normalised",
        "persistent NameID: second fallback (mail)",
        "transient NameID: mail attribute",
        "username NameID: email attribute",
        "emailAddress format but not an address: attribute",
        "fallbacks in order: the first present wins",
        "blank first fallback: the next one",
        "blank values skipped within one attribute",
        "non-address value skipped within one attribute",
        "non-address first fallback: the next one",
    ],
)
def test_the_email_comes_from_an_address_nameid_else_the_email_attributes_in_order(
    name_id: str, name_id_format: str | None, attributes: dict[str, list[str]], email: str
) -> None:
    the_claims = claims(
        {**attributes, "role": ["developer"]}, name_id=name_id, name_id_format=name_id_format
    )
    assert mapping().map(the_claims).email == email


@pytest.mark.parametrize(
    ("name_id", "name_id_format", "attributes"),
    [
        (PAIRWISE_ID, PERSISTENT, {}),
        ("_9c1e0f3a", TRANSIENT, {}),
        ("ada", UNSPECIFIED, {}),
        ("ada", EMAIL, {}),
        (PAIRWISE_ID, PERSISTENT, {"email": ["ada"]}),
        (PAIRWISE_ID, PERSISTENT, {"email": ["", " "]}),
        (PAIRWISE_ID, PERSISTENT, {"userPrincipalName": ["ada@acme.test"]}),
        ("ada@acme.test", PERSISTENT, {}),
    ],
    ids=[
        "persistent NameID, no attribute",
        "transient NameID, no attribute",
        "username NameID, no attribute",
        "emailAddress format that is not an address",
        "email attribute that is not an address",
        "blank email attribute",
        "an address in an attribute the mapping does not name",
        "persistent NameID shaped like an address",
    ],
)
def test_without_an_address_the_login_is_refused_never_keyed_by_the_nameid(
    name_id: str, name_id_format: str, attributes: dict[str, list[str]]
) -> None:
    err = rejected(
        mapping(),
        claims(
            {**attributes, "role": ["developer"]}, name_id=name_id, name_id_format=name_id_format
        ),
    )
    assert err.code == "email_missing"
    assert err.expected == ["email", "mail"]
    assert err.found == name_id


def test_email_from_name_id_false_ignores_an_address_nameid() -> None:
    """For IdPs whose NameID is a UPN that differs from the mailbox (Entra caveat)."""
    the_mapping = mapping(email_from_name_id=False)
    upn = claims(
        {"email": ["ada.lovelace@acme.test"], "role": ["developer"]}, name_id="al@acme.test"
    )
    assert the_mapping.map(upn).email == "ada.lovelace@acme.test"
    assert rejected(the_mapping, claims(name_id="al@acme.test")).code == "email_missing"


def test_a_refusal_quotes_at_most_80_characters_of_the_name_id() -> None:
    """The NameID is the sender's text: ``found`` does not repeat an arbitrarily long one."""
    err = rejected(mapping(), claims(name_id="x" * 500, name_id_format=PERSISTENT))
    assert err.code == "email_missing"
    assert err.found == "x" * 80


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("ada@acme.test", "ada@acme.test"),
        (" ADA@Acme.Test\t", "ada@acme.test"),
        ("ada", None),
        ("ada@acme", None),
        ("ada@@acme.test", None),
        ("ada lovelace@acme.test", None),
        ("", None),
        ("@acme.test", None),
        ("ada@acme.test.", None),
    ],
)
def test_normalize_email_trims_lowercases_and_refuses_non_addresses(
    value: str, normalised: str | None
) -> None:
    assert normalize_email(value) == normalised


# --- full name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "full_name"),
    [
        ({"full_name": ["Ada Lovelace"]}, "Ada Lovelace"),
        ({"full_name": ["  Ada \t  Lovelace \n"]}, "Ada Lovelace"),
        ({"displayName": ["Ada Lovelace"]}, "Ada Lovelace"),
        ({"full_name": ["Ada Lovelace"], "displayName": ["Countess"]}, "Ada Lovelace"),
        ({"full_name": [" "], "displayName": ["Ada Lovelace"]}, "Ada Lovelace"),
        ({"firstName": ["Ada"], "lastName": ["Lovelace"]}, "Ada Lovelace"),
        ({"givenName": [" Ada  King "], "sn": ["Lovelace "]}, "Ada King Lovelace"),
        ({"firstName": ["Ada"]}, "Ada"),
        ({"lastName": ["Lovelace"]}, "Lovelace"),
        ({"full_name": ["  "], "firstName": ["Ada"], "lastName": ["Lovelace"]}, "Ada Lovelace"),
        ({"full_name": ["Ada Lovelace"], "firstName": ["X"], "lastName": ["Y"]}, "Ada Lovelace"),
        ({}, None),
        ({"firstName": [""], "lastName": [" "]}, None),
    ],
    ids=[
        "one attribute",
        "whitespace collapsed",
        "second full-name fallback",
        "first full-name fallback wins",
        "blank first full-name fallback: the next one",
        "first + last joined",
        "first + last, whitespace collapsed",
        "first only",
        "last only",
        "blank full name: first + last",
        "full name wins over first + last",
        "no name at all",
        "blank first and last",
    ],
)
def test_the_full_name_is_one_attribute_or_first_and_last_joined(
    attributes: dict[str, list[str]], full_name: str | None
) -> None:
    assert mapping().map(claims({**attributes, "role": ["developer"]})).full_name == full_name


# --- role -----------------------------------------------------------------------------------

ROLE_RULES: dict[str, Any] = {
    "role_values": {
        "Admins": "account_administrator",
        "admins": "finance",
        "Media Viewers": "media_library_view_only_access",
    },
    "group_attributes": ["groups"],
    "group_roles": [
        {"group": "acme-admins", "role": "account_administrator"},
        {"group": "acme-devs", "role": "developer"},
        ["acme-media", "media_library_full_access"],
    ],
}


@pytest.mark.parametrize(
    ("attributes", "role"),
    [
        ({"role": ["developer"]}, "developer"),
        ({"role": [" finance "]}, "finance"),
        ({"role": ["Admins"]}, "account_administrator"),
        ({"role": ["admins"]}, "finance"),
        ({"role": ["Media Viewers"]}, "media_library_view_only_access"),
        ({"role": [" Admins\t"]}, "account_administrator"),
        ({"role": ["finance", "developer"]}, "developer"),
        ({"role": ["media_library_view_only_access", "Admins"]}, "account_administrator"),
        ({"role": ["Everyone", "developer"]}, "developer"),
        ({"role": ["", "developer"]}, "developer"),
        ({"groups": ["acme-devs", "acme-admins"]}, "account_administrator"),
        ({"groups": ["acme-media", "acme-devs"]}, "developer"),
        ({"groups": ["Everyone", "acme-media"]}, "media_library_full_access"),
        ({"groups": [" acme-devs "]}, "developer"),
        ({"role": ["finance"], "groups": ["acme-admins"]}, "finance"),
        ({"role": ["superuser"], "groups": ["acme-devs"]}, "developer"),
    ],
    ids=[
        "exact accepted value",
        "accepted value with surrounding space",
        "role_values: exact",
        "role_values: another case is another value",
        "role_values: two words",
        "role_values: surrounding ASCII whitespace trimmed",
        "several accepted: first in accepted_roles wins",
        "several accepted after translation: first in accepted_roles wins",
        "unaccepted values beside an accepted one are ignored",
        "blank values ignored",
        "group rules: earlier rule wins over the groups' order",
        "group rules: priority, not the claim's order",
        "group rules: non-matching groups ignored",
        "group rules: surrounding space ignored",
        "an accepted role wins over group rules",
        "unaccepted role: group rules still apply",
    ],
)
def test_the_role_is_an_accepted_value_translated_or_given_by_group_rules(
    attributes: dict[str, list[str]], role: str
) -> None:
    assert mapping(**ROLE_RULES).map(claims(attributes)).role == role


@pytest.mark.parametrize(
    "sent",
    [
        "ADMINS",
        "STRASSE-ADMINS",
        "Stra\u00dfe-admins",
        "Admins\u3000",
        "\u00a0Admins",
        "Admins\u0085",
        "Admins\u200b",
        "\uff21dmins",
        "Adm\u0130ns",
    ],
    ids=[
        "upper case",
        "case folding (sharp s)",
        "another case",
        "ideographic space",
        "no-break space",
        "next line (U+0085)",
        "zero-width space",
        "fullwidth letter",
        "dotted capital I",
    ],
)
def test_role_values_match_exactly_no_case_folding_or_unicode_trimming(sent: str) -> None:
    """Roles grant privileges: only the exact value (ASCII whitespace aside) is translated."""
    the_mapping = mapping(role_values={"Admins": "account_administrator"})
    err = rejected(the_mapping, claims({"role": [sent]}))
    assert err.code == "role_not_accepted"
    assert err.found == [sent]


@pytest.mark.parametrize(
    "sent",
    ["account_administrator\u3000", "\u00a0account_administrator", "Account_Administrator"],
    ids=["ideographic space", "no-break space", "another case"],
)
def test_an_accepted_role_padded_with_unicode_spaces_or_in_another_case_is_not_accepted(
    sent: str,
) -> None:
    err = rejected(mapping(), claims({"role": [sent]}))
    assert err.code == "role_not_accepted"


def test_a_group_padded_with_a_unicode_space_matches_no_group_rule() -> None:
    err = rejected(mapping(**ROLE_RULES), claims({"groups": ["acme-admins\u3000"]}))
    assert err.code == "role_not_accepted"


@pytest.mark.parametrize(
    ("attributes", "found"),
    [
        ({"role": ["superuser"]}, ["superuser"]),
        ({"role": ["Developer"]}, ["Developer"]),
        ({"role": ["Everyone", "Staff"]}, ["Everyone", "Staff"]),
        ({"groups": ["Everyone"]}, []),
        ({}, []),
        ({"role": ["", "  "]}, []),
    ],
    ids=[
        "unaccepted value",
        "accepted value in another case, without role_values",
        "several unaccepted values",
        "no matching group",
        "no role at all",
        "only blank values",
    ],
)
def test_no_accepted_role_is_rejected_with_expected_and_found(
    attributes: dict[str, list[str]], found: list[str]
) -> None:
    err = rejected(mapping(**ROLE_RULES), claims(attributes))
    assert err.code == "role_not_accepted"
    assert err.expected == list(ACCEPTED)
    assert err.found == found


@pytest.mark.parametrize("attributes", [{"role": ["superuser"]}, {}], ids=["unaccepted", "none"])
def test_unaccepted_role_default_gives_the_default_role_and_a_warning(
    attributes: dict[str, list[str]],
) -> None:
    the_mapping = mapping(unaccepted_role="default", default_role="media_library_restricted_access")
    identity = the_mapping.map(claims(attributes))
    assert identity.role == "media_library_restricted_access"
    assert len(identity.warnings) == 1
    assert "media_library_restricted_access" in identity.warnings[0]


@pytest.mark.parametrize(
    ("attributes", "why"),
    [({"role": ["superuser"]}, "superuser"), ({}, "no role sent")],
    ids=["unaccepted", "none"],
)
def test_the_default_role_warning_says_why_the_default_was_used(
    attributes: dict[str, list[str]], why: str
) -> None:
    the_mapping = mapping(unaccepted_role="default", default_role="media_library_restricted_access")
    [warning] = the_mapping.map(claims(attributes)).warnings
    assert why in warning


def test_a_default_role_is_not_used_while_unaccepted_role_is_reject() -> None:
    """A ``default_role`` alone does not soften the policy: ``reject`` is the default."""
    err = rejected(
        mapping(default_role="media_library_restricted_access"), claims({"role": ["superuser"]})
    )
    assert err.code == "role_not_accepted"


def test_an_accepted_role_carries_no_warning_under_the_default_policy() -> None:
    the_mapping = mapping(unaccepted_role="default", default_role="media_library_restricted_access")
    identity = the_mapping.map(claims({"role": ["developer"]}))
    assert (identity.role, identity.warnings) == ("developer", ())


def test_role_attributes_are_an_ordered_fallback_list() -> None:
    the_mapping = mapping(role_attributes=["appRole", "role"])
    assert the_mapping.map(claims({"role": ["finance"]})).role == "finance"
    both = claims({"appRole": ["developer"], "role": ["finance"]})
    assert the_mapping.map(both).role == "developer"


# --- account claim --------------------------------------------------------------------------


def test_the_account_claim_names_the_account() -> None:
    the_mapping = mapping(account_attributes=["imagekit_id", "account"])
    assert the_mapping.map(
        claims({"imagekit_id": [" acme "], "role": ["developer"]})
    ).account_id == ("acme")
    assert the_mapping.map(claims({"account": ["acme"], "role": ["developer"]})).account_id == (
        "acme"
    )


@pytest.mark.parametrize(
    "attributes",
    [{"role": ["developer"]}, {"imagekit_id": [""], "role": ["developer"]}],
    ids=["absent", "blank"],
)
def test_a_configured_account_claim_that_is_missing_is_rejected(
    attributes: dict[str, list[str]],
) -> None:
    err = rejected(mapping(account_attributes=["imagekit_id"]), claims(attributes))
    assert err.code == "account_missing"
    assert err.expected == ["imagekit_id"]


def test_without_an_account_claim_configured_the_identity_names_no_account() -> None:
    assert (
        mapping().map(claims({"imagekit_id": ["acme"], "role": ["developer"]})).account_id is None
    )


# --- attribute lookup -----------------------------------------------------------------------


def test_a_mapping_may_name_an_attribute_by_its_friendly_name() -> None:
    """Shibboleth-style IdPs send OID Names with a FriendlyName (python3-saml #218)."""
    the_claims = claims(
        {OID_MAIL: ["ada@acme.test"], OID_DISPLAY: ["Ada Lovelace"], "role": ["developer"]},
        name_id=PAIRWISE_ID,
        name_id_format=PERSISTENT,
        friendly_names={"mail": OID_MAIL, "displayName": OID_DISPLAY},
    )
    identity = mapping(email_attributes=["mail"], full_name_attributes=["displayName"]).map(
        the_claims
    )
    assert (identity.email, identity.full_name) == ("ada@acme.test", "Ada Lovelace")


def test_an_attribute_name_wins_over_another_attributes_friendly_name() -> None:
    the_claims = claims(
        {"mail": ["name@acme.test"], OID_MAIL: ["friendly@acme.test"], "role": ["developer"]},
        name_id=PAIRWISE_ID,
        name_id_format=PERSISTENT,
        friendly_names={"mail": OID_MAIL},
    )
    assert mapping(email_attributes=["mail"]).map(the_claims).email == "name@acme.test"


def test_a_multi_valued_attribute_is_one_claim_with_every_value() -> None:
    """Keycloak repeats one Attribute per role (python3-saml #39); the assertion parser merges
    them into one list, and the mapping considers every value."""
    the_claims = claims({"Role": ["offline_access", "uma_authorization", "finance"]})
    assert mapping(role_attributes=["Role"]).map(the_claims).role == "finance"


def test_extra_attributes_are_copied_with_all_their_values() -> None:
    the_mapping = mapping(
        extra_attributes={"department": ["department", "dept"], "cost_center": "costCenter"}
    )
    identity = the_mapping.map(
        claims({"dept": ["R&D", " ", "Media"], "role": ["developer"], "phone": ["+1"]})
    )
    assert dict(identity.extra) == {"department": ("R&D", "Media"), "cost_center": ()}


def test_an_identity_for_the_claims_has_every_field() -> None:
    the_mapping = mapping(
        account_attributes=["imagekit_id"], extra_attributes={"department": ["department"]}
    )
    identity = the_mapping.map(
        claims(
            {
                "full_name": ["Ada Lovelace"],
                "role": ["developer"],
                "imagekit_id": ["acme"],
                "department": ["R&D"],
            },
            name_id="Ada@Acme.test",
        )
    )
    assert identity == Identity(
        email="ada@acme.test",
        full_name="Ada Lovelace",
        role="developer",
        account_id="acme",
        extra={"department": ("R&D",)},
    )


# --- vendor presets -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VendorCase:
    preset: str
    claims: Claims
    email: str
    full_name: str | None
    role: str
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)


VENDOR_CASES = [
    VendorCase(
        # Okta: NameID is the Okta username (unspecified); attribute statements added by the
        # admin with the names Okta's guides use.
        preset="okta",
        claims=Claims(
            name_id="ada.lovelace@acme.test",
            name_id_format=UNSPECIFIED,
            attributes={
                "email": ["Ada.Lovelace@acme.test"],
                "firstName": ["Ada"],
                "lastName": ["Lovelace"],
                "groups": ["Everyone", "Acme Developers"],
            },
        ),
        email="ada.lovelace@acme.test",
        full_name="Ada Lovelace",
        role="developer",
        settings={"group_roles": [["Acme Developers", "developer"]]},
    ),
    VendorCase(
        # Entra ID: NameID is the UPN; claim URIs without NameFormat; .../claims/name is the UPN.
        preset="entra",
        claims=Claims(
            name_id="ada.lovelace@contoso.onmicrosoft.com",
            name_id_format=EMAIL,
            attributes={
                "http://schemas.microsoft.com/identity/claims/tenantid": [
                    "72f988bf-86f1-41af-91ab-2d7cd011db47"
                ],
                "http://schemas.microsoft.com/identity/claims/objectidentifier": [PAIRWISE_ID],
                f"{XMLSOAP}name": ["ada.lovelace@contoso.onmicrosoft.com"],
                f"{XMLSOAP}emailaddress": ["ada@contoso.com"],
                f"{XMLSOAP}givenname": ["Ada"],
                f"{XMLSOAP}surname": ["Lovelace"],
                MS_ROLE: ["finance"],
                "http://schemas.microsoft.com/claims/authnmethodsreferences": [
                    "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
                ],
            },
        ),
        email="ada.lovelace@contoso.onmicrosoft.com",
        full_name="Ada Lovelace",
        role="finance",
    ),
    VendorCase(
        # Entra ID with the optional displayname claim and group object IDs.
        preset="entra",
        claims=Claims(
            name_id=PAIRWISE_ID,
            name_id_format=PERSISTENT,
            attributes={
                f"{XMLSOAP}name": ["ada.lovelace@contoso.onmicrosoft.com"],
                f"{XMLSOAP}emailaddress": ["Ada@Contoso.com"],
                ENTRA_DISPLAY_NAME: ["Ada Lovelace (Finance)"],
                MS_GROUPS: [
                    "0e3a8c4b-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                    "7d1f2e3a-4b5c-6d7e-8f9a-0b1c2d3e4f5a",
                ],
            },
        ),
        email="ada@contoso.com",
        full_name="Ada Lovelace (Finance)",
        role="account_administrator",
        settings={
            "group_roles": [["7d1f2e3a-4b5c-6d7e-8f9a-0b1c2d3e4f5a", "account_administrator"]]
        },
    ),
    VendorCase(
        # AD FS: a Transform rule emits a persistent NameID; LDAP attributes sent as claims;
        # here .../claims/name is Display-Name.
        preset="adfs",
        claims=Claims(
            name_id=PAIRWISE_ID,
            name_id_format=PERSISTENT,
            attributes={
                f"{XMLSOAP}emailaddress": ["ada@corp.acme.test"],
                f"{XMLSOAP}upn": ["alovelace@corp.acme.test"],
                f"{XMLSOAP}name": ["Ada Lovelace"],
                f"{XMLSOAP}givenname": ["Ada"],
                f"{XMLSOAP}surname": ["Lovelace"],
                "http://schemas.xmlsoap.org/claims/Group": ["Domain Users", "ACME\\Media Admins"],
            },
        ),
        email="ada@corp.acme.test",
        full_name="Ada Lovelace",
        role="media_library_full_access",
        settings={"group_roles": [["ACME\\Media Admins", "media_library_full_access"]]},
    ),
    VendorCase(
        # AD FS without an e-mail rule: the UPN is the fallback; roles from the role claim.
        preset="adfs",
        claims=Claims(
            name_id="_7e1f0c",
            name_id_format=TRANSIENT,
            attributes={
                f"{XMLSOAP}upn": ["ALovelace@corp.acme.test"],
                MS_ROLE: ["Finance"],
            },
        ),
        email="alovelace@corp.acme.test",
        full_name=None,
        role="finance",
        settings={"role_values": {"Finance": "finance"}},
    ),
    VendorCase(
        # OneLogin: NameID Email; "Parameters" named after OneLogin's user fields.
        preset="onelogin",
        claims=Claims(
            name_id="ada@acme.test",
            name_id_format=EMAIL,
            attributes={
                "User.FirstName": ["Ada"],
                "User.LastName": ["Lovelace"],
                "memberOf": ["Developers;Everyone"],
                "role": ["developer"],
            },
        ),
        email="ada@acme.test",
        full_name="Ada Lovelace",
        role="developer",
    ),
    VendorCase(
        # Google Workspace: NameID the primary email (unspecified); no roles, groups mapped.
        preset="google",
        claims=Claims(
            name_id="ada@acme.test",
            name_id_format=UNSPECIFIED,
            attributes={
                "first_name": ["Ada"],
                "last_name": ["Lovelace"],
                "groups": ["everyone@acme.test", "finance-team@acme.test"],
            },
        ),
        email="ada@acme.test",
        full_name="Ada Lovelace",
        role="finance",
        settings={"group_roles": [{"group": "finance-team@acme.test", "role": "finance"}]},
    ),
    VendorCase(
        # Keycloak: username NameID; X500 mappers (OID Name + FriendlyName); repeated Role.
        preset="keycloak",
        claims=Claims(
            name_id="ada",
            name_id_format=UNSPECIFIED,
            attributes={
                OID_EMAIL: ["ada@acme.test"],
                OID_GIVEN: ["Ada"],
                OID_SURNAME: ["Lovelace"],
                "Role": ["offline_access", "uma_authorization", "default-roles-acme", "developer"],
            },
            friendly_names={"email": OID_EMAIL, "givenName": OID_GIVEN, "surname": OID_SURNAME},
        ),
        email="ada@acme.test",
        full_name="Ada Lovelace",
        role="developer",
    ),
    VendorCase(
        # Keycloak without FriendlyNames: the OID Names themselves.
        preset="keycloak",
        claims=Claims(
            name_id="ada",
            name_id_format=UNSPECIFIED,
            attributes={
                OID_EMAIL: ["ada@acme.test"],
                OID_GIVEN: ["Ada"],
                OID_SURNAME: ["Lovelace"],
                "Role": ["manage-account", "account_administrator", "developer"],
            },
        ),
        email="ada@acme.test",
        full_name="Ada Lovelace",
        role="account_administrator",
    ),
    VendorCase(
        # JumpCloud: NameID email; SP attribute names typed by the admin.
        preset="jumpcloud",
        claims=Claims(
            name_id="ada@acme.test",
            name_id_format=UNSPECIFIED,
            attributes={
                f"{XMLSOAP}emailaddress": ["ada@acme.test"],
                "firstname": ["Ada"],
                "lastname": ["Lovelace"],
                "displayname": ["Ada Lovelace"],
                "memberOf": ["media-viewers"],
            },
        ),
        email="ada@acme.test",
        full_name="Ada Lovelace",
        role="media_library_view_only_access",
        settings={"group_roles": [["media-viewers", "media_library_view_only_access"]]},
    ),
    VendorCase(
        # A Shibboleth-style IdP through the generic preset: OID Names, eduPerson style.
        preset="generic",
        claims=Claims(
            name_id=PAIRWISE_ID,
            name_id_format=PERSISTENT,
            attributes={
                OID_MAIL: ["ada@uni.example"],
                OID_DISPLAY: ["Ada Lovelace"],
                "role": ["media_library_restricted_access"],
            },
            friendly_names={"mail": OID_MAIL, "displayName": OID_DISPLAY},
        ),
        email="ada@uni.example",
        full_name="Ada Lovelace",
        role="media_library_restricted_access",
    ),
]


@pytest.mark.parametrize(
    "case",
    VENDOR_CASES,
    ids=[f"{case.preset}-{i}" for i, case in enumerate(VENDOR_CASES)],
)
def test_each_preset_maps_what_its_vendor_really_sends(case: VendorCase) -> None:
    the_mapping = ClaimMapping.from_dict(
        {"preset": case.preset, "accepted_roles": list(ACCEPTED), **case.settings}
    )
    identity = the_mapping.map(case.claims)
    assert (identity.email, identity.full_name, identity.role) == (
        case.email,
        case.full_name,
        case.role,
    )


def test_every_preset_has_a_vendor_case_here() -> None:
    assert {case.preset for case in VENDOR_CASES} == set(PRESETS)


def test_entra_claims_name_is_the_upn_and_never_the_full_name() -> None:
    upn_only = Claims(
        name_id="ada.lovelace@contoso.onmicrosoft.com",
        name_id_format=EMAIL,
        attributes={
            f"{XMLSOAP}name": ["ada.lovelace@contoso.onmicrosoft.com"],
            MS_ROLE: ["developer"],
        },
    )
    entra = ClaimMapping.from_dict({"preset": "entra", "accepted_roles": list(ACCEPTED)})
    assert entra.map(upn_only).full_name is None


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_builds_a_mapping_from_its_name_and_the_accepted_roles(preset: str) -> None:
    the_mapping = ClaimMapping.from_dict({"preset": preset, "accepted_roles": ["developer"]})
    assert the_mapping.accepted_roles == ("developer",)
    assert the_mapping.email_attributes


def test_settings_beside_a_preset_override_it() -> None:
    the_mapping = ClaimMapping.from_dict(
        {"preset": "okta", "accepted_roles": ["developer"], "role_attributes": ["appRole"]}
    )
    assert the_mapping.role_attributes == ("appRole",)
    assert the_mapping.email_attributes == tuple(PRESETS["okta"]["email_attributes"])


# --- building from plain data ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"preset": "okta-classic", "accepted_roles": ["developer"]},
        {"preset": ["okta"], "accepted_roles": ["developer"]},
        {"accepted_roles": ["developer"], "email_attribute": ["mail"]},
        {"accepted_roles": ["developer"], "role_values": {"Admins": "admin"}},
        {"accepted_roles": ["developer"], "group_roles": [["acme-admins", "admin"]]},
        {"accepted_roles": ["developer"], "group_roles": [{"group": "acme-admins"}]},
        {"accepted_roles": ["developer"], "group_roles": [["acme-admins"]]},
        {"accepted_roles": ["developer"], "default_role": "admin"},
        {"accepted_roles": []},
        {},
        {"preset": "okta"},
        {"accepted_roles": ["developer"], "unaccepted_role": "default"},
        {"accepted_roles": ["developer"], "unaccepted_role": "allow"},
    ],
    ids=[
        "unknown preset",
        "preset that is not a name",
        "unknown key",
        "role_values target not accepted",
        "group_roles target not accepted",
        "group_roles entry without a role",
        "group_roles pair without a role",
        "default_role not accepted",
        "empty accepted roles",
        "no accepted roles",
        "preset without accepted roles",
        "unaccepted_role default without default_role",
        "unknown unaccepted_role policy",
    ],
)
def test_invalid_plain_data_is_a_configuration_error(data: dict[str, Any]) -> None:
    with pytest.raises(SamlError) as caught:
        ClaimMapping.from_dict(data)
    assert caught.value.code == "configuration_invalid"


def test_from_dict_turns_lists_into_tuples_and_pairs_into_group_roles() -> None:
    the_mapping = mapping(
        email_attributes=["mail", "email"],
        group_roles=[["a", "developer"], {"group": "b", "role": "finance"}],
    )
    assert the_mapping.email_attributes == ("mail", "email")
    assert the_mapping.group_roles == (
        GroupRole(group="a", role="developer"),
        GroupRole(group="b", role="finance"),
    )


def test_a_single_attribute_name_may_be_given_as_a_string() -> None:
    """``"mail"`` is the list ``["mail"]``, never the names "m", "a", "i", "l"."""
    the_claims = claims(
        {"mail": ["ada@acme.test"], "role": ["developer"]},
        name_id=PAIRWISE_ID,
        name_id_format=PERSISTENT,
    )
    assert mapping(email_attributes="mail").map(the_claims).email == "ada@acme.test"


def test_with_changes_reads_plain_data_as_from_dict_does() -> None:
    changed = mapping().with_changes(
        group_attributes="groups", group_roles=[["acme-devs", "developer"]]
    )
    assert changed == mapping(
        group_attributes=["groups"], group_roles=[{"group": "acme-devs", "role": "developer"}]
    )


def test_a_built_mapping_cannot_be_changed_in_place() -> None:
    """One account's mapping is shared by every login: nothing may edit its rules."""
    the_mapping = mapping(
        role_values={"Admins": "account_administrator"}, extra_attributes={"dept": ["dept"]}
    )
    with pytest.raises(TypeError):
        the_mapping.role_values["Everyone"] = "account_administrator"  # type: ignore[index]
    with pytest.raises(TypeError):
        the_mapping.extra_attributes["phone"] = ("phone",)  # type: ignore[index]


FULL_SETTINGS: dict[str, Any] = {
    "preset": "entra",
    "accepted_roles": list(ACCEPTED),
    "role_values": {"Admins": "account_administrator"},
    "group_roles": [["acme-devs", "developer"]],
    "unaccepted_role": "default",
    "default_role": "media_library_restricted_access",
    "account_attributes": ["imagekit_id"],
    "extra_attributes": {"department": ["department", "dept"]},
    "email_from_name_id": False,
    "name_id_is_email": False,
}


@pytest.mark.parametrize(
    "settings",
    [
        *({"preset": name, "accepted_roles": ["developer"]} for name in sorted(PRESETS)),
        {"accepted_roles": ["developer"]},
        FULL_SETTINGS,
    ],
    ids=[*sorted(PRESETS), "defaults", "every setting"],
)
def test_to_dict_is_json_and_from_dict_reads_it_back(settings: dict[str, Any]) -> None:
    original = ClaimMapping.from_dict(settings)
    stored = json.loads(json.dumps(original.to_dict()))
    assert ClaimMapping.from_dict(stored) == original


def test_a_round_tripped_mapping_maps_claims_the_same_way() -> None:
    original = ClaimMapping.from_dict(FULL_SETTINGS)
    copy = ClaimMapping.from_dict(json.loads(json.dumps(original.to_dict())))
    the_claims = Claims(
        name_id="ada@acme.test",
        attributes={
            f"{XMLSOAP}emailaddress": ["ada@acme.test"],
            MS_ROLE: ["Admins"],
            "imagekit_id": ["acme"],
            "dept": ["R&D"],
        },
    )
    assert copy.map(the_claims) == original.map(the_claims)
    assert original.map(the_claims).role == "account_administrator"
