"""Unit tests for the event-time processor: dedupe, lateness, eviction, detection."""

import random

import pytest

from detectors.exceptions import ConfigError
from detectors.models import volume_detector
from detectors.policy import PolicyConfig
from detectors.records import RequestEvent
from stream.processor import Processor, ProcessorConfig

T0 = 1_764_288_000.0  # 2025-11-28T00:00:00Z

BENIGN_PROMPTS = [
    "Can you suggest a name for my bakery? Something cozy.",
    "What should I cook tonight with chicken, rice and spinach?",
    "Rewrite this email to my landlord so it sounds more polite.",
    "Recommend three novels similar to the one I just finished.",
    "How do I get red wine out of a cotton shirt?",
]
HARVEST_PROMPTS = [
    "Solve the integral of x^2 sin(x) dx. Show every step of your reasoning.",
    "Write a Python function that merges two sorted linked lists; explain step by step.",
    "Explain, step by step, the doctrine of promissory estoppel in contract law.",
    "Think step by step: what is the mechanism of action of beta blockers in the heart?",
    "Walk me through, step by step, how photosynthesis converts light into chemical energy.",
    "Prove step by step that the square root of 2 is irrational.",
    "Translate into French and explain your reasoning step by step: the market closed early.",
    "Reason step by step about how a bank's balance sheet changes when it issues a loan.",
]


def _events_for(account, rng, start, end, per_hour, prompts, out_tokens, max_tokens):
    t = start
    i = 0
    while True:
        t += rng.expovariate(per_hour / 3600.0)
        if t >= end:
            return
        i += 1
        yield RequestEvent(
            ts=t,
            account_id=account,
            request_id=f"{account}-{i}",
            prompt=rng.choice(prompts),
            input_tokens=40,
            output_tokens=out_tokens,
            max_tokens=max_tokens,
        )


def _scenario(seed=0, hours=8):
    rng = random.Random(seed)
    streams = []
    end = T0 + hours * 3600
    for a in range(300):
        rate = rng.lognormvariate(1.0, 0.6)  # ~3 requests/hour
        streams.extend(_events_for(f"user{a}", rng, T0, end, rate, BENIGN_PROMPTS, 150, 512))
    # a heavy but benign batch job: one narrow task, huge volume, small outputs
    streams.extend(
        _events_for(
            "batch", rng, T0, end, 600, ["Summarize the attached invoice in one line."], 20, 64
        )
    )
    # the blitz: huge volume, broad areas, reasoning demands, long outputs
    streams.extend(_events_for("blitz", rng, T0 + 4 * 3600, end, 900, HARVEST_PROMPTS, 1500, 8192))
    streams.sort(key=lambda e: e.ts)
    return streams


def _run(events, cfg=None):
    p = Processor(cfg or ProcessorConfig())
    alerts = [a for ev in events for a in p.process(ev)]
    return p, alerts


def test_blitz_flagged_and_heavy_benign_left_alone():
    # 300 users at about 3 requests an hour: let them teach from their 5th request, so
    # the population is ready when the blitz starts 4 h in
    _, alerts = _run(_scenario(), ProcessorConfig(min_teach_events=5))
    flagged = {a.account_id for a in alerts if a.flagged}
    assert "blitz" in flagged
    assert "batch" not in flagged
    assert len(flagged - {"blitz"}) <= 1  # at most one of 300 ordinary users
    blitz = [a for a in alerts if a.account_id == "blitz"]
    assert blitz[0].ts - (T0 + 4 * 3600) < 1800  # caught within 30 minutes of starting
    assert "distill" in blitz[-1].detectors
    assert any("population p99.9" in r for r in blitz[-1].reasons)
    # one episode: every alert of the account shares one id, escalations only
    assert len({a.alert_id for a in blitz}) == 1
    levels = [a.action for a in blitz]
    order = ["review", "throttle", "block"]
    assert levels == sorted(levels, key=order.index)
    assert len(levels) == len(set(levels))


def test_same_input_same_alerts():
    events = _scenario(seed=3, hours=6)
    _, a1 = _run(events)
    _, a2 = _run(events)
    assert [a.to_dict() for a in a1] == [a.to_dict() for a in a2]


def test_duplicates_are_not_counted_twice():
    ev = RequestEvent(ts=T0, account_id="a", request_id="r1")
    p = Processor()
    p.process(ev)
    p.process(ev)
    p.process(RequestEvent(ts=T0 + 1, account_id="a"))  # no request_id: never a duplicate
    p.process(RequestEvent(ts=T0 + 1, account_id="a"))
    assert p.stats.duplicates == 1
    assert p.stats.events == 3
    assert p.store.get("a", T0 + 1).features.events == 3


