"""What every reference :class:`~samljit.protocols.UserStore` does alike, written once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..protocols import NewUser, UserRecord

CHANGEABLE = frozenset({"full_name", "role"})
"""The fields :meth:`~samljit.protocols.UserStore.update` may change (provisioning's rules)."""


def created_record(user: NewUser, user_id: object, *, now: datetime) -> UserRecord:
    """The record of ``user`` just inserted under ``user_id``, logged in at ``now``."""
    return UserRecord(
        user_id=str(user_id),
        email=user.email,
        account_id=user.account_id,
        full_name=user.full_name,
        role=user.role,
        last_sso_login=now,
    )


def checked_changes(changes: Mapping[str, str | None]) -> Mapping[str, str | None]:
    """``changes``, refused with :class:`ValueError` when it names a field outside
    :data:`CHANGEABLE` (a caller's bug: column names must never come from input)."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    return changes


def row_id(value: str) -> int | None:
    """The integer key of a user or group ID from a request (a URL path), or None when it
    cannot be one of the SQL stores' keys: such an ID is simply not found."""
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None
