"""The shared population feed (``RedisPopulationFeed``) against a real redis-server."""

from __future__ import annotations

import math
import random
from typing import Any

import orjson
import pytest

from detectors.features import FEATURES
from stream.exceptions import SinkError
from stream.population import PopulationEntry, RedisPopulationFeed
from stream.processor import Processor, ProcessorConfig
from tests.servers import RedisServer
from tests.unit.test_population import vector
from tests.unit.test_processor import _scenario

PREFIX = "t:"
T0 = 1_764_288_000.0


def feed(client: Any, member: str, **kwargs: Any) -> RedisPopulationFeed:
    return RedisPopulationFeed(client, PREFIX, "g", member, ttl_s=3600.0, **kwargs)


def test_workers_read_each_others_entries_and_skip_their_own(redis_client: Any) -> None:
    a, b = feed(redis_client, "a"), feed(redis_client, "b")
    x = vector(3)
    a.publish("acct_1", T0 + 0.5, x)
    a.retract("acct_2")
    assert a.pending == 2 and b.pull() == [], "nothing is written before the flush"
    a.flush()
    assert (a.pending, a.published) == (0, 2)
    assert b.pull() == [PopulationEntry("acct_1", x, T0 + 0.5), PopulationEntry("acct_2")]
    assert b.pull() == [], "each entry once"
    assert a.pull() == [], "a worker skips its own entries"
    b.publish("acct_3", T0 + 1, {"req_24h": 4.0})
    b.flush()
    assert a.pull() == [PopulationEntry("acct_3", {"req_24h": 4.0}, T0 + 1)]
    assert redis_client.xlen(a.key) == 3
    assert a.key == "t:population:g"
    assert 0 < redis_client.pttl(a.key) <= 3_600_000
    for _, fields in redis_client.xrange(a.key):
        assert set(fields) == {b"m", b"e"}
        payload = orjson.loads(fields[b"e"])
        assert set(payload) <= {"a", "t", "x"}, "an account, an event time, numbers"
        assert all(isinstance(v, float) for v in payload.get("x", {}).values())


def test_a_cold_worker_reads_the_stream_from_the_start_a_restored_one_from_the_end(
    redis_client: Any,
) -> None:
    a = feed(redis_client, "a")
    for i in range(30):
        a.publish(f"acct_{i}", T0 + i, vector(i))
    a.flush()
    cold = feed(redis_client, "cold", batch=7)
    assert [e.account_id for e in cold.pull()] == [f"acct_{i}" for i in range(30)]
    assert cold.reads == 5, "COUNT-limited batches until a short one"
    restored = feed(redis_client, "restored")
    restored.start_at_end()
    assert restored.pull() == []
    a.publish("acct_new", T0 + 99, vector(99))
    a.flush()
    assert [e.account_id for e in restored.pull()] == ["acct_new"]
    assert [e.account_id for e in cold.pull()] == ["acct_new"]
    empty = RedisPopulationFeed(redis_client, PREFIX, "other", "x")
    empty.start_at_end()  # no stream yet: everything written later is read
    writer = RedisPopulationFeed(redis_client, PREFIX, "other", "y")
    writer.retract("acct_1")
    writer.flush()
    assert empty.pull() == [PopulationEntry("acct_1")]


def test_pull_is_bounded_and_goes_on_where_it_stopped(redis_client: Any) -> None:
    a = feed(redis_client, "a")
    for i in range(25):
        a.publish(f"acct_{i}", T0 + i, vector(i))
    a.flush()
    b = feed(redis_client, "b", batch=10, max_pull=15)
    assert [e.account_id for e in b.pull()] == [f"acct_{i}" for i in range(15)]
    assert [e.account_id for e in b.pull()] == [f"acct_{i}" for i in range(15, 25)]
    assert b.pull() == []


def test_stream_is_capped(redis_client: Any) -> None:
    a = feed(redis_client, "a", max_entries=100)
    for i in range(2000):
        a.publish(f"acct_{i}", T0 + i, {"req_24h": float(i)})
    a.flush()
    assert 100 <= redis_client.xlen(a.key) < 400, "MAXLEN ~: trimmed in whole nodes"
    entries = feed(redis_client, "b", max_pull=10_000).pull()
    assert entries[-1].account_id == "acct_1999", "the newest entries are kept"
    buffered = feed(redis_client, "c", max_entries=10)
    for i in range(50):
        buffered.retract(f"acct_{i}")
    assert buffered.pending == 10, "the write buffer is capped too (oldest dropped)"


def test_invalid_entries_are_skipped(redis_client: Any) -> None:
    a, b = feed(redis_client, "a"), feed(redis_client, "b")
    redis_client.xadd(a.key, {"m": b"intruder", "e": b"not json"})
    redis_client.xadd(a.key, {"m": b"intruder"})
    a.publish("acct_1", T0, {"req_24h": math.nan, "req_1h": 2.0})
    a.flush()
    assert b.pull() == [PopulationEntry("acct_1", {"req_1h": 2.0}, T0)]
    assert b.skipped == 2


def test_read_failure_returns_nothing_and_blocks_flush_until_redis_answers(
    redis_server: RedisServer, redis_client: Any
) -> None:
    client = redis_server.client(socket_timeout=1, socket_connect_timeout=1)
    try:
        a, b = feed(redis_client, "a"), feed(client, "b")
        a.publish("acct_1", T0, vector(1))
        a.flush()
        with redis_server.outage(keep_data=True):
            assert b.pull() == []
            assert b.read_errors == 1
            assert b.pull() == [] and b.read_errors == 1, "no round trip until a flush"
            b.retract("acct_9")
            with pytest.raises(SinkError):
                b.flush()
            assert b.pending == 1
        b.flush()
        assert b.pending == 0
        assert b.pull() == [PopulationEntry("acct_1", vector(1), T0)], "goes on where it was"
    finally:
        client.close()


def test_a_peer_learns_through_redis_what_the_processor_taught(redis_client: Any) -> None:
    """The wire format loses nothing: a peer that absorbs everything has the same detectors."""
    source = Processor(ProcessorConfig(min_teach_events=5), population=feed(redis_client, "a"))
    alerts = [a for ev in _scenario() for a in source.process(ev)]
    assert any(a.flagged for a in alerts), "the scenario flags (and retracts) an account"
    assert source.population is not None
    source.population.flush()
    peer = Processor(ProcessorConfig(min_teach_events=5))
    entries = feed(redis_client, "b", max_pull=100_000).pull()
    assert any(e.retracted for e in entries)
    assert peer.absorb(entries) == len(entries) > 250
    # The same populations and calibration histories (the calibrated tail is refit lazily,
    # every so many learned scores, so it is compared through the raw scores).
    sizes = [len(d.calibrator) for d in source.detectors]
    assert [len(d.calibrator) for d in peer.detectors] == sizes
    rng = random.Random(5)
    for _ in range(20):
        probe = {f: rng.uniform(0, 5000) for f in FEATURES}
        raw = [d.raw_score(probe) for d in source.detectors]
        assert [d.raw_score(probe) for d in peer.detectors] == raw
