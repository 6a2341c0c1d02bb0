"""``distillguard simulate --kafka``: the simulation produced into a Kafka topic."""

from __future__ import annotations

import argparse
import os
import sys

from kafka.errors import KafkaError

from detectors.exceptions import DistillguardError
from stream.kafka_source import make_producer
from stream.settings import load_settings
from stream.sim_kafka import produce_lines
from stream.simulate.config import SimConfig
from stream.simulate.core import iter_lines, simulation_labels
from stream.simulate.labels import write_labels


def run_kafka(cfg: SimConfig, args: argparse.Namespace) -> int:
    """Produce the simulation ``cfg`` into ``args.topic`` at ``args.rate``; return the exit code."""
    try:
        kafka = load_settings(
            None, os.environ, {"kafka.bootstrap_servers": args.kafka, "kafka.topic": args.topic}
        ).kafka
        producer = make_producer(kafka, linger_ms=20)
    except (DistillguardError, KafkaError) as exc:
        print(f"distillguard simulate: kafka: {exc}", file=sys.stderr)
        return 1
    try:
        summary = produce_lines(producer, args.topic, iter_lines(cfg), args.rate, args.timestamps)
    except KafkaError as exc:
        print(f"distillguard simulate: kafka: {exc}", file=sys.stderr)
        return 1
    finally:
        producer.close(timeout=30)
    if args.labels:
        write_labels(args.labels, simulation_labels(cfg))
    print(
        f"produced {summary.messages} messages to {args.topic} in {summary.seconds:.1f} s"
        f" ({summary.rate:,.0f}/s)",
        file=sys.stderr,
    )
    return 0
