"""The vendor tables behind :mod:`samljit.setup_guides`: each IdP console's field labels in the
order its forms ask for them, where each value comes from, the names it gives the user
properties an attribute statement maps, and the steps that follow (sources: the docstring of
:mod:`samljit.setup_guides`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .setup_guides import Source

__all__ = ["EMAIL_FORMAT", "VENDOR_SPECS", "FieldSpec", "Vendor"]

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    """One field of a console's form: its label and where its value comes from (or a fixed
    value)."""

    label: str
    source: Source | None = None
    fixed: str = ""
    help: str = ""
    needs_slo: bool = False
    """Shown only when the SP has an SLO URL (Okta's SP Issuer sits in the logout settings)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Vendor:
    """One IdP console: its forms, its names for NameID formats and user properties, and the
    steps after the forms."""

    display_name: str
    create_app: str
    fields: tuple[FieldSpec, ...]
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
            EMAIL_FORMAT: email,
            UNSPECIFIED: unspecified,
            PERSISTENT: persistent,
            TRANSIENT: transient,
        }
    )


def _properties(**names: str) -> Mapping[str, str]:
    return MappingProxyType(names)


VENDOR_SPECS: dict[str, Vendor] = {
    "okta": Vendor(
        display_name="Okta",
        create_app="Applications > Applications > Create App Integration, sign-in method "
        "SAML 2.0, then Configure SAML",
        fields=(
            FieldSpec(
                label="Single sign-on URL",
                source="acs_url",
                help="Keep Use this for Recipient URL and Destination URL ticked.",
            ),
            FieldSpec(label="Audience URI (SP Entity ID)", source="entity_id"),
            FieldSpec(
                label="Name ID format",
                source="name_id_format",
                help="Must match the format the app's requests ask for.",
            ),
            FieldSpec(label="Application username", fixed="Email"),
            FieldSpec(
                label="Single Logout URL",
                source="slo_url",
                help="Under Show Advanced Settings, after ticking Enable Single Logout.",
            ),
            FieldSpec(label="SP Issuer", source="entity_id", needs_slo=True),
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
    "entra": Vendor(
        display_name="Microsoft Entra ID",
        create_app="Enterprise applications > New application > Create your own application "
        "(Non-gallery), then Single sign-on > SAML > Basic SAML Configuration > Edit",
        fields=(
            FieldSpec(label="Identifier (Entity ID)", source="entity_id"),
            FieldSpec(
                label="Reply URL (Assertion Consumer Service URL)",
                source="acs_url",
                help="Entra requires the request's ACS URL to match it.",
            ),
            FieldSpec(
                label="Logout Url",
                source="slo_url",
                help="Entra sends logout messages here with the Redirect binding.",
            ),
            FieldSpec(
                label="Unique User Identifier (Name ID): Name identifier format",
                source="name_id_format",
                help="Attributes & Claims > Edit > Unique User Identifier.",
            ),
            FieldSpec(
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
    "google": Vendor(
        display_name="Google Workspace",
        create_app="Admin console: Apps > Web and mobile apps > Add app > Add custom SAML app; "
        "name it, then Continue past Google Identity Provider details",
        fields=(
            FieldSpec(label="ACS URL", source="acs_url"),
            FieldSpec(label="Entity ID", source="entity_id"),
            FieldSpec(label="Name ID format", source="name_id_format"),
            FieldSpec(label="Name ID", fixed="Basic Information > Primary email"),
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
    "onelogin": Vendor(
        display_name="OneLogin",
        create_app="Applications > Add App, SAML Custom Connector (Advanced); name it, then "
        "the Configuration tab",
        fields=(
            FieldSpec(label="Audience (EntityID)", source="entity_id"),
            FieldSpec(label="Recipient", source="acs_url"),
            FieldSpec(
                label="ACS (Consumer) URL Validator",
                source="acs_regex",
                help="A regular expression matching the ACS URL exactly.",
            ),
            FieldSpec(label="ACS (Consumer) URL", source="acs_url"),
            FieldSpec(label="Single Logout URL", source="slo_url"),
            FieldSpec(label="SAML nameID format", source="name_id_format"),
            FieldSpec(label="SAML signature element", fixed="Assertion"),
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
    "adfs": Vendor(
        display_name="AD FS",
        create_app="AD FS Management > Relying Party Trusts > Add Relying Party Trust, Claims "
        "aware, Enter data about the relying party manually",
        fields=(
            FieldSpec(
                label="Relying party SAML 2.0 SSO service URL",
                source="acs_url",
                help="Configure URL: tick Enable support for the SAML 2.0 WebSSO protocol.",
            ),
            FieldSpec(label="Relying party trust identifier", source="entity_id"),
            FieldSpec(
                label="SAML Logout endpoint: Trusted URL",
                source="slo_url",
                help="Trust Properties > Endpoints > Add SAML, endpoint type SAML Logout.",
            ),
            FieldSpec(
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
    "keycloak": Vendor(
        display_name="Keycloak",
        create_app="The realm's Clients > Create client, Client type SAML",
        fields=(
            FieldSpec(
                label="Client ID",
                source="entity_id",
                help="Keycloak matches each request's Issuer against it.",
            ),
            FieldSpec(label="Valid redirect URIs", source="acs_url"),
            FieldSpec(label="Name ID format", source="name_id_format"),
            FieldSpec(
                label="Assertion Consumer Service POST Binding URL",
                source="acs_url",
                help="Advanced tab (unverified label).",
            ),
            FieldSpec(
                label="Logout Service POST Binding URL",
                source="slo_url",
                help="Advanced tab (unverified label).",
            ),
            FieldSpec(
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
    "jumpcloud": Vendor(
        display_name="JumpCloud",
        create_app="SSO Applications > Add New Application > Custom SAML App, then the SSO tab",
        fields=(
            FieldSpec(label="SP Entity ID", source="entity_id"),
            FieldSpec(label="ACS URL", source="acs_url"),
            FieldSpec(label="SAMLSubject NameID", fixed="email"),
            FieldSpec(label="SAMLSubject NameID Format", source="name_id_format"),
            FieldSpec(label="Signature Algorithm", fixed="RSA-SHA256"),
            FieldSpec(label="Single Logout URL", source="slo_url", help="(unverified label)"),
        ),
        name_id_formats=_formats(EMAIL_FORMAT, UNSPECIFIED, PERSISTENT, TRANSIENT),
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
    "generic": Vendor(
        display_name="Other SAML 2.0 IdP",
        create_app="Create a SAML 2.0 application (service provider, relying party) in the IdP",
        fields=(
            FieldSpec(label="SP entity ID (Audience)", source="entity_id"),
            FieldSpec(label="Assertion Consumer Service URL (HTTP-POST)", source="acs_url"),
            FieldSpec(label="Single Logout URL", source="slo_url"),
            FieldSpec(label="NameID format", source="name_id_format"),
            FieldSpec(label="SP metadata URL", source="metadata_url"),
        ),
        name_id_formats=_formats(EMAIL_FORMAT, UNSPECIFIED, PERSISTENT, TRANSIENT),
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
