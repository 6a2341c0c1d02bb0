"""The worker's side of the shared population: flushed and absorbed at checkpoints (no servers)."""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry

from detectors.models import volume_detector
from stream.exceptions import SinkError
from stream.metrics import RuntimeMetrics
from stream.model_snapshot import ModelSnapshot
from stream.population import MemoryPopulationFeed, PopulationHub
from stream.processor import Processor, ProcessorConfig
from stream.settings import KafkaSettings, RuntimeSettings, Settings
from stream.worker import Worker
from tests.unit.test_worker_checkpoint import TOPIC, Alerts, Broker, FakeConsumer, Snapshots

T0 = 1_764_288_000.0
X = {"req_1h": 3.0, "req_24h": 40.0, "in_tokens_24h": 900.0, "out_tokens_24h": 5000.0}


class Models:
    """A model snapshot store holding ``detectors`` (None: no snapshot)."""

    key = "models"

    def __init__(self, detectors: list[Any] | None, since: float = float("-inf")) -> None:
        self.detectors = detectors
        self.since = since
        self.saved: list[float] = []  # learning_since of each save

    def load(self, expected: Any) -> ModelSnapshot | None:
        return ModelSnapshot(self.detectors, self.since) if self.detectors is not None else None

    def save(self, detectors: Any, learning_since: float = float("-inf")) -> int:
        self.saved.append(learning_since)
        return 1


class FailingFeed(MemoryPopulationFeed):
    """A member whose writes fail (Redis down)."""

    def flush(self) -> None:
        raise SinkError("redis: down")


def worker_with(feed: Any, models: Models | None = None) -> Worker:
    settings = Settings(
        kafka=KafkaSettings(topic=TOPIC, dead_letter_topic=""),
        runtime=RuntimeSettings(
            commit_interval_s=1e9,
            model_snapshot_interval_s=60 if models is not None else 0,
            shared_linkage=False,
        ),
    )
    processor = Processor(detectors=[volume_detector(min_population=5)], population=feed)
    return Worker(
        settings,
        FakeConsumer(Broker.simulated(accounts=4), threading.Event()),
        processor,
        Alerts(),
        None,
        Snapshots(),  # type: ignore[arg-type]  # a duck-typed SnapshotStore
        RuntimeMetrics(CollectorRegistry()),
        models=models,  # type: ignore[arg-type]  # a duck-typed ModelSnapshotStore
        population=feed,
        monotonic=lambda: 0.0,
    )


def sample(worker: Worker, name: str, kind: str) -> float | None:
    value = worker.metrics.registry.get_sample_value(name, {"kind": kind})
    return float(value) if value is not None else None


def test_checkpoint_absorbs_the_other_workers_entries_and_counts_them() -> None:
    hub = PopulationHub()
    peer = hub.member("peer")
    worker = worker_with(hub.member("w"))
    peer.publish("acct_1", T0, X)
    peer.publish("acct_2", T0, {**X, "req_24h": 80.0})
    peer.retract("acct_2")
    assert worker.checkpoint()
    detector = worker.processor.detectors[0]
    assert len(detector.population) == 1, "acct_1 learned, acct_2 learned then forgotten"
    assert sample(worker, "distillguard_population_entries_total", "absorbed") == 3
    worker.processor.population.publish("acct_3", T0, X)  # type: ignore[union-attr]
    assert worker.checkpoint(), "nothing new from the peer"
    assert sample(worker, "distillguard_population_entries_total", "absorbed") == 3
    worker._publish_stats()
    assert sample(worker, "distillguard_population_entries_total", "published") == 1
    assert sample(worker, "distillguard_shared_reads_total", "population") == 2
    assert [e.account_id for e in peer.pull()] == ["acct_3"]


def test_a_failed_write_blocks_the_worker_before_it_commits() -> None:
    worker = worker_with(FailingFeed(PopulationHub(), "w"))
    assert not worker.checkpoint()
    assert worker.blocked is not None and worker.blocked.startswith("redis_population")
    assert worker.metrics.sink_errors.labels("redis_population")._value.get() == 1


def test_restored_models_read_only_new_entries_cold_ones_read_everything() -> None:
    for restored, learned in ((True, 1), (False, 2)):
        hub = PopulationHub()
        peer = hub.member("peer")
        peer.publish("acct_old", T0, X)  # already in the snapshot, when there is one
        snapshot = [volume_detector(min_population=5)] if restored else None
        worker = worker_with(hub.member("w"), Models(snapshot))
        worker._load_models(threading.Event())
        peer.publish("acct_new", T0 + 60, X)
        assert worker.checkpoint()
        assert len(worker.processor.detectors[0].population) == learned, restored


def test_models_snapshot_when_they_began_to_learn_and_a_restore_warms_up_from_it() -> None:
    models = Models(None)  # no snapshot: the worker starts cold
    worker = worker_with(PopulationHub().member("w"), models)
    worker._load_models(threading.Event())
    worker._save_models()
    assert models.saved == [float("inf")], "nothing learned yet"
    worker.processor.learned_since(T0)
    worker._save_models()
    assert models.saved[-1] == T0
    # a worker restoring models that began to learn half a warm-up before its first
    # event is warm half a warm-up later (it counts from the models' start, not its own)
    half = ProcessorConfig().population_warmup_s / 2
    for since, warm_after_half in ((T0 - half, True), (T0 + half, False)):
        worker = worker_with(PopulationHub().member("w"), Models([volume_detector()], since))
        worker._load_models(threading.Event())
        worker.processor.learned_since(T0)  # its own first event
        worker.processor.watermark = T0 + half
        assert worker.processor.warm is warm_after_half
