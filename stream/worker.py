"""The runtime loop: poll → process → sinks → checkpoint (flush every sink, snapshot, commit).

At-least-once, with effects that are safe to repeat:

- A *checkpoint* flushes the dead-letter producer and the Redis alert sink, writes the
  state of every account that changed since the last checkpoint (``stream/snapshot.py``),
  and only then commits the next offset of every partition this worker owns. Offsets
  are never committed past an event whose alerts or state are not yet in Redis.
- When a sink fails (Redis down, broker not acknowledging dead letters) the worker keeps
  what is pending, pauses its partitions (it keeps polling, so it stays in the group),
  retries the checkpoint with exponential backoff, and resumes once it succeeded.
- Rebalances: before partitions are revoked the worker checkpoints and commits (inside
  the rebalance callback, while it still owns them) and moves each revoked partition's
  fetch position back to its first record not processed (records fetched but still
  waiting in the alignment buffer are dropped and fetched again: an eager rebalance
  revokes every partition, and the ones the worker gets back keep their positions);
  partitions it no longer owns have their accounts dropped from memory; newly assigned
  partitions are paused until their snapshots are restored, then consumed from the
  committed offsets. Events re-delivered after a crash meet restored state whose dedupe
  memory knows them, so they are not counted twice.

Shared state: with ``runtime.shared_linkage`` the campaign-linkage index and the score
board (``stream/linkage_redis.py``, ``stream/scoreboard.py``) buffer their writes, which
each checkpoint flushes after the alerts and before the account snapshots that record
those writes as done. With ``runtime.shared_population`` the population feed
(``stream/population.py``) is flushed with them, and after each checkpoint the worker
pulls what the other workers' accounts taught and the processor ``absorb``s it (a
worker that restored its models reads only entries newer than the restore). The
detector models (``stream/model_snapshot.py``) are restored before anything is
consumed and saved every ``runtime.model_snapshot_interval_s``, before partitions are
revoked and at shutdown (best effort: a failed save is counted and logged, never
blocks consumption).

Which account lives on which partition is the worker's to know (it sees each message's
partition); it is pruned against the processor's store at each checkpoint, and the
snapshots of evicted accounts are deleted at the same time.

The wall clock is used only for I/O concerns: checkpoint cadence, retry backoff, the
decision-latency metric and the liveness probe. Detection runs in event time.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from kafka import AsyncConsumerRebalanceListener, OffsetAndMetadata
from kafka.errors import KafkaError

from detectors.records import Alert, RequestEvent
from stream.events import BadRecord, parse_event
from stream.exceptions import SinkError, SnapshotError
from stream.linkage_redis import RedisLinkageIndex
from stream.metrics import RuntimeMetrics
from stream.model_snapshot import ModelSnapshotStore
from stream.population import PopulationExchange
from stream.processor import Processor
from stream.scoreboard import RedisScoreBoard
from stream.settings import Settings
from stream.sinks.base import Sink
from stream.sinks.kafka_dlq import KafkaDeadLetter
from stream.snapshot import PartitionKey, SnapshotStore

log = logging.getLogger("distillguard.worker")

#: Longest wait between rejoins of a worker the group keeps assigning nothing.
_MAX_REJOIN_WAIT_S = 600.0
_NEVER = float("inf")  # no alert waiting to be written


def release_parked_records(consumer: Any) -> None:
    """Let a resumed partition's parked records flow again (kafka-python 3.0 fetcher bug).

    kafka-python 3.0 keeps the records of a partition paused mid-batch ("parked", its port
    of KAFKA-7548) and hands them back after ``resume`` only while the fetcher's in-line
    slot is ``None``; but a slot whose records were all returned is left as an empty
    object, not ``None``, and the parked partition is not fetched again meanwhile. Once
    the other partitions go quiet, the resumed partition then stalls for good (seen with
    flow-control pauses on a backlog). Called before every poll: empties such a slot so
    the fetcher restores the parked records. A no-op when the internals differ.
    """
    fetcher = getattr(consumer, "_fetcher", None)
    current = getattr(fetcher, "_next_partition_records", None)
    if current is not None and not current and getattr(fetcher, "_paused_partition_records", None):
        fetcher._next_partition_records = None  # type: ignore[union-attr]  # checked just above


def _pk(tp: Any) -> PartitionKey:
    """Return the snapshot store's name of a kafka ``TopicPartition``."""
    return PartitionKey(tp.topic, tp.partition)


