"""The worker observes each record's age at processing: wall clock minus its Kafka timestamp."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from prometheus_client import CollectorRegistry

from tests.unit.test_worker_checkpoint import PARTITIONS, Broker, Snapshots, make_worker

NOW_S = 1_000_000.0  # the test's wall clock, which stands still
AGE_MS = {0: 300, 1: 2_000, 2: -5_000}  # record age per partition; -5 s: a clock ahead


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, name
    return value


def test_record_latency_is_the_age_of_each_timestamped_record() -> None:
    broker = Broker.simulated()
    for tp, log in broker.logs.items():
        age = AGE_MS.get(tp.partition)
        # Partition 3's records carry no timestamp (kafka-python: -1, or None for the
        # oldest message format): they are not observed.
        stamps = [-1, None] if age is None else [int(NOW_S * 1000) - age]
        log[:] = [
            dataclasses.replace(rec, timestamp=stamps[rec.offset % len(stamps)]) for rec in log
        ]
    stop = threading.Event()
    worker, consumer = make_worker(broker, Snapshots(), stop, wall=lambda: NOW_S)
    consumer.rebalance(range(PARTITIONS))
    worker.run(stop)

    n = {tp.partition: len(log) for tp, log in broker.logs.items()}
    assert all(n.values()), "every partition must hold records"
    registry = worker.metrics.registry
    name = "distillguard_record_latency_seconds"
    assert _sample(registry, f"{name}_count") == n[0] + n[1] + n[2]
    # A record stamped in the future (a producer's clock ahead) counts as no wait at all.
    assert _sample(registry, f"{name}_sum") == pytest.approx(0.3 * n[0] + 2.0 * n[1])
    assert _sample(registry, f"{name}_bucket", le="0.005") == n[2]
    assert _sample(registry, f"{name}_bucket", le="0.5") == n[2] + n[0]
    assert _sample(registry, f"{name}_bucket", le="1.5") == n[2] + n[0]
    assert _sample(registry, f"{name}_bucket", le="2.5") == n[2] + n[0] + n[1]
