"""The Redis alert sink's Lua script against a real redis-server (contract: edge decisions v1)."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from detectors.policy import PolicyConfig
from detectors.records import Alert
from stream.exceptions import SinkError
from stream.sinks.redis import RedisAlertSink, decision_key, stream_key
from tests.servers import RedisServer

PREFIX = "t:"
POLICY = PolicyConfig(throttle_for_s=3600.0, block_for_s=2 * 3600.0)


def alert(
    action: str, ts: float, alert_id: str = "a1", account: str = "acct_1", severity: str = ""
) -> Alert:
    sev = severity or {"block": "critical", "throttle": "warning"}.get(action, "info")
    return Alert(
        alert_id=alert_id,
        ts=ts,
        account_id=account,
        severity=sev,  # type: ignore[arg-type]  # a Literal from a str in a test helper
        action=action,  # type: ignore[arg-type]  # same
        score=0.999,
        detectors=("distill",),
        reasons=("many requests",),
    )


def write(client: Any, *alerts: Alert, maxlen: int = 100_000) -> list[tuple[Alert, int, bool]]:
    """Write ``alerts`` in one flush; return the sink's (alert, outcome, added) callbacks."""
    seen: list[tuple[Alert, int, bool]] = []
    sink = RedisAlertSink(
        client, POLICY, PREFIX, maxlen, 3600.0, on_written=lambda a, o, n: seen.append((a, o, n))
    )
    for a in alerts:
        sink.add(a)
    sink.flush()
    return seen


def decision(client: Any, account: str = "acct_1") -> dict[str, Any] | None:
    raw = client.get(decision_key(PREFIX, account))
    return None if raw is None else dict(orjson.loads(raw))


def test_block_is_never_downgraded_to_throttle_while_it_lasts(redis_client: Any) -> None:
    now = time.time()
    write(redis_client, alert("block", now, "b"))
    # Even a throttle that would end later than the block does not replace it.
    later = now + POLICY.block_for_s - POLICY.throttle_for_s + 600
    ((_, outcome, added),) = write(redis_client, alert("throttle", later, "t"))
    assert (outcome, added) == (2, True)
    got = decision(redis_client)
    assert got is not None
    assert (got["action"], got["alert_id"], got["rpm"]) == ("block", "b", None)


def test_throttle_is_upgraded_to_block_and_same_action_only_extended(redis_client: Any) -> None:
    now = time.time()
    write(redis_client, alert("throttle", now, "t1"))
    ((_, outcome, _),) = write(redis_client, alert("throttle", now - 60, "t0"))
    assert outcome == 2, "a shorter throttle must not replace a longer one"
    ((_, outcome, _),) = write(redis_client, alert("throttle", now + 60, "t2"))
    assert outcome == 1, "a longer throttle extends the decision"
    got = decision(redis_client)
    assert got is not None
    assert (got["action"], got["alert_id"], got["rpm"]) == ("throttle", "t2", POLICY.throttle_rpm)
    ((_, outcome, _),) = write(redis_client, alert("block", now, "b"))
    assert outcome == 1
    got = decision(redis_client)
    assert got is not None
    assert got["action"] == "block"


def test_decision_ttl_matches_until(redis_client: Any) -> None:
    ts = time.time() - 1000.0
    write(redis_client, alert("throttle", ts, account="acct_t"), alert("block", ts, "b", "acct_b"))
    for account, lifetime in (("acct_t", POLICY.throttle_for_s), ("acct_b", POLICY.block_for_s)):
        got = decision(redis_client, account)
        assert got is not None
        assert got["until"] == ts + lifetime
        # PXAT until: the key lapses with the decision (to the millisecond, less elapsed time).
        expected_ms = (ts + lifetime - time.time()) * 1000
        assert abs(redis_client.pttl(decision_key(PREFIX, account)) - expected_ms) < 1500


def test_a_block_that_lapsed_no_longer_outranks_a_throttle(redis_client: Any) -> None:
    # A block whose lifetime ends in ~1 s (its alert is almost block_for_s old).
    ts = time.time() - POLICY.block_for_s + 1.0
    write(redis_client, alert("block", ts, "b"))
    assert decision(redis_client) is not None
    time.sleep(1.3)
    assert decision(redis_client) is None, "the key lapses with the decision"
    ((_, outcome, _),) = write(redis_client, alert("throttle", time.time(), "t"))
    assert outcome == 1
    got = decision(redis_client)
    assert got is not None
    assert got["action"] == "throttle"


def test_decision_already_past_is_not_written(redis_client: Any) -> None:
    ((_, outcome, added),) = write(redis_client, alert("block", time.time() - 3 * 86400))
    assert (outcome, added) == (3, True), "the alert is streamed, the lapsed decision is not"
    assert decision(redis_client) is None


def test_stream_gets_each_alert_id_and_action_once(redis_client: Any) -> None:
    now = time.time()
    first = write(redis_client, alert("review", now, "a1"), alert("throttle", now, "a1"))
    assert [added for _, _, added in first] == [True, True]
    again = write(redis_client, alert("review", now, "a1"), alert("throttle", now, "a1"))
    assert [added for _, _, added in again] == [False, False], "re-delivery adds nothing"
    entries = redis_client.xrange(stream_key(PREFIX))
    assert [orjson.loads(f[b"alert"])["action"] for _, f in entries] == ["review", "throttle"]
    assert all(b"prompt" not in f[b"alert"] for _, f in entries)
    for key in redis_client.scan_iter(f"{PREFIX}*"):
        assert redis_client.pttl(key) > 0, f"{key!r} has no TTL"


def test_stream_is_capped_approximately(redis_client: Any) -> None:
    now = time.time()
    write(redis_client, *(alert("review", now, f"a{i}") for i in range(1200)), maxlen=100)
    n = redis_client.xlen(stream_key(PREFIX))
    # MAXLEN ~ trims whole stream nodes (100 entries each by default): about, never below.
    assert 100 <= n < 300, n


def test_flush_keeps_alerts_while_redis_is_down(
    redis_server: RedisServer, redis_client: Any
) -> None:
    client = redis_server.client(socket_timeout=1, socket_connect_timeout=1)
    sink = RedisAlertSink(client, POLICY, PREFIX)
    sink.add(alert("block", time.time()))
    try:
        with redis_server.outage():
            with pytest.raises(SinkError):
                sink.flush()
            assert sink.pending == 1
        sink.flush()
    finally:
        client.close()
    assert sink.pending == 0
    assert redis_client.xlen(stream_key(PREFIX)) == 1
    assert decision(redis_client) is not None
