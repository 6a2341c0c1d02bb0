"""Kafka clients of the runtime: the group consumer of request events, the producer."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from stream.settings import KafkaSettings


def _known(cls: Any, cfg: dict[str, Any]) -> dict[str, Any]:
    """Keep the settings ``cls`` accepts (``kafka.options`` may hold consumer-only ones)."""
    return {k: v for k, v in cfg.items() if k in cls.DEFAULT_CONFIG}


def make_consumer(settings: KafkaSettings) -> Any:
    """Return a group consumer with manual commits and batched polls (not yet subscribed)."""
    cfg: dict[str, Any] = {
        "group_id": settings.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": settings.auto_offset_reset,
        "max_poll_records": settings.max_poll_records,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        # A group leader that assigns before it has the topic's metadata gives a member
        # no partitions until the next metadata refresh (dpkp/kafka-python#2377): refresh
        # every 30 s instead of every 5 min (a pass-through option still overrides it).
        "metadata_max_age_ms": 30_000,
    }
    cfg.update(_known(KafkaConsumer, settings.client_config()))
    return KafkaConsumer(**cfg)


def make_producer(settings: KafkaSettings, **overrides: Any) -> Any:
    """Return a producer that waits for every in-sync replica (dead letters, simulation)."""
    cfg: dict[str, Any] = {"acks": "all", "linger_ms": 5}
    cfg.update(_known(KafkaProducer, settings.client_config()))
    cfg.update(overrides)
    return KafkaProducer(**cfg)
