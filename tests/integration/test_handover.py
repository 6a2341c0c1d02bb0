"""A small, fast hand-over check: a worker joins mid-backlog, then is SIGKILLed.

The full-scenario version is ``test_run.py::test_two_workers_one_killed_mid_stream``
(several minutes). This one (about 60k lines) makes both of the group's eager rebalances
come while worker a is busy with a backlog: b joining (a is revoked every partition and
gets two back, with records fetched but not yet processed), then b dying mid-stream (a
restores b's partitions from their snapshots and resumes them from b's commits). In the
end every distinct event is counted once in the partitions' final snapshots.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from stream.simulate import SimConfig, iter_lines
from tests.integration.test_run import (
    PARTITIONS,
    WorkerProc,
    all_committed,
    assert_counted_once,
    names,
    produce,
    stream_alerts,
    wait_for,
)
from tests.servers import KafkaBroker, RedisServer


def test_hand_overs_count_every_event_once(
    kafka_broker: KafkaBroker, redis_server: RedisServer, redis_client: Any, tmp_path: Path
) -> None:
    cfg = SimConfig(accounts=400, hours=12, seed=11, start=time.time() - 13 * 3600)
    lines = list(iter_lines(cfg))
    expected: Counter[str] = Counter()
    seen: set[bytes] = set()
    for line in lines:
        if line.tag in ("event", "late") and line.data not in seen:
            seen.add(line.data)
            expected[line.account_id] += 1

    topic, dlq, group = names("handover")
    kafka_broker.create_topic(topic, PARTITIONS)
    kafka_broker.create_topic(dlq, 1)
    half = len(lines) // 2
    produce(kafka_broker, topic, lines[:half])  # a backlog
    a = WorkerProc(kafka_broker, redis_server, topic, group, dlq, tmp_path, "a")
    b: WorkerProc | None = None
    try:
        wait_for("a to work on the backlog",
                 lambda: a.metric("distillguard_events_consumed_total") > 3000, 120, a)  # fmt: skip
        b = WorkerProc(kafka_broker, redis_server, topic, group, dlq, tmp_path, "b")
        w = b
        wait_for(
            "b to join, consume and commit",
            lambda: (
                w.metric("distillguard_assigned_partitions") == 2
                and w.metric("distillguard_offset_commits_total") > 0
                and w.metric("distillguard_events_consumed_total") > 1000
            ),
            120,
            a,
            b,
        )
        b.stop(signal.SIGKILL)
        produce(kafka_broker, topic, lines[half:])
        wait_for(
            "a to take over every partition and commit the end",
            lambda: (
                a.metric("distillguard_assigned_partitions") == PARTITIONS
                and all_committed(kafka_broker, group, topic)
            ),
            180,
            a,
        )
        assert a.metric("distillguard_restored_accounts_total") > 0, a.tail()
    finally:
        assert a.stop() == 0, a.tail()
        if b is not None:
            b.stop(signal.SIGKILL)

    pairs = Counter((x["alert_id"], x["action"]) for x in stream_alerts(redis_client))
    assert not pairs or max(pairs.values()) == 1, "an alert was written twice"
    assert_counted_once(redis_client, group, topic, expected)
