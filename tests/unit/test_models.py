"""Unit tests for detectors: population reference, calibration and the shared contract."""

import copy
import math
import pickle
import random

import pytest

from detectors.exceptions import ConfigError
from detectors.models import (
    Calibrator,
    Detector,
    FeatureScale,
    PopulationReference,
    RobustPeerDetector,
    coverage_detector,
    distill_detector,
    gated,
    harvest_detector,
    volume_detector,
)
from detectors.policy import PolicyConfig


def test_calibrator_is_empirical_cdf():
    c = Calibrator(window=4)
    assert c.calibrate(1.0) == 0.0  # no history
    for v in (1.0, 2.0, 3.0, 4.0):
        c.learn_one(v)
    assert c.calibrate(0.0) == 0.0
    assert c.calibrate(2.5) == pytest.approx(2 / 5)
    assert c.calibrate(2.0) == pytest.approx(1.5 / 5)  # tie counts half
    assert c.calibrate(99.0) == pytest.approx(4 / 5)
    c.learn_one(5.0)  # window 4: drops 1.0
    assert c.calibrate(1.5) == 0.0


def test_calibrator_tail_scale_resists_a_contaminated_tail():
    clean, dirty = Calibrator(window=1000, refit_every=1), Calibrator(window=1000, refit_every=1)
    for i in range(1000):
        clean.learn_one(float(i % 100))
        # the same, but 2% of the history is far-out abusers not yet flagged
        dirty.learn_one(float(i % 100) if i % 50 else 1000.0 + i)
    assert dirty.calibrate(500.0) > 0.999
    # a mean-excess fit would give dirty.calibrate(95.0) ~ 0.81 here
    assert abs(dirty.calibrate(95.0) - clean.calibrate(95.0)) < 0.05


def test_calibrator_tail_does_not_swing_when_the_top_accounts_leave():
    # flagging the top accounts must not pull the tail in and flag the next ones
    full, trimmed = Calibrator(window=1000, refit_every=1), Calibrator(window=1000, refit_every=1)
    rng = random.Random(3)
    values = sorted(rng.expovariate(1.0) for _ in range(1000))
    for i, v in enumerate(values):
        full.learn_one(v, f"a{i}")
        if i < 990:  # without the top 1%
            trimmed.learn_one(v, f"a{i}")
    x = values[985]
    assert full.calibrate(x) > 0.98
    # an empirical CDF would move from 0.985 to 0.995 (rank 985 of 990)
    assert abs(full.calibrate(x) - trimmed.calibrate(x)) < 0.005


def test_calibrator_rejects_inverted_quantiles():
    with pytest.raises(ConfigError):
        Calibrator(tail_q=0.9, body_q=0.95)


def test_calibrator_extrapolates_the_tail_beyond_history():
    c = Calibrator(window=1000, tail_q=0.9, body_q=0.8, refit_every=1)
    for i in range(1000):
        c.learn_one(float(i % 100))  # uniform 0..99, ten of each
    # below the 0.9 quantile (90.0): plain empirical CDF
    assert c.calibrate(50.0) == pytest.approx(505 / 1001)
    # above it: 1 - 0.1 * exp(-(x - 90) / scale), where the scale makes the share halve
    # (0.2 above the 0.8 quantile, 80.0, to 0.1 above 90.0) over 10: scale = 10 / ln 2
    assert c.calibrate(99.0) == pytest.approx(1 - 0.1 * math.exp(-9 * math.log(2) / 10))
    assert c.calibrate(1000.0) > 0.999999
    assert c.calibrate(1000.0) <= 1.0


def test_calibrator_handles_a_point_mass_at_zero():
    c = Calibrator(window=1000, refit_every=1)
    for i in range(1000):
        c.learn_one(0.0 if i % 10 else float(i % 7 + 1))  # 90% exactly 0, 10% in 1..7
    assert c.fitted
    # the tail is fitted on the positive values, not on a zero-width band at 0
    assert c.calibrate(0.5) < 0.95
    assert c.calibrate(30.0) > 0.999


def test_calibrator_without_a_tail_falls_back_above_the_maximum():
    c = Calibrator(window=100, fallback_scale=1.0)
    for _ in range(99):
        c.learn_one(0.0)
    assert c.fitted
    assert c.calibrate(0.0) == pytest.approx(49.5 / 100)  # ties count half
    assert c.calibrate(3.0) == pytest.approx(1 - 0.01 * math.exp(-3.0))


