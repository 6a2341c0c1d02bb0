"""An in-memory sink, for tests and embedding (Bytewax ``testing`` style)."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class MemorySink(Generic[T]):
    """Collect items in a list; ``flushed`` holds what was flushed, in order."""

    def __init__(self) -> None:
        self.pending: list[T] = []
        self.flushed: list[T] = []
        self.closed = False

    def add(self, item: T) -> None:
        """Buffer one item."""
        self.pending.append(item)

    def flush(self) -> None:
        """Move buffered items to ``flushed``."""
        self.flushed.extend(self.pending)
        self.pending.clear()

    def close(self) -> None:
        """Flush and mark closed."""
        self.flush()
        self.closed = True
