"""The expiry rule for IdP metadata, written once.

Both :func:`~samljit.parse_idp_metadata` (its ``certificate_expired``, ``certificate_expiring``
and ``metadata_expired`` warnings) and
:func:`~samljit.metadata_source.check_metadata` (its findings) judge with
:func:`expiry_notices`: the same codes, boundaries and messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ._certificates import fingerprint
from ._time import LATEST

if TYPE_CHECKING:
    from .metadata import IdentityProvider

EXPIRY_WARNING = timedelta(days=30)
"""How far ahead a certificate counts as expiring, unless the caller says otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiryNotice:
    """One expired or expiring thing in an IdP's metadata."""

    code: str
    """``metadata_expired``, ``certificate_expired`` or ``certificate_expiring``."""
    message: str
    expires: datetime
    certificate_sha256: str | None = None
    """The certificate's fingerprint; None for ``metadata_expired``."""


def horizon(now: datetime, ahead: timedelta = EXPIRY_WARNING) -> datetime:
    """``now + ahead``, capped at the latest instant samljit represents."""
    try:
        return min(now + ahead, LATEST)
    except OverflowError:
        return LATEST


def expiry_notices(idp: IdentityProvider, *, now: datetime, until: datetime) -> list[ExpiryNotice]:
    """What in ``idp`` has expired at ``now`` or expires by ``until``, in document order.

    Metadata expires when its ``validUntil`` is at or before ``now``; a signing certificate has
    expired when its ``notAfter`` is at or before ``now``, and is expiring when it is at or
    before ``until``. When another listed certificate lasts beyond ``until``, the message says
    logins keep working through the switch.
    """
    notices: list[ExpiryNotice] = []
    if idp.valid_until is not None and idp.valid_until <= now:
        notices.append(
            ExpiryNotice(
                code="metadata_expired",
                message=f"the metadata of {idp.entity_id} was valid until "
                f"{iso(idp.valid_until)}: fetch a fresh copy from the IdP",
                expires=idp.valid_until,
            )
        )
    lasting = max(c.not_valid_after_utc for c in idp.signing_certificates)
    for cert in idp.signing_certificates:
        expires = cert.not_valid_after_utc
        if expires > until:
            continue
        sha256 = fingerprint(cert)
        expired = expires <= now
        message = (
            f"signing certificate {sha256[:16]}… of {idp.entity_id} "
            + ("expired on " if expired else "expires on ")
            + iso(expires)
        )
        if lasting > until:
            message += (
                f"; the metadata also lists a certificate valid until {iso(lasting)}, so "
                "logins keep working when the IdP switches to it"
            )
        else:
            message += ": ask the IdP administrator to publish its successor in the metadata"
        notices.append(
            ExpiryNotice(
                code="certificate_expired" if expired else "certificate_expiring",
                message=message,
                expires=expires,
                certificate_sha256=sha256,
            )
        )
    return notices


def iso(moment: datetime) -> str:
    """``moment`` in UTC, ISO 8601 with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
