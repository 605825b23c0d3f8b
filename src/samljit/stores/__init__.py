"""Reference implementations of samljit's protocols: in memory, and SQLite (stdlib)."""

from .memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemoryRequestStore,
    MemorySessionIssuer,
    MemoryUserStore,
)
from .sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteRequestStore, SQLiteUserStore

__all__ = [
    "MemoryAccountStore",
    "MemoryReplayCache",
    "MemoryRequestStore",
    "MemorySessionIssuer",
    "MemoryUserStore",
    "SQLiteAccountStore",
    "SQLiteReplayCache",
    "SQLiteRequestStore",
    "SQLiteUserStore",
]
