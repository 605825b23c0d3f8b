"""The plain values of the admin pages: the request, the audit event, and the views built
from metadata (see :mod:`samljit.integrations._admin`)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType

from .._accounts import AccountConfig
from ..errors import SamlError
from ..metadata import ParsedMetadata, certificate_sha256, parse_idp_metadata
from ..setup_guides import VENDORS, guided_setup
from ._admin_html import problem_of
from ._admin_pages import CertificateView, IdpView, Problem

__all__ = [
    "DEFAULT_MAX_METADATA_BYTES",
    "HEADERS",
    "AdminEvent",
    "AdminRequest",
    "audit_log",
    "digest",
    "entity_or_blank",
    "idp_view",
    "problem_of",
    "vendors",
    "when",
]

audit_log = logging.getLogger("samljit.audit")

DEFAULT_MAX_METADATA_BYTES = 1024 * 1024
"""The largest metadata document the pages accept pasted, uploaded or fetched (one IdP's
metadata is a few KiB; federation aggregates are not for these pages)."""

HEADERS = MappingProxyType(
    {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "frame-ancestors 'none'",
        "Referrer-Policy": "same-origin",
    }
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AdminRequest:
    """One request to the admin pages, in plain values.

    The adapter fills ``csrf_ok`` with its framework's CSRF check of a POST (Django's
    middleware, a session token...) and ``csrf_field`` with the hidden input its forms need.
    """

    method: str
    account_id: str
    path: str = ""
    """The part after the account's admin root, without slashes at either end."""
    form: Mapping[str, str] = dataclasses.field(default_factory=dict)
    files: Mapping[str, bytes] = dataclasses.field(default_factory=dict)
    """Uploaded files' bytes by field name (the adapter bounds their size while reading)."""
    admin_id: str
    """Who is acting, for the audit events."""
    csrf_ok: bool = False
    csrf_field: str = ""
    native: object = None
    """The framework's own request, handed to ``can_administer``."""
    base: str = ""
    """The URL of the account's admin root, ending with ``/`` (e.g. ``/sso/admin/acme/``)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AdminEvent:
    """One change made on the admin pages: who, which account, what changed.

    ``name`` is ``idp_connected``, ``mapping_changed`` or ``sso_disabled``; ``changes`` maps
    each changed setting to its (old, new) value (metadata by SHA-256 digest, not content).
    On the verified domains page: ``domain_added``, ``domain_verified`` and
    ``domain_removed``, whose ``changes`` map the domain to its (old, new) state
    (``pending``, ``verified`` or None). For SCIM tokens: ``scim_token_issued`` and
    ``scim_token_revoked``, whose ``changes`` map the token's ID to its (old, new) state
    (None, ``active`` or ``revoked``); never its secret.
    """

    name: str
    at: datetime
    account_id: str
    admin_id: str
    changes: Mapping[str, tuple[str | None, str | None]] = dataclasses.field(default_factory=dict)


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def digest(xml: bytes) -> str:
    return "sha256:" + hashlib.sha256(xml).hexdigest()


def vendors(config: AccountConfig) -> list[tuple[str, str]]:
    return [(key, guided_setup(key, config=config).display_name) for key in VENDORS]


def idp_view(parsed: ParsedMetadata, now: datetime) -> IdpView:
    idp = parsed.idp
    return IdpView(
        entity_id=idp.entity_id,
        sso=[(e.binding, e.location) for e in idp.sso_services],
        slo=[(e.binding, e.location) for e in idp.slo_services],
        certificates=[
            CertificateView(
                subject=cert.subject.rfc4514_string(),
                not_after=when(cert.not_valid_after_utc),
                sha256=certificate_sha256(cert),
                expired=cert.not_valid_after_utc < now,
            )
            for cert in idp.signing_certificates
        ],
        warnings=[Problem(code=w.code, text=w.message) for w in parsed.warnings],
    )


def entity_or_blank(xml: bytes) -> str:
    try:
        return parse_idp_metadata(xml).idp.entity_id
    except SamlError:
        return "an IdP whose metadata can no longer be read"
