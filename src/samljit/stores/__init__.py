"""Reference implementations of samljit's protocols: in memory, and SQLite (stdlib)."""

from .memory import MemoryAccountStore, MemoryReplayCache, MemorySessionIssuer, MemoryUserStore
from .sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteUserStore

__all__ = [
    "MemoryAccountStore",
    "MemoryReplayCache",
    "MemorySessionIssuer",
    "MemoryUserStore",
    "SQLiteAccountStore",
    "SQLiteReplayCache",
    "SQLiteUserStore",
]
