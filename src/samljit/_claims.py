"""Claims -> identity: which attribute means what, for one account. Pure; no XML here.

A :class:`ClaimMapping` is plain data (build it from a dict, TOML or JSON row with
:meth:`ClaimMapping.from_dict`) and :meth:`ClaimMapping.map` turns :class:`Claims` (NameID and
attributes) into an :class:`Identity` or raises a :class:`~samljit.ClaimError`. Mappings can be
unit-tested with plain dictionaries::

    mapping = ClaimMapping.from_dict({"preset": "okta", "accepted_roles": ["developer"]})
    mapping.map(Claims(name_id="ada@acme.test", attributes={"role": ["developer"]}))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Literal

from ._email import ADDRESS_NAME_ID_FORMATS as ADDRESS_NAME_ID_FORMATS
from ._email import ASCII_WHITESPACE as ASCII_WHITESPACE
from ._email import ascii_lower as ascii_lower
from ._email import ascii_trim as ascii_trim
from ._email import normalize_email as normalize_email
from ._email import parse_email as parse_email
from ._email import quoted
from ._models import Assertion
from .errors import (
    AccountClaimMissing,
    AccountMismatch,
    ConfigError,
    EmailInvalid,
    EmailMissing,
    RoleNotAccepted,
)
from .presets import PRESETS

__all__ = ["ClaimMapping", "Claims", "GroupRole", "Identity", "normalize_email"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Claims:
    """What a verified assertion says about the user, in the shape mappings need.

    ``attributes`` is keyed by attribute Name; ``friendly_names`` maps FriendlyName to Name so
    that a mapping can name either.
    """

    name_id: str
    name_id_format: str | None = None
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    friendly_names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_assertion(cls, assertion: Assertion) -> Claims:
        """The claims of a verified assertion: its NameID and attributes."""
        return cls(
            name_id=assertion.name_id.value,
            name_id_format=assertion.name_id.format,
            attributes=assertion.attributes,
            friendly_names={
                a.friendly_name: a.name for a in assertion.attribute_details if a.friendly_name
            },
        )

    def values(self, names: Iterable[str]) -> tuple[str, ...]:
        """The values of the first of ``names`` present (by Name, else FriendlyName), each
        trimmed of surrounding ASCII whitespace; blank values are left out."""
        for name in names:
            key = name if name in self.attributes else self.friendly_names.get(name)
            if key is not None and key in self.attributes:
                found = tuple(t for t in map(ascii_trim, self.attributes[key]) if t)
                if found:
                    return found
        return ()

    def first(self, names: Iterable[str]) -> str | None:
        """The first of :meth:`values`, or ``None``."""
        found = self.values(names)
        return found[0] if found else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who logs in, in the app's terms. ``email`` is the unique user key."""

    email: str
    full_name: str | None
    role: str
    account_id: str | None
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """Why a default was used (e.g. the IdP sent no accepted role)."""


@dataclass(frozen=True, slots=True)
class GroupRole:
    """Members of ``group`` get ``role``; earlier rules win when several groups match."""

    group: str
    role: str


