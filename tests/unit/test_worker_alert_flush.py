"""Alerts reach Redis within ``runtime.alert_flush_s`` even in the middle of a long drain."""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry

from detectors.records import Alert, RequestEvent
from stream.exceptions import SinkError
from stream.metrics import RuntimeMetrics
from stream.processor import Processor, ProcessorConfig
from stream.settings import KafkaSettings, RuntimeSettings, Settings
from stream.worker import Worker
from tests.unit.test_worker_checkpoint import (
    LATE_TOLERANCE_S,
    PARTITIONS,
    TOPIC,
    Broker,
    FakeConsumer,
    Snapshots,
)

STEP_S = 1 / 64  # wall time one processed event takes on the test's clock (exact in binary)
FLUSH_S = 4 * STEP_S


class Clock:
    """A wall clock that moves when the processor handles an event and at each poll."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class AlertingProcessor(Processor):
    """A real processor that also raises one alert every ``every`` events (the test's)."""

    def __init__(self, clock: Clock, every: int) -> None:
        super().__init__(ProcessorConfig(late_tolerance_s=LATE_TOLERANCE_S))
        self.clock = clock
        self.every = every
        self.n = 0
        self.raised: dict[str, float] = {}  # alert_id -> clock when raised

    def process(self, ev: RequestEvent) -> list[Alert]:
        """Process ``ev``, then move the clock; every ``every``-th event raises an alert."""
        out = list(super().process(ev))
        self.n += 1
        self.clock.t += STEP_S
        if self.n % self.every == 0:
            alert = Alert(f"t-{self.n}", ev.ts, ev.account_id, "warning", "throttle", 0.9, (), ())
            self.raised[alert.alert_id] = self.clock()  # as the worker receives it
            out.append(alert)
        return out


class TimedAlerts:
    """An alert sink that notes the clock at which each alert was flushed (written)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.pending: list[Alert] = []
        self.written: dict[str, float] = {}
        self.flushes = 0
        self.fail = False

    def add(self, item: Alert) -> None:
        """Buffer ``item``."""
        self.pending.append(item)

    def flush(self) -> None:
        """Write what is buffered (or fail, keeping it, while ``fail`` is set)."""
        if self.fail:
            raise SinkError("redis: down (test)")
        self.flushes += 1
        for alert in self.pending:
            self.written.setdefault(alert.alert_id, self.clock())
        self.pending.clear()

    def close(self) -> None:
        """Nothing to release."""


class TickingConsumer(FakeConsumer):
    """The fake consumer, each poll taking a quarter second of the clock."""

    clock: Clock

    def poll(self, timeout_ms: int = 0) -> Any:
        """Poll as ``FakeConsumer`` does, then move the clock."""
        self.clock.t += 0.25
        return super().poll(timeout_ms)


def _worker(flush_s: float, batch: int = 400) -> tuple[Worker, Any, Any, Any]:
    clock = Clock()
    broker = Broker.simulated()
    stop = threading.Event()
    settings = Settings(
        kafka=KafkaSettings(topic=TOPIC, dead_letter_topic=""),
        runtime=RuntimeSettings(
            late_tolerance_s=LATE_TOLERANCE_S,
            commit_interval_s=1e9,
            commit_every_records=10**9,
            model_snapshot_interval_s=0,
            shared_linkage=False,
            alert_flush_s=flush_s,
            align_max_wait_s=1e9,  # the test's clock must not let a partition time out
            retry_initial_s=0.5,
            retry_max_s=0.5,
        ),
    )
    consumer = TickingConsumer(broker, stop, batch=batch)
    consumer.clock = clock
    processor = AlertingProcessor(clock, every=37)
    alerts = TimedAlerts(clock)
    worker = Worker(
        settings,
        consumer,
        processor,
        alerts,
        None,
        Snapshots(),  # type: ignore[arg-type]  # a duck-typed SnapshotStore
        RuntimeMetrics(CollectorRegistry()),
        monotonic=clock,
    )
    worker.subscribe()
    consumer.rebalance(range(PARTITIONS))
    return worker, consumer, processor, alerts


def _delays(processor: AlertingProcessor, alerts: TimedAlerts) -> list[float]:
    return [alerts.written[a] - t for a, t in processor.raised.items()]


def test_alerts_are_written_within_the_flush_interval_in_a_long_drain() -> None:
    worker, consumer, processor, alerts = _worker(flush_s=FLUSH_S)
    worker.run(consumer.stop)
    assert processor.raised, "the scenario must raise alerts"
    assert set(alerts.written) == set(processor.raised), "an alert was never written"
    # Polls of 400 records take over 6 s on the test's clock; each alert is written as
    # soon as FLUSH_S has passed since it was raised (4 more events), or sooner when the
    # drain ends first.
    assert max(_delays(processor, alerts)) == FLUSH_S


def test_without_the_interval_alerts_wait_for_the_end_of_the_drain() -> None:
    """The control: written only when the drain ends, alerts wait seconds."""
    worker, consumer, processor, alerts = _worker(flush_s=1e9)
    worker.run(consumer.stop)
    assert set(alerts.written) == set(processor.raised)
    assert max(_delays(processor, alerts)) > 1.0


def test_a_failed_flush_mid_drain_stops_the_drain_and_loses_nothing() -> None:
    worker, consumer, processor, alerts = _worker(flush_s=0.0)
    alerts.fail = True
    seen: list[int] = []

    def heal() -> None:
        seen.append(processor.n)
        alerts.fail = False

    consumer.hooks = {12: heal}
    worker.run(consumer.stop)
    # The first failed flush blocked the worker after the first alert: nothing more was
    # processed until Redis came back (the records waited in the buffers).
    assert seen == [processor.every]
    assert set(alerts.written) == set(processor.raised)
    total = sum(len(log) for log in consumer.broker.logs.values())
    assert processor.stats.events + processor.stats.duplicates + processor.stats.late <= total
    assert consumer.broker.committed == {tp: len(log) for tp, log in consumer.broker.logs.items()}
