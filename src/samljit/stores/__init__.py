"""Reference implementations of samljit's protocols."""

from .memory import MemoryReplayCache

__all__ = ["MemoryReplayCache"]