def test_population_reference_robust_z():
    ref = PopulationReference([FeatureScale("req_24h", min_scale=0.5)], window=100)
    for v in range(1, 102):  # keeps 2..101
        ref.learn_one({"req_24h": float(v)})
    # median of 2..101 (100 values) at index 50 is 52; IQR = data[75]-data[25] = 77-27 = 50
    z = ref.z(ref.scales[0], 52.0 + 50.0 / 1.349)
    assert z == pytest.approx(1.0)
    assert ref.quantile("req_24h", 0.0) == 2.0
    assert ref.quantile("req_24h", 0.999) == 101.0


def test_min_scale_floors_degenerate_spread():
    ref = PopulationReference([FeatureScale("reasoning_share", min_scale=0.05)], window=50)
    for _ in range(50):
        ref.learn_one({"reasoning_share": 0.0})
    assert ref.z(ref.scales[0], 0.5) == pytest.approx(10.0)


def test_unknown_feature_is_a_config_error():
    with pytest.raises(ConfigError):
        PopulationReference([FeatureScale("no_such_feature")])
    with pytest.raises(ConfigError):
        RobustPeerDetector("x", [FeatureScale("req_24h")], top=2)


REVIEW_AT = PolicyConfig().review_at


def _population(seed, n):
    rng = random.Random(seed)
    for _ in range(n):
        yield {
            "req_24h": rng.lognormvariate(4, 1),
            "req_1h": rng.lognormvariate(2, 1),
            "out_tokens_24h": rng.lognormvariate(9, 1),
            "req_per_active_hour": rng.lognormvariate(2, 0.5),
            "area_count_24h": float(rng.randint(1, 5)),
            "area_entropy": rng.random() * 0.5,
            "area_switch_rate": rng.random() * 0.5,
            "areas_recent": float(rng.randint(1, 4)),
            "reasoning_share": rng.random() * 0.2,
            "enum_share": 0.0,
            "out_tokens_per_req": rng.lognormvariate(5, 0.5),
            "max_tokens_mean": rng.lognormvariate(7, 0.5),
            "mc_share": 0.0,
        }


DETECTORS = [volume_detector, coverage_detector, harvest_detector, distill_detector]


