"""What a host app plugs into samljit: small protocols, each with an in-memory implementation."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["ReplayCache"]


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers which assertions were accepted, so each is accepted once.

    ``add`` must be atomic across every process that verifies responses for the app: two
    concurrent calls with the same key must not both return True. A shared store does this
    with one operation (Redis ``SET key 1 NX PXAT expires_at``; SQL ``INSERT`` against a
    primary key, treating a unique violation as False). Entries may be forgotten once
    ``expires_at`` has passed: by then the assertion is refused as expired anyway.

    Example::

        class RedisReplayCache:
            def __init__(self, client): self.client = client
            def add(self, key, *, expires_at, now):
                return bool(self.client.set(f"saml:replay:{key}", 1, nx=True,
                                            pxat=int(expires_at.timestamp() * 1000)))
    """

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``key`` until ``expires_at``; True if it was new, False if already present.

        Raise an exception (never return True) when the store cannot be reached: a login
        must fail rather than accept an assertion it could not record.
        """
        ...
