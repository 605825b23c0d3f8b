"""xs:dateTime and xs:duration as SAML uses them, and clock-skew comparisons."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import ConfigError

_DATETIME = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,12}))?(Z|[+-]\d\d:\d\d)?$", re.ASCII
)


def parse_datetime(value: str) -> datetime | None:
    """Parse an xs:dateTime into an aware UTC datetime, or None when it is not one.

    SAML core 1.3.3 says times are UTC without a zone; IdPs send ``Z``, sometimes an offset or
    up to seven fractional digits (AD FS). All of those are read; fractions below a microsecond
    are dropped.
    """
    if len(value) == 20 and value[19] == "Z" and value[10] == "T":  # the usual shape, fast
        try:
            return _in_range(datetime.fromisoformat(value))
        except ValueError:
            return None
    match = _DATETIME.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        try:
            moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        except OverflowError:
            return None
    return _in_range(moment)


# A day inside the calendar's ends, so that adding a clock skew never overflows.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _in_range(moment: datetime) -> datetime | None:
    return moment if EARLIEST <= moment <= LATEST else None


def format_datetime(moment: datetime) -> str:
    """An aware datetime as SAML's UTC xs:dateTime, e.g. ``2026-11-25T08:00:00Z``."""
    return require_aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def require_aware(moment: datetime, name: str = "now") -> datetime:
    """``moment`` if it is timezone-aware and inside the calendar SAML can express."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigError(f"{name} must be a timezone-aware datetime, got a naive one")
    if not EARLIEST <= moment <= LATEST:
        raise ConfigError(f"{name} is outside the supported range of dates: {moment}")
    return moment


# xs:duration (XML Schema 2, 3.2.6); no sign: a negative cache duration means nothing.
_DURATION = re.compile(
    r"P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?"
    r"(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+(?:\.[0-9]+)?)S)?)?"
)
_MAX_SECONDS = timedelta.max.total_seconds()


def parse_duration(value: str) -> timedelta | None:
    """An ``xs:duration`` such as ``PT6H`` or ``P1D`` as a timedelta, or None when invalid.

    A year counts 365 days and a month 30, which is close enough for a cache lifetime.
    Durations beyond what timedelta holds are capped at ``timedelta.max``.
    """
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if match is None or text == "P" or text.endswith("T"):
        return None
    years, months, days, hours, minutes, seconds = (g or "0" for g in match.groups())
    whole_days = int(years) * 365 + int(months) * 30 + int(days)
    total = whole_days * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if total >= _MAX_SECONDS:
        return timedelta.max
    return timedelta(seconds=total)
