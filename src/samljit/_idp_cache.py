"""The parse cache of IdP metadata: each distinct document is parsed once per process.

Keyed by the SHA-256 of the metadata bytes (and the entity ID chosen in it), so a configuration
that an administrator replaces is parsed anew and the old entry ages out (LRU).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import datetime

from ._accounts import AccountConfig
from .metadata import IdentityProvider, parse_idp_metadata

__all__ = ["IdPCache"]


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
