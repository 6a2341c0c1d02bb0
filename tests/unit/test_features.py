"""Unit tests for per-account features, with hand-computed expectations."""

import math

import pytest

from detectors.features import FEATURES, AccountFeatures
from detectors.prompts import AREAS, PromptProfile
from detectors.records import RequestEvent

T0 = 1_700_000_000.0 - (1_700_000_000.0 % 86400)  # a midnight, so hour buckets are aligned


def _profile(area=0, reasoning=0.0, mc=False, enum=None, template=1, order=0):
    return PromptProfile(
        template=template,
        prefix=0,
        simhash=0,
        area=area,
        area_confidence=1.0,
        reasoning=reasoning,
        multiple_choice=mc,
        enumeration=enum,
        n_tokens=10,
        order=order,
    )


def _ev(ts, **kw):
    return RequestEvent(ts=ts, account_id="a", **kw)


def test_volume_and_tokens_over_windows():
    f = AccountFeatures()
    f.update(_ev(T0 + 10, input_tokens=100, output_tokens=300, max_tokens=1000), None)
    f.update(_ev(T0 + 3 * 3600, input_tokens=50, output_tokens=100, max_tokens=3000), None)
    f.update(_ev(T0 + 3 * 3600 + 60, input_tokens=50, output_tokens=200), None)
    x = f.values(T0 + 3 * 3600 + 120)
    assert x["req_24h"] == 3
    assert x["req_1h"] == 2
    assert x["in_tokens_24h"] == 200
    assert x["out_tokens_24h"] == 600
    assert x["out_tokens_per_req"] == pytest.approx(200.0)
    assert x["out_in_ratio"] == pytest.approx(600 / 201)
    assert x["active_hours_24h"] == 2
    assert x["req_per_active_hour"] == pytest.approx(1.5)
    assert x["max_tokens_mean"] == pytest.approx(2000.0)  # only the 2 events that set it
    # a day later the first event has left the 24 h window
    later = f.values(T0 + 24 * 3600 + 30)
    assert later["req_24h"] == 2
    assert set(x) <= set(FEATURES)


def test_prompt_shares_and_coverage():
    f = AccountFeatures(prompt_prior=10.0)
    profiles = [
        _profile(area=0, reasoning=1.0, enum=1),
        _profile(area=1, reasoning=0.5, enum=2),
        _profile(area=2, reasoning=0.0, enum=3, mc=True),
        _profile(area=2, reasoning=0.5, enum=7),
    ]
    for i, p in enumerate(profiles):
        f.update(_ev(T0 + i * 60), p)
    f.update(_ev(T0 + 300), None)  # no prompt: counts as a request, not in prompt shares
    x = f.values(T0 + 400)
    assert x["area_count_24h"] == 3
    # shares are shrunk towards 0 by the prior of 10 prompts: sum / (4 + 10)
    assert x["reasoning_share"] == pytest.approx(2.0 / 14)
    assert x["mc_share"] == pytest.approx(1 / 4)  # not shrunk: it only damps
    assert x["enum_share"] == pytest.approx(2 / 14)  # 1->2 and 2->3 are in-order steps
    assert x["req_24h"] == 5
    # areas 0, 1, 2, 2 over len(AREAS) bins, scaled by 4 / 14
    p = [0.25, 0.25, 0.5]
    h = -sum(q * math.log(q) for q in p) / math.log(len(AREAS))
    assert x["area_entropy"] == pytest.approx(h * 4 / 14)


def test_sorted_walk_counts_from_the_fourth_rise_per_template():
    f = AccountFeatures(prompt_prior=0.0)
    # template 1 walks 10 < 20 < 30 < 40 < 50 < 60; template 2, interleaved, goes up
    # and down; equal codes (a repeat) neither extend nor end the walk.
    seq = [(1, 10), (2, 5), (1, 20), (1, 30), (2, 9), (1, 30), (1, 40), (2, 3)]
    seq += [(1, 50), (2, 8), (1, 60), (1, 15), (1, 16)]
    for i, (tpl, code) in enumerate(seq):
        f.update(_ev(T0 + i), _profile(template=tpl, order=code))
    # rises of template 1: 20, 30, 40, 50 (the 4th: a step), 60 (step); 15 ends the run
    assert f.values(T0 + 20)["enum_share"] == pytest.approx(2 / len(seq))


def test_sorted_walk_ignores_prompts_without_a_slot_and_evicts_old_templates():
    f = AccountFeatures(prompt_prior=0.0)
    for i in range(5):
        f.update(_ev(T0 + i), _profile(template=1, order=0))  # no slot: no walk
    assert f.values(T0 + 10)["enum_share"] == 0.0
    # Template 7 rises 10 -> 40 while templates 11-14 (code 1 each) keep the account's
    # lane falling; 14 is the fifth template, so it evicts 7, which starts afresh at 50.
    seq = [(7, 10), (11, 1), (7, 20), (12, 1), (7, 30), (13, 1), (7, 40), (14, 1), (7, 50)]
    for i, (tpl, code) in enumerate(seq):
        f.update(_ev(T0 + 10 + i), _profile(template=tpl, order=code))
    assert f.values(T0 + 40)["enum_share"] == 0.0
    # Without the eviction (11 between every step), 50 is template 7's fourth rise.
    f2 = AccountFeatures(prompt_prior=0.0)
    seq2 = [(7, 10), (11, 1), (7, 20), (11, 1), (7, 30), (11, 1), (7, 40), (11, 1), (7, 50)]
    for i, (tpl, code) in enumerate(seq2):
        f2.update(_ev(T0 + i), _profile(template=tpl, order=code))
    assert f2.values(T0 + 10)["enum_share"] == pytest.approx(1 / 9)