@pytest.mark.parametrize("make", DETECTORS)
def test_contract_warm_up_then_outlier_scores_high(make):
    det: Detector = make(window=512, min_population=100)
    assert isinstance(det, Detector)
    xs = list(_population(1, 400))
    assert det.score_one(xs[0]) == 0.0  # not ready: no judgement
    for x in xs:
        det.learn_one(x)
    assert det.ready
    typical = sorted(det.score_one(x) for x in _population(2, 200))
    assert typical[len(typical) // 2] < 0.8
    outlier = dict(xs[0])
    for k, v in outlier.items():
        outlier[k] = v * 1000 + 1 if k != "mc_share" else 0.0
    for share in ("area_entropy", "area_switch_rate", "reasoning_share", "enum_share"):
        outlier[share] = 1.0
    assert det.score_one(outlier) > 0.99
    assert det.explain(outlier)  # names features with numbers and population reference
    assert "population p99.9" in det.explain(outlier)[0]


@pytest.mark.parametrize("make", DETECTORS)
def test_contract_pickle_round_trip_and_determinism(make):
    a, b = make(window=256, min_population=50), make(window=256, min_population=50)
    for x in _population(3, 200):
        a.learn_one(x)
        b.learn_one(x)
    clone = pickle.loads(pickle.dumps(a))
    probes = list(_population(4, 20))
    assert [a.score_one(x) for x in probes] == [b.score_one(x) for x in probes]
    assert [a.score_one(x) for x in probes] == [clone.score_one(x) for x in probes]


@pytest.mark.parametrize("make", DETECTORS)
def test_contract_missing_optional_features_and_no_mutation(make):
    det = make(window=256, min_population=50)
    for x in _population(5, 100):
        det.learn_one(x)
    x = {"req_24h": 5.0}
    before = copy.deepcopy(x)
    s = det.score_one(x)
    det.learn_one(x)
    det.explain(x)
    assert 0.0 <= s <= 1.0
    assert x == before
    assert det.score_one({}) == det.score_one({})  # empty vector: defined, no error


def test_damping_feature_discounts_benchmark_shape():
    det = coverage_detector(window=256, min_population=50)
    for x in _population(6, 200):
        det.learn_one(x)
    sweep = {"area_count_24h": 20.0, "area_entropy": 0.95}
    assert det.raw_score({**sweep, "mc_share": 0.0}) > 0
    assert det.raw_score({**sweep, "mc_share": 1.0}) == 0.0


def test_gated_caps_only_under_the_floor():
    assert gated(0.999, 1.9, 2.0, 0.99) == 0.99
    assert gated(0.5, 1.9, 2.0, 0.99) == 0.5
    assert gated(0.999, 2.0, 2.0, 0.99) == 0.999
    assert gated(0.999, 0.0, 0.0, 0.99) == 0.999  # no floor


def test_floor_keeps_the_top_of_a_tame_population_under_review():
    """An account rare enough by rank to open an episode is capped while its deviation is small."""
    det = distill_detector(window=512, min_population=100, min_raw=2.5)
    for x in _population(7, 400):
        det.learn_one(x)
    probe = dict(max(_population(8, 3000), key=det.raw_score))
    while det.calibrator.calibrate(det.raw_score(probe)) < REVIEW_AT:  # just past the peers
        probe["area_switch_rate"] += 0.01
    assert 0.0 < det.raw_score(probe) < 2.5  # rare by rank, yet not far out
    assert det.score_one(probe) == det.floor_cap < REVIEW_AT
    sweep = {**probe, "area_count_24h": 40.0, "area_entropy": 0.95, "area_switch_rate": 0.95}
    sweep |= {"areas_recent": 16.0, "reasoning_share": 1.0, "max_tokens_mean": 32000.0}
    assert det.raw_score(sweep) >= 2.5
    assert det.score_one(sweep) >= REVIEW_AT


def test_distill_ships_with_a_floor():
    assert distill_detector().min_raw > 0.0
    assert volume_detector().min_raw == 0.0


def test_peer_detector_floor_caps_even_a_far_outlier():
    det = RobustPeerDetector("x", [FeatureScale("req_24h", log=True)], min_population=50)
    far = RobustPeerDetector(
        "x", [FeatureScale("req_24h", log=True)], min_population=50, min_raw=100.0
    )
    for x in _population(9, 200):
        det.learn_one(x)
        far.learn_one(x)
    outlier = {"req_24h": 1e9}
    assert det.score_one(outlier) > 0.999
    assert far.score_one(outlier) == far.floor_cap


def test_calibrator_forget_drops_a_keys_score():
    cal = Calibrator(window=100)
    for i in range(60):
        cal.learn_one(float(i), key=f"a{i}")
    top = cal.calibrate(58.5)
    cal.forget("a59")
    cal.forget("never-seen")
    assert len(cal) == 59
    assert cal.calibrate(58.5) > top  # one fewer score above it


def _sweeps(seed, n):
    """Vectors of accounts sweeping the taxonomy while demanding long reasoning."""
    rng = random.Random(seed)
    for x in _population(seed, n):
        yield {
            **x,
            "area_count_24h": float(rng.randint(25, 40)),
            "area_entropy": 0.85 + 0.1 * rng.random(),
            "area_switch_rate": 0.85 + 0.1 * rng.random(),
            "areas_recent": float(rng.randint(12, 16)),
            "reasoning_share": 0.8 + 0.2 * rng.random(),
            "max_tokens_mean": 32000.0,
        }


def test_ready_detector_does_not_learn_past_its_floor_and_retracts():
    det = distill_detector(window=512, min_population=100, min_raw=2.5)
    for i, x in enumerate(_population(10, 300)):
        det.learn_one(x, key=f"t{i}")
    assert det.ready
    tame = next(_population(11, 1))
    sweep = next(_sweeps(12, 1))
    assert det.raw_score(tame) < 2.5 <= det.raw_score(sweep)
    det.learn_one(tame, key="k")
    sizes = (len(det.parts[0].population), len(det.calibrator))
    det.learn_one(sweep, key="k")  # the account now sweeps: its tame vector is retracted
    assert (len(det.parts[0].population), len(det.calibrator)) == (sizes[0] - 1, sizes[1] - 1)
    det.learn_one(sweep)  # nor is an anonymous vector past the floor learned
    assert (len(det.parts[0].population), len(det.calibrator)) == (sizes[0] - 1, sizes[1] - 1)


@pytest.mark.parametrize("floor", [0.0, 2.5])
def test_a_campaign_of_many_accounts_cannot_calibrate_itself_as_normal(floor):
    """Sweeps that taught before the detector was ready are retracted when they teach again."""
    det = distill_detector(window=1024, min_population=100, min_raw=floor)
    tame, sweeps = list(_population(13, 440)), list(_sweeps(14, 60))
    accounts = [(f"t{i}", x) for i, x in enumerate(tame)]
    accounts[50:50] = [(f"s{i}", x) for i, x in enumerate(sweeps)]  # taught while not ready
    for key, x in accounts:
        det.learn_one(x, key=key)
    assert det.ready
    for key, x in accounts:  # accounts teach again later, as the processor has them do hourly
        det.learn_one(x, key=key)
    fresh = [det.score_one(x) for x in _sweeps(16, 20)]
    if floor:
        assert min(fresh) >= REVIEW_AT
    else:
        assert sorted(fresh)[len(fresh) // 2] < REVIEW_AT
    assert max(det.score_one(x) for x in _population(17, 200)) < REVIEW_AT


def test_peer_detector_does_not_learn_past_its_floor():
    det = RobustPeerDetector(
        "x", [FeatureScale("req_24h", log=True)], min_population=50, min_raw=2.0
    )
    for i, x in enumerate(_population(18, 200)):
        det.learn_one(x, key=f"t{i}")
    assert det.ready
    det.learn_one({"req_24h": 50.0}, key="k")
    sizes = (len(det.population), len(det.calibrator))
    det.learn_one({"req_24h": 1e6}, key="k")  # past the floor: retracted, not learned
    assert det.raw_score({"req_24h": 1e6}) >= 2.0
    assert (len(det.population), len(det.calibrator)) == (sizes[0] - 1, sizes[1] - 1)


def test_readiness_latches_when_retraction_shrinks_the_history():
    det = distill_detector(window=512, min_population=100, min_raw=2.5)
    for i, x in enumerate(_population(19, 160)):
        det.learn_one(x, key=f"t{i}")
    assert det.ready
    for i, x in enumerate(_sweeps(20, 120)):  # accounts that taught tame now sweep
        det.learn_one(x, key=f"t{i}")
    assert len(det.calibrator) < det.min_population
    assert det.ready


@pytest.mark.parametrize("make", [volume_detector, distill_detector])
def test_the_first_accounts_are_calibrated_against_the_population_they_make(make):
    """Ready with ``min_population`` accounts, their raw scores taken against all of them."""
    det = make(window=512, min_population=50)
    xs = list(_population(21, 50))
    for i, x in enumerate(xs[:49]):
        det.learn_one(x, key=f"a{i}")
    assert not det.ready
    assert len(det.calibrator) == 0
    det.learn_one(xs[49])  # the 50th account (no key) completes the population
    assert det.ready
    assert det.calibrator._history.data == sorted(det.raw_score(x) for x in xs)


def test_an_account_forgotten_before_calibration_leaves_no_raw_score():
    det = volume_detector(window=512, min_population=50)
    xs = list(_population(22, 60))
    for i, x in enumerate(xs[:30]):
        det.learn_one(x, key=f"a{i}")
    for i in range(5):
        det.forget(f"a{i}")  # flagged: unlearned
    det.learn_one(xs[5], key="a6")  # a re-taught account counts once
    for i, x in enumerate(xs[30:54]):
        det.learn_one(x, key=f"b{i}")
    assert not det.ready  # 25 + 24 accounts
    det.learn_one(xs[54], key="b24")
    assert det.ready
    kept = [x for x in xs[5:30] if x is not xs[6]] + [xs[5]] + xs[30:55]
    assert len(det.calibrator) == 50
    assert det.calibrator._history.data == sorted(det.raw_score(x) for x in kept)
    assert not {f"a{i}" for i in range(5)} & set(det.calibrator._history._latest)


def test_floor_settings_are_checked():
    with pytest.raises(ConfigError):
        distill_detector(min_raw=-1.0)
    with pytest.raises(ConfigError):
        RobustPeerDetector("x", [FeatureScale("req_24h")], floor_cap=0.0)
