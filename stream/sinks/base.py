"""The sink contract: ``add`` items, ``flush`` before offsets are committed, ``close``."""

from __future__ import annotations

from typing import Protocol, TypeVar

T_contra = TypeVar("T_contra", contravariant=True)


class Sink(Protocol[T_contra]):
    """A destination for items, written in batches.

    ``add`` may buffer; after ``flush`` returns, everything added so far is durable in
    the destination (the runtime commits source offsets only after every sink flushed).
    ``close`` flushes and releases resources; a closed sink takes nothing more.
    """

    def add(self, item: T_contra) -> None:
        """Buffer one item for writing."""
        ...

    def flush(self) -> None:
        """Write everything buffered; raise ``SinkError`` if it could not be written."""
        ...

    def close(self) -> None:
        """Flush, then release the destination."""
        ...
