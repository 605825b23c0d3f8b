"""The refresh schedule of a MetadataSource and the records of what each refresh did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ._time import parse_duration
from .errors import SamlError
from .metadata import IdentityProvider, MetadataWarning, ParsedMetadata

__all__ = ["RefreshResult", "refresh_interval", "retry_delay"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshResult:
    """What one refresh (or :meth:`MetadataSource.load`) did.

    ``ok`` is True when the document was accepted; ``code`` is then ``metadata_updated`` (it
    replaced the copy in use, or is the first) or ``metadata_unchanged``. Otherwise ``code``
    is the failure's: ``metadata_fetch_failed``, ``metadata_signature_invalid``,
    ``metadata_invalid``, ``metadata_expired`` or any other metadata error code, and the copy
    in use (if any) stays.
    """

    ok: bool
    code: str
    message: str
    """For administrators and logs; never the document."""
    at: datetime
    """The ``now`` of the refresh."""
    changed: bool = False
    """A new document replaced the copy in use (or became the first copy)."""
    serving: bool = False
    """A good copy is in use after this refresh: on failure, the last good one."""
    error: SamlError | None = None
    """The exception behind a failure, when there is one."""
    warnings: tuple[MetadataWarning, ...] = ()
    """On success, the accepted document's warnings; on failure, one warning with ``code``."""
    next_refresh: datetime | None = None
    """When the source is due again."""


@dataclass(frozen=True, slots=True)
class _State:
    parsed: ParsedMetadata | None = None
    xml: bytes | None = None
    fetched_at: datetime | None = None
    next_refresh: datetime | None = None
    last: RefreshResult | None = None
    failures: int = 0
    """Refreshes failed in a row since the last good one (capped), for the back-off."""


def retry_delay(failures: int, retry_interval: timedelta, most: timedelta) -> timedelta:
    """``retry_interval`` doubled for each failure in a row after the first, capped at
    ``most``: a broken IdP is not fetched on every login, nor hammered while it recovers."""
    delay = retry_interval
    for _ in range(failures - 1):
        delay = min(delay * 2, most)
    return delay


def refresh_interval(
    idp: IdentityProvider,
    now: datetime,
    *,
    default: timedelta,
    minimum: timedelta,
    maximum: timedelta,
) -> tuple[timedelta, tuple[MetadataWarning, ...]]:
    """How long a copy is used: ``cacheDuration`` (or ``default``), brought forward so that a
    fresh copy is fetched well before ``validUntil``, within ``minimum`` and ``maximum``."""
    interval = default
    warnings: tuple[MetadataWarning, ...] = ()
    if idp.cache_duration is not None:
        duration = parse_duration(idp.cache_duration)
        if duration is None:
            warnings = (
                MetadataWarning(
                    "cache_duration_invalid",
                    f"cacheDuration={idp.cache_duration!r} is not an xs:duration such as "
                    f"PT6H; refreshing every {default} instead",
                ),
            )
        else:
            interval = duration
    if idp.valid_until is not None:
        interval = min(interval, (idp.valid_until - now) * 3 / 4)
    return max(minimum, min(maximum, interval)), warnings
