"""Benchmark: ``distillguard run`` end to end through a real Kafka broker and redis-server.

Starts its own single-node Kafka broker and redis-server (``tests/servers.py``; run
``bash tests/infra/setup.sh`` once), simulates traffic whose last event is now, and
measures:

1. throughput: the same events through ``replay``'s pipeline in this process, and
   through one ``distillguard run`` worker consuming them as a backlog from a topic
   (from its first consumed record to its last; start-up excluded), and the ratio;
2. latency: a fresh worker first consumes the scenario's first ``--warm-share`` as a
   backlog (so that its detectors judge when the timing starts, as a running
   deployment's do), then the next events are produced at ``--rate`` events/s; for each alert,
   the time from producing the event that raised it to the alert's write in Redis
   (the alert-stream entry id is Redis's clock at the write; the decision key is
   written by the same script), p50/p99/max over the alerts that wrote a decision key
   (throttle/block still in force) and over all alerts, split at the broker's append
   (the latency topic is stamped with the append time); the wait of every record from
   its append to its processing (the workers' ``distillguard_record_latency_seconds``
   histogram, p50/p99/p99.9 and the share within 1 s); and, sampled every 0.25 s while
   producing, how far behind the producer and the workers were (in seconds of input)
   and how busy the workers' CPU was, the three slowest decision keys, and the
   workers' Redis reads of the shared linkage index, score board and population.

Figures are printed, never asserted. Targets (issue 4): run >= 70 % of replay
throughput; p99 latency <= 1 s at 5,000 events/s.

    python bench/kafka_e2e.py --accounts 500 --hours 48 --seed 7 --rate 5000 --seconds 30

``--worker-cpu N`` gives the worker CPU ``N`` of its own (the broker, redis-server and the
producer share the others), as in a deployment where workers do not share their CPUs.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from detectors.policy import PolicyConfig, decision_for  # noqa: E402
from detectors.records import Alert  # noqa: E402
from stream.events import BadRecord, parse_event  # noqa: E402
from stream.kafka_source import make_producer  # noqa: E402
from stream.pipeline import run_pipeline  # noqa: E402
from stream.processor import Processor, ProcessorConfig  # noqa: E402
from stream.settings import KafkaSettings  # noqa: E402
from stream.sim_kafka import produce_lines  # noqa: E402
from stream.simulate import Line, SimConfig, iter_lines  # noqa: E402
from stream.sinks.memory import MemorySink  # noqa: E402
from tests.servers import KafkaBroker, RedisServer, free_port  # noqa: E402

PARTITIONS = 4
POLICY = PolicyConfig()  # the worker's (default) policy
LATE_TOLERANCE_S = 7 * 86400  # a simulated day arrives in seconds: nothing is late


class Worker:
    """One ``distillguard run`` subprocess and its /metrics endpoint."""

    def __init__(
        self,
        broker: KafkaBroker,
        redis: RedisServer,
        topic: str,
        prefix: str,
        log: Path,
        extra: list[str],
        cpu: int | None = None,
    ) -> None:
        self.port = free_port()
        cmd = [
            sys.executable, "-m", "stream.cli", "run",
            "--bootstrap-servers", broker.bootstrap, "--topic", topic, "--group-id", topic,
            "--dead-letter-topic", "", "--redis-url", redis.url,
            "--metrics-port", str(self.port), "--set", "metrics.host=127.0.0.1",
            "--set", f"redis.prefix={prefix}",
            "--set", f"runtime.late_tolerance_s={LATE_TOLERANCE_S}",
            "--log-level", "WARNING",
            *extra,
        ]  # fmt: skip
        self.log = log.open("wb")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        if cpu is not None:  # the worker alone on this CPU (the others: see --worker-cpu)
            os.sched_setaffinity(self.proc.pid, {cpu})

    def metrics(self) -> dict[str, float]:
        """Return every sample of /metrics, summed over labels."""
        return summed_over_labels(self.metrics_raw())

    def metrics_raw(self) -> dict[str, float]:
        """Return every sample of /metrics by its full name (labels included)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def records(self) -> float:
        """Return the records this worker has taken from the topic (good, duplicate, bad)."""
        m = self.metrics()
        return sum(
            m.get(f"distillguard_{k}_total", 0.0)
            for k in ("events_consumed", "duplicate_events", "bad_records")
        )

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system, all threads) the worker used so far (Linux)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def summed_over_labels(raw: dict[str, float]) -> dict[str, float]:
    """Return samples by metric name (``metrics_raw``'s), summed over their labels."""
    out: dict[str, float] = {}
    for key, value in raw.items():
        name = key.split("{")[0]
        out[name] = out.get(name, 0.0) + value
    return out


