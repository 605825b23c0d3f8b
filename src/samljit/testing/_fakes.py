"""Fakes of the host app's side that many tests need, as httpx ships ``MockTransport``."""

from __future__ import annotations

from datetime import datetime, timedelta

from .._time import require_aware
from ..protocols import LoginContext, UserRecord


class FixedClock:
    """A clock (the ``clock=`` of ``LoginService``: a callable returning an aware ``datetime``)
    that stands still until the test moves it.

    Example::

        clock = FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
        service = LoginService(..., clock=clock)
        clock.advance(timedelta(minutes=10))  # or set clock.now
    """

    def __init__(self, now: datetime) -> None:
        self.now = require_aware(now)
        """The instant every call returns; set it to move the clock."""

    def __call__(self) -> datetime:
        """The current (fixed) instant."""
        return self.now

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by ``by``; return the new instant."""
        self.now += by
        return self.now


class RecordingSessionIssuer:
    """A :class:`~samljit.protocols.SessionIssuer` that remembers each call.

    It returns ``"session-1"``, ``"session-2"``, ... in order.
    """

    def __init__(self) -> None:
        self.issued: list[tuple[UserRecord, LoginContext]] = []
        """Each ``issue`` call's user and context, oldest first."""

    @property
    def users(self) -> list[UserRecord]:
        """The users sessions were issued to, oldest first."""
        return [user for user, _ in self.issued]

    def issue(self, user: UserRecord, context: LoginContext) -> str:
        """Record the call; return the next session name."""
        self.issued.append((user, context))
        return f"session-{len(self.issued)}"
