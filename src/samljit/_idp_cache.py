"""The per-process caches of account configurations and their parsed IdP metadata.

:class:`IdPCache` parses each distinct document once per process. Keyed by the SHA-256 of the
metadata bytes (and the entity ID chosen in it), so a configuration that an administrator
replaces is parsed anew and the old entry ages out (LRU).

Accounts with a metadata URL get a :class:`~samljit.metadata_source.MetadataSource` each
(:class:`SourceCache`), which refreshes the metadata from the URL when it is due.

:class:`AccountCache` keeps, for an account store that tells each configuration's version
(``config_version``), the configuration read at that version with its parsed IdP (or its
source): a login whose version is unchanged neither reads the configuration again nor hashes
its metadata.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime

from ._accounts import AccountConfig
from .metadata import IdentityProvider, parse_idp_metadata
from .metadata_source import MetadataSource

__all__ = ["AccountCache", "CachedAccount", "IdPCache", "SourceCache"]


class IdPCache:
    """Parsed metadata by content hash: each distinct document is parsed once per process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[bytes, str | None], IdentityProvider] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(config: AccountConfig) -> tuple[bytes, str | None]:
        return hashlib.sha256(config.idp_metadata).digest(), config.idp_entity_id

    def cached(self, config: AccountConfig) -> IdentityProvider | None:
        key = self._key(config)
        with self._lock:
            idp = self._items.get(key)
            if idp is not None:
                self._items.move_to_end(key)
            return idp

    def get(self, config: AccountConfig, now: datetime) -> IdentityProvider:
        idp = self.cached(config)
        if idp is not None:
            return idp
        idp = parse_idp_metadata(config.idp_metadata, entity_id=config.idp_entity_id, now=now).idp
        with self._lock:
            self._items[self._key(config)] = idp
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return idp


_SourceKey = tuple[str, str, str | None, bytes]


class SourceCache:
    """One :class:`MetadataSource` per account with a metadata URL, at most ``size`` (LRU).

    A source starts from the account's stored ``idp_metadata`` and fetches the URL at once,
    as the stored copy may be of any age; a failed fetch leaves the stored copy in use and the
    source retries with its back-off. A configuration that changes its URL, entity ID or
    stored metadata gets a new source.
    """

    def __init__(self, size: int, make: Callable[[AccountConfig], MetadataSource]) -> None:
        self.size = size
        self._make = make
        self._items: OrderedDict[_SourceKey, MetadataSource] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(config: AccountConfig) -> _SourceKey:
        digest = hashlib.sha256(config.idp_metadata).digest()
        return config.account_id, config.idp_metadata_url or "", config.idp_entity_id, digest

    def source(self, config: AccountConfig) -> MetadataSource | None:
        """The source held for ``config``, or None before its first use."""
        key = self._key(config)
        with self._lock:
            source = self._items.get(key)
            if source is not None:
                self._items.move_to_end(key)
            return source

    def fresh(self, config: AccountConfig, now: datetime) -> IdentityProvider | None:
        """The IdP of ``config`` when it is held and not due for a refresh (no I/O)."""
        source = self.source(config)
        if source is None or source.refresh_due(now):
            return None
        return source.idp

    def get(self, config: AccountConfig, now: datetime) -> IdentityProvider:
        """The IdP of ``config``, fetching its URL when due (blocking I/O).

        Raises:
            SamlError: no good copy at all (the latest failure's code), or the URL is refused
                (``configuration_invalid``).
        """
        source = self.source(config)
        if source is None:
            source = self._make(config)
            source.load(config.idp_metadata, now=now)
            source.refresh(now=now)
            with self._lock:
                source = self._items.setdefault(self._key(config), source)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return source.current(now=now)


@dataclass(frozen=True, slots=True)
class CachedAccount:
    """An account's configuration as read at ``version``, with what was parsed from it."""

    version: Hashable
    config: AccountConfig | None
    """None: the account had no configuration at that version (SSO disabled)."""
    idp: IdentityProvider | None = None
    source: MetadataSource | None = None


class AccountCache:
    """Configurations by account and version, at most ``size`` accounts and about
    ``max_bytes`` of metadata (least recently used first out).

    The version is read before the configuration, so an entry never holds a configuration
    older than its version says: a change saved between the two reads is read with the old
    version, and read again at the next login, which finds the new version.
    """

    def __init__(self, size: int, max_bytes: int = 256 * 2**20) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, CachedAccount] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, account_id: str, version: Hashable) -> CachedAccount | None:
        """The entry of ``account_id`` read at ``version``, or None."""
        with self._lock:
            entry = self._items.get(account_id)
            if entry is None or entry.version != version:
                return None
            self._items.move_to_end(account_id)
            return entry

    def of(self, config: AccountConfig) -> CachedAccount | None:
        """The entry holding this very configuration object, or None."""
        with self._lock:
            entry = self._items.get(config.account_id)
        return entry if entry is not None and entry.config is config else None

    def keep(self, account_id: str, version: Hashable, config: AccountConfig | None) -> None:
        """Hold ``config`` as read at ``version``, replacing the account's entry."""
        self._put(account_id, CachedAccount(version, config))

    def attach(
        self,
        config: AccountConfig,
        *,
        idp: IdentityProvider | None = None,
        source: MetadataSource | None = None,
    ) -> None:
        """Add the parsed IdP (or the source) to the entry holding ``config``, if it still does."""
        with self._lock:
            entry = self._items.get(config.account_id)
            if entry is not None and entry.config is config:
                self._items[config.account_id] = replace(entry, idp=idp, source=source)

    def _put(self, account_id: str, entry: CachedAccount) -> None:
        with self._lock:
            old = self._items.pop(account_id, None)
            self._bytes -= _size(old)
            self._items[account_id] = entry
            self._bytes += _size(entry)
            while len(self._items) > self.size or (
                self._bytes > self.max_bytes and len(self._items) > 1
            ):
                _, evicted = self._items.popitem(last=False)
                self._bytes -= _size(evicted)


def _size(entry: CachedAccount | None) -> int:
    return 0 if entry is None or entry.config is None else len(entry.config.idp_metadata)
