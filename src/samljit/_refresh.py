"""The refresh schedule of a MetadataSource, the records of what each refresh did, and the
transitions of its state: a document accepted, or a refresh failed (pure: the source fetches,
parses and logs)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ._expiry import horizon, iso
from ._time import parse_duration
from .errors import ConfigError, SamlError
from .metadata import IdentityProvider, MetadataWarning, ParsedMetadata

__all__ = [
    "RefreshResult",
    "accepted",
    "check_schedule",
    "failed",
    "refresh_interval",
    "retry_delay",
]


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


def check_schedule(
    *,
    timeout: float,
    refresh_interval: timedelta,
    min_refresh_interval: timedelta,
    max_refresh_interval: timedelta,
    retry_interval: timedelta,
    max_retry_interval: timedelta,
) -> None:
    """Refuse a :class:`~samljit.MetadataSource` timeout or interval out of range.

    Raises:
        ConfigError: ``configuration_invalid``.
    """
    if not (math.isfinite(timeout) and 0 < timeout <= 600):
        raise ConfigError("timeout must be between 0 and 600 seconds", found=str(timeout))
    if not timedelta(0) < min_refresh_interval <= max_refresh_interval <= timedelta(days=366):
        raise ConfigError(
            "refresh intervals must satisfy 0 < min_refresh_interval <= "
            "max_refresh_interval <= 366 days"
        )
    for label, interval in (
        ("refresh_interval", refresh_interval),
        ("retry_interval", retry_interval),
    ):
        if not timedelta(0) < interval <= timedelta(days=366):
            raise ConfigError(f"{label} must be positive and at most 366 days")
    if not retry_interval <= max_retry_interval <= timedelta(days=366):
        raise ConfigError("max_retry_interval must be at least retry_interval and at most 366 days")


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


def accepted(
    state: _State,
    parsed: ParsedMetadata,
    xml: bytes,
    now: datetime,
    *,
    next_refresh: datetime | None,
    warnings: tuple[MetadataWarning, ...],
) -> tuple[_State, RefreshResult]:
    """The state once ``parsed`` (read from ``xml``) is the copy in use, and the result that
    says whether it changed the copy."""
    old = state.parsed
    idp = parsed.idp
    changed = old is None or old.idp != idp
    result = RefreshResult(
        ok=True,
        code="metadata_updated" if changed else "metadata_unchanged",
        message=(
            f"metadata for {idp.entity_id} "
            + ("updated" if changed else "unchanged")
            + f" ({len(idp.signing_certificates)} signing certificate(s))"
        ),
        at=now,
        changed=changed,
        serving=True,
        warnings=warnings,
        next_refresh=next_refresh,
    )
    return _State(
        parsed=parsed, xml=xml, fetched_at=now, next_refresh=next_refresh, last=result
    ), result


def failed(
    state: _State,
    error: SamlError | None,
    now: datetime,
    *,
    code: str | None,
    message: str | None,
    retry: tuple[timedelta, timedelta] | None,
) -> tuple[_State, RefreshResult]:
    """The state after a failed refresh or load, and its result: the copy in use stays, and
    the source is due again after the back-off (``retry``: the retry interval and its cap;
    None for a source that is never due)."""
    code = code or (error.code if error is not None else "metadata_error")
    message = message or (error.message if error is not None else "")
    if state.parsed is not None:
        fetched = state.fetched_at
        message += f" (still using the copy accepted at {iso(fetched) if fetched else '?'})"
    failures = min(state.failures + 1, 64)
    next_refresh = horizon(now, retry_delay(failures, *retry)) if retry is not None else None
    result = RefreshResult(
        ok=False,
        code=code,
        message=message,
        at=now,
        serving=state.parsed is not None,
        error=error,
        warnings=(MetadataWarning(code, message),),
        next_refresh=next_refresh,
    )
    return _State(
        parsed=state.parsed,
        xml=state.xml,
        fetched_at=state.fetched_at,
        next_refresh=next_refresh,
        last=result,
        failures=failures,
    ), result
