"""Shared state of the runtime's workers against a real redis-server.

The campaign-linkage index (``RedisLinkageIndex``), the score board (``RedisScoreBoard``)
and the detector-model snapshot (``ModelSnapshotStore``).
"""

from __future__ import annotations

import pickle
import random
import time
from typing import Any

import pytest

from detectors.campaigns import CampaignLinker, MemoryLinkageIndex
from detectors.features import FEATURES
from detectors.models import distill_detector, volume_detector
from stream.exceptions import SinkError
from stream.linkage_redis import RedisLinkageIndex
from stream.model_snapshot import ModelSnapshotStore
from stream.scoreboard import RedisScoreBoard
from tests.servers import RedisServer

PREFIX = "t:"


class Clock:
    """A settable clock."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def index(client: Any, clock: Clock | None = None, **kwargs: Any) -> RedisLinkageIndex:
    return RedisLinkageIndex(client, PREFIX, "g", 3600.0, clock=clock or Clock(), **kwargs)


def assert_all_keys_expire(client: Any) -> None:
    keys = list(client.scan_iter(f"{PREFIX}*"))
    assert keys
    for key in keys:
        assert client.pttl(key) > 0, f"{key!r} has no TTL"


# --------------------------------------------------------------------------- linkage index


def test_linkage_index_counts_lists_and_is_idempotent(redis_client: Any) -> None:
    idx = index(redis_client)
    for account in ("a3", "a1", "a2"):
        idx.add("pay:x", account)
    idx.add("pay:x", "a1")  # the same pair twice: one account
    idx.add("net:10.0.0", "a1")
    # This worker's own unflushed pairs are visible at once.
    assert (idx.count("pay:x"), idx.members("pay:x", 10), idx.population()) == (
        3,
        ["a3", "a1", "a2"],
        3,
    )
    idx.flush()
    assert idx.pending == 0
    assert (idx.count("pay:x"), idx.count("net:10.0.0"), idx.count("ua:none")) == (3, 1, 0)
    assert list(idx.members("pay:x", 10)) == ["a3", "a1", "a2"], "earliest first"
    assert list(idx.members("pay:x", 2)) == ["a3", "a1"]
    assert idx.population() == 3
    # Re-sending pairs (a crash before the snapshot) changes nothing.
    again = index(redis_client)
    again.add("pay:x", "a2")
    again.add("pay:x", "a1")
    again.flush()
    assert (again.count("pay:x"), again.population()) == (3, 3)
    assert list(again.members("pay:x", 10)) == ["a3", "a1", "a2"]
    assert idx.pairs_written == 4 and again.pairs_written == 2
    assert_all_keys_expire(redis_client)


def test_linkage_index_caps_members_but_keeps_counting(redis_client: Any) -> None:
    idx = index(redis_client, max_members=5, fetch_members=5)
    for i in range(200):
        idx.add("asn:64500", f"acct_{i:03d}")
    idx.flush()
    assert list(idx.members("asn:64500", 64)) == [f"acct_{i:03d}" for i in range(5)]
    assert redis_client.zcard(idx.members_key("asn:64500")) == 5
    assert abs(idx.count("asn:64500") - 200) <= 4, "HyperLogLog: about 1 % off at most"
    assert abs(idx.population() - 200) <= 4


def test_linkage_index_is_shared_after_flush_and_cache_expiry(redis_client: Any) -> None:
    clock = Clock()
    a, b = index(redis_client, clock), index(redis_client, clock)
    a.add("tls:abc", "a1")
    a.flush()
    assert b.count("tls:abc") == 1
    reads = b.reads
    a.add("tls:abc", "a2")
    a.flush()
    assert b.count("tls:abc") == 1, "served from b's cache"
    assert b.reads == reads
    clock.t += 2.5  # past the cache period
    assert b.count("tls:abc") == 2
    assert list(b.members("tls:abc", 64)) == ["a1", "a2"]
    assert b.population() == 2


def test_redis_index_links_as_the_memory_index_does(redis_client: Any) -> None:
    """The same pairs through both indexes: the linker weighs keys and links accounts alike."""
    rng = random.Random(7)
    memory = MemoryLinkageIndex()
    shared = index(redis_client)
    keys = [f"pay:{i}" for i in range(30)] + [f"net:10.0.{i}" for i in range(10)] + ["asn:1"]
    accounts: dict[str, set[str]] = {}
    for n in range(300):
        account = f"acct_{n}"
        mine = {rng.choice(keys) for _ in range(rng.randint(1, 4))} | {"asn:1"}
        accounts[account] = mine
        for key in sorted(mine):
            memory.add(key, account)
            shared.add(key, account)
        if n % 50 == 0:
            shared.flush()  # pairs reach Redis in batches, as at checkpoints
    shared.flush()
    assert shared.count("asn:1") == pytest.approx(300, rel=0.01), "past the cap: HyperLogLog"
    # The population is a HyperLogLog count (about 1 % off at most): weights agree as closely.
    assert shared.population() == pytest.approx(memory.population(), rel=0.01)
    by_memory, by_redis = CampaignLinker(memory), CampaignLinker(shared)
    linked = 0
    for account, mine in list(accounts.items())[::5]:
        for key in mine:
            if key != "asn:1":
                assert shared.count(key) == memory.count(key), "exact below the cap"
            assert by_redis.key_weight(key) == pytest.approx(by_memory.key_weight(key), rel=0.01)
        want, got = by_memory.neighbours(account, mine), by_redis.neighbours(account, mine)
        near = {a for a, w in want.items() if w < by_memory.link_threshold * 1.01}
        assert set(got) - near == set(want) - near, account
        linked += len(want)
    assert linked > 20, "the scenario links accounts"


def test_linkage_index_read_failure_answers_stale_and_blocks_flush(
    redis_server: RedisServer, redis_client: Any
) -> None:
    clock = Clock()
    client = redis_server.client(socket_timeout=1, socket_connect_timeout=1)
    try:
        idx = index(client, clock)
        idx.add("pay:x", "a1")
        idx.flush()
        assert idx.count("pay:x") == 1
        with redis_server.outage(keep_data=True):
            clock.t += 10
            assert idx.count("pay:x") == 1, "the stale entry answers"
            assert idx.count("pay:y") == 0, "an unknown key links nothing"
            # after one failed read, no more round trips until a flush pings Redis
            assert all(idx.count(f"pay:z{i}") == 0 for i in range(20))
            assert idx.read_errors == 1
            idx.add("pay:x", "a2")
            with pytest.raises(SinkError):
                idx.flush()
            assert idx.pending == 1 and idx.read_errors == 1
        idx.flush()
        clock.t += 10
        assert idx.count("pay:x") == 2
    finally:
        client.close()


# --------------------------------------------------------------------------- score board


def test_score_board_shares_scores_local_first(redis_client: Any) -> None:
    clock, wall = Clock(), Clock(time.time())
    a = RedisScoreBoard(redis_client, PREFIX, "g", 3600.0, clock=clock, wall_clock=wall)
    b = RedisScoreBoard(redis_client, PREFIX, "g", 3600.0, clock=clock, wall_clock=wall)
    a.publish("a1", 0.999)
    a.publish("a2", 0.5)
    a.publish("a1", 0.9995)  # the latest wins
    a.flush()
    assert a.pending == 0
    view = b.view({"a2": 0.1, "b1": 0.7})
    b.want(["a1", "a2", "a3"])
    assert "a1" in view and view["a1"] == 0.9995
    assert view["a2"] == 0.1, "local scores come first"
    assert "a3" not in view
    with pytest.raises(KeyError):
        view["a3"]
    assert b.reads == 1, "the wanted accounts were fetched in one round trip"
    assert sorted(view) == ["a2", "b1"] and len(view) == 2, "iteration lists local scores"
    assert_all_keys_expire(redis_client)


def test_score_board_generations_bound_its_life(redis_client: Any) -> None:
    clock, wall = Clock(), Clock(time.time())
    board = RedisScoreBoard(redis_client, PREFIX, "g", 100.0, clock=clock, wall_clock=wall)
    reader = RedisScoreBoard(redis_client, PREFIX, "g", 100.0, clock=clock, wall_clock=wall)
    board.publish("a1", 0.99)
    board.flush()
    gen = board.generation()
    expire_at = redis_client.pexpiretime(board.key(gen))
    assert expire_at == int((gen + 2) * 50 * 1000), "kept to the end of the next generation"
    wall.t += 50  # the next generation: still read from the previous one
    clock.t += 10
    assert reader.get("a1") == 0.99
    wall.t += 50  # two generations on: gone (its hash is not read any more)
    clock.t += 10
    assert reader.get("a1") is None


def test_score_board_read_failure_answers_none_and_blocks_flush(
    redis_server: RedisServer, redis_client: Any
) -> None:
    client = redis_server.client(socket_timeout=1, socket_connect_timeout=1)
    try:
        board = RedisScoreBoard(client, PREFIX, "g", 3600.0, clock=Clock())
        with redis_server.outage():
            assert board.get("a1") is None, "no score: the member is listed, not pooled"
            # after one failed read, no more round trips until a flush pings Redis
            assert all(board.get(f"b{i}") is None for i in range(20))
            board.publish("a2", 0.5)
            with pytest.raises(SinkError):
                board.flush()
            assert board.pending == 1 and board.read_errors == 1
        board.flush()
        assert board.pending == 0
    finally:
        client.close()


def test_campaign_evidence_pools_scores_from_another_worker(redis_client: Any) -> None:
    """Worker A owns most of a campaign; worker B's evidence for its member pools A's scores."""
    clock = Clock()
    boards = [RedisScoreBoard(redis_client, PREFIX, "g", 3600.0, clock=clock) for _ in range(2)]
    indexes = [index(redis_client, clock, on_members=b.want) for b in boards]
    linkers = [CampaignLinker(i, min_population=10) for i in indexes]
    for n in range(100):  # the background: accounts with keys of their own
        indexes[n % 2].add(f"pay:own{n}", f"user_{n}")
    campaign = [f"camp_{n}" for n in range(6)]
    for n, account in enumerate(campaign):
        worker = 0 if n < 5 else 1  # camp_5 lives on worker B
        for key in ("pay:shared", "tls:custom"):
            indexes[worker].add(key, account)
        if worker == 0:
            boards[0].publish(account, 0.999)  # what A's processor would publish
    for i in indexes:
        i.flush()
    boards[0].flush()
    clock.t += 5  # past B's cache period
    local = {"camp_5": 0.999}  # B's own account, from its store
    evidence = linkers[1].evidence(
        "camp_5", ["pay:shared", "tls:custom"], 0.999, boards[1].view(local)
    )
    assert evidence is not None
    assert set(evidence.members) == set(campaign[:5])
    assert evidence.scored_members == 6, "A's five scores reached B"
    assert evidence.rare_members == 6 and evidence.score > 0.99
    assert boards[1].reads == 1, "one round trip for all the members' scores"
    # Without the board B sees only its own account: nothing to pool.
    alone = linkers[1].evidence("camp_5", ["pay:shared", "tls:custom"], 0.999, local)
    assert alone is not None and alone.scored_members == 1


# --------------------------------------------------------------------------- models


def test_model_snapshot_round_trip(redis_client: Any) -> None:
    store = ModelSnapshotStore(redis_client, PREFIX, "g", 3600.0)
    fresh = [distill_detector(min_population=5), volume_detector(min_population=5)]
    assert store.load(fresh) is None, "nothing stored yet"
    rng = random.Random(1)
    detectors = [distill_detector(min_population=5), volume_detector(min_population=5)]
    xs = [{f: rng.random() * 10 for f in FEATURES} for _ in range(300)]
    for x in xs:
        for d in detectors:
            d.learn_one(x)
    assert store.save(detectors, 1_700_000_000.0) > 0
    snapshot = store.load(fresh)
    assert snapshot is not None
    assert snapshot.learning_since == 1_700_000_000.0
    restored = snapshot.detectors
    assert [d.name for d in restored] == ["distill", "volume"]
    assert [d.ready for d in restored] == [d.ready for d in detectors]
    probe = dict.fromkeys(FEATURES, 50.0)
    assert [d.score_one(probe) for d in restored] == [d.score_one(probe) for d in detectors]
    assert 0 < redis_client.pttl(store.key) <= 3_600_000


def test_model_snapshot_of_other_detectors_or_corrupt_is_ignored(redis_client: Any) -> None:
    store = ModelSnapshotStore(redis_client, PREFIX, "g", 3600.0)
    store.save([volume_detector()])
    assert store.load([distill_detector(), volume_detector()]) is None
    store.save([distill_detector(min_raw=2.5)])  # the configured floor differs
    assert store.load([distill_detector(min_raw=3.0)]) is None
    assert store.load([distill_detector(min_raw=2.5)]) is not None
    redis_client.set(store.key, b"not a pickle", px=60_000)
    assert store.load([volume_detector()]) is None
    redis_client.set(store.key, pickle.dumps((99, [], [])), px=60_000)
    assert store.load([volume_detector()]) is None
