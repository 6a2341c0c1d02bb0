"""The shared peer population: the in-memory hub, the wire format and ``Processor.absorb``.

The point of the feed: with the accounts hash-split over several processors, none of
them alone learns enough peers to judge anyone in a small deployment; sharing what each
one's accounts teach gives every processor the whole population.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import orjson
import pytest

from detectors.models import distill_detector, volume_detector
from detectors.records import Alert, RequestEvent
from stream.events import BadRecord, parse_event
from stream.population import (
    PopulationEntry,
    PopulationHub,
    decode_entry,
    encode_entry,
)
from stream.processor import Processor, ProcessorConfig
from stream.simulate import SimConfig, iter_lines, simulation_labels
from tests.unit.test_processor import _scenario

T0 = 1_764_288_000.0


def vector(i: int) -> dict[str, float]:
    """A plausible, varied feature vector (the volume detector's features among them)."""
    return {
        "req_1h": float(1 + i % 7),
        "req_24h": float(10 + i % 50),
        "in_tokens_24h": float(500 + 13 * i),
        "out_tokens_24h": float(2000 + 29 * (i % 40)),
        "out_tokens_per_req": float(100 + i % 30),
    }


# --------------------------------------------------------------------------- hub and format


def test_hub_members_see_the_others_entries_not_their_own() -> None:
    hub = PopulationHub()
    a, b, c = hub.member("a"), hub.member("b"), hub.member("c")
    x = {"req_24h": 12.0}
    a.publish("acct_1", T0, x)
    x["req_24h"] = 99.0  # the caller reuses its dict: the entry keeps what was published
    b.retract("acct_2")
    assert a.pull() == [PopulationEntry("acct_2")]
    assert b.pull() == [PopulationEntry("acct_1", {"req_24h": 12.0}, T0)]
    assert c.pull() == [PopulationEntry("acct_1", {"req_24h": 12.0}, T0), PopulationEntry("acct_2")]
    assert a.pull() == b.pull() == c.pull() == [], "each entry once"
    late = hub.member("late")
    assert len(late.pull()) == 2, "a new member reads what the hub holds"
    warm = hub.member("warm")
    warm.start_at_end()
    c.publish("acct_3", T0 + 1, {})
    assert [e.account_id for e in warm.pull()] == ["acct_3"], "only what came after"
    assert (a.published, c.published, c.reads) == (1, 1, 2)


def test_hub_is_bounded() -> None:
    hub = PopulationHub(max_entries=10)
    a, b = hub.member(), hub.member()
    for i in range(25):
        a.publish(f"acct_{i}", T0 + i, {})
    assert [e.account_id for e in b.pull()] == [f"acct_{i}" for i in range(15, 25)]
    a.publish("acct_25", T0 + 25, {})
    assert [e.account_id for e in b.pull()] == ["acct_25"]


def test_entries_round_trip_and_carry_numbers_only() -> None:
    teach = PopulationEntry("acct_1", {"req_24h": 12.0, "iat_cv": 0.123456789012345}, T0 + 0.25)
    assert decode_entry(encode_entry(teach)) == teach
    assert decode_entry(encode_entry(PopulationEntry("acct_2"))) == PopulationEntry("acct_2")
    assert b"prompt" not in encode_entry(teach)
    # orjson writes NaN and infinities as null; anything not a finite number is left out
    odd = encode_entry(PopulationEntry("a", {"req_24h": math.nan, "req_1h": math.inf}, T0))
    assert decode_entry(odd) == PopulationEntry("a", {}, T0)
    raw = orjson.dumps({"a": "a", "t": T0, "x": {"req_24h": 3, "b": True, "s": "x", "n": None}})
    assert decode_entry(raw) == PopulationEntry("a", {"req_24h": 3.0}, T0)
    for bad in (b"", b"not json", b"[]", b'{"x": {}}', b'{"a": "", "t": 1}',
                b'{"a": "a", "x": {}}', b'{"a": "a", "t": 1, "x": [1]}'):  # fmt: skip
        assert decode_entry(bad) is None, bad


# --------------------------------------------------------------------------- the processor


@pytest.fixture(scope="module")
def blitz() -> tuple[Processor, list[PopulationEntry], list[Alert]]:
    """The processor tests' blitz scenario, replayed with a feed: what it shared, in order."""
    hub = PopulationHub()
    p = Processor(ProcessorConfig(min_teach_events=5), population=hub.member("p"))
    alerts = [a for ev in _scenario() for a in p.process(ev)]
    return p, hub.member("reader").pull(), alerts


def test_processor_publishes_what_it_teaches_and_retracts_what_it_flags(
    blitz: tuple[Processor, list[PopulationEntry], list[Alert]],
) -> None:
    p, entries, alerts = blitz
    flagged = {a.account_id for a in alerts if a.flagged}
    assert "blitz" in flagged
    retracted = [e.account_id for e in entries if e.retracted]
    assert sorted(retracted) == sorted(flagged), "every newly flagged account, once"
    taught = [e for e in entries if not e.retracted]
    assert len({e.account_id for e in taught}) > 250
    first_flag = min(a.ts for a in alerts if a.account_id == "blitz" and a.flagged)
    assert all(e.ts is not None and e.ts < first_flag for e in taught if e.account_id == "blitz")
    # A peer that absorbs the entries in order ends with the same detectors.
    twin = Processor(ProcessorConfig(min_teach_events=5))
    assert twin.absorb(entries) == len(entries)
    # (the calibrated tail is refit lazily, so the raw scores and histories are compared)
    assert [len(d.calibrator) for d in twin.detectors] == [len(d.calibrator) for d in p.detectors]
    for probe in (taught[-1].x, taught[len(taught) // 2].x):
        assert probe is not None
        assert [d.raw_score(probe) for d in twin.detectors] == [
            d.raw_score(probe) for d in p.detectors
        ]
        assert [d.explain(probe) for d in twin.detectors] == [d.explain(probe) for d in p.detectors]


def test_absorb_learns_teach_entries_and_forgets_retracted_accounts() -> None:
    p = Processor(detectors=[volume_detector(min_population=50)])
    assert not p.detectors[0].ready
    applied = p.absorb(PopulationEntry(f"acct_{i}", vector(i), T0 + i) for i in range(120))
    assert applied == 120
    det = p.detectors[0]
    assert det.ready, "the peers' accounts make the population"
    assert len(det.population) == 120
    p.absorb([PopulationEntry("acct_7"), PopulationEntry("acct_8")])
    assert len(det.population) == 118
    p.absorb([PopulationEntry("acct_9", vector(9), T0)])  # a known account: replaced
    assert len(det.population) == 118


def test_absorb_skips_accounts_flagged_here(
    blitz: tuple[Processor, list[PopulationEntry], list[Alert]],
) -> None:
    p, entries, alerts = blitz
    assert any(a.account_id == "blitz" and a.flagged for a in alerts)
    size = len(p.detectors[1].population)
    # a stale entry of the flagged account, sent by the worker that owned it before
    assert p.absorb([PopulationEntry("blitz", entries[0].x, T0)]) == 0
    assert len(p.detectors[1].population) == size


def test_absorbed_backlog_spanning_the_warm_up_makes_the_processor_warm() -> None:
    cfg = ProcessorConfig(population_warmup_s=2 * 3600)
    now = T0 + 3 * 3600
    cold = Processor(cfg)
    cold.process(RequestEvent(ts=now, account_id="a"))
    assert not cold.warm, "a cold processor waits for the warm-up"
    late = Processor(cfg)
    late.absorb(PopulationEntry(f"acct_{i}", vector(i), T0 + 60 * i) for i in range(100))
    assert not late.warm, "nothing seen here yet"
    late.process(RequestEvent(ts=now, account_id="a"))
    assert late.warm, "the peers' entries span 3 h of event time before now"
    short = Processor(cfg)
    short.absorb([PopulationEntry("b", vector(1), now - 3600), PopulationEntry("c")])
    short.process(RequestEvent(ts=now, account_id="a"))
    assert not short.warm, "an hour of peers' entries is not the warm-up"


# --------------------------------------------------------------------------- hash split


SPLIT = SimConfig(accounts=300, hours=12, seed=7, volume_scale=0.5)
MIN_POPULATION = 80  # with min_teach_events=5: each half alone never gets there


@pytest.fixture(scope="module")
def split_events() -> tuple[list[tuple[int, RequestEvent]], set[str], set[str]]:
    """The scenario's events, each with the processor (of two) its account hashes to."""
    events = []
    for line in iter_lines(SPLIT):
        ev = parse_event(line.data)
        if not isinstance(ev, BadRecord):
            events.append((zlib.crc32(ev.account_id.encode()) % 2, ev))
    labels = simulation_labels(SPLIT)
    attack = {lab.account_id for lab in labels if lab.role == "attack"}
    return events, attack, {lab.account_id for lab in labels} - attack


def detectors() -> list[Any]:
    """The shipped detectors, ready from a population the size of this scenario's."""
    return [
        distill_detector(min_population=MIN_POPULATION),
        volume_detector(min_population=MIN_POPULATION),
    ]


def run_split(
    events: list[tuple[int, RequestEvent]], shared: bool, every: int = 200
) -> tuple[list[Processor], list[Alert]]:
    """Replay ``events`` over two processors, absorbing the hub every ``every`` events."""
    hub = PopulationHub()
    feeds = [hub.member() if shared else None for _ in range(2)]
    processors = [
        Processor(ProcessorConfig(min_teach_events=5), detectors(), population=feed)
        for feed in feeds
    ]
    alerts: list[Alert] = []
    for n, (k, ev) in enumerate(events):
        alerts.extend(processors[k].process(ev))
        if n % every == 0:  # a worker's checkpoint cadence
            for p, feed in zip(processors, feeds, strict=True):
                if feed is not None:
                    p.absorb(feed.pull())
    return processors, alerts


def test_hash_split_processors_judge_only_with_the_shared_population(
    split_events: tuple[list[tuple[int, RequestEvent]], set[str], set[str]],
) -> None:
    events, attack, benign = split_events
    alone, alerts = run_split(events, shared=False)
    assert not any(d.ready for p in alone for d in p.detectors), "each half is too small"
    assert not any(a.flagged for a in alerts)

    shared, alerts = run_split(events, shared=True)
    assert all(d.ready for p in shared for d in p.detectors)
    flagged = {a.account_id for a in alerts if a.flagged}
    assert len(flagged & attack) >= 0.75 * len(attack), (len(flagged & attack), len(attack))
    assert not flagged & benign
    # both halves judge: each flags attack accounts of its own
    halves = {zlib.crc32(a.encode()) % 2 for a in flagged & attack}
    assert halves == {0, 1}
