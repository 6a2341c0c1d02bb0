"""Prometheus metrics of the runtime, and the HTTP endpoint with /metrics, /healthz, /readyz.

Every metric lives in a ``CollectorRegistry`` passed in (never the process-wide default
registry), is named ``<prefix>_<what>_<unit>`` with ``_total`` on counters, and has no
account id in any label: labels are bounded sets (reason, severity, action, detector,
sink, topic, partition).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# Finer around one second, the edge's budget from request to decision.
_RECORD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 60.0)


class RuntimeMetrics:
    """The runtime's metrics, registered in ``registry`` under ``prefix``.

    Args:
        registry: where the metrics are registered (one per worker; tests make their own).
        prefix: metric name prefix (``distillguard``).

    """

    def __init__(self, registry: CollectorRegistry, prefix: str = "distillguard") -> None:
        p, r = prefix, registry
        self.registry = registry
        self.events = Counter(f"{p}_events_consumed", "Request events consumed.", registry=r)
        self.bad_records = Counter(
            f"{p}_bad_records", "Bad records sent to the dead-letter topic.", ["reason"], registry=r
        )
        self.duplicates = Counter(
            f"{p}_duplicate_events", "Events dropped as duplicates (request_id).", registry=r
        )
        self.late = Counter(f"{p}_late_events", "Events older than the watermark.", registry=r)
        self.alerts = Counter(
            f"{p}_alerts",
            "Alerts emitted, per severity, action and detector.",
            ["severity", "action", "detector"],
            registry=r,
        )
        self.alerts_written = Counter(
            f"{p}_alerts_written", "Alerts added to the Redis alert stream.", registry=r
        )
        self.decisions = Counter(
            f"{p}_decisions_written",
            "Edge decisions written to Redis, per action.",
            ["action"],
            registry=r,
        )
        self.latency = Histogram(
            f"{p}_decision_latency_seconds",
            "Wall-clock time from an alert's event time to its decision written in Redis.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.record_latency = Histogram(
            f"{p}_record_latency_seconds",
            "Wall-clock time from a record's Kafka timestamp to its processing (as Kafka"
            " Streams' record-e2e-latency): since the broker's append on a LogAppendTime"
            " topic, since whatever time the producer set otherwise.",
            buckets=_RECORD_BUCKETS,
            registry=r,
        )
        self.flush_seconds = Histogram(
            f"{p}_checkpoint_duration_seconds",
            "Time to flush sinks, snapshot state and commit offsets.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.lag = Gauge(
            f"{p}_consumer_lag_messages",
            "Messages behind the partition's high watermark.",
            ["topic", "partition"],
            registry=r,
        )
        self.accounts = Gauge(f"{p}_accounts_tracked", "Accounts held in memory.", registry=r)
        self.evictions = Counter(
            f"{p}_account_evictions", "Accounts evicted from memory (LRU or idle).", registry=r
        )
        self.snapshots = Counter(
            f"{p}_snapshot_accounts", "Account states written to the snapshot store.", registry=r
        )
        self.restores = Counter(
            f"{p}_restored_accounts", "Account states restored from the snapshot store.", registry=r
        )
        self.partitions = Gauge(
            f"{p}_assigned_partitions", "Partitions assigned to this worker.", registry=r
        )
        self.commits = Counter(f"{p}_offset_commits", "Offset commits that succeeded.", registry=r)
        self.sink_errors = Counter(
            f"{p}_sink_errors", "Failed sink writes, per sink.", ["sink"], registry=r
        )
        self.retries = Counter(
            f"{p}_sink_retries", "Checkpoint retries after a sink failure.", ["sink"], registry=r
        )
        self.rebalances = Counter(
            f"{p}_rebalances", "Partition revocations and assignments.", ["kind"], registry=r
        )
        self.model_snapshots = Counter(
            f"{p}_model_snapshots", "Detector model snapshots written to Redis.", registry=r
        )
        self.model_restores = Counter(
            f"{p}_model_restores", "Detector models restored from a snapshot at start.", registry=r
        )
        self.linkage_pairs = Counter(
            f"{p}_linkage_pairs_written",
            "(linkage key, account) pairs written to the shared linkage index.",
            registry=r,
        )
        self.shared_reads = Counter(
            f"{p}_shared_reads",
            "Round trips reading shared state (kind: linkage index, score board, population).",
            ["kind"],
            registry=r,
        )
        self.population_entries = Counter(
            f"{p}_population_entries",
            "Shared population entries (teach vectors, retractions) published by this worker"
            " or absorbed from the others (kind: published, absorbed).",
            ["kind"],
            registry=r,
        )


class _Handler(BaseHTTPRequestHandler):
    """Serve /metrics, /healthz and /readyz from the server's attributes."""

    server: HealthServer

    def do_GET(self) -> None:  # the http.server naming
        """Answer one GET."""
        srv = self.server
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, code, ctype = generate_latest(srv.registry), 200, CONTENT_TYPE_LATEST
        elif path in ("/healthz", "/readyz"):
            ok, why = (srv.healthy if path == "/healthz" else srv.ready)()
            body, code, ctype = (why + "\n").encode(), 200 if ok else 503, "text/plain"
        else:
            body, code, ctype = b"not found\n", 404, "text/plain"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # base signature
        """Stay quiet: scrapes are not worth a log line."""


class HealthServer(ThreadingHTTPServer):
    """An HTTP server for metrics and probes, run in a daemon thread.

    Args:
        host: address to listen on.
        port: port (0: any free one; see ``port`` after start).
        registry: the registry /metrics exposes.
        healthy: returns (alive?, why) for /healthz.
        ready: returns (ready?, why) for /readyz.

    """

    daemon_threads = True

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        healthy: Callable[[], tuple[bool, str]],
        ready: Callable[[], tuple[bool, str]],
    ) -> None:
        super().__init__((host, port), _Handler)
        self.registry = registry
        self.healthy = healthy
        self.ready = ready
        self._thread = threading.Thread(target=self.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        """Return the port actually bound."""
        return int(self.server_address[1])

    def start(self) -> HealthServer:
        """Start serving in the background; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
