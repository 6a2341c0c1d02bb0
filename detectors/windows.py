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

    def merge(self, other: BucketRing) -> None:
        """Add ``other``'s buckets (same shape) into this ring; the newer head wins.

        Buckets of ``other`` older than this ring's window after the merge are dropped,
        as ``add`` would drop them.
        """
        if (other.n, other.width, other.metrics) != (self.n, self.width, self.metrics):
            raise ValueError("cannot merge rings of different shapes")
        if other._head < 0:
            return
        if other._head > self._head:
            self._advance(other._head)
        m, theirs, sums = self.metrics, other._sums, self._sums
        for b in range(max(other._head, self._head) - self.n + 1, other._head + 1):
            if b <= other._head - other.n:
                continue
            base = (b % self.n) * m
            for i in range(base, base + m):
                sums[i] += theirs[i]

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

    def merge(self, other: DecayedMoments) -> None:
        """Fold in the moments of another stream's values, read as gaps between events.

        Two streams of events merged into one have shorter gaps: the merged mean is the
        harmonic combination of the two means (rates add), and the fuller stream's
        coefficient of variation is kept. An approximation: the order-dependent
        moments of the interleaved stream cannot be recovered from the two summaries.
        """
        if other.count == 0:
            return
        if self.count == 0:
            self.count, self.mean, self.var = other.count, other.mean, other.var
            return
        cv = self.cv if self.count >= other.count else other.cv
        if self.mean > 0.0 and other.mean > 0.0:
            self.mean = 1.0 / (1.0 / self.mean + 1.0 / other.mean)
        else:
            self.mean = 0.0
        self.var = (cv * self.mean) ** 2
        self.count += other.count

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

    def merge(self, other: LastSeen) -> None:
        """Keep, per category, the later of the two last-seen times."""
        mine = self._ts
        for i, t in enumerate(other._ts):
            mine[i] = max(mine[i], t)

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
