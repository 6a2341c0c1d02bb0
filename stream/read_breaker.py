"""After a failed read of shared Redis state, no more reads until a flush confirms Redis.

The shared linkage index, score board and population feed answer a failed read from
what they have (stale or nothing) and must not crawl through one timeout per lookup
while Redis is down. ``ReadBreaker`` is the state they share for that: ``trip`` on a
failed read, no reads while ``tripped``, and ``confirm`` (one ``PING``, at the worker's
flush) before reading again; a ``confirm`` that fails raises, so the flush fails and the
worker pauses.
"""

from __future__ import annotations

from typing import Any


class ReadBreaker:
    """Whether reads of shared Redis state are off after a failure, and how many failed."""

    __slots__ = ("error", "errors")

    def __init__(self) -> None:
        self.error: str | None = None
        self.errors = 0

    @property
    def tripped(self) -> bool:
        """Whether a read failed and Redis has not answered a ``PING`` since."""
        return self.error is not None

    def trip(self, exc: Exception) -> None:
        """Note a failed read: no reads until ``confirm`` succeeds."""
        self.errors += 1
        self.error = f"{type(exc).__name__}: {exc}"

    def confirm(self, client: Any) -> None:
        """After a failed read, ``PING`` Redis (raising its error) and allow reads again."""
        if self.error is not None:
            client.ping()
            self.error = None
