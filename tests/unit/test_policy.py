"""Unit tests for the alert policy: rules, levels, episodes, hysteresis, decisions."""

import pytest

from detectors.exceptions import ConfigError
from detectors.policy import EpisodeState, PolicyConfig, combine, decide, decision_for, episode_id

CFG = PolicyConfig(
    rules=(("volume", "extraction"), ("campaign",)),
    review_at=0.9,
    throttle_at=0.95,
    block_at=0.99,
    release_below=0.8,
    cooldown_s=100.0,
)


def _decide(state, ts, **scores):
    return decide(CFG, state, "acct", ts, scores, {"req_24h": 10.123456}, ["why"])


def test_combine_is_max_over_rules_of_min():
    assert combine({"volume": 0.99, "extraction": 0.5}, CFG.rules) == (
        0.5,
        ("volume", "extraction"),
    )
    assert combine({"volume": 0.99, "extraction": 0.5, "campaign": 0.7}, CFG.rules) == (
        0.7,
        ("campaign",),
    )
    assert combine({"volume": 1.0}, CFG.rules) == (0.0, ())  # rule incomplete: no score


def test_levels():
    assert [CFG.level(s) for s in (0.5, 0.9, 0.96, 0.995)] == [0, 1, 2, 3]


def test_episode_opens_escalates_with_same_id_and_does_not_repeat():
    st = EpisodeState()
    assert _decide(st, 0.0, volume=0.5, extraction=0.99) is None
    a1 = _decide(st, 10.0, volume=0.92, extraction=0.99)
    assert a1 is not None and (a1.severity, a1.action) == ("warning", "review")
    assert _decide(st, 20.0, volume=0.93, extraction=0.99) is None  # same level: no new alert
    a2 = _decide(st, 30.0, volume=0.995, extraction=0.999)
    assert a2 is not None and (a2.severity, a2.action) == ("critical", "block")
    assert a2.alert_id == a1.alert_id == episode_id("acct", ("volume", "extraction"), 10.0)
    assert a2.features == {"req_24h": 10.1235}
    assert a2.reasons[1] == "why"


def test_hysteresis_and_new_episode_gets_new_id():
    st = EpisodeState()
    a1 = _decide(st, 0.0, volume=0.95, extraction=0.95)
    assert a1 is not None
    assert _decide(st, 10.0, volume=0.85, extraction=0.85) is None  # above release: still open
    assert st.open
    assert _decide(st, 20.0, volume=0.1, extraction=0.1) is None  # below release, cooling down
    assert _decide(st, 50.0, volume=0.85, extraction=0.85) is None  # back above: cooldown reset
    assert _decide(st, 60.0, volume=0.1, extraction=0.1) is None
    assert st.open
    assert _decide(st, 160.0, volume=0.1, extraction=0.1) is None  # 100 s below: closes
    assert not st.open
    a2 = _decide(st, 200.0, volume=0.95, extraction=0.95)
    assert a2 is not None and a2.alert_id != a1.alert_id


def test_alert_ids_are_deterministic():
    a = _decide(EpisodeState(), 5.0, volume=0.99, extraction=0.99)
    b = _decide(EpisodeState(), 5.0, volume=0.99, extraction=0.99)
    assert a is not None and b is not None and a.alert_id == b.alert_id


def test_decision_for_actions():
    st = EpisodeState()
    review = _decide(st, 0.0, volume=0.91, extraction=0.91)
    assert review is not None and decision_for(review, CFG) is None
    throttle = _decide(st, 10.0, volume=0.96, extraction=0.96)
    assert throttle is not None
    d = decision_for(throttle, CFG)
    assert d is not None
    assert d["action"] == "throttle" and d["rpm"] == CFG.throttle_rpm
    assert d["until"] == 10.0 + CFG.throttle_for_s and d["alert_id"] == throttle.alert_id
    block = _decide(st, 20.0, volume=0.999, extraction=0.999)
    assert block is not None
    d = decision_for(block, CFG)
    assert d is not None and d["action"] == "block" and d["rpm"] is None
    assert d["until"] == 20.0 + CFG.block_for_s


@pytest.mark.parametrize(
    "kwargs",
    [{"rules": ()}, {"review_at": 0.99, "throttle_at": 0.9}, {"release_below": 0.999}],
)
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ConfigError):
        PolicyConfig(**kwargs)
