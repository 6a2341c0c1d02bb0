"""The worker's checkpoints across rebalances and crashes, with a fake consumer (no servers).

The invariant (issue 4): whatever the hand-overs, every event is applied exactly once to
the account states the group ends with: the final snapshots count each distinct event
once. The fake consumer behaves as kafka-python 3 does where it matters: an eager
rebalance revokes every partition, and a partition kept across it keeps its fetch
position and its paused flag; a partition new to a consumer starts at the committed
offset; rebalance callbacks run inside ``poll``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka import TopicPartition
from prometheus_client import CollectorRegistry

from stream.events import BadRecord, parse_event
from stream.metrics import RuntimeMetrics
from stream.processor import Processor, ProcessorConfig
from stream.settings import KafkaSettings, RuntimeSettings, Settings
from stream.simulate import SimConfig, iter_lines
from stream.snapshot import PartitionKey, decode_state, encode_state
from stream.state import AccountState
from stream.worker import Worker

TOPIC = "requests"
PARTITIONS = 4
LATE_TOLERANCE_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class Rec:
    """A consumed record, as much of kafka-python's ``ConsumerRecord`` as the worker reads."""

    offset: int
    key: bytes
    value: bytes
    timestamp: int | None = -1  # ms; -1 or None: none (kafka-python's values for none)


@dataclass
class Broker:
    """The topic's partitions and the group's committed offsets."""

    logs: dict[TopicPartition, list[Rec]] = field(default_factory=dict)
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    expected: Counter[str] = field(default_factory=Counter)
    bad: int = 0

    @property
    def redelivered(self) -> int:
        """Return how many records are second deliveries of an event (the simulator's)."""
        records = sum(len(log) for log in self.logs.values())
        return records - sum(self.expected.values()) - self.bad

    @classmethod
    def simulated(cls, accounts: int = 100, hours: float = 1.0) -> Broker:
        """Return a broker holding one small simulated scenario (with its defects)."""
        broker = cls({TopicPartition(TOPIC, p): [] for p in range(PARTITIONS)})
        lines = list(iter_lines(SimConfig(accounts=accounts, hours=hours, seed=3)))
        # Keyed by account, one partition per account; balanced, so that every partition
        # has records to align with the others.
        load = Counter(line.account_id for line in lines)
        sizes = [0] * PARTITIONS
        partition_of: dict[str, int] = {}
        for account_id, n in sorted(load.items(), key=lambda kv: (-kv[1], kv[0])):
            p = sizes.index(min(sizes))
            partition_of[account_id] = p
            sizes[p] += n
        seen: set[bytes] = set()
        for line in lines:
            log = broker.logs[TopicPartition(TOPIC, partition_of[line.account_id])]
            log.append(Rec(len(log), line.account_id.encode(), line.data))
            if isinstance(parse_event(line.data), BadRecord):
                broker.bad += 1
            elif line.tag in ("event", "late") and line.data not in seen:
                seen.add(line.data)
                broker.expected[line.account_id] += 1
        return broker


class Snapshots:
    """An in-memory ``SnapshotStore`` (states stored encoded, as Redis holds them)."""

    def __init__(self) -> None:
        self.hashes: dict[PartitionKey, dict[str, bytes]] = {}
        self.frozen = False  # a killed worker's writes never arrive

    def save(
        self,
        puts: Mapping[PartitionKey, Iterable[tuple[str, float, AccountState]]],
        deletes: Mapping[PartitionKey, Iterable[str]] | None = None,
    ) -> int:
        """Write ``puts``, remove ``deletes``; return the number of states written."""
        written = 0
        for pk, rows in puts.items():
            for account_id, last_seen, state in rows:
                if not self.frozen:
                    self.hashes.setdefault(pk, {})[account_id] = encode_state(last_seen, state)
                written += 1
        for pk, accounts in (deletes or {}).items():
            for account_id in accounts:
                if not self.frozen:
                    self.hashes.get(pk, {}).pop(account_id, None)
        return written

    def load(self, pk: PartitionKey) -> Iterator[tuple[str, float, AccountState]]:
        """Yield the stored states of one partition."""
        for account_id, blob in list(self.hashes.get(pk, {}).items()):
            decoded = decode_state(blob)
            assert decoded is not None
            yield account_id, decoded[0], decoded[1]

    def view(self) -> Snapshots:
        """Return a view of the same hashes that can be frozen on its own (one per worker)."""
        other = Snapshots()
        other.hashes = self.hashes
        return other

    def event_counts(self) -> dict[str, int]:
        """Events counted per account in the stored states."""
        counts: dict[str, int] = {}
        for pk in self.hashes:
            for account_id, _, state in self.load(pk):
                counts[account_id] = state.features.events
        return counts