def test_late_events_are_counted_and_still_update():
    p = Processor(ProcessorConfig(late_tolerance_s=60))
    p.process(RequestEvent(ts=T0 + 1000, account_id="a"))
    p.process(RequestEvent(ts=T0 + 900, account_id="b"))  # 100 s behind the watermark
    p.process(RequestEvent(ts=T0 + 990, account_id="a"))  # within tolerance
    assert p.stats.late == 1
    assert p.store.get("b", T0 + 1000).features.events == 1
    assert p.watermark == T0 + 1000


def test_idle_accounts_are_evicted_so_memory_stays_bounded():
    cfg = ProcessorConfig(idle_ttl_s=3600, evict_every_s=60, max_accounts=10_000)
    p = Processor(cfg)
    for i in range(5000):  # a new account every 10 s: only the last hour's stay
        p.process(RequestEvent(ts=T0 + 10 * i, account_id=f"acct{i}"))
    assert len(p.store) <= 3600 / 10 + 60 / 10 + 1
    assert p.store.evictions >= 5000 - len(p.store)
    assert p.stats.accounts_created == 5000


def test_max_accounts_caps_memory():
    p = Processor(ProcessorConfig(max_accounts=100))
    for i in range(1000):
        p.process(RequestEvent(ts=T0, account_id=f"acct{i}"))
    assert len(p.store) == 100


class _RecordingDetector:
    """A detector that scores a constant and records who taught it (a unit-test fake)."""

    name = "distill"
    ready = True

    def __init__(self) -> None:
        self.learned: list[str | None] = []
        self.scored = 0

    def score_one(self, x):
        self.scored += 1
        return 0.0

    def learn_one(self, x, key=None):
        self.learned.append(key)

    def forget(self, key):
        pass

    def explain(self, x):
        return []


def test_no_behaviour_judged_during_population_warm_up():
    det = _RecordingDetector()
    p = Processor(ProcessorConfig(population_warmup_s=3600, link_campaigns=False), [det])
    rng = random.Random(1)
    events = list(_events_for("a", rng, T0, T0 + 2 * 3600, 120, BENIGN_PROMPTS, 100, 256))
    for ev in events:
        p.process(ev)
        if ev.ts < T0 + 3000:
            assert det.scored == 0, "judged during the warm-up"
    assert det.scored > 0
    assert p.warm


def test_mark_warm_skips_the_warm_up():
    det = _RecordingDetector()
    p = Processor(ProcessorConfig(population_warmup_s=3600, link_campaigns=False), [det])
    p.mark_warm()
    rng = random.Random(2)
    for ev in _events_for("a", rng, T0, T0 + 600, 240, BENIGN_PROMPTS, 100, 256):
        p.process(ev)
    assert det.scored > 0


def test_accounts_linked_into_a_campaign_do_not_teach_the_population():
    det = _RecordingDetector()
    cfg = ProcessorConfig(
        population_warmup_s=0,
        learn_every_s=0,
        campaign_prefilter=0.0,
        campaign_recheck_s=0.0,
        min_teach_events=1,
    )
    p = Processor(cfg, [det])
    rng = random.Random(3)
    events = []
    # 120 unrelated accounts (so keys can be weighed), and 4 sharing one payment method
    for a in range(120):
        for i in range(12):
            events.append(
                RequestEvent(
                    ts=T0 + rng.uniform(0, 3600), account_id=f"u{a}", request_id=f"u{a}-{i}",
                    prompt=rng.choice(BENIGN_PROMPTS), payment_fingerprint=f"card-{a}",
                )
            )  # fmt: skip
    for a in range(4):
        for i in range(12):
            events.append(
                RequestEvent(
                    ts=T0 + 3600 + i * 60 + a, account_id=f"h{a}", request_id=f"h{a}-{i}",
                    prompt=rng.choice(HARVEST_PROMPTS), payment_fingerprint="card-shared",
                )
            )  # fmt: skip
    events.sort(key=lambda e: e.ts)
    for ev in events:
        p.process(ev)
    taught = set(det.learned)
    assert {f"u{a}" for a in range(120)} <= taught
    # h0 may teach once, before its fellows show up; once linked, none of them teaches
    assert [k for k in det.learned if k is not None and k.startswith("h")] == ["h0"]


