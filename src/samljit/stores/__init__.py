"""Reference implementations of samljit's protocols: in memory, and SQLite (stdlib)."""

from .memory import (
    MemoryAccountStore,
    MemoryDomainStore,
    MemoryLoginHistory,
    MemoryReplayCache,
    MemoryRequestStore,
    MemorySessionIssuer,
    MemoryUserStore,
)
from .sqlite import (
    SQLiteAccountStore,
    SQLiteDomainStore,
    SQLiteLoginHistory,
    SQLiteReplayCache,
    SQLiteRequestStore,
    SQLiteUserStore,
)

__all__ = [
    "MemoryAccountStore",
    "MemoryDomainStore",
    "MemoryLoginHistory",
    "MemoryReplayCache",
    "MemoryRequestStore",
    "MemorySessionIssuer",
    "MemoryUserStore",
    "SQLiteAccountStore",
    "SQLiteDomainStore",
    "SQLiteLoginHistory",
    "SQLiteReplayCache",
    "SQLiteRequestStore",
    "SQLiteUserStore",
]
