"""Timing helpers: diurnal curves, local days, sessions and paced or Poisson arrivals."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator

DAY = 86400.0
HOUR = 3600.0

#: Relative activity by local hour for people chatting in their free time.
CASUAL_CURVE: tuple[float, ...] = (
    0.25, 0.12, 0.06, 0.03, 0.03, 0.05, 0.15, 0.45, 0.7, 0.75, 0.8, 0.85,
    0.95, 0.9, 0.8, 0.8, 0.85, 0.95, 1.0, 1.1, 1.2, 1.15, 0.9, 0.55,
)  # fmt: skip
#: Relative activity by local hour for people working (long days, late evenings).
WORK_CURVE: tuple[float, ...] = (
    0.2, 0.1, 0.05, 0.02, 0.02, 0.04, 0.15, 0.45, 0.85, 1.0, 1.0, 1.0,
    0.8, 0.95, 1.0, 1.0, 0.95, 0.8, 0.6, 0.55, 0.6, 0.6, 0.5, 0.35,
)  # fmt: skip
#: Relative request rate by local hour for a consumer app's end users.
APP_CURVE: tuple[float, ...] = (
    0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.85, 0.95, 1.0, 1.0,
    1.05, 1.05, 1.0, 1.0, 1.0, 1.05, 1.1, 1.15, 1.15, 1.05, 0.8, 0.55,
)  # fmt: skip


def curve_cum(curve: tuple[float, ...]) -> tuple[float, ...]:
    """Return cumulative weights of a 24-hour curve (for ``pick_hour``)."""
    return tuple(itertools.accumulate(curve))


def pick_hour(r: random.Random, cum: tuple[float, ...]) -> float:
    """Draw a local time of day (hours, fractional) from cumulative hourly weights."""
    h = bisect.bisect_right(cum, r.random() * cum[-1])
    return min(h, 23) + r.random()


def local_days(start: float, end: float, tz_hours: float) -> Iterator[tuple[float, int]]:
    """Yield (UTC epoch of local midnight, weekday 0=Mon) for local days overlapping the window.

    Starts one day early so that activity begun the evening before can spill over.
    """
    off = tz_hours * HOUR
    day0 = math.floor((start + off) / DAY) * DAY - off - DAY
    t = day0
    while t < end:
        weekday = (int((t + off) // DAY) + 3) % 7  # 1970-01-01 was a Thursday
        yield t, weekday
        t += DAY


def hour_of(ts: float, tz_hours: float) -> int:
    """Return the local hour (0-23) of ``ts`` at UTC offset ``tz_hours``."""
    return int(((ts + tz_hours * HOUR) % DAY) // HOUR)


def lognormal(r: random.Random, median: float, sigma: float) -> float:
    """Draw from a log-normal distribution with the given median."""
    return median * math.exp(r.gauss(0.0, sigma))


def loguniform(r: random.Random, lo: float, hi: float) -> float:
    """Draw from a log-uniform distribution on [lo, hi]."""
    return math.exp(r.uniform(math.log(lo), math.log(hi)))


def poisson(r: random.Random, mean: float) -> int:
    """Draw a Poisson count (normal approximation above 30)."""
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        return max(0, round(r.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, r.random()
    while p > limit:
        k += 1
        p *= r.random()
    return k


def session_times(
    r: random.Random,
    day: float,
    cum: tuple[float, ...],
    count: int,
    mean_len: float,
    gap_median: float,
) -> list[tuple[float, int, int]]:
    """Lay ``count`` messages out as human sessions in one local day.

    Returns sorted (time, session number, position in session). Sessions start at
    hours drawn from ``cum``; messages inside are minutes apart (log-normal gaps).
    """
    out: list[tuple[float, int, int]] = []
    left, s = count, 0
    while left > 0:
        size = min(left, 1 + poisson(r, mean_len - 1.0))
        t = day + pick_hour(r, cum) * HOUR
        for k in range(size):
            out.append((t, s, k))
            t += min(1800.0, max(6.0, lognormal(r, gap_median, 0.7)))
        left -= size
        s += 1
    out.sort()
    return out


def human_times(
    r: random.Random,
    start: float,
    end: float,
    tz: float,
    cum: tuple[float, ...],
    daily: float,
    mean_len: float,
    gap_median: float,
    day_off: float,
    weekend: float,
) -> Iterator[tuple[float, int, int]]:
    """Yield (time, session id, position in session) of a person's messages, in order.

    About ``daily`` messages per local day (varying day to day, none on a day off, times
    ``weekend`` on Saturdays and Sundays), in sessions of about ``mean_len`` messages.
    Sessions that run past midnight are merged in order with the next day's.
    """
    carry: list[tuple[float, int, int]] = []
    for n, (day, weekday) in enumerate(local_days(start, end, tz)):
        mood = lognormal(r, 1.0, 0.35) * (weekend if weekday >= 5 else 1.0)
        count = 0 if r.random() < day_off else poisson(r, daily * mood)
        times = session_times(r, day, cum, count, mean_len, gap_median)
        if carry:
            times = sorted(carry + [(t, s + n * 1000, k) for t, s, k in times])
        else:
            times = [(t, s + n * 1000, k) for t, s, k in times]
        horizon = day + DAY
        carry = []
        for item in times:
            if item[0] >= horizon:
                carry.append(item)
                continue
            if item[0] < start:
                continue
            if item[0] >= end:
                return
            yield item
    for item in carry:
        if start <= item[0] < end:
            yield item