def test_accounts_teach_only_once_they_sent_min_teach_events():
    det = _RecordingDetector()
    cfg = ProcessorConfig(
        population_warmup_s=0, link_campaigns=False, learn_every_s=0, min_teach_events=8
    )
    p = Processor(cfg, [det])
    for i in range(12):
        p.process(RequestEvent(ts=T0 + 700.0 * i, account_id="a", request_id=f"r{i}"))
    # scored from the first event, every event (each one 700 s after the last)
    assert det.scored == 12 - cfg.min_behaviour_events + 1
    assert det.learned == ["a"] * (12 - 8 + 1)  # events 8..12


class _PooledVolumeDetector(_RecordingDetector):
    """Scores 1 for a vector of 20+ requests a day that mostly demand reasoning (a fake)."""

    def score_one(self, x):
        self.scored += 1
        return 1.0 if x["req_24h"] >= 20 and x["reasoning_share"] >= 0.5 else 0.0


def _quiet_group(prefix, cards, prompts_of, rng):
    """8 accounts on ``cards``, 4 requests each, a quarter of an hour apart."""
    events = []
    for a in range(8):
        account = f"{prefix}{a}"
        for i in range(4):
            events.append(
                RequestEvent(
                    ts=T0 + i * 900 + a * 60 + rng.uniform(0, 30), account_id=account,
                    request_id=f"{account}-{i}", prompt=rng.choice(prompts_of(a)),
                    payment_fingerprint=cards[a % len(cards)], client_ip=f"10.9.{a // 4}.{a}",
                )
            )  # fmt: skip
    return events


def _own_prompts(middle):
    """Eight office prompts, each person's own (eight distinct templates)."""
    from detectors.prompts import analyse_prompt

    own = [f"please check the {w} {middle}{v} for typos" for w, v in zip(
        ["intro", "methods", "budget", "summary", "appendix", "outline", "abstract", "closing"],
        ["essay", "thesis", "memo", "report", "letter", "grant", "paper", "speech"],
        strict=True,
    )]  # fmt: skip
    assert len({analyse_prompt(p).template for p in own}) == 8  # each writes their own
    return own


def _strangers():
    """120 unrelated accounts, one request each, so that the linker can weigh keys."""
    return [
        RequestEvent(
            ts=T0 - 60 + a * 0.1, account_id=f"u{a}", request_id=f"u{a}",
            prompt=BENIGN_PROMPTS[a % 5], payment_fingerprint=f"card-{a}",
        )
        for a in range(120)
    ]  # fmt: skip


def test_a_coordinated_group_of_quiet_accounts_is_judged_as_one_account():

    rng = random.Random(5)
    own = _own_prompts("section of my ")
    hydra = _quiet_group("h", ["card-h"], lambda a: HARVEST_PROMPTS[:4], rng)
    office = _quiet_group("o", ["card-office"], lambda a: [own[a] + " step by step"], rng)
    others = _strangers()
    det = _PooledVolumeDetector()
    cfg = ProcessorConfig(population_warmup_s=0)
    p = Processor(cfg, [det])
    events = sorted(others + hydra + office, key=lambda e: e.ts)
    alerts = [a for ev in events for a in p.process(ev)]
    flagged = {a.account_id for a in alerts if a.flagged}
    assert flagged, "the coordinated group was not flagged"
    assert flagged <= {f"h{a}" for a in range(8)}  # the office is joined, not coordinated
    assert len(flagged) >= 5
    for alert in alerts:
        assert alert.detectors == ("campaign",)  # no member was judged on its own
        assert set(alert.related_accounts) <= {f"h{a}" for a in range(8)} - {alert.account_id}
        assert alert.related_accounts
        assert any("pooled as one account" in r for r in alert.reasons)
    # the office's card links its accounts into a group too, but none is coordinated
    group = p.groups.group_of("o0")
    assert group is not None
    assert sorted(group.members) == sorted(f"o{a}" for a in range(8))
    assert not group.coordinated
    assert group.pooled == 0


def test_a_floor_cap_outside_the_policys_hysteresis_band_is_refused():
    """A capped score must neither open an episode nor close one."""
    Processor(ProcessorConfig())  # the shipped floor cap (0.99) sits in [0.95, 0.995)
    with pytest.raises(ConfigError, match="floor_cap"):
        Processor(ProcessorConfig(policy=PolicyConfig(review_at=0.99)))
    with pytest.raises(ConfigError, match="floor_cap"):
        Processor(ProcessorConfig(policy=PolicyConfig(release_below=0.992)))
    Processor(ProcessorConfig(policy=PolicyConfig(review_at=0.99)), detectors=[volume_detector()])


