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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ._accounts import AccountConfig
from ._claims import ClaimMapping
from ._config import SPConfig
from ._setup_vendors import EMAIL_FORMAT as _EMAIL_FORMAT
from ._setup_vendors import VENDOR_SPECS as _VENDORS
from ._setup_vendors import FieldSpec as _FieldSpec
from ._setup_vendors import Vendor as _Vendor
from .errors import ConfigError

__all__ = [
    "VENDORS",
    "AttributeStatement",
    "GuideField",
    "SetupGuide",
    "guided_setup",
    "guides_markdown",
]

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
