"""Frozen results: what a verified response says, and nothing it did not sign."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Assertion", "Attribute", "NameID"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NameID:
    """The Subject's NameID (SAML core 2.2.3)."""

    value: str
    format: str | None = None
    name_qualifier: str | None = None
    sp_name_qualifier: str | None = None
    sp_provided_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribute:
    """One attribute of the AttributeStatement(s), repeated occurrences merged."""

    name: str
    values: tuple[str, ...]
    friendly_name: str | None = None
    name_format: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Assertion:
    """A verified, validated assertion, read only from what the IdP signed.

    ``attributes`` maps each attribute ``Name`` to all its values, in document order; an
    ``AttributeValue`` holding an element (e.g. a NameID) contributes that element's text, an
    empty one ``""``. Use :meth:`values` to look an attribute up by Name or FriendlyName.
    """

    issuer: str
    assertion_id: str
    name_id: NameID
    attributes: Mapping[str, tuple[str, ...]]
    attribute_details: tuple[Attribute, ...]
    session_index: str | None
    authn_instant: datetime | None
    authn_context_class: str | None
    not_on_or_after: datetime
    """When the assertion stops being usable (the earliest NotOnOrAfter it carries)."""
    in_response_to: str | None
    response_id: str
    audiences: tuple[str, ...]
    signed_parts: tuple[str, ...]
    """Which elements carried a verified signature: ``"response"``, ``"assertion"`` or both."""
    signing_certificate_sha256: str
    """SHA-256 fingerprint (hex) of the metadata certificate that verified the signature."""

    def values(self, key: str) -> tuple[str, ...]:
        """All values of the attribute whose Name, or else FriendlyName, is ``key``; () if none."""
        if key in self.attributes:
            return self.attributes[key]
        found: tuple[str, ...] = ()
        for attribute in self.attribute_details:
            if attribute.friendly_name == key:
                found += attribute.values
        return found

    def first(self, key: str) -> str | None:
        """The first value of :meth:`values`, or None."""
        values = self.values(key)
        return values[0] if values else None
