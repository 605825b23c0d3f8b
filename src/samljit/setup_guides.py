"""Guided SSO setup per IdP: the values an account administrator copies into the IdP's console.

Each vendor (the keys of :data:`VENDORS`, which are also preset names) is data: the console's
own field labels in the order its forms ask for them, where each value comes from, how the
console names the user properties an attribute statement maps, and the steps that follow.
:func:`guided_setup` fills that data in from one account's :class:`~samljit.AccountConfig`:
the URLs from its ``SPConfig``, the attribute names from its ``ClaimMapping`` (the first name
of each fallback list, so the IdP sends what the mapping reads first), and the account-id
attribute with this account's ID. It is pure, so a settings page, the CLI and the docs
(``python -m samljit.setup_guides --markdown``, the source of docs/setup-guides.md) render the
same guide.

Sources: docs/idp-setup.md, ../shared/FIELD-NOTES.md section 2, and each vendor's
documentation. Vendors rename console labels often; a label marked "(unverified)" in a help
text was found in neither.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from ._accounts import AccountConfig
from ._claims import ClaimMapping
from ._config import SPConfig
from .errors import ConfigError

__all__ = [
    "VENDORS",
    "AttributeStatement",
    "GuideField",
    "SetupGuide",
    "guided_setup",
    "guides_markdown",
]

_EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"

Source = Literal["entity_id", "acs_url", "acs_regex", "slo_url", "name_id_format", "metadata_url"]
Purpose = Literal["email", "first_name", "last_name", "full_name", "role", "groups", "account"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GuideField:
    """One field of the IdP's console and the value to type or paste into it."""

    label: str
    """The field's name in that vendor's console, e.g. Okta's "Single sign-on URL"."""
    value: str
    """What to enter, ready to copy."""
    help: str = ""
    """Why, or a pitfall, in one sentence; empty when the label says it all."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeStatement:
    """One attribute the IdP must add to its assertions for the account's mapping."""

    name: str
    """The attribute Name the IdP sends: the first name the account's mapping reads."""
    value: str
    """What the administrator maps it to, in the vendor's words (a user property), or the
    literal value when ``constant`` is true (the account-id attribute)."""
    purpose: Purpose
    """What the mapping uses it for: email, first_name, last_name, full_name, role, groups or
    account."""
    constant: bool = False
    """The value is a fixed string (this account's ID), not a property of the user."""
    help: str = ""
    """How to enter it in this vendor's console, when that is not obvious."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupGuide:
    """Everything an administrator does at one IdP for one account, in order."""

    vendor: str
    """The vendor key (one of :data:`VENDORS`, also its preset's name)."""
    display_name: str
    """The vendor's product name, e.g. "Microsoft Entra ID"."""
    create_app: str
    """Where in the console to create the SAML application."""
    fields: tuple[GuideField, ...]
    """The SP values, labelled and ordered as the console asks for them."""
    attributes_section: str
    """The console's name for where attribute statements are added."""
    attributes: tuple[AttributeStatement, ...]
    """The attributes to add, named as the account's mapping expects them."""
    steps: tuple[str, ...]
    """What to do after entering the values: assign users, hand the IdP metadata back."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _FieldSpec:
    label: str
    source: Source | None = None
    fixed: str = ""
    help: str = ""
    needs_slo: bool = False
    """Shown only when the SP has an SLO URL (Okta's SP Issuer sits in the logout settings)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Vendor:
    display_name: str
    create_app: str
    fields: tuple[_FieldSpec, ...]
    name_id_formats: Mapping[str, str]
    attributes_section: str
    properties: Mapping[str, str]
    constant_help: str
    steps: tuple[str, ...]
    sp_metadata_step: str = ""
    """A step offering the SP metadata instead of typing, ``{sp_metadata}`` filled in."""
    no_slo: str = ""
    """A step saying the vendor has no SAML logout, for an SP that has an SLO URL."""


def _formats(email: str, unspecified: str, persistent: str, transient: str) -> Mapping[str, str]:
    return MappingProxyType(
        {
            _EMAIL_FORMAT: email,
            _UNSPECIFIED: unspecified,
            _PERSISTENT: persistent,
            _TRANSIENT: transient,
        }
    )


def _properties(**names: str) -> Mapping[str, str]:
    return MappingProxyType(names)


_VENDORS: dict[str, _Vendor] = {
    "okta": _Vendor(
        display_name="Okta",
        create_app="Applications > Applications > Create App Integration, sign-in method "
        "SAML 2.0, then Configure SAML",
        fields=(
            _FieldSpec(
                label="Single sign-on URL",
                source="acs_url",
                help="Keep Use this for Recipient URL and Destination URL ticked.",
            ),
            _FieldSpec(label="Audience URI (SP Entity ID)", source="entity_id"),
            _FieldSpec(
                label="Name ID format",
                source="name_id_format",
                help="Must match the format the app's requests ask for.",
            ),
            _FieldSpec(label="Application username", fixed="Email"),
            _FieldSpec(
                label="Single Logout URL",
                source="slo_url",
                help="Under Show Advanced Settings, after ticking Enable Single Logout.",
            ),
            _FieldSpec(label="SP Issuer", source="entity_id", needs_slo=True),
        ),
        name_id_formats=_formats("EmailAddress", "Unspecified", "Persistent", "Transient"),
        attributes_section="Attribute Statements",
        properties=_properties(
            email="user.email",
            first_name="user.firstName",
            last_name="user.lastName",
            full_name='user.firstName + " " + user.lastName',
            role="the user's role in the app (a profile attribute)",
            groups="a Group Attribute Statement with a filter matching the app's groups",
        ),
        constant_help="Okta expressions take a constant in double quotes.",
        steps=(
            "Under Show Advanced Settings keep Response and Assertion Signature Signed and the "
            "Signature Algorithm RSA-SHA256.",
            "Assignments: assign the users or groups who may sign in.",
            "Sign On tab: copy the Metadata URL (or open View SAML setup instructions) and "
            "give the IdP metadata to this app.",
        ),
    ),
    "entra": _Vendor(
        display_name="Microsoft Entra ID",
        create_app="Enterprise applications > New application > Create your own application "
        "(Non-gallery), then Single sign-on > SAML > Basic SAML Configuration > Edit",
        fields=(
            _FieldSpec(label="Identifier (Entity ID)", source="entity_id"),
            _FieldSpec(
                label="Reply URL (Assertion Consumer Service URL)",
                source="acs_url",
                help="Entra requires the request's ACS URL to match it.",
            ),
            _FieldSpec(
                label="Logout Url",
                source="slo_url",
                help="Entra sends logout messages here with the Redirect binding.",
            ),
            _FieldSpec(
                label="Unique User Identifier (Name ID): Name identifier format",
                source="name_id_format",
                help="Attributes & Claims > Edit > Unique User Identifier.",
            ),
            _FieldSpec(
                label="Unique User Identifier (Name ID): Source attribute",
                fixed="user.mail",
                help="The default, user.userprincipalname, may differ from the mailbox address.",
            ),
        ),
        name_id_formats=_formats("Email address", "Unspecified", "Persistent", "Transient"),
        attributes_section="Attributes & Claims > Additional claims",
        properties=_properties(
            email="user.mail",
            first_name="user.givenname",
            last_name="user.surname",
            full_name="user.displayname",
            role="user.assignedroles (app roles whose values are the app's roles)",
            groups="a group claim (Add a group claim)",
        ),
        constant_help="Add new claim: Source Attribute, the value in double quotes.",
        steps=(
            "SAML Certificates: keep Sign SAML assertion and SHA-256.",
            "Users and groups: assign who may sign in.",
            "SAML Certificates: copy the App Federation Metadata Url (or download Federation "
            "Metadata XML) and give it to this app.",
        ),
        sp_metadata_step="Instead of typing the values: Upload metadata file, with the SP "
        "metadata file downloaded from this app.",
    ),
    "google": _Vendor(
        display_name="Google Workspace",
        create_app="Admin console: Apps > Web and mobile apps > Add app > Add custom SAML app; "
        "name it, then Continue past Google Identity Provider details",
        fields=(
            _FieldSpec(label="ACS URL", source="acs_url"),
            _FieldSpec(label="Entity ID", source="entity_id"),
            _FieldSpec(label="Name ID format", source="name_id_format"),
            _FieldSpec(label="Name ID", fixed="Basic Information > Primary email"),
        ),
        name_id_formats=_formats("EMAIL", "UNSPECIFIED", "PERSISTENT", "TRANSIENT"),
        attributes_section="Attribute mapping",
        properties=_properties(
            email="Basic Information > Primary email",
            first_name="Basic Information > First name",
            last_name="Basic Information > Last name",
            full_name="a custom user attribute",
            role="a custom user attribute",
            groups="Group membership (the groups to send)",
        ),
        constant_help="Google maps only user attributes: add a custom user attribute that "
        "holds this value.",
        steps=(
            "User access: turn the app ON for everyone or for the organizational units that "
            "may sign in.",
            "Google Identity Provider details (or the app's Download metadata): give the IdP "
            "metadata file to this app.",
        ),
        no_slo="Google does not support SAML single logout: there is no field for the SLO URL.",
    ),
    "onelogin": _Vendor(
        display_name="OneLogin",
        create_app="Applications > Add App, SAML Custom Connector (Advanced); name it, then "
        "the Configuration tab",
        fields=(
            _FieldSpec(label="Audience (EntityID)", source="entity_id"),
            _FieldSpec(label="Recipient", source="acs_url"),
            _FieldSpec(
                label="ACS (Consumer) URL Validator",
                source="acs_regex",
                help="A regular expression matching the ACS URL exactly.",
            ),
            _FieldSpec(label="ACS (Consumer) URL", source="acs_url"),
            _FieldSpec(label="Single Logout URL", source="slo_url"),
            _FieldSpec(label="SAML nameID format", source="name_id_format"),
            _FieldSpec(label="SAML signature element", fixed="Assertion"),
        ),
        name_id_formats=_formats("Email", "Unspecified", "Persistent", "Transient"),
        attributes_section="Parameters",
        properties=_properties(
            email="Email",
            first_name="First Name",
            last_name="Last Name",
            full_name="Name",
            role="Roles",
            groups="MemberOf",
        ),
        constant_help="Value - Macro -, with this value; tick Include in SAML assertion.",
        steps=(
            "Tick Include in SAML assertion for each parameter.",
            "SSO tab: set SAML Signature Algorithm to SHA-256.",
            "Users: assign who may sign in.",
            "More Actions > SAML Metadata: download the IdP metadata (or copy the Issuer URL, "
            "which serves it) and give it to this app.",
        ),
    ),
    "adfs": _Vendor(
        display_name="AD FS",
        create_app="AD FS Management > Relying Party Trusts > Add Relying Party Trust, Claims "
        "aware, Enter data about the relying party manually",
        fields=(
            _FieldSpec(
                label="Relying party SAML 2.0 SSO service URL",
                source="acs_url",
                help="Configure URL: tick Enable support for the SAML 2.0 WebSSO protocol.",
            ),
            _FieldSpec(label="Relying party trust identifier", source="entity_id"),
            _FieldSpec(
                label="SAML Logout endpoint: Trusted URL",
                source="slo_url",
                help="Trust Properties > Endpoints > Add SAML, endpoint type SAML Logout.",
            ),
            _FieldSpec(
                label="Transform an Incoming Claim: Outgoing name ID format",
                source="name_id_format",
                help="Claim issuance policy rule, incoming claim E-Mail Address, outgoing "
                "claim Name ID. Without it the response has no NameID.",
            ),
        ),
        name_id_formats=_formats(
            "Email", "Unspecified", "Persistent Identifier", "Transient Identifier"
        ),
        attributes_section="Claim issuance policy (Send LDAP Attributes as Claims)",
        properties=_properties(
            email="E-Mail-Addresses",
            first_name="Given-Name",
            last_name="Surname",
            full_name="Display-Name",
            role="a Send Group Membership as a Claim rule per group, the role as value",
            groups="Token-Groups - Unqualified Names",
        ),
        constant_help="A Send Claims Using a Custom Rule rule: "
        '=> issue(Type = "{name}", Value = "{value}");',
        steps=(
            "Choose Access Control Policy: who may sign in.",
            "Give this app the AD FS metadata: https://<AD FS host>/FederationMetadata/"
            "2007-06/FederationMetadata.xml.",
        ),
        sp_metadata_step="Instead of typing the values: Select Data Source, Import data about "
        "the relying party published online or from a file, with {sp_metadata}.",
    ),
    "keycloak": _Vendor(
        display_name="Keycloak",
        create_app="The realm's Clients > Create client, Client type SAML",
        fields=(
            _FieldSpec(
                label="Client ID",
                source="entity_id",
                help="Keycloak matches each request's Issuer against it.",
            ),
            _FieldSpec(label="Valid redirect URIs", source="acs_url"),
            _FieldSpec(label="Name ID format", source="name_id_format"),
            _FieldSpec(
                label="Assertion Consumer Service POST Binding URL",
                source="acs_url",
                help="Advanced tab (unverified label).",
            ),
            _FieldSpec(
                label="Logout Service POST Binding URL",
                source="slo_url",
                help="Advanced tab (unverified label).",
            ),
            _FieldSpec(
                label="Logout Service Redirect Binding URL",
                source="slo_url",
                help="Advanced tab (unverified label).",
            ),
        ),
        name_id_formats=_formats("email", "username", "persistent", "transient"),
        attributes_section="Client scopes > dedicated scope > Mappers",
        properties=_properties(
            email="User Property mapper, property email",
            first_name="User Property mapper, property firstName",
            last_name="User Property mapper, property lastName",
            full_name="User Attribute mapper",
            role="Role list mapper",
            groups="Group list mapper",
        ),
        constant_help="A Hardcoded attribute mapper with this value.",
        steps=(
            "Keys tab: with Client signature required on, import the app's SP certificate.",
            "Who may sign in: every enabled user of the realm, unless the client's "
            "authentication flow restricts it (unverified).",
            "Give this app the realm's IdP metadata: "
            "<Keycloak>/realms/<realm>/protocol/saml/descriptor.",
        ),
        sp_metadata_step="Instead of typing the values: Clients > Import client, with "
        "{sp_metadata} (unverified).",
    ),
    "jumpcloud": _Vendor(
        display_name="JumpCloud",
        create_app="SSO Applications > Add New Application > Custom SAML App, then the SSO tab",
        fields=(
            _FieldSpec(label="SP Entity ID", source="entity_id"),
            _FieldSpec(label="ACS URL", source="acs_url"),
            _FieldSpec(label="SAMLSubject NameID", fixed="email"),
            _FieldSpec(label="SAMLSubject NameID Format", source="name_id_format"),
            _FieldSpec(label="Signature Algorithm", fixed="RSA-SHA256"),
            _FieldSpec(label="Single Logout URL", source="slo_url", help="(unverified label)"),
        ),
        name_id_formats=_formats(_EMAIL_FORMAT, _UNSPECIFIED, _PERSISTENT, _TRANSIENT),
        attributes_section="Attributes (Service Provider Attribute Name, JumpCloud Attribute Name)",
        properties=_properties(
            email="email",
            first_name="firstname",
            last_name="lastname",
            full_name="displayname",
            role="a custom user attribute",
            groups="Include group attribute",
        ),
        constant_help="Constant Value, with this value.",
        steps=(
            "User Groups: bind the groups who may sign in, then activate the application.",
            "Export Metadata: give the IdP metadata file to this app.",
        ),
    ),
    "generic": _Vendor(
        display_name="Other SAML 2.0 IdP",
        create_app="Create a SAML 2.0 application (service provider, relying party) in the IdP",
        fields=(
            _FieldSpec(label="SP entity ID (Audience)", source="entity_id"),
            _FieldSpec(label="Assertion Consumer Service URL (HTTP-POST)", source="acs_url"),
            _FieldSpec(label="Single Logout URL", source="slo_url"),
            _FieldSpec(label="NameID format", source="name_id_format"),
            _FieldSpec(label="SP metadata URL", source="metadata_url"),
        ),
        name_id_formats=_formats(_EMAIL_FORMAT, _UNSPECIFIED, _PERSISTENT, _TRANSIENT),
        attributes_section="Attribute statements",
        properties=_properties(
            email="the user's email address",
            first_name="the user's first name",
            last_name="the user's last name",
            full_name="the user's full name",
            role="the user's role in the app",
            groups="the user's groups",
        ),
        constant_help="A fixed value for every user of this account.",
        steps=(
            "Sign the assertion (or the response) with RSA-SHA256.",
            "Assign the users who may sign in.",
            "Give this app the IdP's metadata XML, or its metadata URL.",
        ),
        sp_metadata_step="If the IdP imports SP metadata, give it {sp_metadata}.",
    ),
}

VENDORS: tuple[str, ...] = tuple(_VENDORS)
"""The vendors with a guide, in the order a settings page lists them (``generic`` last)."""


def guided_setup(
    vendor: str, *, config: AccountConfig, sp_metadata_url: str | None = None
) -> SetupGuide:
    """The setup guide for ``vendor``, filled in with one account's values.

    Args:
        vendor: one of :data:`VENDORS`.
        config: the account; its ``sp`` gives the URLs, its ``mapping`` the attribute names,
            its ``name_id_format`` the NameID format and its ``account_id`` the value of the
            account-id attribute.
        sp_metadata_url: where the app serves this account's SP metadata, for IdPs that can
            import it; None offers the metadata file instead.

    Returns:
        A frozen :class:`SetupGuide`. Fields for the SLO URL are left out when the SP has none;
        the SP metadata URL field when ``sp_metadata_url`` is None.

    Raises:
        ConfigError: ``configuration_invalid`` for a vendor not in :data:`VENDORS`.
    """
    spec = _VENDORS.get(vendor)
    if spec is None:
        raise ConfigError(f"no setup guide for IdP {vendor!r}; choose one of {list(VENDORS)}")
    fields = tuple(
        field
        for field_spec in spec.fields
        if (field := _field(field_spec, spec, config, sp_metadata_url)) is not None
    )
    steps: list[str] = []
    if spec.sp_metadata_step:
        where = (
            f"the SP metadata URL {sp_metadata_url}"
            if sp_metadata_url
            else "the SP metadata file downloaded from this app"
        )
        steps.append(spec.sp_metadata_step.format(sp_metadata=where))
    if spec.no_slo and config.sp.slo_url is not None:
        steps.append(spec.no_slo)
    steps.extend(spec.steps)
    return SetupGuide(
        vendor=vendor,
        display_name=spec.display_name,
        create_app=spec.create_app,
        fields=fields,
        attributes_section=spec.attributes_section,
        attributes=_attributes(spec, config),
        steps=tuple(steps),
    )


def _field(
    field_spec: _FieldSpec, vendor: _Vendor, config: AccountConfig, sp_metadata_url: str | None
) -> GuideField | None:
    sp: SPConfig = config.sp
    value: str | None
    if field_spec.needs_slo and sp.slo_url is None:
        value = None
    elif field_spec.source is None:
        value = field_spec.fixed
    elif field_spec.source == "slo_url":
        value = sp.slo_url
    elif field_spec.source == "entity_id":
        value = sp.entity_id
    elif field_spec.source == "acs_url":
        value = sp.acs_url
    elif field_spec.source == "acs_regex":
        value = f"^{re.escape(sp.acs_url)}$"
    elif field_spec.source == "metadata_url":
        value = sp_metadata_url
    else:
        fmt = config.name_id_format or _EMAIL_FORMAT
        value = vendor.name_id_formats.get(fmt, fmt)
    if value is None:
        return None
    return GuideField(label=field_spec.label, value=value, help=field_spec.help)


def _attributes(vendor: _Vendor, config: AccountConfig) -> tuple[AttributeStatement, ...]:
    mapping: ClaimMapping = config.mapping
    props = vendor.properties
    wanted: list[tuple[Purpose, Sequence[str]]] = [("email", mapping.email_attributes)]
    if mapping.first_name_attributes and mapping.last_name_attributes:
        wanted += [
            ("first_name", mapping.first_name_attributes),
            ("last_name", mapping.last_name_attributes),
        ]
    else:
        wanted.append(("full_name", mapping.full_name_attributes))
    wanted.append(("role", mapping.role_attributes))
    if mapping.group_roles:
        wanted.append(("groups", mapping.group_attributes))
    helps: dict[str, str] = {
        # The values the mapping turns into a role: the IdP's spellings when it translates
        # them (role_values), else the accepted roles themselves.
        "role": "Values: " + ", ".join(mapping.role_values or mapping.accepted_roles) + ".",
        "groups": "Groups the app reads: "
        + ", ".join(dict.fromkeys(rule.group for rule in mapping.group_roles))
        + ".",
    }
    out = [
        AttributeStatement(
            name=names[0], value=props[purpose], purpose=purpose, help=helps.get(purpose, "")
        )
        for purpose, names in wanted
        if names
    ]
    if mapping.account_attributes:
        name = mapping.account_attributes[0]
        out.append(
            AttributeStatement(
                name=name,
                value=config.account_id,
                purpose="account",
                constant=True,
                help=vendor.constant_help.format(name=name, value=config.account_id),
            )
        )
    return tuple(out)


# --- the docs page ---------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def guides_markdown(guides: Iterable[SetupGuide]) -> str:
    """Markdown for ``guides``: per vendor, the fields and attributes as tables and the steps.

    docs/setup-guides.md holds this text for an example account; a test keeps it current.
    """
    parts: list[str] = []
    for guide in guides:
        parts.append(f"## {guide.display_name}\n\n")
        parts.append(f"Create the app: {guide.create_app}.\n\n")
        parts.append(f"| {guide.display_name} field | Value | Note |\n| --- | --- | --- |\n")
        parts.extend(
            f"| {_cell(f.label)} | `{f.value}` | {_cell(f.help)} |\n" for f in guide.fields
        )
        parts.append(f"\n{guide.attributes_section}:\n\n")
        parts.append("| Attribute name | Value | Note |\n| --- | --- | --- |\n")
        parts.extend(
            f"| `{a.name}` | {f'`{a.value}` (constant)' if a.constant else _cell(a.value)} "
            f"| {_cell(a.help)} |\n"
            for a in guide.attributes
        )
        parts.append("\nThen:\n\n")
        parts.extend(f"{number}. {step}\n" for number, step in enumerate(guide.steps, start=1))
        parts.append("\n")
    return "".join(parts).rstrip("\n") + "\n"


def _example_account(vendor: str) -> AccountConfig:
    """The example account of docs/setup-guides.md: ``acme`` at app.example.com, with the
    vendor's preset, an ``imagekit_id`` account attribute and an SLO URL."""
    return AccountConfig(
        account_id="acme",
        idp_metadata=b"",
        sp=SPConfig(
            entity_id="https://app.example.com/saml/acme",
            acs_url="https://app.example.com/saml/acme/acs",
            slo_url="https://app.example.com/saml/acme/slo",
        ),
        mapping=ClaimMapping.from_dict(
            {
                "preset": vendor,
                "accepted_roles": ["account_administrator", "developer"],
                "account_attributes": ["imagekit_id"],
            }
        ),
    )


_EXAMPLE_METADATA_URL = "https://app.example.com/saml/acme/metadata"


def _main(argv: Sequence[str] | None = None) -> int:
    """``python -m samljit.setup_guides --markdown``: print the docs page's generated part."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["--markdown"]:
        sys.stderr.write("usage: python -m samljit.setup_guides --markdown\n")
        return 2
    guides = (
        guided_setup(vendor, config=_example_account(vendor), sp_metadata_url=_EXAMPLE_METADATA_URL)
        for vendor in VENDORS
    )
    sys.stdout.write(guides_markdown(guides))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through _main()
    raise SystemExit(_main())
