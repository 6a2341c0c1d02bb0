"""Smoke tests: the real test servers work with the client libraries distillguard uses."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError
from kafka.serializer import DefaultSerializer
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.servers import KafkaBroker, RedisServer, ServerMissingError

pytestmark = pytest.mark.integration

N_MESSAGES = 1_000
N_KEYS = 37


def _consume(consumer: KafkaConsumer, expected: int, timeout: float = 60.0) -> list[Any]:
    """Poll ``consumer`` until ``expected`` records arrived (fails on timeout)."""
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(records) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    assert len(records) == expected, f"got {len(records)} of {expected} records in {timeout}s"
    return records


def _producer(broker: KafkaBroker) -> KafkaProducer:
    """Return a producer with string keys/values that waits for the broker's ack."""
    return KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        key_serializer=DefaultSerializer(),
        value_serializer=DefaultSerializer(),
        acks="all",
        linger_ms=5,
    )


def _consumer(broker: KafkaBroker, topic: str, group: str) -> KafkaConsumer:
    """Return a group consumer with manual commits, starting from the earliest offset."""
    return KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        key_deserializer=DefaultSerializer(),
        value_deserializer=DefaultSerializer(),
    )


def test_kafka_topic_creation(kafka_broker: KafkaBroker) -> None:
    name = f"created-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(name, partitions=3)
    admin = kafka_broker.admin()
    try:
        assert name in admin.list_topics()
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap)
    try:
        assert consumer.partitions_for_topic(name) == {0, 1, 2}
    finally:
        consumer.close()


def test_kafka_no_auto_topic_creation(kafka_broker: KafkaBroker) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, max_block_ms=1_500)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(f"missing-{uuid.uuid4().hex[:8]}", b"x").get(timeout=5)
    finally:
        producer.close(timeout=5)


def test_kafka_keyed_roundtrip_ordering_and_group_commit(
    kafka_broker: KafkaBroker, kafka_topic: Callable[..., str]
) -> None:
    topic = kafka_topic(partitions=3)
    group = f"g-{uuid.uuid4().hex[:8]}"

    # Produce 1,000 keyed messages; the value carries the per-key sequence number.
    producer = _producer(kafka_broker)
    seq: dict[str, int] = defaultdict(int)
    futures = []
    for i in range(N_MESSAGES):
        key = f"user-{i % N_KEYS}"
        futures.append(producer.send(topic, key=key, value=f"{key}:{seq[key]}"))
        seq[key] += 1
    producer.flush(timeout=30)
    metas = [f.get(timeout=30) for f in futures]
    assert {m.partition for m in metas} == {0, 1, 2}  # 37 keys spread over all partitions

    # Consume them all back in a group, then commit by hand.
    consumer = _consumer(kafka_broker, topic, group)
    try:
        records = _consume(consumer, N_MESSAGES)
        by_key: dict[str, list[int]] = defaultdict(list)
        partition_of: dict[str, set[int]] = defaultdict(set)
        for rec in records:
            key, n = rec.value.rsplit(":", 1)
            assert key == rec.key
            by_key[key].append(int(n))
            partition_of[key].add(rec.partition)
        assert len(by_key) == N_KEYS
        for key, numbers in by_key.items():
            assert numbers == list(range(seq[key])), f"{key} out of order or incomplete"
            assert len(partition_of[key]) == 1, f"{key} spread over {partition_of[key]}"

        tps = [TopicPartition(topic, p) for p in range(3)]
        consumer.commit()
        end = consumer.end_offsets(tps)
        assert sum(end.values()) == N_MESSAGES
        for tp in tps:
            assert consumer.committed(tp) == end[tp]
    finally:
        consumer.close(autocommit=False)

    # The commit is visible to the admin API ...
    admin = kafka_broker.admin()
    try:
        offsets = admin.list_group_offsets({group: None})[group]
        assert {tp: om.offset for tp, om in offsets.items()} == end
    finally:
        admin.close()

    # ... and a second consumer of the same group resumes there: it sees only new records.
    for i in range(10):
        producer.send(topic, key=f"late-{i}", value=f"late-{i}:0")
    producer.flush(timeout=30)
    producer.close(timeout=10)
    second = _consumer(kafka_broker, topic, group)
    try:
        late = _consume(second, 10)
        assert sorted(r.key for r in late) == sorted(f"late-{i}" for i in range(10))
        assert second.poll(timeout_ms=1_000) == {}
        for tp in tps:
            assert second.committed(tp) == end[tp]
    finally:
        second.close(autocommit=False)


def test_redis_set_ex_and_ttl(redis_client: Any) -> None:
    assert redis_client.set("session:1", "v", ex=30)
    assert redis_client.get("session:1") == b"v"
    assert 0 < redis_client.ttl("session:1") <= 30
    redis_client.set("short", "v", px=200)
    time.sleep(0.4)
    assert redis_client.get("short") is None
    assert redis_client.ttl("short") == -2


def test_redis_xadd_maxlen_approximate(redis_client: Any) -> None:
    for i in range(N_MESSAGES):
        redis_client.xadd("events", {"i": i}, maxlen=100, approximate=True)
    length = redis_client.xlen("events")
    assert 100 <= length < N_MESSAGES  # '~' trims whole stream nodes only
    last = redis_client.xrevrange("events", count=1)[0][1]
    assert last == {b"i": str(N_MESSAGES - 1).encode()}
    redis_client.xadd("events", {"i": "exact"}, maxlen=10, approximate=False)
    assert redis_client.xlen("events") == 10


def test_redis_outage_roundtrip(redis_server: RedisServer, redis_client: Any) -> None:
    port = redis_server.port
    redis_client.set("k", "before")
    began = time.monotonic()
    redis_server.stop()
    assert not redis_server.is_running()
    with pytest.raises(redis.ConnectionError):
        redis_client.ping()
    time.sleep(2)
    redis_server.start()
    assert time.monotonic() - began >= 2
    assert redis_server.port == port
    assert redis_client.ping()  # the same client reconnects on its own
    assert redis_client.get("k") is None  # no persistence: the outage lost the data

    redis_client.set("k", "kept")
    with redis_server.outage(1, keep_data=True), pytest.raises(redis.ConnectionError):
        redis_client.ping()
    assert redis_client.get("k") == b"kept"


def test_redis_password() -> None:
    with RedisServer(password="s3cret") as server:
        anon = redis.Redis(host=server.host, port=server.port, retry=Retry(NoBackoff(), 0))
        try:
            with pytest.raises(redis.AuthenticationError):
                anon.set("k", "v")
        finally:
            anon.close()
        client = server.client()
        try:
            assert client.set("k", "v")
        finally:
            client.close()
        workdir = server.workdir
        assert workdir is not None
    assert not server.is_running()
    assert not workdir.exists()


def test_missing_jars_message(tmp_path: Path) -> None:
    with pytest.raises(ServerMissingError, match=r"tests/infra/setup\.sh"):
        KafkaBroker(lib_dir=tmp_path).start()