def test_a_convicted_group_flags_its_coordinated_members_at_once():
    """Members are flagged when their group is convicted, not at their own next request."""
    rng = random.Random(7)
    hydra = _quiet_group("h", ["card-h"], lambda a: HARVEST_PROMPTS[:4], rng)
    # one more request per member, hours later: without the sweep, that is when each
    # member would be flagged
    hydra += [
        RequestEvent(
            ts=T0 + 6 * 3600 + a * 600, account_id=f"h{a}", request_id=f"h{a}-late",
            prompt=HARVEST_PROMPTS[0], payment_fingerprint="card-h",
            client_ip=f"10.9.{a // 4}.{a}",
        )
        for a in range(8)
    ]  # fmt: skip
    others = _strangers()
    p = Processor(ProcessorConfig(population_warmup_s=0), [_PooledVolumeDetector()])
    first: dict[str, float] = {}
    for ev in sorted(others + hydra, key=lambda e: e.ts):
        for alert in p.process(ev):
            if alert.flagged:
                first.setdefault(alert.account_id, alert.ts)
    group = p.groups.group_of("h0")
    assert group is not None and group.score == 1.0
    convicted = min(first.values())
    assert convicted < T0 + 3600  # within the first hour of the group's requests
    at_once = [a for a, ts in first.items() if ts == convicted]
    # every member coordinated by then is flagged at that moment (one alert each)
    assert len(at_once) >= 5
    assert set(first) <= set(group.coordinated)
    assert all(ts < T0 + 6 * 3600 for ts in first.values())  # none waited for its late request


def test_groups_of_one_script_on_several_cards_are_bridged_by_a_shared_block():
    """A campaign over two cards and two network blocks becomes one group; an office does not."""

    rng = random.Random(11)
    own = _own_prompts("of my ")
    # cards alternate (a % 2), blocks hold four accounts each (a // 4): each card's
    # group has two accounts in each block, and the office shares both blocks
    hydra = _quiet_group("h", ["card-h1", "card-h2"], lambda a: HARVEST_PROMPTS[:4], rng)
    office = _quiet_group("o", ["card-o1", "card-o2"], lambda a: [own[a]], rng)
    others = _strangers()
    p = Processor(ProcessorConfig(population_warmup_s=0), [_PooledVolumeDetector()])
    for ev in sorted(others + hydra + office, key=lambda e: e.ts):
        p.process(ev)
    linker = p.linker
    assert linker is not None
    block = linker.key_weight("net:10.9.0")
    assert linker.min_key_weight <= block < linker.link_threshold  # too loose on its own
    group = p.groups.group_of("h0")
    assert group is not None
    assert group is p.groups.group_of("h1")  # the two cards' groups are one
    assert sorted(group.members) == sorted(f"h{a}" for a in range(8))
    assert len(group.coordinated) >= 6
    offices = {id(p.groups.group_of(f"o{a}")) for a in range(8)}
    assert len(offices) == 2  # one per card: people writing their own prompts stay apart


def test_a_sweep_that_flags_nobody_ends():
    """With no rule on the group's verdict and rescoring allowed every time, a sweep still ends.

    Each member scored in a sweep rescores its group, which convicts it again; the
    group is swept once per event.
    """
    rng = random.Random(7)
    hydra = _quiet_group("h", ["card-h"], lambda a: HARVEST_PROMPTS[:4], rng)
    others = _strangers()
    cfg = ProcessorConfig(
        population_warmup_s=0,
        group_recheck_s=0.0,
        policy=PolicyConfig(rules=(("distill",),)),  # the group's verdict flags nobody
    )
    det = _PooledVolumeDetector()
    p = Processor(cfg, [det])
    alerts = [a for ev in sorted(others + hydra, key=lambda e: e.ts) for a in p.process(ev)]
    assert not [a for a in alerts if a.flagged]
    group = p.groups.group_of("h0")
    assert group is not None and group.score == 1.0  # convicted, again and again
    assert det.scored < 20 * len(hydra)  # each event swept the group at most once


def _linked(account, prompts, times):
    """Requests of an account on the hydra's card (``card-h``) with prompts of its own."""
    return [
        RequestEvent(
            ts=T0 + t, account_id=account, request_id=f"{account}-{i}", prompt=prompts[i],
            payment_fingerprint="card-h", client_ip="10.8.0.1",
        )
        for i, t in enumerate(times)
    ]  # fmt: skip


