"""Produce simulated traffic into a Kafka topic at a chosen rate (``simulate --kafka``).

Each line becomes one message: key = the account id (UTF-8), value = the line as is
(bad lines included: they exercise the dead-letter path), timestamp = the event time
(or the produce time with ``timestamps="produce"``: a broker with time-based retention
may drop messages whose event time is older than its retention).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from stream.simulate import Line

#: How many messages are sent between two looks at the clock when rate-limited.
_PACE_EVERY = 50


@dataclass(slots=True)
class ProduceSummary:
    """What was produced, and how fast."""

    messages: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Messages per second achieved."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def produce_lines(
    producer: Any,
    topic: str,
    lines: Iterable[Line],
    rate: float = 0.0,
    timestamps: Literal["event", "produce"] = "event",
    on_send: Callable[[Line, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProduceSummary:
    """Send ``lines`` to ``topic`` at ``rate`` messages/s (0: as fast as possible); flush.

    ``on_send(line, wall time)`` is called as each message is handed to the producer
    (benchmarks use it to measure latency from produce to decision).
    """
    summary = ProduceSummary()
    began = clock()
    send = producer.send
    for n, line in enumerate(lines):
        if rate > 0 and n % _PACE_EVERY == 0:
            ahead = began + n / rate - clock()
            if ahead > 0:
                sleep(ahead)
        ts_ms = int(line.ts * 1000) if timestamps == "event" else None
        send(topic, key=line.account_id.encode(), value=line.data, timestamp_ms=ts_ms)
        if on_send is not None:
            on_send(line, time.time())
        summary.messages += 1
    producer.flush()
    summary.seconds = clock() - began
    return summary
