"""The Kafka dead-letter sink: bad records to a topic, the reason in the message headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafka.errors import KafkaError

from stream.exceptions import SinkError


@dataclass(frozen=True, slots=True)
class KafkaDeadLetter:
    """A bad record with where it was consumed and why it was rejected."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    reason: str
    detail: str
    raw: bytes


class KafkaDeadLetterSink:
    """Produce bad records, whole and unchanged, to a dead-letter topic.

    The message key and value are the original ones; headers carry ``reason``,
    ``detail`` and the source ``topic``, ``partition`` and ``offset``.

    Args:
        producer: a ``kafka.KafkaProducer`` (the caller owns and closes it).
        topic: the dead-letter topic.
        timeout_s: how long ``flush`` waits for the broker's acknowledgements.

    """

    def __init__(self, producer: Any, topic: str, timeout_s: float = 30.0) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout = timeout_s
        self._pending: list[tuple[KafkaDeadLetter, Any]] = []
        self.written = 0

    def add(self, item: KafkaDeadLetter) -> None:
        """Send one dead letter (asynchronously; ``flush`` waits for it)."""
        self._pending.append((item, self._send(item)))

    def _send(self, item: KafkaDeadLetter) -> Any:
        """Hand one dead letter to the producer; return its future."""
        headers = [
            ("reason", item.reason.encode()),
            ("detail", item.detail.encode()),
            ("topic", item.topic.encode()),
            ("partition", str(item.partition).encode()),
            ("offset", str(item.offset).encode()),
        ]
        return self._producer.send(self._topic, key=item.key, value=item.raw, headers=headers)

    def flush(self) -> None:
        """Wait until every dead letter is acknowledged; resend and raise on failure."""
        if not self._pending:
            return
        try:
            self._producer.flush(timeout=self._timeout)
        except KafkaError as exc:
            raise SinkError(f"dead-letter topic {self._topic}: {exc}") from exc
        failed = [(item, fut) for item, fut in self._pending if not fut.succeeded()]
        self.written += len(self._pending) - len(failed)
        if failed:
            self._pending = [(item, self._send(item)) for item, _ in failed]
            raise SinkError(f"dead-letter topic {self._topic}: {len(failed)} records not acked")
        self._pending.clear()

    def close(self) -> None:
        """Flush; the producer is the caller's to close."""
        self.flush()
