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


def test_bucket_ring_merge_adds_buckets_inside_the_newer_window():
    a = BucketRing(4, 10.0, 2)
    b = BucketRing(4, 10.0, 2)
    a.add(5.0, (1.0, 10.0))  # bucket 0
    a.add(25.0, (1.0, 20.0))  # bucket 2
    b.add(21.0, (2.0, 5.0))  # bucket 2
    b.add(55.0, (1.0, 1.0))  # bucket 5: b's head is newer, bucket 0..1 leave the window
    a.merge(b)
    assert a.total(0, 55.0) == 1.0 + 2.0 + 1.0  # buckets 2 and 5; a's bucket 0 is gone
    assert a.total(1, 55.0) == 20.0 + 5.0 + 1.0
    assert a.total(0, 29.0) == 3.0  # the window ending in bucket 2: 2..5 clipped to 2
    assert b.total(0, 55.0) == 3.0  # other left as it was


def test_bucket_ring_merge_drops_the_others_buckets_older_than_this_window():
    a = BucketRing(3, 10.0, 1)
    b = BucketRing(3, 10.0, 1)
    a.add(95.0, (1.0,))  # bucket 9: window 7..9
    b.add(55.0, (5.0,))  # bucket 5: outside a's window
    b.add(75.0, (2.0,))  # bucket 7: inside
    a.merge(b)
    assert a.total(0, 95.0) == 3.0
    empty = BucketRing(3, 10.0, 1)
    empty.merge(b)
    assert empty.total(0, 75.0) == 7.0
    with pytest.raises(ValueError, match="shapes"):
        a.merge(BucketRing(4, 10.0, 1))


def test_decayed_moments_merge_adds_rates_and_keeps_the_fuller_cv():
    a = DecayedMoments(0.5)
    for x in (10.0, 10.0, 10.0):
        a.update(x)  # mean 10, cv 0
    b = DecayedMoments(0.5)
    b.update(30.0)
    a.merge(b)
    assert a.count == 4
    assert a.mean == pytest.approx(1.0 / (1.0 / 10.0 + 1.0 / 30.0))  # 7.5: rates add
    assert a.cv == 0.0  # a had more gaps: its cv is kept
    c = DecayedMoments(0.5)
    c.merge(b)
    assert (c.count, c.mean) == (1, 30.0)


def test_last_seen_merge_keeps_the_later_time_per_category():
    a = LastSeen(3)
    b = LastSeen(3)
    a.touch(0, 100.0)
    b.touch(0, 50.0)
    b.touch(2, 200.0)
    a.merge(b)
    assert a.count_since(100.0) == 2  # 0 at 100 (not 50), 2 at 200
    assert a.count_since(150.0) == 1