def wait_for(what: str, cond: Callable[[], bool], timeout: float, step: float = 0.2) -> float:
    """Wait until ``cond()``; return the wall time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return time.time()
        except (OSError, urllib.error.URLError):
            pass  # the worker's endpoint is not up yet
        time.sleep(step)
    raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")


class Acked:
    """Counts the messages the broker acknowledged (a producer callback)."""

    def __init__(self, producer: Any) -> None:
        self.n = 0
        self._producer = producer
        self._lock = threading.Lock()

    def send(self, *args: Any, **kwargs: Any) -> Any:
        """Send as the producer does; count the message once the broker acknowledges it."""
        return self._producer.send(*args, **kwargs).add_callback(self._count)

    def flush(self) -> None:
        """Flush the producer."""
        self._producer.flush()

    def _count(self, _metadata: Any) -> None:
        # The producer's IO thread calls this, or the sending thread for a future that is
        # already done.
        with self._lock:
            self.n += 1


def produce(
    broker: KafkaBroker,
    topic: str,
    lines: list[Line],
    rate: float,
    acked: Callable[[Acked], None] | None = None,
    **kw: Any,
) -> float:
    """Produce ``lines`` into ``topic`` at ``rate`` (0: flat out); return the achieved rate.

    ``acked``, if given, receives the counter of broker acknowledgements before the first send.
    """
    # Batched as a high-volume producer (the API edge) would: 20 ms and up to 256 KiB per
    # partition and request. With 5 ms and 16 KiB (kafka-python's default), producer and
    # broker alone took 0.7 to 0.9 CPU at 5,000 records/s instead of 0.4 (README).
    producer = make_producer(
        KafkaSettings(bootstrap_servers=broker.bootstrap), linger_ms=20, batch_size=256 * 1024
    )
    counted = Acked(producer)
    if acked is not None:
        acked(counted)
    try:
        return produce_lines(counted, topic, lines, rate, **kw).rate
    finally:
        producer.close(timeout=30)


def append_times(
    broker: KafkaBroker, topic: str, accounts: set[str], timeout: float = 300.0
) -> dict[tuple[str, float], float]:
    """Return when the broker appended each event of ``accounts`` in ``topic`` (wall time, s).

    The latency topic stamps records with the broker's append time (``LogAppendTime``),
    which splits produce → decision into the producer's and broker's share and the worker's.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False
    )
    out: dict[tuple[str, float], float] = {}
    deadline = time.monotonic() + timeout
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        keys = {a.encode() for a in accounts}
        while any(consumer.position(tp) < end[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out after {timeout:.0f}s reading {topic} back")
            for records in consumer.poll(timeout_ms=1000, max_records=10_000).values():
                for rec in records:
                    if rec.key in keys:
                        ev = parse_event(rec.value)
                        if not isinstance(ev, BadRecord):
                            out.setdefault((ev.account_id, ev.ts), rec.timestamp / 1000)
    finally:
        consumer.close()
    return out


def replay_throughput(lines: list[Line]) -> tuple[float, float]:
    """Return records/s of ``replay``'s pipeline over ``lines``: per wall and per CPU second."""
    processor = Processor(ProcessorConfig(late_tolerance_s=LATE_TOLERANCE_S))
    sink: MemorySink[Alert] = MemorySink()
    records = [(i, line.data) for i, line in enumerate(lines, 1)]
    began, cpu = time.perf_counter(), time.thread_time()
    summary = run_pipeline(records, processor, sink)
    wall_s, cpu_s = time.perf_counter() - began, time.thread_time() - cpu
    return summary.records / wall_s, summary.records / cpu_s


def run_throughput(
    broker: KafkaBroker,
    redis: RedisServer,
    lines: list[Line],
    log_dir: Path,
    extra: list[str],
    cpu: int | None = None,
) -> tuple[float, float, float]:
    """Return one worker's records/s: while consuming, per CPU second, with start-up."""
    topic = f"bench-tput-{os.getpid()}"
    broker.create_topic(topic, PARTITIONS)
    produce(broker, topic, lines, 0.0)
    n = len(lines)
    started = time.time()
    worker = Worker(broker, redis, topic, "bench-tput:", log_dir / "tput.log", extra, cpu)
    samples: list[tuple[float, float, float]] = []
    try:

        def done() -> bool:
            got = worker.records()
            samples.append((time.time(), got, worker.cpu_seconds()))
            return got >= n

        end = wait_for("the backlog to be consumed", done, 900, step=0.1)
    finally:
        worker.stop()
    t0, c0, cpu0 = next(s for s in samples if s[1] > 0)
    cpu_s = samples[-1][2] - cpu0
    return (n - c0) / max(end - t0, 1e-9), (n - c0) / max(cpu_s, 1e-9), n / (end - started)


class Timeline:
    """Samples, while the latency run produces, how far the workers are behind and how busy.

    Every ``step`` seconds: records sent (counted by ``on_send``), records the broker
    acknowledged (``acked``), records the workers took, and their CPU seconds. The backlog
    splits in two: sent but not yet in the broker (the producer's and broker's share; on a
    small machine where they share a CPU it builds up in bursts) and in the broker but not
    yet taken (the workers' share). A workers' share that grows while their CPU is below
    one per worker points at waits (Redis, Kafka); at full CPU, at capacity.
    """

    def __init__(self, group: list[Worker], before: int, step: float = 0.25) -> None:
        self.group = group
        self.before = before
        self.step = step
        self.sent = 0
        self.acked: Acked | None = None
        self.samples: list[tuple[float, int, int, float, float]] = []  # wall, sent, acked,
        # taken, cpu
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def on_send(self) -> None:
        """Count one record sent."""
        self.sent += 1

    def count_acks(self, acked: Acked) -> None:
        """Sample ``acked``'s count of broker acknowledgements from now on."""
        self.acked = acked

    def start(self) -> None:
        """Start sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.step):
            try:
                taken = sum(w.records() for w in self.group) - self.before
                cpu = sum(w.cpu_seconds() for w in self.group)
            except (OSError, urllib.error.URLError):
                continue
            acked = self.acked.n if self.acked is not None else self.sent
            self.samples.append((time.monotonic(), self.sent, acked, taken, cpu))

    def report(self, rate: float) -> None:
        """Print the backlog's percentiles (in seconds of input) and the workers' CPU use."""
        if len(self.samples) < 2:
            return
        t0 = self.samples[0][0]
        print(f"  backlog while producing ({len(self.samples)} samples every {self.step} s):")
        parts = (
            ("sent, not yet taken by the workers", 1, 3),
            ("  sent, not yet in the broker", 1, 2),
            ("  in the broker, not yet taken", 2, 3),
        )
        for name, ahead, behind in parts:
            backlog = [max(0.0, (s[ahead] - s[behind]) / rate) for s in self.samples]
            worst = max(range(len(backlog)), key=backlog.__getitem__)
            print(
                f"    {name:<36} p50 {percentile(backlog, 0.5):.2f} s, "
                f"p90 {percentile(backlog, 0.9):.2f} s, "
                f"max {backlog[worst]:.2f} s at {self.samples[worst][0] - t0:.0f} s"
            )
        pairs = zip(self.samples, self.samples[1:], strict=False)
        busy = [(b[4] - a[4]) / (b[0] - a[0]) for a, b in pairs]
        print(
            f"  workers' CPU per wall second: p10 {percentile(busy, 0.1):.2f}, "
            f"p50 {percentile(busy, 0.5):.2f}"
        )


def percentile(values: list[float], q: float) -> float:
    """Return the ``q`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency(
    broker: KafkaBroker,
    redis: RedisServer,
    lines: list[Line],
    rate: float,
    log_dir: Path,
    extra: list[str],
    cpus: list[int] | None = None,
    backlog: list[Line] | None = None,
    workers: int = 1,
) -> None:
    """Produce ``lines`` at ``rate`` to ready workers; print produce → Redis write latency.

    ``backlog``, if given, is produced flat out first and consumed before the timed
    ``lines`` start, so that the workers' detectors judge already (warm workers).
    ``workers`` workers join one consumer group (worker ``i`` pinned to ``cpus[i]``).
    """
    topic = f"bench-lat-{os.getpid()}"
    prefix = "bench-lat:"
    # The broker stamps each record with its append time: see append_times.
    broker.create_topic(topic, PARTITIONS, {"message.timestamp.type": "LogAppendTime"})
    # Simulated event time runs `speedup` times faster than the wall clock here: scale the
    # event-time slack of the partition merge alike (5 s of real time by default).
    speedup = (lines[-1].ts - lines[0].ts) / (len(lines) / rate)
    slack = ["--set", f"runtime.align_slack_s={5.0 * speedup:.0f}"]
    print(f"latency run: event time {speedup:,.0f}x the wall clock; {slack[1]}")
    group = [
        Worker(
            broker,
            redis,
            topic,
            prefix,
            log_dir / f"latency-{i}.log",
            [*slack, *extra],
            cpus[i] if cpus else None,
        )
        for i in range(workers)
    ]
    sent: dict[tuple[str, float], float] = {}

    def on_send(line: Line, wall: float) -> None:
        sent.setdefault((line.account_id, line.ts), wall)
        timeline.on_send()

    def owned() -> float:
        return sum(w.metrics().get("distillguard_assigned_partitions", 0.0) for w in group)

    def records() -> float:
        return sum(w.records() for w in group)

    try:
        wait_for("the workers to own every partition", lambda: owned() == PARTITIONS, 120)
        time.sleep(1.0)  # their first polls
        before = len(backlog or ())
        if backlog:
            produce(broker, topic, backlog, 0.0)
            wait_for("the workers to consume the backlog", lambda: records() >= before, 600)
            print(f"latency run: {workers} worker(s) warm after a backlog of {before:,} records")
        ages_before = [w.metrics_raw() for w in group]
        timeline = Timeline(group, before)
        timeline.start()
        try:
            achieved = produce(
                broker, topic, lines, rate, on_send=on_send, acked=timeline.count_acks
            )
        finally:
            timeline.stop()
        caught_up = wait_for(
            "the workers to catch up", lambda: records() >= before + len(lines), 300, step=0.05
        )
        lag_s = caught_up - max(sent.values())
        raw = [w.metrics_raw() for w in group]  # one scrape per worker
        per_worker = [summed_over_labels(x) for x in raw]
        m = {k: sum(x.get(k, 0.0) for x in per_worker) for k in per_worker[0]}
    finally:
        for w in group:
            w.stop()
    client = redis.client()
    try:
        entries = client.xrange(f"{prefix}alerts")
    finally:
        client.close()
    by_event: dict[tuple[str, float], float] = {}  # as the alert names its event
    copies: dict[tuple[str, float], int] = {}  # records carrying that event (redeliveries)
    for line in lines:
        ev = parse_event(line.data)
        if not isinstance(ev, BadRecord) and (line.account_id, line.ts) in sent:
            by_event.setdefault((ev.account_id, ev.ts), sent[(line.account_id, line.ts)])
            copies[(ev.account_id, ev.ts)] = copies.get((ev.account_id, ev.ts), 0) + 1
    alerts = [orjson.loads(fields[b"alert"]) for _, fields in entries]
    appended = append_times(broker, topic, {a["account_id"] for a in alerts})
    first_send = min(sent.values(), default=0.0)
    lat, slowest, unsplit = _split(entries, alerts, by_event, appended, copies, first_send)
    print(
        f"latency run: {len(lines):,} records produced at {achieved:,.0f}/s (asked {rate:,.0f}/s)"
    )
    checkpoints = m.get("distillguard_checkpoint_duration_seconds_count", 0.0)
    mean_ms = m.get("distillguard_checkpoint_duration_seconds_sum", 0.0) / max(1, checkpoints) * 1e3
    print(
        f"  workers caught up {lag_s:.2f} s after the last send; "
        f"{checkpoints:.0f} checkpoints, mean {mean_ms:.0f} ms"
    )
    reads = {
        kind: sum(x.get(f'distillguard_shared_reads_total{{kind="{kind}"}}', 0.0) for x in raw)
        for kind in ("linkage", "scores", "population")
    }
    print(
        "  Redis reads in the whole run (backlog included): "
        + ", ".join(f"{kind} {n:,.0f}" for kind, n in reads.items())
        + f" for {before + len(lines):,} records"
    )
    timeline.report(rate)
    _print_record_ages(raw, ages_before)
    _print_latencies(lat)
    if unsplit:
        print(f"  ({unsplit} alert(s) without their event's append time: counted as 0 ms)")
    for total, worker, at, n in sorted(slowest, reverse=True)[:3]:
        print(
            f"  slow decision key: {total * 1000:,.0f} ms ({worker * 1000:,.0f} ms after the"
            f" broker's append), event sent {at:.1f} s in, {n} record(s)"
        )


Slowest = list[tuple[float, float, float, int]]  # latency, after the append, s in, copies


def _split(
    entries: list[Any],
    alerts: list[dict[str, Any]],
    by_event: dict[tuple[str, float], float],
    appended: dict[tuple[str, float], float],
    copies: dict[tuple[str, float], int],
    first_send: float,
) -> tuple[dict[str, list[float]], Slowest, int]:
    """Return the latencies by name (``LATENCIES``), the decision keys' and the unsplit count.

    ``by_event``: when each event was sent; ``appended``: when the broker appended it.
    """
    slowest: Slowest = []
    lat: dict[str, list[float]] = {name: [] for name in LATENCIES}
    unsplit = 0  # alerts whose event's append time was not found
    for (entry_id, _), alert in zip(entries, alerts, strict=True):
        written = int(entry_id.split(b"-")[0]) / 1000
        key = (alert["account_id"], alert["ts"])
        began = by_event.get(key)
        if began is None:
            continue
        append = appended.get(key)
        if append is None:  # not read back: the split is unknown (counted, printed)
            unsplit += 1
            append = began
        decision = decision_for(Alert(**{k: tuple(v) if isinstance(v, list) else v
                                         for k, v in alert.items()}), POLICY)  # fmt: skip
        kinds = ["all alerts"]
        if decision is not None and float(str(decision["until"])) > written:
            kinds.append("decision keys")  # the script wrote the decision key too
            slowest.append((written - began, written - append, began - first_send, copies[key]))
        for kind in kinds:
            lat[f"produce -> Redis, {kind}"].append(written - began)
            lat[f"  produce -> broker append, {kind}"].append(append - began)
            lat[f"  broker append -> Redis, {kind}"].append(written - append)
    return lat, slowest, unsplit


#: The latencies printed: produce → Redis in total, and split at the broker's append.
LATENCIES = tuple(
    name
    for kind in ("decision keys", "all alerts")
    for name in (
        f"produce -> Redis, {kind}",
        f"  produce -> broker append, {kind}",
        f"  broker append -> Redis, {kind}",
    )
)


RECORD_AGE = "distillguard_record_latency_seconds_bucket"


def record_ages(
    after: list[dict[str, float]], before: list[dict[str, float]]
) -> list[tuple[float, float]]:
    """Return the workers' record-latency histogram between two scrapes: (le, cumulative count)."""
    counts: dict[float, float] = {}
    for raw, sign in [(r, 1.0) for r in after] + [(r, -1.0) for r in before]:
        for key, value in raw.items():
            if key.startswith(RECORD_AGE + "{"):
                le = float(key.split('le="')[1].split('"')[0])
                counts[le] = counts.get(le, 0.0) + sign * value
    return sorted(counts.items())


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Return the ``q`` quantile of cumulative ``buckets``, interpolated as Prometheus does."""
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = le, count
    return lower


def _print_record_ages(after: list[dict[str, float]], before: list[dict[str, float]]) -> None:
    """Print how long the timed records waited from the broker's append to their processing."""
    buckets = record_ages(after, before)
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        print("  broker append -> processed, every record: none observed")
        return
    within = dict(buckets).get(1.0, 0.0) / total
    print(
        f"  broker append -> processed, every record (the workers' histogram): n={total:,.0f} "
        f"p50 {histogram_quantile(0.5, buckets) * 1000:,.0f} ms, "
        f"p99 {histogram_quantile(0.99, buckets) * 1000:,.0f} ms, "
        f"p99.9 {histogram_quantile(0.999, buckets) * 1000:,.0f} ms; within 1 s: {within:.2%}"
    )


def _print_latencies(lat: dict[str, list[float]]) -> None:
    """Print p50/p99/max of each latency in ``lat``."""
    for name, values in lat.items():
        if values:
            print(
                f"  {name}: n={len(values):,} "
                f"p50 {percentile(values, 0.5) * 1000:,.0f} ms, "
                f"p99 {percentile(values, 0.99) * 1000:,.0f} ms, "
                f"max {max(values) * 1000:,.0f} ms"
            )
        else:
            print(f"  {name}: none written")


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--volume-scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rate", type=float, default=5000.0, help="events/s of the latency run")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the latency run")
    ap.add_argument(
        "--warm-share",
        type=float,
        default=0.5,
        help="share of the scenario produced flat out before the timed latency run, so the"
        " worker is warm when it starts (0: a cold worker, whose first judging burst then"
        " dominates the figures)",
    )
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--logs", default=".cache/bench-kafka-e2e", help="worker logs go here")
    ap.add_argument(
        "--worker-cpu",
        type=int,
        default=None,
        help="give the worker this CPU of its own: the broker, redis-server and the producer"
        " (this process) run on the other CPUs (Linux; default: all share every CPU)",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="workers in the consumer group of the latency run (the throughput run: one)",
    )
    ap.add_argument(
        "--set",
        dest="sets",
        metavar="SECTION.KEY=VALUE",
        action="append",
        default=[],
        help="a setting for the workers (repeatable), e.g. --set runtime.shared_linkage=false",
    )
    args = ap.parse_args()
    extra = [arg for text in args.sets for arg in ("--set", text)]

    log_dir = Path(args.logs)
    log_dir.mkdir(parents=True, exist_ok=True)
    cfg = SimConfig(
        accounts=args.accounts,
        hours=args.hours,
        seed=args.seed,
        volume_scale=args.volume_scale,
        # The day starts an hour ago (later events carry future timestamps, which the test
        # broker accepts), so the decisions it makes are still in force when written.
        start=time.time() - 3600,
    )
    lines = list(iter_lines(cfg))
    print(f"scenario: {args.accounts} accounts, {args.hours:g} h, {len(lines):,} records")
    cpus = None  # worker i's CPU, when pinned
    if args.worker_cpu is None:
        print(f"machine: {os.cpu_count()} CPUs, shared by broker, redis-server, worker, producer")
    else:
        cpus = [args.worker_cpu + i for i in range(args.workers)]
        mine = set(cpus)
        others = os.sched_getaffinity(0) - mine
        if not others or not mine <= os.sched_getaffinity(0):
            ap.error("--worker-cpu N pins worker i to CPU N+i, and leaves at least one CPU over")
        os.sched_setaffinity(0, others)  # inherited by the broker and redis-server
        print(
            f"machine: {os.cpu_count()} CPUs; the workers run alone on CPUs {sorted(mine)}, "
            f"the broker, redis-server and the producer on {sorted(others)}"
        )
    with KafkaBroker() as broker, RedisServer() as redis:
        if not args.skip_throughput:
            replay, replay_cpu = replay_throughput(lines)
            run, run_cpu, overall = run_throughput(
                broker, redis, lines, log_dir, extra, args.worker_cpu
            )
            print(
                f"replay pipeline:  {replay:>7,.0f} records/s in process; "
                f"{replay_cpu:,.0f} per CPU second"
            )
            print(
                f"run, one worker:  {run:>7,.0f} records/s while consuming; "
                f"{run_cpu:,.0f} per CPU second; {overall:,.0f}/s with start-up and join"
            )
            print(
                f"run / replay:     {run / replay:>7.0%} by wall clock (target >= 70%); "
                f"{run_cpu / replay_cpu:.0%} per CPU second"
            )
        if not args.skip_latency:
            warm = int(len(lines) * args.warm_share)
            timed = lines[warm : warm + int(args.rate * args.seconds)]
            latency(
                broker, redis, timed, args.rate, log_dir, extra, cpus, lines[:warm], args.workers
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
