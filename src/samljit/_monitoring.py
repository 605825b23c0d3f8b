"""Expiry monitoring: what across metadata sources needs an operator's action.

The rule that judges certificates and ``validUntil`` is :func:`samljit._expiry.expiry_notices`,
the one behind :func:`~samljit.parse_idp_metadata`'s warnings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ._expiry import expiry_notices, horizon
from ._expiry import iso as _iso
from ._time import require_aware
from .errors import ConfigError
from .metadata import IdentityProvider

if TYPE_CHECKING:
    from .metadata_source import MetadataSource

__all__ = ["MetadataFinding", "check_metadata"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataFinding:
    """One thing about a metadata source that needs an operator's action.

    ``code`` is ``certificate_expiring``, ``certificate_expired``, ``metadata_expired``,
    ``metadata_not_loaded``, or the code of the source's failed last refresh
    (``metadata_fetch_failed``, ``metadata_signature_invalid``, ...).
    """

    source: str
    code: str
    message: str
    expires: datetime | None = None
    """When the certificate or the metadata expires (expired)."""
    entity_id: str | None = None
    certificate_sha256: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The JSON-ready form printed by ``samljit metadata check --json``."""
        out = {"source": self.source, "code": self.code, "message": self.message}
        if self.expires is not None:
            out["expires"] = _iso(self.expires)
        if self.entity_id is not None:
            out["entity_id"] = self.entity_id
        if self.certificate_sha256 is not None:
            out["certificate_sha256"] = self.certificate_sha256
        return out


def check_metadata(
    sources: Iterable[MetadataSource | IdentityProvider], *, now: datetime, days: int = 30
) -> list[MetadataFinding]:
    """What needs action across ``sources``, for an operator's alert or a cron job.

    Reports every signing certificate that has expired or expires within ``days`` of ``now``,
    metadata past its ``validUntil``, and for a :class:`MetadataSource` a failed last refresh
    (logins still use the last good copy, but it is getting old) or the absence of any copy.
    It reads what each source holds and fetches nothing: refresh the sources first.

    Args:
        sources: metadata sources, or parsed IdPs (named by their entity ID).
        now: the instant to judge at.
        days: how far ahead an expiring certificate is reported.

    Returns:
        The findings, in the order of ``sources``; empty when nothing needs action.

    Raises:
        ConfigError: ``configuration_invalid``, a negative ``days`` or a naive ``now``.
    """
    moment = require_aware(now)
    if days < 0:
        raise ConfigError("days must not be negative", found=days)
    until = horizon(moment, timedelta(days=days))
    findings: list[MetadataFinding] = []
    for source in sources:
        if isinstance(source, IdentityProvider):
            findings += _idp_findings(source.entity_id, source, moment, until)
            continue
        idp, last = source.idp, source.last_result
        if idp is None:
            code = last.code if last is not None else "metadata_not_loaded"
            message = last.message if last is not None else "the metadata was never loaded"
            findings.append(MetadataFinding(source=source.name, code=code, message=message))
            continue
        if last is not None and not last.ok:
            findings.append(
                MetadataFinding(
                    source=source.name,
                    code=last.code,
                    message=f"the last refresh, at {_iso(last.at)}, failed: {last.message}",
                    entity_id=idp.entity_id,
                )
            )
        findings += _idp_findings(source.name, idp, moment, until)
    return findings


def _idp_findings(
    name: str, idp: IdentityProvider, now: datetime, until: datetime
) -> list[MetadataFinding]:
    return [
        MetadataFinding(
            source=name,
            code=notice.code,
            message=notice.message,
            expires=notice.expires,
            entity_id=idp.entity_id,
            certificate_sha256=notice.certificate_sha256,
        )
        for notice in expiry_notices(idp, now=now, until=until)
    ]
