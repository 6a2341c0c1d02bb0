"""Unit tests for the fixed-size event-time windows (hand-computed expectations)."""

import math

import pytest

from detectors.windows import BucketRing, DecayedMoments, LastSeen, normalised_entropy


def test_bucket_ring_sums_inside_window_and_drops_expired():
    ring = BucketRing(n=3, width=10.0, metrics=2)
    assert ring.add(0.0, (1.0, 5.0))
    assert ring.add(9.9, (1.0, 1.0))  # same bucket 0
    assert ring.add(15.0, (1.0, 2.0))  # bucket 1
    assert ring.total(0, 29.0) == 3.0  # buckets 0..2 all inside
    assert ring.total(1, 29.0) == 8.0
    assert ring.total(0, 30.0) == 1.0  # window 1..3: bucket 0 out
    assert ring.total(0, 50.0) == 0.0
    assert ring.active(0, 29.0) == 2


def test_bucket_ring_advance_clears_reused_slots():
    ring = BucketRing(n=2, width=1.0, metrics=1)
    ring.add(0.5, (4.0,))
    ring.add(1.5, (2.0,))
    ring.add(2.5, (1.0,))  # reuses slot of bucket 0, which must be cleared
    assert ring.total(0, 2.5) == 3.0
    ring.add(100.0, (7.0,))  # jump far ahead: everything cleared
    assert ring.total(0, 100.0) == 7.0


def test_bucket_ring_rejects_too_old_but_takes_late_inside_window():
    ring = BucketRing(n=3, width=10.0, metrics=1)
    ring.add(100.0, (1.0,))
    assert not ring.add(75.0, (1.0,))  # bucket 7 <= 10 - 3
    assert ring.add(85.0, (1.0,))  # bucket 8 still inside
    assert ring.total(0, 100.0) == 2.0


def test_decayed_moments_constant_series_has_zero_cv():
    m = DecayedMoments(alpha=0.1)
    for _ in range(50):
        m.update(60.0)
    assert m.mean == pytest.approx(60.0)
    assert m.cv == pytest.approx(0.0)


def test_decayed_moments_alternating_series():
    m = DecayedMoments(alpha=0.5)
    m.update(0.0)
    m.update(2.0)
    # mean = 0 + 0.5 * 2 = 1; var = 0.5 * (0 + 2 * 1) = 1
    assert m.mean == pytest.approx(1.0)
    assert m.var == pytest.approx(1.0)
    assert m.cv == pytest.approx(1.0)


def test_last_seen_counts_categories_in_window():
    s = LastSeen(4)
    s.touch(0, 10.0)
    s.touch(1, 20.0)
    s.touch(1, 5.0)  # older: ignored
    s.touch(3, 30.0)
    assert s.count_since(15.0) == 2
    assert s.count_since(0.0) == 3


def test_normalised_entropy():
    assert normalised_entropy([1.0, 1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert normalised_entropy([5.0, 0.0, 0.0, 0.0]) == 0.0
    assert normalised_entropy([0.0, 0.0]) == 0.0
    # two of four bins equally: ln 2 / ln 4 = 0.5
    assert normalised_entropy([1.0, 1.0, 0.0, 0.0]) == pytest.approx(math.log(2) / math.log(4))
