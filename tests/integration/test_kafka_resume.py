"""A partition paused mid-batch and resumed must be fetched again (kafka-python 3.0 bug).

Pins ``stream.worker.release_parked_records``: without it, kafka-python 3.0.12 never
returns the rest of a partition paused while its fetched records were being handed out,
once another partition used the fetcher's in-line slot and went quiet (the worker's
flow-control pause on a backlog did exactly that).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from stream.worker import release_parked_records
from tests.servers import KafkaBroker

PER_PARTITION = 200


def test_resumed_partition_is_fetched_again(
    kafka_broker: KafkaBroker, kafka_topic: Callable[..., str]
) -> None:
    topic = kafka_topic(partitions=2)
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    for partition in (0, 1):
        for i in range(PER_PARTITION):
            producer.send(topic, value=b"%d" % i, partition=partition)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=10,  # leaves most of a fetched batch in the fetcher's in-line slot
    )
    got = {0: 0, 1: 0}
    try:
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        paused: TopicPartition | None = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(got.values()) < 2 * PER_PARTITION:
            release_parked_records(consumer)
            for tp, records in consumer.poll(timeout_ms=200).items():
                got[tp.partition] += len(records)
                if paused is None:  # pause the partition whose batch is being handed out
                    paused = tp
                    consumer.pause(tp)
            quiet = paused is not None and got[1 - paused.partition] == PER_PARTITION
            if paused is not None and quiet and paused in consumer.paused():
                consumer.resume(paused)  # once the other partition went quiet
    finally:
        consumer.close()
    assert got == {0: PER_PARTITION, 1: PER_PARTITION}