class Worker:
    """One member of the consumer group: consume, detect, write, checkpoint.

    Args:
        settings: the runtime settings.
        consumer: a ``kafka.KafkaConsumer`` made by ``make_consumer`` (not subscribed).
        processor: the event-time processor (this worker's own).
        alerts: the alert sink (``RedisAlertSink``).
        dead_letters: the dead-letter sink, or None to only count bad records.
        snapshots: the per-account state store.
        metrics: where to count.
        linkage: the shared linkage index the processor's linker writes to (flushed at
            each checkpoint), or None when linkage is per worker.
        scoreboard: the shared score board (flushed at each checkpoint), or None.
        models: where the detector models are saved and restored, or None for never.
        population: the shared population feed the processor publishes to (flushed at
            each checkpoint, then pulled and absorbed), or None when each worker's
            detectors learn only from its own accounts.
        monotonic: the clock for cadence and backoff (tests may pass a fake).
        wall: the wall clock for the records' latency metric (tests may pass a fake).

    """

    def __init__(
        self,
        settings: Settings,
        consumer: Any,
        processor: Processor,
        alerts: Sink[Alert],
        dead_letters: Sink[KafkaDeadLetter] | None,
        snapshots: SnapshotStore,
        metrics: RuntimeMetrics,
        linkage: RedisLinkageIndex | None = None,
        scoreboard: RedisScoreBoard | None = None,
        models: ModelSnapshotStore | None = None,
        population: PopulationExchange | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.consumer = consumer
        self.processor = processor
        self.alerts = alerts
        self.dead_letters = dead_letters
        self.snapshots = snapshots
        self.metrics = metrics
        self.linkage = linkage
        self.scoreboard = scoreboard
        self.population = population
        self.models = models if settings.runtime.model_snapshot_interval_s > 0 else None
        self._now = monotonic
        self._wall = wall
        self._models_loaded = self.models is None
        self._last_model_save = monotonic()
        # linkage pairs written, linkage reads, score reads, population reads and entries written
        self._seen_shared = (0, 0, 0, 0, 0)
        self.owned: set[Any] = set()
        self._next: dict[Any, int] = {}
        self._committed: dict[Any, int] = {}
        self._accounts: dict[Any, set[str]] = {}
        self._dirty: dict[Any, set[str]] = {}
        self._unrestored: set[Any] = set()
        self._paused = False
        self.blocked: str | None = None
        self._backoff = settings.runtime.retry_initial_s
        self._retry_at = 0.0
        self._since_checkpoint = 0
        self._last_checkpoint = monotonic()
        self.last_loop = monotonic()
        self._empty_since: float | None = None  # since when no partition is assigned
        self._rejoin_wait = settings.runtime.rejoin_empty_s
        self.joined = False
        self._seen = (0, 0, 0, 0)  # processor events, duplicates, late, store evictions
        self._buf: dict[Any, deque[tuple[float, Any, RequestEvent | BadRecord]]] = {}
        self._last_ts: dict[Any, float] = {}
        self._last_data: dict[Any, float] = {}
        self._flow_paused: set[Any] = set()

    # ----------------------------------------------------------------- lifecycle

    def subscribe(self) -> None:
        """Join the group on the request topic, with this worker's rebalance listener.

        A group leader that assigns before it has the topic's partition metadata hands
        out no partitions at all (dpkp/kafka-python#2377); ``_watch_assignment`` rejoins
        then. (Fetching the metadata first, with ``partitions_for_topic``, made workers
        stall after a restore in 3 of 4 runs of the restart test: not done.)
        """
        self.consumer.subscribe([self.settings.kafka.topic], listener=_Listener(self))

    def _watch_assignment(self) -> None:
        """Rejoin the group when it assigned nothing for a while though the topic has partitions.

        A leader that assigned before it had the topic's metadata leaves every member
        empty-handed, and kafka-python does not always rebalance once the metadata
        arrives. A member that is idle on purpose (more workers than partitions) rejoins
        too, but ever more rarely: the wait doubles each time, up to ten minutes.
        ``partitions_for_topic`` waits for the cluster's answer without a timeout; it is
        only called with no partition owned, so an unreachable cluster delays nothing
        but a shutdown, and the stalled loop shows in /healthz.
        """
        now = self._now()
        if self.owned:
            self._empty_since = None
            self._rejoin_wait = self.settings.runtime.rejoin_empty_s
            return
        if self._empty_since is None:
            self._empty_since = now
            return
        if self._rejoin_wait <= 0 or now - self._empty_since < self._rejoin_wait:
            return
        topic = self.settings.kafka.topic
        partitions = self.consumer.partitions_for_topic(topic)
        if partitions:
            log.warning(
                "no partition of %s (%d partitions) assigned for %.0f s: rejoining the group",
                topic, len(partitions), now - self._empty_since,
            )  # fmt: skip
            self.metrics.rebalances.labels("rejoin").inc()
            self.consumer.unsubscribe()
            self.subscribe()
            self._rejoin_wait = min(2 * self._rejoin_wait, _MAX_REJOIN_WAIT_S)
        self._empty_since = now

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, then checkpoint and leave the group."""
        timeout = self.settings.kafka.poll_timeout_ms
        rt = self.settings.runtime
        try:
            self._load_models(stop)
            while not stop.is_set():
                self.last_loop = self._now()
                release_parked_records(self.consumer)
                batch = self.consumer.poll(timeout_ms=timeout)
                for tp, records in batch.items():
                    self._ingest(tp, records)
                if not self.blocked:
                    self._drain()
                self._publish_stats()
                self._watch_assignment()
                if self._unrestored and not self.blocked:
                    self._restore()
                if self.blocked:
                    if self._now() >= self._retry_at:
                        self._retry()
                elif (
                    self._since_checkpoint >= rt.commit_every_records
                    or self._now() - self._last_checkpoint >= rt.commit_interval_s
                ):
                    self.checkpoint()
        finally:
            self.close()

    def close(self, timeout_s: float = 30.0) -> None:
        """Checkpoint (retrying until ``timeout_s``), commit and leave the group."""
        deadline = self._now() + timeout_s
        done = self.checkpoint()
        while not done and self._now() < deadline:
            time.sleep(min(self._backoff, max(0.0, deadline - self._now())))
            self._backoff = min(self._backoff * 2, self.settings.runtime.retry_max_s)
            done = self.checkpoint()
        if not done:
            log.error("shutting down with effects not written: offsets left uncommitted")
        self._save_models()
        try:
            self.consumer.close(autocommit=False)
        except KafkaError as exc:  # leaving the group is best effort
            log.warning("closing the consumer: %s", exc)

    # ----------------------------------------------------------------- processing

    def _ingest(self, tp: Any, records: list[Any]) -> None:
        """Parse a partition's records into its alignment buffer (processed by ``_drain``)."""
        if tp not in self.owned:
            return
        buf = self._buf.setdefault(tp, deque())
        last = self._last_ts.get(tp, float("-inf"))
        for rec in records:
            parsed = parse_event(rec.value if rec.value is not None else b"")
            if not isinstance(parsed, BadRecord):
                last = parsed.ts
            buf.append((last, rec, parsed))
        self._last_ts[tp] = last
        self._last_data[tp] = self._now()
        if len(buf) > self.settings.runtime.align_buffer and tp not in self._flow_paused:
            self._flow_paused.add(tp)
            self.consumer.pause(tp)

    def _starving_bound(self) -> float:
        """Return the event time up to which buffered records may be processed now.

        A partition with nothing buffered that has more to fetch (position below its
        high watermark) holds the others back to its last event time plus
        ``runtime.align_slack_s``, unless it delivered nothing for
        ``runtime.align_max_wait_s`` (wall clock: a stuck fetch must not stop the rest).
        """
        rt = self.settings.runtime
        bound = float("inf")
        now = self._now()
        for tp in self.owned:
            if self._buf.get(tp) or tp in self._unrestored:
                continue
            if now - self._last_data.get(tp, now) > rt.align_max_wait_s:
                continue
            hw = self.consumer.highwater(tp)
            pos = self.consumer.position(tp, timeout_ms=0)
            if hw is not None and pos is not None and pos >= hw:
                continue  # caught up: nothing to wait for
            bound = min(bound, self._last_ts.get(tp, float("-inf")) + rt.align_slack_s)
        return bound

    def _drain(self) -> None:
        """Process buffered records of all partitions in event-time order, up to the bound."""
        heap = [(q[0][0], i, tp) for i, (tp, q) in enumerate(self._buf.items()) if q]
        if not heap:
            return
        heapq.heapify(heap)
        bound = self._starving_bound()
        slack = self.settings.runtime.align_slack_s
        done: dict[Any, int] = {}
        taken = 0
        now = self._now
        flush_s = self.settings.runtime.alert_flush_s
        pending_since = _NEVER  # when the oldest unwritten alert was raised
        observe_age = self._age_observer()
        while heap:
            ts, i, tp = heap[0]
            if ts > bound:
                break
            q = self._buf[tp]
            _, rec, parsed = q.popleft()
            done[tp] = rec.offset
            taken += 1
            observe_age(rec)
            if q:
                heapq.heapreplace(heap, (q[0][0], i, tp))
            else:
                heapq.heappop(heap)
                if tp in self._flow_paused or not self._caught_up(tp):
                    bound = min(bound, self._last_ts.get(tp, ts) + slack)
            if isinstance(parsed, BadRecord):
                self._dead_letter(tp, rec, parsed)
                continue
            self._dirty.setdefault(tp, set()).add(parsed.account_id)
            if self._process(parsed):
                pending_since = min(pending_since, now())
            # A long drain must not hold an alert back from the edge: write it within
            # ``alert_flush_s`` (the drain ends with a flush anyway).
            if pending_since < _NEVER and now() - pending_since >= flush_s:
                pending_since = _NEVER
                self._flush_alerts()
                if self.blocked:
                    break  # the rest waits in the buffers until Redis is back
        for tp, offset in done.items():
            self._next[tp] = offset + 1
        self._since_checkpoint += taken
        self._resume_drained()
        if pending_since < _NEVER:
            self._flush_alerts()

    def _age_observer(self) -> Callable[[Any], None]:
        """Return what observes a record's age when processed (wall clock minus timestamp)."""
        wall = self._wall
        observe = self.metrics.record_latency.observe

        def observe_age(rec: Any) -> None:
            ts = rec.timestamp
            if ts is not None and ts >= 0:  # -1 or None: the record has none
                observe(max(0.0, wall() - ts / 1000))

        return observe_age

    def _emit(self, alert: Alert) -> None:
        """Count one alert in the metrics and hand it to the alert sink."""
        for detector in alert.detectors or ("none",):
            self.metrics.alerts.labels(alert.severity, alert.action, detector).inc()
        self.alerts.add(alert)

    def _resume_drained(self) -> None:
        """Resume the flow-paused partitions whose buffers drained to half the limit."""
        limit = self.settings.runtime.align_buffer // 2
        for tp in [t for t in self._flow_paused if len(self._buf.get(t, ())) <= limit]:
            self._flow_paused.discard(tp)
            if not self.blocked and tp not in self._unrestored:
                self.consumer.resume(tp)

    def _flush_alerts(self) -> None:
        """Write new alerts and decisions now: the edge should not wait for a checkpoint.

        Offsets still move only at checkpoints (which flush again: writes are
        idempotent). A failure blocks the worker as a failed checkpoint does.
        """
        try:
            self.alerts.flush()
        except SinkError as exc:
            self.metrics.sink_errors.labels("redis_alerts").inc()
            self._block("redis_alerts", exc)

    def _dead_letter(self, tp: Any, rec: Any, bad: BadRecord) -> None:
        """Count a bad record and send it to the dead-letter sink."""
        self.metrics.bad_records.labels(bad.reason).inc()
        if self.dead_letters is not None:
            self.dead_letters.add(
                KafkaDeadLetter(
                    tp.topic, tp.partition, rec.offset, rec.key, bad.reason, bad.detail, bad.raw
                )
            )

    def _caught_up(self, tp: Any) -> bool:
        """Whether ``tp`` has nothing more to fetch right now (position at the high watermark)."""
        hw = self.consumer.highwater(tp)
        pos = self.consumer.position(tp, timeout_ms=0)
        return hw is not None and pos is not None and pos >= hw

    def _publish_stats(self) -> None:
        """Turn the processor's counters into metric increments."""
        st, store = self.processor.stats, self.processor.store
        now = (st.events, st.duplicates, st.late, store.evictions)
        m = self.metrics
        for counter, new, old in zip(
            (m.events, m.duplicates, m.late, m.evictions), now, self._seen, strict=True
        ):
            if new > old:
                counter.inc(new - old)
        self._seen = now
        m.accounts.set(len(store))
        pop = self.population
        shared = (
            self.linkage.pairs_written if self.linkage is not None else 0,
            self.linkage.reads if self.linkage is not None else 0,
            self.scoreboard.reads if self.scoreboard is not None else 0,
            pop.reads if pop is not None else 0,
            pop.published if pop is not None else 0,
        )
        reads = m.shared_reads
        counters = (
            m.linkage_pairs,
            reads.labels("linkage"),
            reads.labels("scores"),
            reads.labels("population"),
            m.population_entries.labels("published"),
        )
        for counter, new, old in zip(counters, shared, self._seen_shared, strict=True):
            if new > old:
                counter.inc(new - old)
        self._seen_shared = shared

    def _process(self, ev: RequestEvent) -> bool:
        """Run one event through the processor and emit its alerts; return whether any."""
        alerts = self.processor.process(ev)
        for alert in alerts:
            if alert.account_id != ev.account_id:
                self._touched(alert.account_id)  # a group member, swept
            self._emit(alert)
        return bool(alerts)

    def _touched(self, account_id: str) -> None:
        """Mark for the next checkpoint an account that another account's event changed.

        The processor flags a convicted group's members while it handles one member's
        event (``Processor._sweep``); their states must be saved too, under their own
        partition, or a restart would restore them with no open episode.
        """
        for tp in self.owned:
            if account_id in self._accounts.get(tp, ()) or account_id in self._dirty.get(tp, ()):
                self._dirty.setdefault(tp, set()).add(account_id)
                return

    # ----------------------------------------------------------------- checkpoints

    def _write_effects(self) -> bool:
        """Flush every sink and snapshot changed accounts; on failure enter the blocked state."""
        sink = "kafka_dead_letter"
        try:
            if self.dead_letters is not None:
                self.dead_letters.flush()
            sink = "redis_alerts"
            self.alerts.flush()
            sink = "redis_linkage"  # before the snapshots that record these pairs as written
            if self.linkage is not None:
                self.linkage.flush()
            if self.scoreboard is not None:
                self.scoreboard.flush()
            sink = "redis_population"
            if self.population is not None:
                self.population.flush()
            sink = "redis_snapshots"
            self._save_snapshots()
        except (SinkError, SnapshotError) as exc:
            self.metrics.sink_errors.labels(sink).inc()
            self._block(sink, exc)
            return False
        return True

    def _save_snapshots(self) -> None:
        """Write the state of accounts changed since the last checkpoint; drop evicted ones."""
        store = self.processor.store
        puts: dict[PartitionKey, list[tuple[str, float, Any]]] = {}
        deletes: dict[PartitionKey, list[str]] = {}
        for tp, dirty in self._dirty.items():
            if tp not in self.owned:
                continue
            accounts = self._accounts.setdefault(tp, set())
            accounts |= dirty
            rows = []
            for account_id in dirty:
                state = store.peek(account_id)
                if state is not None:
                    rows.append((account_id, store.last_seen(account_id), state))
            if rows:
                puts[_pk(tp)] = rows
        for tp, accounts in self._accounts.items():
            gone = [a for a in accounts if a not in store]
            if gone:
                accounts.difference_update(gone)
                deletes[_pk(tp)] = gone
        if puts or deletes:
            written = self.snapshots.save(puts, deletes)
            self.metrics.snapshots.inc(written)
        self._dirty = {}

    def _offsets(self) -> dict[Any, Any]:
        """Return the offsets to commit: owned partitions that moved since their last commit."""
        return {
            tp: OffsetAndMetadata(n, "", -1)
            for tp, n in self._next.items()
            if tp in self.owned and self._committed.get(tp) != n
        }

    def _committed_now(self, offsets: dict[Any, Any]) -> None:
        """Record a successful commit."""
        for tp, om in offsets.items():
            self._committed[tp] = om.offset
        self.metrics.commits.inc()

    def checkpoint(self) -> bool:
        """Flush, snapshot and commit; return whether the effects were written.

        A failed commit (a rebalance under way) is logged, not retried here: the
        rebalance listener commits before the partitions move.
        """
        began = self._now()
        if not self._write_effects():
            return False
        offsets = self._offsets()
        if offsets:
            try:
                self.consumer.commit(offsets)
                self._committed_now(offsets)
            except KafkaError as exc:  # a rebalance is under way: the listener re-commits
                log.warning("offset commit failed: %s", exc)
        self._since_checkpoint = 0
        self._last_checkpoint = self._now()
        self._update_lag()
        self.metrics.flush_seconds.observe(self._now() - began)
        self._absorb_population()
        interval = self.settings.runtime.model_snapshot_interval_s
        if self._now() - self._last_model_save >= interval:
            self._save_models()
        return True

    def _absorb_population(self) -> None:
        """Learn what the other workers' accounts taught since the last pull.

        A failed read returns nothing and makes the next checkpoint's flush fail, so the
        worker pauses and retries as for any shared state.
        """
        if self.population is None:
            return
        entries = self.population.pull()
        if entries:
            applied = self.processor.absorb(entries)
            self.metrics.population_entries.labels("absorbed").inc(applied)

    # ----------------------------------------------------------------- models

    def _load_models(self, stop: threading.Event) -> None:
        """Restore the detector models before consuming (retrying while Redis is down)."""
        backoff = self.settings.runtime.retry_initial_s
        while self.models is not None and not self._models_loaded and not stop.is_set():
            self.last_loop = self._now()
            try:
                restored = self.models.load(self.processor.detectors)
            except SnapshotError as exc:
                self.metrics.sink_errors.labels("redis_models").inc()
                log.warning("cannot restore the detector models yet, retrying: %s", exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.runtime.retry_max_s)
                continue
            self._models_loaded = True
            if restored is None:
                log.info("no detector model snapshot: the models start cold")
            else:
                self.processor.detectors = restored.detectors
                # the warm-up counts from when the restored models began to learn
                self.processor.learned_since(restored.learning_since)
                if self.population is not None:  # what the stream holds is in the models
                    self.population.start_at_end()
                self.metrics.model_restores.inc()
                log.info("restored the detector models from %s", self.models.key)

    def _save_models(self) -> None:
        """Snapshot the detector models (best effort; never before the restore was tried).

        A worker saves only once it restored the snapshot or found none, so its models
        are never colder than what it would replace. The snapshot carries the event time
        the models began to learn, from which a restoring worker counts its warm-up.
        """
        self._last_model_save = self._now()
        if self.models is None or not self._models_loaded:
            return
        try:
            size = self.models.save(self.processor.detectors, self.processor.learning_since)
        except SnapshotError as exc:
            self.metrics.sink_errors.labels("redis_models").inc()
            log.warning("detector model snapshot failed (retried later): %s", exc)
            return
        self.metrics.model_snapshots.inc()
        log.debug("saved the detector models (%d bytes)", size)

    def _update_lag(self) -> None:
        """Set the lag gauge of every owned partition from the fetcher's high watermarks."""
        for tp in self.owned:
            hw = self.consumer.highwater(tp)
            pos = self._next.get(tp)
            if hw is not None and pos is not None:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, hw - pos))

    # ----------------------------------------------------------------- failures

    def _block(self, sink: str, exc: Exception) -> None:
        """Stop consuming until the pending effects are written (pause, back off, retry)."""
        if self.blocked is None:
            log.warning("%s failed, pausing consumption and retrying: %s", sink, exc)
            self._backoff = self.settings.runtime.retry_initial_s
        else:
            self._backoff = min(self._backoff * 2, self.settings.runtime.retry_max_s)
        self.blocked = f"{sink}: {exc}"
        self._retry_at = self._now() + self._backoff
        self._pause(self.owned)

    def _retry(self) -> None:
        """Try the pending restores and checkpoint again; resume consumption on success."""
        sink = (self.blocked or "").split(":", 1)[0] or "unknown"
        self.metrics.retries.labels(sink).inc()
        if self._unrestored and not self._restore():
            return
        if self.checkpoint():
            log.info("sinks are back; resuming consumption")
            self.blocked = None
            self._resume(self.owned - self._unrestored - self._flow_paused)

    def _pause(self, tps: Iterable[Any]) -> None:
        """Pause fetching from ``tps``."""
        tps = [tp for tp in tps if tp in self.owned]
        if tps:
            self.consumer.pause(*tps)

    def _resume(self, tps: Iterable[Any]) -> None:
        """Resume fetching from ``tps``."""
        tps = [tp for tp in tps if tp in self.owned]
        if tps:
            self.consumer.resume(*tps)

    # ----------------------------------------------------------------- rebalances

    def _restore(self) -> bool:
        """Restore the snapshots of newly assigned partitions, then resume them."""
        store = self.processor.store
        for tp in sorted(self._unrestored, key=lambda t: (t.topic, t.partition)):
            accounts = self._accounts.setdefault(tp, set())
            n = 0
            try:
                for account_id, last_seen, state in self.snapshots.load(_pk(tp)):
                    store.put(account_id, state, last_seen)
                    accounts.add(account_id)
                    n += 1
            except SnapshotError as exc:
                self.metrics.sink_errors.labels("redis_snapshots").inc()
                self._block("redis_snapshots", exc)
                return False
            self.metrics.restores.inc(n)
            self._unrestored.discard(tp)
            log.info("restored %d accounts of %s[%d]", n, tp.topic, tp.partition)
            if not self.blocked and tp not in self._flow_paused:
                self._resume([tp])
        return True

    def _drop(self, tps: Iterable[Any]) -> None:
        """Forget partitions this worker no longer owns and their accounts' state."""
        store = self.processor.store
        for tp in tps:
            for account_id in self._accounts.pop(tp, set()) | self._dirty.pop(tp, set()):
                store.pop(account_id)
            self._next.pop(tp, None)
            self._committed.pop(tp, None)
            self._forget_fetched(tp)
            self._unrestored.discard(tp)
            with contextlib.suppress(KeyError):  # no lag was recorded for it yet
                self.metrics.lag.remove(tp.topic, str(tp.partition))
            self.owned.discard(tp)

    def _rewind(self, tp: Any) -> None:
        """Drop what was fetched of ``tp`` but not processed, and fetch it again.

        Called for every revoked partition. An eager rebalance revokes all of them, yet
        kafka-python 3 keeps the fetch position (and the paused flag) of each partition
        the worker gets back; dropping the buffered records without moving the position
        back would lose them. So the position goes back to the first record not
        processed, which for a partition that moves on is also what was just committed
        (its next owner starts there), and a partition paused because its buffer was
        full is resumed (its buffer is empty now).
        """
        buf = self._buf.get(tp)
        if buf:
            offset = buf[0][1].offset
            log.info("%s[%d]: %d fetched records not processed yet, fetched again from %d",
                     tp.topic, tp.partition, len(buf), offset)  # fmt: skip
            self.consumer.seek(tp, offset)
        if tp in self._flow_paused and not self.blocked:
            self._resume((tp,))
        self._forget_fetched(tp)

    def _forget_fetched(self, tp: Any) -> None:
        """Drop what was fetched but not processed (the consumer fetches it again)."""
        self._buf.pop(tp, None)
        self._last_ts.pop(tp, None)
        self._last_data.pop(tp, None)
        self._flow_paused.discard(tp)

    def _reconcile(self) -> None:
        """Align owned partitions with the consumer's assignment: drop lost, restore gained."""
        now = set(self.consumer.assignment())
        lost = self.owned - now
        if lost:
            self._drop(lost)
        gained = now - self.owned
        self.owned |= gained
        if gained:
            self._unrestored |= gained
            self.consumer.pause(*gained)
        self.metrics.partitions.set(len(self.owned))

    async def on_revoked(self, revoked: set[Any], commit: Callable[..., Any]) -> None:
        """Checkpoint and commit before ``revoked`` leave this worker (rebalance callback)."""
        self.metrics.rebalances.labels("revoked").inc()
        if self._write_effects():
            offsets = self._offsets()
            if offsets:
                try:
                    await commit(offsets)
                    self._committed_now(offsets)
                except KafkaError as exc:
                    log.warning("commit before revocation failed: %s", exc)
            self._save_models()  # what these partitions' accounts taught, for the next owner
        else:
            log.warning("could not checkpoint before revocation: the next owner resumes"
                        " from the last committed offsets")  # fmt: skip
        for tp in revoked:
            self._rewind(tp)
        self._reconcile()

    def on_assigned(self, assigned: set[Any]) -> None:
        """Take new partitions: paused until their snapshots are restored (rebalance callback)."""
        self.metrics.rebalances.labels("assigned").inc()
        self.joined = True
        self._reconcile()
        if self.blocked:
            self._pause(self.owned)

    def on_lost(self, lost: set[Any]) -> None:
        """Drop partitions taken away without a clean revocation (no commit is possible)."""
        self.metrics.rebalances.labels("lost").inc()
        self._drop(lost)
        self.metrics.partitions.set(len(self.owned))

    # ----------------------------------------------------------------- probes

    def health(self, stall_s: float = 60.0) -> tuple[bool, str]:
        """Return (alive?, why): the loop turned within ``stall_s`` seconds."""
        idle = self._now() - self.last_loop
        return (idle < stall_s, f"loop idle {idle:.1f}s")

    def readiness(self) -> tuple[bool, str]:
        """Return (ready?, why): joined the group, sinks writable, partitions restored."""
        if not self._models_loaded:
            return False, "restoring the detector models"
        if not self.joined:
            return False, "not yet in the consumer group"
        if self.blocked:
            return False, f"blocked: {self.blocked}"
        if self._unrestored:
            return False, f"restoring {len(self._unrestored)} partitions"
        return True, f"ok: {len(self.owned)} partitions"


class _Listener(AsyncConsumerRebalanceListener):  # type: ignore[misc]  # untyped base class
    """Forward rebalance callbacks to the worker (async: the commit must be awaited)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        """Checkpoint and commit before losing ``revoked``."""
        coordinator = self.worker.consumer._coordinator
        # The consumer's public commit() cannot run on its IO thread, where listeners run;
        # its awaitable twin can (kafka-python 3 internals, pinned by the tests).
        await self.worker.on_revoked(revoked, coordinator._commit_offsets_sync_async)

    async def on_partitions_assigned(self, assigned: set[Any]) -> None:
        """Take ``assigned``."""
        self.worker.on_assigned(assigned)

    async def on_partitions_lost(self, lost: set[Any]) -> None:
        """Drop ``lost``."""
        self.worker.on_lost(lost)
