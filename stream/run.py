"""``distillguard run``: the runtime: Kafka consumer group in, Redis decisions and metrics out.

Settings come from a TOML file, ``DISTILLGUARD_*`` environment variables and flags
(``stream/settings.py``). SIGTERM and SIGINT stop polling, flush, snapshot, commit and
leave the group; the exit code is 0 after a clean shutdown.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import uuid
from typing import Any

import redis
from prometheus_client import CollectorRegistry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from detectors.campaigns import CampaignLinker
from detectors.records import Alert
from stream.exceptions import SettingsError
from stream.kafka_source import make_consumer, make_producer
from stream.linkage_redis import RedisLinkageIndex
from stream.metrics import HealthServer, RuntimeMetrics
from stream.model_snapshot import ModelSnapshotStore
from stream.population import RedisPopulationFeed
from stream.processor import Processor, ProcessorConfig
from stream.scoreboard import RedisScoreBoard
from stream.settings import RedisSettings, Settings, describe, load_settings, parse_assignment
from stream.sinks.kafka_dlq import KafkaDeadLetterSink
from stream.sinks.redis import RedisAlertSink
from stream.snapshot import SnapshotStore
from stream.worker import Worker

log = logging.getLogger("distillguard.run")

_SHORTCUTS = (
    ("--bootstrap-servers", "kafka.bootstrap_servers", "Kafka bootstrap servers, host:port,..."),
    ("--topic", "kafka.topic", "the request-event topic"),
    ("--group-id", "kafka.group_id", "the consumer group"),
    ("--dead-letter-topic", "kafka.dead_letter_topic", "topic for bad records ('' for none)"),
    ("--redis-url", "redis.url", "redis:// or rediss:// URL"),
    ("--metrics-port", "metrics.port", "port of /metrics, /healthz, /readyz (-1: off)"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``run`` flags."""
    parser.add_argument("--config", metavar="FILE", help="TOML settings file")
    parser.add_argument(
        "--set",
        metavar="SECTION.KEY=VALUE",
        action="append",
        default=[],
        help="override one setting (repeatable), e.g. --set runtime.commit_interval_s=2",
    )
    for flag, _, help_ in _SHORTCUTS:
        parser.add_argument(flag, default=None, help=help_)
    parser.add_argument(
        "--print-settings", action="store_true", help="print the effective settings and exit"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Return the effective settings: file < environment < ``--set`` < shortcut flags."""
    overrides: dict[str, object] = {}
    for text in args.set:
        section, key, value = parse_assignment(text)
        overrides[f"{section}.{key}"] = value
    for flag, dotted, _ in _SHORTCUTS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            overrides[dotted] = value
    return load_settings(args.config, os.environ, overrides)


def make_redis(settings: RedisSettings) -> Any:
    """Return a redis-py client for ``settings`` (auth and TLS from the URL or settings)."""
    kwargs: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout_s,
        "socket_connect_timeout": settings.socket_timeout_s,
        "health_check_interval": 10,
        # A short inner retry: the worker backs off and retries whole checkpoints itself.
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
    }
    if settings.password:
        kwargs["password"] = settings.password
    if settings.ssl_ca_certs and settings.url.startswith("rediss://"):
        kwargs["ssl_ca_certs"] = settings.ssl_ca_certs
    return redis.Redis.from_url(settings.url, **kwargs)


def _decision_hook(metrics: RuntimeMetrics) -> Any:
    """Return the Redis sink's callback that counts writes and observes latency."""

    def on_written(alert: Alert, outcome: int, added: bool) -> None:
        if added:
            metrics.alerts_written.inc()
        if outcome == 1:
            metrics.decisions.labels(alert.action).inc()
            metrics.latency.observe(max(0.0, time.time() - alert.ts))  # wall clock: a metric

    return on_written


def run(args: argparse.Namespace) -> int:
    """Run the worker until SIGTERM/SIGINT; return the exit code."""
    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        print(f"distillguard run: {exc}", file=sys.stderr)
        return 2
    if args.print_settings:
        for key, value in describe(settings):
            print(f"{key} = {value!r}")
        return 0
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    return serve(settings)


def serve(settings: Settings, stop: threading.Event | None = None) -> int:
    """Build the worker from ``settings`` and run it until ``stop`` (or a signal)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry, settings.metrics.prefix)
    rs, ks, rt = settings.redis, settings.kafka, settings.runtime
    client = make_redis(rs)
    board: RedisScoreBoard | None = None
    linkage: RedisLinkageIndex | None = None
    if rt.shared_linkage:
        board = RedisScoreBoard(client, rs.prefix, ks.group_id, rt.score_ttl_s, rt.linkage_cache_s)
        linkage = RedisLinkageIndex(
            client,
            rs.prefix,
            ks.group_id,
            rt.linkage_ttl_s,
            cache_ttl_s=rt.linkage_cache_s,
            on_members=board.want,
        )
    population: RedisPopulationFeed | None = None
    if rt.shared_population:
        population = RedisPopulationFeed(
            client,
            rs.prefix,
            ks.group_id,
            # one id per process: a restarted worker reads its earlier entries as a peer's
            member=uuid.uuid4().hex[:16],
            max_entries=rt.population_max_entries,
            ttl_s=rt.snapshot_ttl_s,
        )
    processor = Processor(
        ProcessorConfig(late_tolerance_s=rt.late_tolerance_s),
        linker=CampaignLinker(linkage) if linkage is not None else None,
        scoreboard=board,
        population=population,
    )
    alerts = RedisAlertSink(
        client,
        processor.config.policy,
        rs.prefix,
        rs.stream_maxlen,
        rs.alert_dedupe_ttl_s,
        on_written=_decision_hook(metrics),
    )
    producer = make_producer(ks) if ks.dead_letter_topic else None
    dead = KafkaDeadLetterSink(producer, ks.dead_letter_topic) if producer is not None else None
    snapshots = SnapshotStore(client, rs.prefix, ks.group_id, rt.snapshot_ttl_s)
    models = ModelSnapshotStore(client, rs.prefix, ks.group_id, rt.snapshot_ttl_s)
    consumer = make_consumer(ks)
    worker = Worker(
        settings,
        consumer,
        processor,
        alerts,
        dead,
        snapshots,
        metrics,
        linkage=linkage,
        scoreboard=board,
        models=models,
        population=population,
    )
    server = None
    if settings.metrics.port >= 0:
        server = HealthServer(
            settings.metrics.host, settings.metrics.port, registry, worker.health, worker.readiness
        ).start()
        log.info("metrics on http://%s:%d/metrics", settings.metrics.host, server.port)
    log.info("consuming %s as group %s", ks.topic, ks.group_id)
    try:
        worker.subscribe()
        worker.run(stop)
    finally:
        if producer is not None:
            producer.close(timeout=10)
        client.close()
        if server is not None:
            server.stop()
    st = processor.stats
    log.info(
        "stopped: events %d, duplicates %d, late %d, alerts %d, accounts in memory %d",
        st.events,
        st.duplicates,
        st.late,
        sum(st.alerts.values()),
        len(processor.store),
    )
    return 0
