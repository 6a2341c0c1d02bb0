"""The pipeline loop shared by ``replay``, tests and benchmarks: records → alerts.

``run_pipeline`` takes any iterable of ``(position, raw bytes)`` records, parses each,
sends bad records to the dead-letter sink with their reason, feeds good events to the
processor and its alerts to the alert sink, and flushes both sinks at the end. The
Kafka runtime drives the same ``Processor`` with its own loop (poll, flush, commit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from detectors.records import Alert
from stream.events import BadRecord, parse_event
from stream.processor import Processor
from stream.sinks.base import Sink
from stream.sinks.files import DeadLetter


@dataclass(slots=True)
class RunSummary:
    """What one pipeline run read, rejected and emitted."""

    records: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    alerts: int = 0

    @property
    def bad_total(self) -> int:
        """Number of bad records, all reasons together."""
        return sum(self.bad.values())


def run_pipeline(
    records: Iterable[tuple[int, bytes]],
    processor: Processor,
    alerts: Sink[Alert],
    dead_letters: Sink[DeadLetter] | None = None,
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 100_000,
) -> RunSummary:
    """Run ``records`` through parsing and ``processor``; return the run's summary.

    Args:
        records: ``(position, raw bytes)`` pairs, in order.
        processor: the event-time processor (keeps its own stats).
        alerts: where alerts go.
        dead_letters: where bad records go (counted either way).
        on_progress: called with the number of records read every ``progress_every``.
        progress_every: records between progress calls.

    """
    summary = RunSummary()
    bad = summary.bad
    process = processor.process
    add_alert = alerts.add
    n = 0
    for position, raw in records:
        n += 1
        parsed = parse_event(raw)
        if isinstance(parsed, BadRecord):
            bad[parsed.reason] += 1
            if dead_letters is not None:
                dead_letters.add(DeadLetter(position, parsed.reason, parsed.detail, parsed.raw))
        else:
            for alert in process(parsed):
                summary.alerts += 1
                add_alert(alert)
        if on_progress is not None and n % progress_every == 0:
            on_progress(n)
    summary.records = n
    alerts.flush()
    if dead_letters is not None:
        dead_letters.flush()
    return summary
