"""IdP metadata from a URL or pasted XML, kept fresh: cache, refresh, keep the last good copy.

A :class:`MetadataSource` holds one IdP's metadata for one account. The host app calls
:meth:`MetadataSource.current` on each login (it refreshes when the copy is due) or
:meth:`MetadataSource.refresh` from its own scheduler. A failed refresh (the IdP is down, a
timeout, garbage, a document signed by the wrong key) never replaces the copy in use: it is
reported in a :class:`RefreshResult`, and logins go on with the last good copy.
:func:`check_metadata` reports what an operator must act on: expiring certificates and
metadata past its ``validUntil``.

This module holds the source: it fetches, parses and keeps the copy in use. The refresh
schedule and the transitions of its state are in ``_refresh``, the HTTP fetcher in ``_fetch``
and the monitoring in ``_monitoring``. Every name in ``__all__`` is importable from here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509

from ._config import METADATA_LIMITS, Limits
from ._expiry import horizon
from ._fetch import MetadataFetcher, _display, _scheme_allowed, _too_large, urllib_fetcher
from ._monitoring import MetadataFinding, check_metadata
from ._refresh import RefreshResult, _State, refresh_interval
from ._refresh import accepted as _accepted
from ._refresh import check_schedule as _check_schedule
from ._refresh import failed as _failed
from ._time import require_aware
from .errors import ConfigError, MetadataFetchFailed, MetadataInvalid, SamlError
from .metadata import (
    IdentityProvider,
    ParsedMetadata,
    metadata_bytes,
    parse_idp_metadata,
)

__all__ = [
    "MetadataFetcher",
    "MetadataFinding",
    "MetadataSource",
    "RefreshResult",
    "check_metadata",
    "urllib_fetcher",
]

log = logging.getLogger("samljit.metadata")


class MetadataSource:
    """One IdP's metadata, loaded from a URL (or pasted), cached and refreshed.

    Args:
        url: where the IdP publishes its metadata; ``None`` for a source fed only by
            :meth:`load` (see :meth:`from_xml`).
        fetcher: how to GET the URL; :func:`urllib_fetcher` when omitted.
        entity_id: which IdP to take from an aggregate. Without it, the first accepted
            document's entity ID is kept: a later document for another entity is refused.
        signing_certificates: pinned certificates that must have signed the metadata
            (the IdP's or the federation's metadata signing key).
        allow_http: accept an ``http://`` URL. Only for tests and internal networks: anyone on
            the path could change the metadata, and so choose the keys logins are checked with.
        allow_private_addresses: let the default fetcher connect to loopback, private and
            link-local addresses (see :func:`urllib_fetcher`); without it, a URL whose host
            resolves to one is refused with ``metadata_fetch_failed``
            (``found="private_address"``), so a URL typed by a customer cannot reach the app's
            own network (SSRF).
        timeout: seconds the fetcher may wait (see :func:`urllib_fetcher`).
        limits: size bounds; ``limits.max_bytes`` also bounds the download.
        refresh_interval: how long a copy is used when the metadata has no ``cacheDuration``.
        min_refresh_interval: the shortest time between refreshes, whatever
            ``cacheDuration`` and ``validUntil`` say.
        max_refresh_interval: the longest time between refreshes, whatever ``cacheDuration``
            and ``validUntil`` say.
        retry_interval: how long after a failed refresh the source is due again. Each
            further failure in a row doubles the wait, up to ``max_retry_interval``; a good
            document starts over.
        max_retry_interval: the longest wait after failures in a row.
        name: how findings and messages name the source; the URL without its query by default.

    Raises:
        ConfigError: ``configuration_invalid``, a URL that is not https (without
            ``allow_http``) or an interval or timeout out of range.

    The source never reads the clock: every method that depends on time takes ``now``.
    It keeps its state in one object that is replaced whole, so threads may share a source;
    two threads that find it due at the same instant may both fetch.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        fetcher: MetadataFetcher | None = None,
        entity_id: str | None = None,
        signing_certificates: Sequence[x509.Certificate] = (),
        allow_http: bool = False,
        allow_private_addresses: bool = False,
        timeout: float = 10.0,
        limits: Limits = METADATA_LIMITS,
        refresh_interval: timedelta = timedelta(hours=6),
        min_refresh_interval: timedelta = timedelta(minutes=5),
        max_refresh_interval: timedelta = timedelta(days=1),
        retry_interval: timedelta = timedelta(minutes=5),
        max_retry_interval: timedelta = timedelta(hours=1),
        name: str | None = None,
    ) -> None:
        if url is not None and not _scheme_allowed(url, allow_http):
            raise ConfigError(
                f"the metadata URL {_display(url)!r} must be an https URL with a host"
                + ("" if allow_http else " (allow_http=True permits http)"),
                expected="https",
                found=url.partition(":")[0] or None,
            )
        _check_schedule(
            timeout=timeout,
            refresh_interval=refresh_interval,
            min_refresh_interval=min_refresh_interval,
            max_refresh_interval=max_refresh_interval,
            retry_interval=retry_interval,
            max_retry_interval=max_retry_interval,
        )
        self._url = url
        if fetcher is None and url is not None:
            fetcher = urllib_fetcher(
                allow_http=allow_http, allow_private_addresses=allow_private_addresses
            )
        self._fetcher = fetcher
        self._entity_id = entity_id
        self._signing_certificates = tuple(signing_certificates)
        self._timeout = timeout
        self._limits = limits
        self._refresh_interval = refresh_interval
        self._min_interval = min_refresh_interval
        self._max_interval = max_refresh_interval
        self._retry_interval = retry_interval
        self._max_retry_interval = max_retry_interval
        self._name = name
        self._state = _State()

    @classmethod
    def from_xml(
        cls,
        xml: bytes | str,
        *,
        now: datetime,
        entity_id: str | None = None,
        signing_certificates: Sequence[x509.Certificate] = (),
        limits: Limits = METADATA_LIMITS,
        name: str | None = None,
    ) -> MetadataSource:
        """A source holding pasted metadata; it is never due for a refresh.

        Raises:
            MetadataError: any code :func:`~samljit.parse_idp_metadata` raises, when the pasted
                document is not usable.
        """
        source = cls(
            None,
            entity_id=entity_id,
            signing_certificates=signing_certificates,
            limits=limits,
            name=name,
        )
        result = source.load(xml, now=now)
        if result.error is not None:
            raise result.error
        return source

    # --- what the source holds ------------------------------------------------------------

    @property
    def url(self) -> str | None:
        """The metadata URL, or ``None`` for a source built from pasted XML."""
        return self._url

    @property
    def name(self) -> str:
        """How findings name this source: ``name=``, else the URL, else the entity ID."""
        if self._name is not None:
            return self._name
        if self._url is not None:
            return _display(self._url)
        parsed = self._state.parsed
        return parsed.idp.entity_id if parsed is not None else "pasted metadata"

    @property
    def metadata(self) -> ParsedMetadata | None:
        """The copy in use (the last good one) with its warnings, or None before the first."""
        return self._state.parsed

    @property
    def idp(self) -> IdentityProvider | None:
        """The IdP of the copy in use, or None before the first good document."""
        parsed = self._state.parsed
        return parsed.idp if parsed is not None else None

    @property
    def xml(self) -> bytes | None:
        """The document in use, byte for byte: store it, and :meth:`load` it after a restart."""
        return self._state.xml

    @property
    def fetched_at(self) -> datetime | None:
        """The ``now`` at which the copy in use was accepted."""
        return self._state.fetched_at

    @property
    def next_refresh(self) -> datetime | None:
        """When the source is due; None when it has a URL but was never refreshed, or holds
        pasted metadata."""
        return self._state.next_refresh

    @property
    def last_result(self) -> RefreshResult | None:
        """The outcome of the latest refresh or load, failed or not."""
        return self._state.last

    # --- refreshing -----------------------------------------------------------------------

    def refresh_due(self, now: datetime) -> bool:
        """Whether :meth:`current` would fetch at ``now``: never for pasted metadata."""
        if self._url is None:
            return False
        due = self._state.next_refresh
        return due is None or require_aware(now) >= due

    def current(self, *, now: datetime) -> IdentityProvider:
        """The IdP to verify a login with, refreshing first when the copy is due.

        A failed refresh is recorded (:attr:`last_result`) and the last good copy returned.

        Raises:
            MetadataError: there is no good copy at all; the error is the latest failure's
                (``metadata_fetch_failed``, ``metadata_signature_invalid``, ...).
        """
        if self.refresh_due(now):
            self.refresh(now=now)
        state = self._state
        if state.parsed is not None:
            return state.parsed.idp
        last = state.last
        error = last.error if last is not None else None
        if error is None:  # pragma: no cover - a source without a copy always has a failure
            raise MetadataFetchFailed(f"no metadata has been loaded for {self.name}")
        # A fresh exception each time: re-raising the stored one would grow its traceback.
        raise type(error)(error.message, expected=error.expected, found=error.found) from error

    def refresh(self, *, now: datetime) -> RefreshResult:
        """Fetch the URL now, and use the document if it is good.

        Never raises for a failed fetch or a bad document, whatever is wrong with it: the
        result says what happened, the copy in use stays, and the source is due again after
        ``retry_interval``, doubled for each further failure in a row up to
        ``max_retry_interval``.

        Raises:
            ConfigError: ``configuration_invalid``, the source has no URL (pasted metadata).
        """
        moment = require_aware(now)
        if self._url is None or self._fetcher is None:
            raise ConfigError(
                "this metadata source has no URL to refresh from: give it new XML with load()"
            )
        try:
            body = self._fetcher(self._url, timeout=self._timeout, max_bytes=self._limits.max_bytes)
        except SamlError as exc:
            return self._fail(exc, moment)
        except Exception as exc:  # a host's fetcher may fail in any way; the copy must stay
            error = MetadataFetchFailed(
                f"cannot fetch {_display(self._url)}: {type(exc).__name__}: {exc}",
                found="unreachable",
            )
            error.__cause__ = exc
            return self._fail(error, moment)
        if not isinstance(body, bytes):
            error = MetadataFetchFailed(
                f"the fetcher returned a {type(body).__name__}, not bytes",
                found=type(body).__name__,
            )
            return self._fail(error, moment)
        if len(body) > self._limits.max_bytes:
            return self._fail(_too_large(_display(self._url), self._limits.max_bytes), moment)
        return self._accept(body, moment)

    def load(self, xml: bytes | str, *, now: datetime) -> RefreshResult:
        """Use a document obtained another way (a stored copy, a new paste), with the same
        rules as :meth:`refresh`: a bad document does not replace a good one."""
        moment = require_aware(now)
        try:
            body = metadata_bytes(xml)
        except SamlError as exc:
            return self._fail(exc, moment)
        return self._accept(body, moment)

    def _accept(self, body: bytes, now: datetime) -> RefreshResult:
        state = self._state
        old = state.parsed
        entity_id = self._entity_id
        if entity_id is None and old is not None:
            entity_id = old.idp.entity_id  # the source stays with the IdP it started with
        try:
            parsed = parse_idp_metadata(
                body,
                entity_id=entity_id,
                now=now,
                limits=self._limits,
                signing_certificates=self._signing_certificates,
            )
        except SamlError as exc:
            return self._fail(exc, now)
        except Exception as exc:  # a parser bug must not cost the copy in use, nor the back-off
            error = MetadataInvalid(
                f"this is not usable IdP metadata: reading it failed ({type(exc).__name__})",
                found=type(exc).__name__,
            )
            error.__cause__ = exc
            return self._fail(error, now)
        idp = parsed.idp
        if (
            idp.valid_until is not None
            and idp.valid_until <= now
            and old is not None
            and not (old.idp.valid_until is not None and old.idp.valid_until <= now)
        ):
            # An expired document may be an old one replayed; it never replaces a copy that is
            # still valid (metadata 2.3.1). With nothing better, it is used, with its warning.
            message = (
                f"the fetched metadata expired at {idp.valid_until.isoformat()} (validUntil); "
                "keeping the copy in use"
            )
            return self._fail(None, now, code="metadata_expired", message=message)
        interval, warnings = refresh_interval(
            idp,
            now,
            default=self._refresh_interval,
            minimum=self._min_interval,
            maximum=self._max_interval,
        )
        next_refresh = _add(now, interval) if self._url is not None else None
        self._state, result = _accepted(
            self._state,
            parsed,
            body,
            now,
            next_refresh=next_refresh,
            warnings=parsed.warnings + warnings,
        )
        if result.changed:
            log.info("metadata of %s: %s", self.name, result.message)
        return result

    def _fail(
        self,
        error: SamlError | None,
        now: datetime,
        *,
        code: str | None = None,
        message: str | None = None,
    ) -> RefreshResult:
        retry = (self._retry_interval, self._max_retry_interval) if self._url is not None else None
        self._state, result = _failed(
            self._state, error, now, code=code, message=message, retry=retry
        )
        log.warning(
            "metadata refresh of %s failed [%s]: %s", self.name, result.code, result.message
        )
        return result


def _add(moment: datetime, interval: timedelta) -> datetime:
    return horizon(moment, interval)