@pytest.mark.parametrize("flags_linked", [True, False])
def test_a_convicted_group_flags_new_linked_members_but_not_one_with_a_history(flags_linked):
    """A member whose templates never counted is flagged with its group while too new to judge."""
    rng = random.Random(7)
    own = _own_prompts("part of my ")
    hydra = _quiet_group("h", ["card-h"], lambda a: HARVEST_PROMPTS[:4], rng)
    # "q": the operator's newest account, two requests in, none of its templates shared;
    # later, requests of its own: from the 5th its behaviour is judged (score 0), and the
    # last comes after the policy's cooldown (6 h) would have closed a lapsed episode
    later = [3 * 3600.0, 4 * 3600.0, 5 * 3600.0, 12 * 3600.0]
    quiet = _linked("q", own[:2] * 3, [2000.0, 2500.0, *later])
    # "b": a person on the same card, whose six requests of its own score 0 on their own
    busy = _linked("b", own[2:8], [60.0 * i for i in range(6)])
    cfg = ProcessorConfig(population_warmup_s=0, group_flags_linked=flags_linked)
    p = Processor(cfg, [_PooledVolumeDetector()])
    first = {}
    for ev in sorted(_strangers() + hydra + quiet + busy, key=lambda e: e.ts):
        for alert in p.process(ev):
            if alert.flagged:
                first.setdefault(alert.account_id, alert)
    group = p.groups.group_of("h0")
    assert group is not None and group.score == 1.0
    assert group is p.groups.group_of("q") is p.groups.group_of("b")
    assert "q" not in group.coordinated and "b" not in group.coordinated
    assert "b" not in first  # judged on its own six requests (score 0), not the group's
    if not flags_linked:
        assert "q" not in first
        return
    alert = first["q"]
    assert alert.ts < T0 + 3 * 3600  # with its group, not at a request of its own
    assert alert.detectors == ("campaign",)
    assert p.store.peek("q").episode.open  # held by its convicted group, as it was flagged
    assert any("linked on shared keys to" in r for r in alert.reasons)
    assert alert.related_accounts


def _two_cards_on_one_block(shared_prompt):
    """Two cards of two accounts each on one /24; one account per card sends ``shared_prompt``."""
    own = _own_prompts("draft of my ")
    events = [
        RequestEvent(
            ts=T0 + a * 10.0, account_id=f"h{a}", request_id=f"h{a}-own", prompt=own[a],
            payment_fingerprint=f"card-h{a % 2}", client_ip=f"10.9.0.{a}",
        )
        for a in range(4)
    ]  # fmt: skip
    events += [
        RequestEvent(
            ts=T0 + 100.0 + a * 100.0, account_id=f"h{a}", request_id=f"h{a}-shared",
            prompt=shared_prompt, payment_fingerprint=f"card-h{a % 2}", client_ip=f"10.9.0.{a}",
        )
        for a in (0, 1)
    ]  # fmt: skip
    return events


@pytest.mark.parametrize("pairs_rare", [True, False])
def test_a_rare_template_run_on_two_cards_of_one_block_joins_them(pairs_rare):
    """One account on each card runs a template nobody else runs: one operator, one group."""
    from detectors.prompts import analyse_prompt

    prompt = (
        "You are a world-class expert in marine biology. Answer the question below in one "
        "paragraph.\nHow do octopuses change colour so quickly?"
    )
    assert analyse_prompt(prompt).framed
    p = Processor(ProcessorConfig(population_warmup_s=0, group_pairs_rare=pairs_rare), [])
    for ev in sorted(_strangers() + _two_cards_on_one_block(prompt), key=lambda e: e.ts):
        p.process(ev)
    g0, g1 = p.groups.group_of("h0"), p.groups.group_of("h1")
    assert g0 is not None and g1 is not None
    assert (g0 is g1) == pairs_rare
    if pairs_rare:
        assert sorted(g0.members) == ["h0", "h1", "h2", "h3"]
        assert sorted(g0.coordinated) == ["h0", "h1"]  # the two that ran it
    else:
        assert not g0.coordinated and not g1.coordinated


def test_a_re_sent_phrase_without_a_frame_pairs_nobody():
    """Two people on one block who both send "try again, shorter" are not one operator."""
    from detectors.prompts import analyse_prompt

    prompt = "hmm that is too long try again but shorter"
    assert not analyse_prompt(prompt).framed
    p = Processor(ProcessorConfig(population_warmup_s=0), [])
    for ev in sorted(_strangers() + _two_cards_on_one_block(prompt), key=lambda e: e.ts):
        p.process(ev)
    assert p.groups.group_of("h0") is not p.groups.group_of("h1")
    assert not p.groups.group_of("h0").coordinated
