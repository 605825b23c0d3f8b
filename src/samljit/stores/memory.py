"""In-memory stores: for tests, single-process apps and the CLI. Not shared across workers."""

from __future__ import annotations

import heapq
import threading
from datetime import datetime

__all__ = ["MemoryReplayCache"]


class MemoryReplayCache:
    """A :class:`~samljit.protocols.ReplayCache` in a dict, atomic within one process.

    Expired keys are dropped as time passes (``now`` as given to :meth:`add`), so memory is
    bounded by the number of assertions that are still valid.
    """

    def __init__(self) -> None:
        self._expiry: dict[str, datetime] = {}
        self._queue: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        with self._lock:
            while self._queue and self._queue[0][0] <= now:
                _, old = heapq.heappop(self._queue)
                if self._expiry.get(old, now) <= now:
                    self._expiry.pop(old, None)
            current = self._expiry.get(key)
            if current is not None and current > now:
                return False
            self._expiry[key] = expires_at
            heapq.heappush(self._queue, (expires_at, key))
            return True

    def __len__(self) -> int:
        return len(self._expiry)