def test_sorted_walk_across_rotating_templates_counts_in_the_account_lane():
    # One sorted list in three phrasings: the account's lane rises 1, 2, 3, 4, 5 (runs
    # 1-5), so the fourth and fifth prompts are steps; no template rises four times.
    f = AccountFeatures(prompt_prior=0.0)
    for i, (tpl, code) in enumerate([(1, 1), (2, 2), (3, 3), (1, 4), (2, 5)]):
        f.update(_ev(T0 + i), _profile(template=tpl, order=code))
    assert f.values(T0 + 10)["enum_share"] == pytest.approx(2 / 5)
    # The same codes shuffled: runs 1, 0, 1, 0, 1: no step.
    g = AccountFeatures(prompt_prior=0.0)
    for i, (tpl, code) in enumerate([(1, 3), (2, 1), (3, 4), (1, 2), (2, 5)]):
        g.update(_ev(T0 + i), _profile(template=tpl, order=code))
    assert g.values(T0 + 10)["enum_share"] == 0.0


def test_shares_without_prior_are_plain_ratios():
    f = AccountFeatures(prompt_prior=0.0)
    for i, r in enumerate([1.0, 0.0, 0.5, 0.5]):
        f.update(_ev(T0 + i), _profile(reasoning=r))
    assert f.values(T0 + 5)["reasoning_share"] == pytest.approx(0.5)


def test_template_diversity():
    f = AccountFeatures()
    for i in range(10):
        f.update(_ev(T0 + i), _profile(template=i % 2))
    assert f.values(T0 + 20)["template_diversity"] == pytest.approx(2 / 10)


def test_timing_regular_machine_pacing_has_low_cv():
    f = AccountFeatures()
    for i in range(30):
        f.update(_ev(T0 + i * 60.0), None)
    assert f.values(T0 + 1800)["iat_cv"] == pytest.approx(0.0, abs=1e-9)


def test_account_age_only_when_known():
    f = AccountFeatures()
    f.update(_ev(T0), None)
    assert "account_age_days" not in f.values(T0)
    f.update(_ev(T0 + 10, account_created_ts=T0 - 2 * 86400), None)
    assert f.values(T0 + 10)["account_age_days"] == pytest.approx(2.0 + 10 / 86400)


def test_late_event_updates_window_without_breaking_timing():
    f = AccountFeatures()
    f.update(_ev(T0 + 1000), None)
    f.update(_ev(T0 + 500), None)  # late
    assert f.last_ts == T0 + 1000
    assert f.values(T0 + 1000)["req_24h"] == 2


def test_areas_constant_is_a_tuple_of_names():
    assert len(AREAS) >= 10 and all(isinstance(a, str) for a in AREAS)


def test_area_switching_and_recent_areas():
    f = AccountFeatures()
    for i, area in enumerate([0, 0, 0, 1, 2, 2]):
        f.update(_ev(T0 + i), _profile(area=area))
    x = f.values(T0 + 10)
    # switches: 0->0 no, 0->0 no, 0->1 yes, 1->2 yes, 2->2 no; EW mean with alpha 0.1
    expected = 0.0
    for switched in (0, 0, 1, 1, 0):
        expected += 0.1 * (switched - expected)
    assert x["area_switch_rate"] == pytest.approx(expected)
    assert x["areas_recent"] == 3
    for i in range(16):  # the window keeps the last 16 prompts only
        f.update(_ev(T0 + 20 + i), _profile(area=5))
    assert f.values(T0 + 40)["areas_recent"] == 1


def test_merge_sums_windows_and_areas_as_one_stream_would():
    one, a, b = AccountFeatures(), AccountFeatures(), AccountFeatures()
    stream = [
        (a, _ev(T0 + 10, input_tokens=100, output_tokens=300), _profile(area=0, reasoning=1.0)),
        (b, _ev(T0 + 20, input_tokens=50, output_tokens=100), _profile(area=3)),
        (a, _ev(T0 + 3600 + 5, input_tokens=10, output_tokens=10), _profile(area=0)),
        (b, _ev(T0 + 7200, output_tokens=40, account_created_ts=T0 - 86400), _profile(area=5)),
    ]
    for part, ev, profile in stream:
        part.update(ev, profile)
        one.update(ev, profile)
    a.merge(b)
    now = T0 + 7300
    x, y = a.values(now), one.values(now)
    for key in (
        "req_1h",
        "req_24h",
        "in_tokens_24h",
        "out_tokens_24h",
        "active_hours_24h",
        "area_count_24h",
        "reasoning_share",
        "hour_entropy",
        "area_entropy",
        "account_age_days",
    ):
        assert x[key] == pytest.approx(y[key]), key
    assert x["req_24h"] == 4
    assert x["out_tokens_24h"] == 450
    assert x["area_count_24h"] == 3  # areas 0, 3 and 5
    assert x["reasoning_share"] == pytest.approx(1.0 / (4 + 5.0))  # one of 4, prior 5
    assert x["account_age_days"] == pytest.approx(7300 / 86400 + 1.0)  # created a day before T0
    assert (a.events, a.first_ts, a.last_ts) == (4, T0 + 10, T0 + 7200)
    assert b.events == 2  # other left as it was


def test_merge_into_empty_takes_the_others_order_dependent_state():
    a, b = AccountFeatures(), AccountFeatures()
    for i, tpl in enumerate((11, 12, 11)):
        b.update(_ev(T0 + i), _profile(area=i, template=tpl))
    a.merge(b)
    assert a.values(T0 + 5)["template_diversity"] == pytest.approx(2 / 3)
    assert a.values(T0 + 5)["areas_recent"] == 3
    a.merge(AccountFeatures())  # an empty stream changes nothing
    assert a.events == 3