class Alerts:
    """An alert sink that accepts everything."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        """Keep ``item``."""
        self.items.append(item)

    def flush(self) -> None:
        """Nothing to write."""

    def close(self) -> None:
        """Nothing to release."""


class FakeConsumer:
    """A group member over ``Broker``, eager rebalances as kafka-python 3 runs them.

    ``hooks`` maps a poll number to what happens during that poll (a rebalance, a kill).
    ``poll`` hands out the records of one fetchable partition per call (round robin), at
    most ``batch`` of them, and sets ``stop`` once everything assigned was handed out and
    a few more polls passed (so the worker drained its buffers), or after ``max_polls``.
    """

    def __init__(
        self, broker: Broker, stop: threading.Event, batch: int = 40, max_polls: int = 5000
    ) -> None:
        self.broker = broker
        self.stop = stop
        self.batch = batch
        self.max_polls = max_polls
        self.positions: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()
        self.listener: Any = None
        self.hooks: dict[int, Callable[[], None]] = {}
        self.polls = 0
        self.idle = 0
        self.dead = False  # SIGKILLed: commits never arrive
        self.closed = False
        self._coordinator = self  # the worker's listener commits through this
        self.subscribes = 0
        self.unsubscribes = 0

    # -- the consumer API the worker uses

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.listener = listener
        self.subscribes += 1

    def unsubscribe(self) -> None:
        self.unsubscribes += 1

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {tp.partition for tp in self.broker.logs if tp.topic == topic}

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        if tp not in self.positions:
            raise ValueError("Unassigned partition")
        self.positions[tp] = offset

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.broker.logs[tp])

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        return self.positions[tp]

    def commit(self, offsets: Mapping[TopicPartition, Any]) -> None:
        if not self.dead:
            self.broker.committed.update({tp: om.offset for tp, om in offsets.items()})

    async def _commit_offsets_sync_async(self, offsets: Mapping[TopicPartition, Any]) -> None:
        self.commit(offsets)

    def close(self, autocommit: bool = True) -> None:
        self.closed = True

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Rec]]:
        self.polls += 1
        hook = self.hooks.pop(self.polls, None)
        if hook is not None:
            hook()
        if self.polls >= self.max_polls:
            self.stop.set()
        fetchable = sorted(
            (tp for tp, pos in self.positions.items() if tp not in self.paused),
            key=lambda tp: tp.partition,
        )
        for i in range(len(fetchable)):
            tp = fetchable[(self.polls + i) % len(fetchable)]
            log, pos = self.broker.logs[tp], self.positions[tp]
            if pos < len(log):
                self.positions[tp] = min(len(log), pos + self.batch)
                self.idle = 0
                return {tp: log[pos : self.positions[tp]]}
        self.idle += 1
        done = all(pos >= len(self.broker.logs[tp]) for tp, pos in self.positions.items())
        if self.idle >= 5 and done and not self.paused and not self.hooks:
            self.stop.set()
        return {}

    # -- what the test drives

    def rebalance(self, partitions: Iterable[int]) -> None:
        """Run an eager rebalance to ``partitions`` (callbacks as kafka-python 3 calls them)."""
        new = {TopicPartition(TOPIC, p) for p in partitions}
        if self.positions:
            asyncio.run(self.listener.on_partitions_revoked(set(self.positions)))
        for tp in set(self.positions) - new:  # kept partitions keep position and pause
            del self.positions[tp]
            self.paused.discard(tp)
        for tp in new - set(self.positions):
            self.positions[tp] = self.broker.committed.get(tp, 0)
        asyncio.run(self.listener.on_partitions_assigned(set(self.positions)))


def make_worker(
    broker: Broker,
    snapshots: Snapshots,
    stop: threading.Event,
    wall: Callable[[], float] = time.time,
    **runtime: Any,
) -> tuple[Worker, FakeConsumer]:
    """Return a worker over a fresh fake consumer (its models are not snapshotted)."""
    runtime.setdefault("commit_every_records", 60)
    settings = Settings(
        kafka=KafkaSettings(topic=TOPIC, dead_letter_topic=""),
        runtime=RuntimeSettings(
            late_tolerance_s=LATE_TOLERANCE_S,
            commit_interval_s=1e9,  # checkpoints by record count only: deterministic
            model_snapshot_interval_s=0,
            shared_linkage=False,
            **runtime,
        ),
    )
    consumer = FakeConsumer(broker, stop)
    processor = Processor(ProcessorConfig(late_tolerance_s=LATE_TOLERANCE_S))
    worker = Worker(
        settings,
        consumer,
        processor,
        Alerts(),
        None,
        snapshots,  # type: ignore[arg-type]  # a duck-typed SnapshotStore
        RuntimeMetrics(CollectorRegistry()),
        monotonic=lambda: 0.0,  # a silent partition never times out of the alignment
        wall=wall,
    )
    worker.subscribe()
    return worker, consumer


def test_eager_rebalance_keeps_what_a_kept_partition_had_fetched() -> None:
    """Records buffered when an eager rebalance revokes a partition it keeps are not lost."""
    broker = Broker.simulated()
    snapshots = Snapshots()
    stop = threading.Event()
    worker, consumer = make_worker(broker, snapshots, stop)
    buffered: list[int] = []

    def grow() -> None:
        buffered.append(sum(len(q) for q in worker._buf.values()))
        consumer.rebalance(range(PARTITIONS))

    consumer.hooks = {1: lambda: consumer.rebalance([0, 1]), 8: grow}
    worker.run(stop)
    assert consumer.polls < consumer.max_polls, "a partition stalled"
    assert buffered[0] > 0, "the rebalance must come while records are buffered"
    assert snapshots.event_counts() == dict(broker.expected)
    assert worker.processor.stats.duplicates == broker.redelivered, "a record was fed twice"
    assert broker.committed == {tp: len(log) for tp, log in broker.logs.items()}


def test_eager_rebalance_resumes_a_kept_partition_paused_for_flow_control() -> None:
    """A partition paused on a full buffer and kept across a rebalance is resumed."""
    broker = Broker.simulated()
    snapshots = Snapshots()
    stop = threading.Event()
    worker, consumer = make_worker(broker, snapshots, stop, align_buffer=30)
    flow_paused: list[int] = []

    def grow() -> None:
        flow_paused.append(len(worker._flow_paused))
        consumer.rebalance(range(PARTITIONS))

    consumer.hooks = {1: lambda: consumer.rebalance([0, 1]), 6: grow}
    worker.run(stop)
    assert flow_paused[0] > 0, "the rebalance must come while a partition is flow-paused"
    assert consumer.polls < consumer.max_polls, "a partition stalled"
    assert snapshots.event_counts() == dict(broker.expected)


@pytest.mark.parametrize("dies", ["mid-stream", "between snapshot and commit"])
def test_survivor_takes_over_a_killed_workers_partitions(dies: str) -> None:
    """Worker b dies; a takes all partitions: each event counted once in the end."""
    broker = Broker.simulated()
    snapshots = Snapshots()
    stop_b = threading.Event()
    b, cb = make_worker(broker, snapshots.view(), stop_b)
    b_snapshots = b.snapshots
    assert isinstance(b_snapshots, Snapshots)

    def kill_b() -> None:
        cb.dead = True
        b_snapshots.frozen = True
        stop_b.set()

    cb.hooks = {1: lambda: cb.rebalance([2, 3])}
    if dies == "mid-stream":
        cb.hooks[14] = kill_b
    else:  # the snapshot of the next checkpoint lands, its commit does not
        cb.hooks[14] = lambda: setattr(cb, "dead", True)
        cb.hooks[30] = kill_b
    b.run(stop_b)
    assert any(broker.committed.get(TopicPartition(TOPIC, p), 0) for p in (2, 3))
    assert not all(
        broker.committed.get(TopicPartition(TOPIC, p)) == len(broker.logs[TopicPartition(TOPIC, p)])
        for p in (2, 3)
    ), "b must die before it finished"

    stop_a = threading.Event()
    a, ca = make_worker(broker, snapshots.view(), stop_a)
    ca.hooks = {1: lambda: ca.rebalance([0, 1]), 9: lambda: ca.rebalance(range(PARTITIONS))}
    a.run(stop_a)
    assert ca.polls < ca.max_polls, "a partition stalled"
    assert a.metrics.restores._value.get() > 0, "a restored nothing of b's partitions"
    assert snapshots.event_counts() == dict(broker.expected)
    assert broker.committed == {tp: len(log) for tp, log in broker.logs.items()}
    if dies != "mid-stream":  # a re-read what b had snapshotted but not committed
        assert a.processor.stats.duplicates + b.processor.stats.duplicates > broker.redelivered


def _idle_worker(rejoin_empty_s: float) -> tuple[Worker, FakeConsumer, list[float]]:
    """A subscribed worker over a fake consumer that is assigned nothing, on a fake clock."""
    broker = Broker.simulated()
    worker, consumer = make_worker(broker, Snapshots(), threading.Event(),
                                   rejoin_empty_s=rejoin_empty_s)  # fmt: skip
    clock = [0.0]
    worker._now = lambda: clock[0]
    return worker, consumer, clock


def _rejoins(worker: Worker) -> float:
    value = worker.metrics.registry.get_sample_value(
        "distillguard_rebalances_total", {"kind": "rejoin"}
    )
    return value or 0.0


def test_a_worker_left_without_partitions_rejoins_ever_more_rarely() -> None:
    """Assigned nothing though the topic has partitions: rejoin after 15 s, then 30 s."""
    worker, consumer, clock = _idle_worker(15.0)
    assert consumer.subscribes == 1
    for t in (0.0, 10.0, 14.9):  # the empty spell starts at 0
        clock[0] = t
        worker._watch_assignment()
    assert consumer.unsubscribes == 0
    clock[0] = 15.0
    worker._watch_assignment()
    assert (consumer.unsubscribes, consumer.subscribes, _rejoins(worker)) == (1, 2, 1.0)
    clock[0] = 44.0  # the next wait is 30 s, from 15 s
    worker._watch_assignment()
    assert consumer.unsubscribes == 1
    clock[0] = 45.0
    worker._watch_assignment()
    assert consumer.unsubscribes == 2


def test_an_assignment_resets_the_rejoin_watch() -> None:
    """A worker that owns partitions never rejoins; after losing them the wait starts over."""
    worker, consumer, clock = _idle_worker(15.0)
    consumer.rebalance([0, 1])
    for t in (0.0, 100.0, 1000.0):
        clock[0] = t
        worker._watch_assignment()
    assert consumer.unsubscribes == 0
    consumer.rebalance([])
    for t in (1001.0, 1015.0):
        clock[0] = t
        worker._watch_assignment()
    assert consumer.unsubscribes == 0  # 14 s so far
    clock[0] = 1016.0
    worker._watch_assignment()
    assert consumer.unsubscribes == 1


def test_rejoin_watch_off_and_no_partitions_to_take() -> None:
    """rejoin_empty_s=0 never rejoins; nor does any worker while the topic has no partitions."""
    worker, consumer, clock = _idle_worker(0.0)
    for t in (0.0, 100.0, 10_000.0):
        clock[0] = t
        worker._watch_assignment()
    assert consumer.unsubscribes == 0
    worker, consumer, clock = _idle_worker(15.0)
    consumer.broker.logs.clear()  # the topic is not created yet
    for t in (0.0, 20.0, 100.0):
        clock[0] = t
        worker._watch_assignment()
    assert consumer.unsubscribes == 0


def test_an_account_flagged_during_anothers_event_is_checkpointed() -> None:
    """A group member flagged while another member's event is handled has its state saved."""
    from detectors.records import Alert

    broker = Broker.simulated()
    events = sorted(
        (ev.ts, ev.account_id)
        for log in broker.logs.values()
        for rec in log
        if not isinstance(ev := parse_event(rec.value), BadRecord)
    )
    last = {account: ts for ts, account in events}
    victim = min(last, key=lambda a: (last[a], a))  # the account that goes quiet first
    trigger = next((ts, a) for ts, a in events if ts > last[victim] + 60 and a != victim)

    class Sweeping(Processor):
        """Flags ``victim`` when ``trigger`` comes in, as a group's conviction would."""

        def process(self, ev: Any) -> list[Alert]:
            alerts = super().process(ev)
            if (ev.ts, ev.account_id) == trigger:
                state = self.store.peek(victim)
                assert state is not None
                state.last_scored = 4242.0
                alerts.append(
                    Alert("x", ev.ts, victim, "warning", "review", 1.0, ("campaign",), ())
                )
            return alerts

    snapshots = Snapshots()
    stop = threading.Event()
    worker, consumer = make_worker(broker, snapshots, stop)
    worker.processor = Sweeping(ProcessorConfig(late_tolerance_s=LATE_TOLERANCE_S))
    consumer.hooks = {1: lambda: consumer.rebalance(range(PARTITIONS))}
    worker.run(stop)
    saved = [
        decode_state(blob)
        for h in snapshots.hashes.values()
        for a, blob in h.items()
        if a == victim
    ]
    assert len(saved) == 1 and saved[0] is not None
    assert saved[0][1].last_scored == 4242.0
