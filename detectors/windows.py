"""Fixed-size event-time windows: the building blocks of per-account features.

Every structure here has a size fixed at construction, whatever the traffic, so the
memory an account costs is bounded from its first event. Time is always passed in
(event time, Unix seconds); nothing reads the clock.
"""

from __future__ import annotations

import math
from array import array

HOUR = 3600.0
DAY = 86400.0


class BucketRing:
    """Sums of several metrics in ``n`` consecutive buckets of ``width`` seconds.

    The ring covers the ``n`` buckets ending with the newest one seen. Values for a
    bucket older than the ring are dropped (they fell out of the window); a newer
    bucket advances the ring and clears the buckets it passes over.

    Args:
        n: number of buckets (e.g. 24 for a day of hourly buckets).
        width: bucket width in seconds.
        metrics: number of metrics summed per bucket.

    """

    __slots__ = ("_head", "_sums", "metrics", "n", "width")

    def __init__(self, n: int, width: float, metrics: int) -> None:
        self.n = n
        self.width = width
        self.metrics = metrics
        self._head = -1  # absolute index of the newest bucket, -1 before the first add
        self._sums = array("d", bytes(8 * n * metrics))

    def _advance(self, bucket: int) -> None:
        """Move the head forward to ``bucket``, zeroing every bucket passed over."""
        m = self.metrics
        if self._head < 0 or bucket - self._head >= self.n:
            for i in range(self.n * m):
                self._sums[i] = 0.0
        else:
            for b in range(self._head + 1, bucket + 1):
                base = (b % self.n) * m
                for i in range(base, base + m):
                    self._sums[i] = 0.0
        self._head = bucket

    def add(self, ts: float, values: tuple[float, ...]) -> bool:
        """Add one observation's metric values at event time ``ts``.

        Returns ``False`` (and changes nothing) when ``ts`` is older than the window.
        """
        bucket = int(ts // self.width)
        if bucket > self._head:
            self._advance(bucket)
        elif bucket <= self._head - self.n:
            return False
        base = (bucket % self.n) * self.metrics
        sums = self._sums
        for i, v in enumerate(values):
            sums[base + i] += v
        return True

    def total(self, metric: int, now: float) -> float:
        """Sum of ``metric`` over the buckets inside the window ending at ``now``."""
        newest = int(now // self.width)
        oldest = newest - self.n + 1
        m = self.metrics
        total = 0.0
        for b in range(max(oldest, self._head - self.n + 1), min(newest, self._head) + 1):
            total += self._sums[(b % self.n) * m + metric]
        return total

    def active(self, metric: int, now: float) -> int:
        """Count the buckets inside the window ending at ``now`` where ``metric`` > 0."""
        newest = int(now // self.width)
        oldest = newest - self.n + 1
        m = self.metrics
        count = 0
        for b in range(max(oldest, self._head - self.n + 1), min(newest, self._head) + 1):
            if self._sums[(b % self.n) * m + metric] > 0.0:
                count += 1
        return count


class DecayedMoments:
    """Exponentially weighted mean and variance of a value (West's incremental form).

    Args:
        alpha: weight of the newest observation, in (0, 1].

    """

    __slots__ = ("alpha", "count", "mean", "var")

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.count = 0
        self.mean = 0.0
        self.var = 0.0

    def update(self, x: float) -> None:
        """Fold one observation into the moments."""
        self.count += 1
        if self.count == 1:
            self.mean = x
            return
        a = self.alpha
        diff = x - self.mean
        incr = a * diff
        self.mean += incr
        self.var = (1.0 - a) * (self.var + diff * incr)

    @property
    def cv(self) -> float:
        """Coefficient of variation (std / mean); 0 when the mean is 0."""
        if self.mean <= 0.0:
            return 0.0
        return math.sqrt(max(self.var, 0.0)) / self.mean


class LastSeen:
    """Last event time per category, for 'how many categories in the last W seconds'.

    Args:
        n: number of categories (indices ``0 .. n-1``).

    """

    __slots__ = ("_ts",)

    def __init__(self, n: int) -> None:
        self._ts = array("d", [-math.inf] * n)

    def touch(self, index: int, ts: float) -> None:
        """Record that category ``index`` was seen at ``ts``."""
        self._ts[index] = max(self._ts[index], ts)

    def count_since(self, since: float) -> int:
        """Count the categories seen at or after ``since``."""
        return sum(1 for t in self._ts if t >= since)


def normalised_entropy(counts: array[float] | list[float]) -> float:
    """Shannon entropy of ``counts`` divided by its maximum, in [0, 1] (0 if empty)."""
    total = sum(counts)
    if total <= 0.0 or len(counts) < 2:
        return 0.0
    h = 0.0
    for c in counts:
        if c > 0.0:
            p = c / total
            h -= p * math.log(p)
    return h / math.log(len(counts))