RolePolicy = Literal["reject", "default"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimMapping:
    """How one account's IdP claims become an :class:`Identity`.

    Every ``*_attributes`` field is an ordered fallback list of attribute Names (or
    FriendlyNames): the first one present with a non-blank value is used.
    """

    accepted_roles: tuple[str, ...]
    """The roles the app knows, most privileged first: when claims match several, the first
    listed wins."""
    email_attributes: tuple[str, ...] = ("email", "mail")
    email_from_name_id: bool = True
    """Use the NameID as the email when it is an address (see ``name_id_is_email``); False:
    the email comes from ``email_attributes`` only."""
    name_id_is_email: bool | None = None
    """None: the NameID is the email when its Format is emailAddress or unspecified (or
    absent) and it holds an ``@``; a persistent, transient or any other Format is an opaque
    identifier, never an email. True: the NameID is the email whatever its Format (an IdP
    that labels addresses as persistent), and one that is not an address is refused
    (``email_invalid``). False: never the NameID."""
    full_name_attributes: tuple[str, ...] = ("full_name", "displayName", "name")
    first_name_attributes: tuple[str, ...] = ("firstName", "givenName")
    last_name_attributes: tuple[str, ...] = ("lastName", "sn", "surname")
    role_attributes: tuple[str, ...] = ("role",)
    role_values: Mapping[str, str] = field(default_factory=dict)
    """IdP value -> accepted role, for IdPs that say "Admins" where the app says
    "account_administrator". Matched exactly (after trimming ASCII whitespace): list each
    spelling the IdP sends."""
    group_attributes: tuple[str, ...] = ()
    group_roles: tuple[GroupRole, ...] = ()
    """For IdPs that send groups: the first rule whose group the user is in gives the role."""
    unaccepted_role: RolePolicy = "reject"
    """No accepted role in the claims: ``reject`` (role_not_accepted) or use default_role."""
    default_role: str | None = None
    account_attributes: tuple[str, ...] = ()
    """The claim naming the customer account (e.g. ``imagekit_id``); empty: no such claim.
    Compared exactly; several values must all name the same account."""
    extra_attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Identity.extra key -> attribute names, for anything else the app wants."""

    def __post_init__(self) -> None:
        if not self.accepted_roles:
            raise ConfigError("a ClaimMapping needs at least one accepted role")
        unknown = {r for r in self.role_values.values() if r not in self.accepted_roles}
        unknown |= {rule.role for rule in self.group_roles if rule.role not in self.accepted_roles}
        if self.default_role is not None and self.default_role not in self.accepted_roles:
            unknown.add(self.default_role)
        if unknown:
            raise ConfigError(f"roles {sorted(unknown)} are not among the accepted roles")
        if self.unaccepted_role == "default" and self.default_role is None:
            raise ConfigError('unaccepted_role="default" needs a default_role')
        if self.unaccepted_role not in ("reject", "default"):
            raise ConfigError(
                f"unaccepted_role must be reject or default, not {self.unaccepted_role!r}"
            )
        if self.name_id_is_email is not None and not isinstance(self.name_id_is_email, bool):
            raise ConfigError(
                f"name_id_is_email must be true, false or null, not {self.name_id_is_email!r}"
            )
        if self.name_id_is_email and not self.email_from_name_id:
            raise ConfigError("name_id_is_email=True contradicts email_from_name_id=False")

    # --- building -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClaimMapping:
        """Build a mapping from plain data (a database row, TOML, JSON).

        ``preset`` (a name from :data:`samljit.presets.PRESETS`) supplies the attribute names;
        any other key overrides it. ``group_roles`` is a list of ``{"group", "role"}`` objects
        or ``[group, role]`` pairs; lists become tuples.

        Raises:
            ConfigError: ``configuration_invalid`` for an unknown key, preset or role.
        """
        values = dict(data)
        preset_name = values.pop("preset", None)
        merged: dict[str, Any] = {}
        if preset_name is not None:
            if not isinstance(preset_name, str) or preset_name not in PRESETS:
                raise ConfigError(
                    f"unknown preset {preset_name!r}; choose one of {sorted(PRESETS)}"
                )
            merged.update(PRESETS[preset_name])
        merged.update(values)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise ConfigError(f"unknown ClaimMapping settings: {unknown}")
        try:
            return cls(**{name: _coerce(name, value) for name, value in merged.items()})
        except (TypeError, ValueError, KeyError) as exc:
            raise ConfigError(f"invalid ClaimMapping: {exc!r}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; :meth:`from_dict` reads it back."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "group_roles":
                value = [{"group": r.group, "role": r.role} for r in value]
            elif f.name == "extra_attributes":
                value = {k: list(v) for k, v in value.items()}
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def with_changes(self, **changes: Any) -> ClaimMapping:
        """A copy with ``changes`` applied, each value validated as :meth:`from_dict` does."""
        return replace(self, **{name: _coerce(name, value) for name, value in changes.items()})

    # --- mapping --------------------------------------------------------------------------

    def map(self, claims: Claims) -> Identity:
        """Turn ``claims`` into an :class:`Identity`.

        Raises:
            EmailMissing: ``email_missing``, no usable email in the NameID or attributes.
            EmailInvalid: ``email_invalid``, the NameID or an email attribute claims to be an
                address but is not one samljit accepts (docs/security.md).
            RoleNotAccepted: ``role_not_accepted``, no accepted role and no default.
            AccountClaimMissing: ``account_missing``, the account claim is configured but
                absent.
            AccountMismatch: ``account_mismatch``, the account claim has several values that
                name different accounts.
        """
        email = self._email(claims)
        role, warnings = self._role(claims)
        account_id = None
        if self.account_attributes:
            account_id = self._account_id(claims)
        return Identity(
            email=email,
            full_name=self._full_name(claims),
            role=role,
            account_id=account_id,
            extra=MappingProxyType(
                {key: claims.values(names) for key, names in self.extra_attributes.items()}
            ),
            warnings=warnings,
        )

    def map_assertion(self, assertion: Assertion) -> Identity:
        """Map a verified assertion: ``map(Claims.from_assertion(assertion))``."""
        return self.map(Claims.from_assertion(assertion))

    def _email(self, claims: Claims) -> str:
        email = self._name_id_email(claims)
        if email is not None:
            return email
        for name in self.email_attributes:
            for value in claims.values((name,)):
                email = parse_email(value, source=f"the email attribute {name!r}")
                if email is not None:
                    return email
        raise EmailMissing(
            f"no email address in the response: the NameID {claims.name_id[:80]!r} (Format "
            f"{claims.name_id_format!r}) is not one, and none of the attributes "
            f"{list(self.email_attributes)} holds one. Set the NameID to the user's email, or "
            "add an email attribute, at the IdP",
            expected=list(self.email_attributes),
            found=claims.name_id[:80],
        )

    def _name_id_email(self, claims: Claims) -> str | None:
        # IdPs often send addresses as "unspecified", so an address-shaped NameID of that
        # Format is the email. A persistent or transient NameID is an opaque ID (SAML core
        # 8.3.7, 8.3.8), whatever it looks like, unless the mapping says otherwise.
        if not self.email_from_name_id or self.name_id_is_email is False:
            return None
        if self.name_id_is_email is None and claims.name_id_format not in ADDRESS_NAME_ID_FORMATS:
            return None
        email = parse_email(claims.name_id, source="the NameID")
        if email is None and self.name_id_is_email:
            raise EmailInvalid(
                f"the mapping says the NameID is the email (name_id_is_email), but the NameID "
                f"{quoted(claims.name_id)!r} is not an address",
                found=quoted(claims.name_id),
            )
        return email

    def _account_id(self, claims: Claims) -> str:
        values = claims.values(self.account_attributes)
        if not values:
            raise AccountClaimMissing(
                f"the response does not say which account the user belongs to (attribute "
                f"{' or '.join(self.account_attributes)}): add it at the IdP",
                expected=list(self.account_attributes),
            )
        distinct = list(dict.fromkeys(values))
        if len(distinct) > 1:
            # Picking one would let the order of values choose the account.
            raise AccountMismatch(
                f"the response names several accounts {distinct[:10]} for the user (attribute "
                f"{' or '.join(self.account_attributes)}): the IdP must send exactly one",
                found=[value[:80] for value in distinct[:10]],
            )
        return distinct[0]

    def _full_name(self, claims: Claims) -> str | None:
        full = claims.first(self.full_name_attributes)
        if full:
            return " ".join(full.split())
        parts = [claims.first(self.first_name_attributes), claims.first(self.last_name_attributes)]
        joined = " ".join(" ".join(p.split()) for p in parts if p)
        return joined or None

    def _role(self, claims: Claims) -> tuple[str, tuple[str, ...]]:
        sent = claims.values(self.role_attributes)
        mapped = {self._map_role(value) for value in sent}
        for role in self.accepted_roles:
            if role in mapped:
                return role, ()
        groups = set(claims.values(self.group_attributes))
        for rule in self.group_roles:
            if rule.group in groups:
                return rule.role, ()
        if self.unaccepted_role == "default" and self.default_role is not None:
            why = f"role {list(sent)} not accepted" if sent else "no role sent"
            return self.default_role, (f"{why}; default role {self.default_role!r} used",)
        raise RoleNotAccepted(
            (
                f"the IdP sent the role(s) {list(sent)}, none of which this app accepts"
                if sent
                else f"the IdP sent no role (attribute {' or '.join(self.role_attributes)})"
            )
            + f"; accepted: {list(self.accepted_roles)}",
            expected=list(self.accepted_roles),
            found=list(sent),
        )

    def _map_role(self, value: str) -> str:
        # Exactly: any folding ("ADMİNS", "Admins" + U+3000) would let one value stand for
        # another; an IdP that sends several spellings gets one role_values entry each.
        return self.role_values.get(value, value)


def _coerce(name: str, value: Any) -> Any:
    if name == "group_roles":
        return tuple(_group_role(item) for item in value)
    if name in ("role_values",):
        return MappingProxyType(dict(value))
    if name == "extra_attributes":
        return MappingProxyType({k: _names(v) for k, v in dict(value).items()})
    if name.endswith("_attributes") or name == "accepted_roles":
        return _names(value)
    return value


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _group_role(item: Any) -> GroupRole:
    if isinstance(item, GroupRole):
        return item
    if isinstance(item, Mapping):
        return GroupRole(group=str(item["group"]), role=str(item["role"]))
    group, role = item
    return GroupRole(group=str(group), role=str(role))
