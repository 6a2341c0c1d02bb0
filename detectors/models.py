"""Online, population-relative scorers for account feature vectors.

The contract is river's: ``score_one(x)`` then ``learn_one(x)``, a dict of features in,
a float out, update methods return ``None``. What a detector learns is the population
of accounts it has seen (never the accounts the policy flagged: the processor does not
call ``learn_one`` for them, nor does a detector learn a vector past its floor), so a
campaign cannot teach the model that it is normal.

Every detector calibrates its own raw score to [0, 1] against the rolling history of
raw scores it learned from (an empirical CDF), so no raw cut-off is shared across
detectors and the policy's thresholds read as "how rare among peers". A detector may
also have a floor in its raw score's own units (``min_raw``): rank alone is no evidence,
since a population's top half percent holds someone even when nobody misbehaves.
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from detectors.exceptions import ConfigError
from detectors.features import FEATURES


class LatestPerKey:
    """Sorted values, one per key (the latest), bounded to the most recently updated keys.

    The population a detector compares with is made of *accounts*, not account-hours:
    an account active around the clock must not weigh more than one active an hour a
    day, or a campaign running 24/7 would soon make up the tail it is judged against.

    Args:
        size: most keys kept; the least recently updated key is dropped first.

    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: list[float] = []  # sorted
        self._latest: OrderedDict[str, float] = OrderedDict()
        self._anonymous = 0

    def __len__(self) -> int:
        return len(self.data)

    def _remove(self, value: float) -> None:
        del self.data[bisect.bisect_left(self.data, value)]

    def update(self, value: float, key: str | None = None) -> None:
        """Set ``key``'s value (a key of ``None`` adds a value of its own)."""
        if key is None:
            self._anonymous += 1
            key = f"\x00{self._anonymous}"
        old = self._latest.pop(key, None)
        if old is not None:
            self._remove(old)
        elif len(self._latest) >= self.size:
            _, dropped = self._latest.popitem(last=False)
            self._remove(dropped)
        self._latest[key] = value
        bisect.insort(self.data, value)

    def forget(self, key: str) -> None:
        """Drop ``key``'s value, if any."""
        old = self._latest.pop(key, None)
        if old is not None:
            self._remove(old)


@runtime_checkable
class Detector(Protocol):
    """What every detector offers the processor and the policy."""

    name: str

    @property
    def ready(self) -> bool:
        """Whether the detector has seen enough of the population to be trusted."""
        ...

    def score_one(self, x: Mapping[str, float]) -> float:
        """Return the calibrated anomaly score of ``x`` in [0, 1] (0 while not ready)."""
        ...

    def learn_one(self, x: Mapping[str, float], key: str | None = None) -> None:
        """Fold ``x`` into the population reference and the calibration history.

        ``key`` (the account id) makes ``x`` replace that account's earlier vector, so
        the population is one vector per account; without it, ``x`` counts on its own.
        A ready detector with a floor does not learn a vector past it (``suspect``).
        """
        ...

    def forget(self, key: str) -> None:
        """Drop ``key``'s features from the peer reference (an account the policy just flagged).

        Its raw score stays in the calibration history (see ``Calibrator``).
        """
        ...

    def explain(self, x: Mapping[str, float]) -> list[str]:
        """Return human-readable reasons, with numbers and population reference, for ``x``."""
        ...


@dataclass(frozen=True, slots=True)
class FeatureScale:
    """How one feature is compared with the population.

    Args:
        name: a key of ``FEATURES``.
        log: compare ``log1p(value)`` instead of the value (heavy-tailed counts).
        min_scale: floor of the robust spread, in transformed units, so a feature
            on which most accounts agree exactly (spread 0) does not blow up.

    """

    name: str
    log: bool = False
    min_scale: float = 0.1

    def transform(self, value: float) -> float:
        """Map a raw feature value onto the scale it is compared on."""
        return math.log1p(max(value, 0.0)) if self.log else value


class PopulationReference:
    """Rolling sample of feature values across accounts, with robust statistics.

    Args:
        scales: the features tracked and how each is compared.
        window: how many recent learned vectors the reference keeps (bounded).

    """

    def __init__(self, scales: Sequence[FeatureScale], window: int = 2048) -> None:
        for s in scales:
            if s.name not in FEATURES:
                raise ConfigError(f"unknown feature {s.name!r}")
        self.scales = tuple(scales)
        self.window = window
        self._values: dict[str, LatestPerKey] = {s.name: LatestPerKey(window) for s in scales}

    def __len__(self) -> int:
        """Return how many accounts (or vectors) the reference holds."""
        return max((len(w) for w in self._values.values()), default=0)

    def learn_one(self, x: Mapping[str, float], key: str | None = None) -> None:
        """Add (or, for a known ``key``, replace) the features present in ``x``."""
        for s in self.scales:
            v = x.get(s.name)
            if v is not None:
                self._values[s.name].update(s.transform(v), key)

    def forget(self, key: str) -> None:
        """Drop ``key``'s values."""
        for w in self._values.values():
            w.forget(key)

    def quantile(self, name: str, q: float) -> float:
        """Return the ``q`` quantile of feature ``name`` in its raw (untransformed) units."""
        scale = next(s for s in self.scales if s.name == name)
        data = self._values[name].data
        if not data:
            return 0.0
        v = data[min(len(data) - 1, int(q * len(data)))]
        return math.expm1(v) if scale.log else v

    def z(self, scale: FeatureScale, value: float) -> float:
        """Robust z of ``value``: distance above the median in units of the IQR spread."""
        data = self._values[scale.name].data
        n = len(data)
        if n == 0:
            return 0.0
        med = data[n // 2]
        spread = (data[(3 * n) // 4] - data[n // 4]) / 1.349
        return (scale.transform(value) - med) / max(spread, scale.min_scale)


class Calibrator:
    """Map raw scores to [0, 1] by how rare they are in a rolling window of past raw scores.

    Below the window's ``tail_q`` quantile the calibrated score is the empirical CDF.
    Above it, the tail is extrapolated with an exponential (peaks over threshold, as in
    SPOT; Siffer et al., KDD 2017), so a raw score far beyond everything seen gets a
    score close to 1 instead of being capped at ``n / (n + 1)``.

    The exponential is anchored on two quantiles of the history, ``body_q`` and
    ``tail_q`` (by default the 90th and 97th percentiles): its scale is the one that
    decays from a share ``1 - body_q`` to ``1 - tail_q`` between them. The top few
    percent of the history, where accounts that abuse the service and are not yet
    flagged gather, do not enter the fit, so a campaign of many accounts cannot stretch
    the tail and hide itself; and the fit does not swing when a few top accounts are
    flagged or arrive (which is also why detectors keep flagged accounts' raw scores
    in the history: dropping them would pull the tail in and flag the next ones, an
    avalanche). The exception is an account past a detector's floor that teaches again
    unflagged: its score is dropped (``suspect``), and the floor stops the avalanche.

    Args:
        window: how many past raw scores are kept.
        tail_q: quantile above which the tail is extrapolated.
        body_q: lower quantile the tail's decay is measured from (``< tail_q``).
        refit_every: learned scores between refits of the tail.
        fallback_scale: tail scale, in raw-score units, when the history has no tail.
    """

    def __init__(
        self,
        window: int = 4096,
        tail_q: float = 0.97,
        body_q: float = 0.9,
        refit_every: int = 64,
        fallback_scale: float = 1.0,
    ) -> None:
        if not 0.0 < body_q < tail_q < 1.0:
            raise ConfigError(f"need 0 < body_q < tail_q < 1, got {body_q}, {tail_q}")
        self.fallback_scale = fallback_scale
        self._history = LatestPerKey(window)
        self.tail_q = tail_q
        self.body_q = body_q
        self.refit_every = refit_every
        self._since_fit = 0
        self._tail: tuple[float, float, float] | None = None  # (threshold, share, scale)

    def __len__(self) -> int:
        return len(self._history)

    def _fit_tail(self) -> tuple[float, float, float] | None:
        """Return (threshold, tail share, exponential scale) of the history, if any.

        A history whose two anchor quantiles coincide (most accounts scoring exactly
        the same, e.g. 0) has no measurable decay: above its maximum it falls back to
        a share of ``1 / (n + 1)`` decaying with ``fallback_scale``.
        """
        h = self._history.data
        n = len(h)
        if n < 50:
            return None
        body, threshold = h[int(self.body_q * n)], h[int(self.tail_q * n)]
        if threshold - body > 1e-9:
            share = 1.0 - self.tail_q
            scale = (threshold - body) / math.log((1.0 - self.body_q) / share)
            return threshold, share, scale
        return h[-1], 1.0 / (n + 1), self.fallback_scale

    @property
    def fitted(self) -> bool:
        """Whether the history has a tail to extrapolate (else scores cannot be trusted)."""
        if self._tail is None or self._since_fit >= self.refit_every:
            self._tail, self._since_fit = self._fit_tail(), 0
        return self._tail is not None

    def calibrate(self, raw: float) -> float:
        """Return the calibrated score of ``raw`` in [0, 1]."""
        h = self._history.data
        n = len(h)
        if n == 0:
            return 0.0
        if self.fitted:
            assert self._tail is not None  # set by fitted
            threshold, share, scale = self._tail
            if raw > threshold:
                return 1.0 - share * math.exp(-(raw - threshold) / scale)
        lo = bisect.bisect_left(h, raw)
        hi = bisect.bisect_right(h, raw, lo=lo)
        return (lo + 0.5 * (hi - lo)) / (n + 1)

    def learn_one(self, raw: float, key: str | None = None) -> None:
        """Add a raw score to the history (replacing ``key``'s earlier one)."""
        self._history.update(raw, key)
        self._since_fit += 1

    def forget(self, key: str) -> None:
        """Drop ``key``'s raw score from the history (the tail is refitted before next use)."""
        self._history.forget(key)
        self._since_fit = self.refit_every


def floor_of(detector: object) -> tuple[float, float]:
    """Return a detector's ``(min_raw, floor_cap)``; ``(0.0, 1.0)`` for one without a floor.

    The ``Detector`` protocol does not require a floor: detectors other than the shipped
    ones may have none.
    """
    return float(getattr(detector, "min_raw", 0.0)), float(getattr(detector, "floor_cap", 1.0))


def gated(calibrated: float, raw: float, min_raw: float, cap: float) -> float:
    """Return ``calibrated``, capped at ``cap`` while ``raw`` is under ``min_raw``.

    Rank alone is not evidence: the top half percent of a population holds someone even
    when nobody misbehaves. The floor asks for a material deviation as well, in the raw
    score's own units (robust z), which do not move with who else is in the traffic.
    """
    return min(calibrated, cap) if min_raw > 0.0 and raw < min_raw else calibrated


def suspect(raw: float, min_raw: float) -> bool:
    """Whether ``raw`` passes a floor (``min_raw`` > 0): such a vector is not learned.

    A detector that learns from accounts past its floor lets a campaign that makes up
    a few percent of the accounts calibrate itself as the population's normal tail. So
    a ready detector does not learn such a vector, and retracts what the account taught
    before (its peer vector and its calibration score). Dropping scores from the top
    of the calibration pulls the tail in, which without a floor could flag the next
    accounts and so on (an avalanche); with the floor, it stops at accounts whose
    deviation is not material.
    """
    return min_raw > 0.0 and raw >= min_raw


class _Floored:
    """Readiness, floored calibrated scoring and refusing suspects, shared by the detectors below.

    A subclass sets ``calibrator`` and defines ``raw_score``, ``forget`` (which calls
    ``_drop_pending``), ``_population_size`` and ``_learn_peer``.

    Args:
        min_population: learned vectors needed before the detector is ready.
        min_raw: the floor (see ``RobustPeerDetector``; 0: no floor).
        floor_cap: the cap of a score under the floor.

    """

    calibrator: Calibrator

    def __init__(self, min_population: int, min_raw: float, floor_cap: float) -> None:
        if min_raw < 0.0 or not 0.0 < floor_cap <= 1.0:
            raise ConfigError(
                f"need min_raw >= 0 and 0 < floor_cap <= 1, got {min_raw}, {floor_cap}"
            )
        self.min_population = min_population
        self.min_raw = min_raw
        self.floor_cap = floor_cap
        self._ready = False
        # Vectors learned before the population reached ``min_population``, by key (one
        # of their own, \x01 and a number, for vectors without); ``None`` once calibrating
        # (see ``learn_one``).
        self._pending: dict[str, Mapping[str, float]] | None = {}
        self._anonymous = 0

    def raw_score(self, x: Mapping[str, float]) -> float:
        """Return the uncalibrated score of ``x``."""
        raise NotImplementedError

    def forget(self, key: str) -> None:
        """Drop ``key``'s features from the peer reference."""
        raise NotImplementedError

    def _population_size(self) -> int:
        """Return how many accounts the peer reference holds."""
        raise NotImplementedError

    def _learn_peer(self, x: Mapping[str, float], key: str | None) -> None:
        """Add ``x`` to the peer reference (replacing ``key``'s earlier vector)."""
        raise NotImplementedError

    def learn_one(self, x: Mapping[str, float], key: str | None = None) -> None:
        """Learn ``x`` as one more peer, and its raw score as calibration history.

        Until the population holds ``min_population`` accounts, the vectors are kept
        (at most that many) and only then scored, all against that population, into the
        calibration history: the detector is ready with its first ``min_population``
        accounts, and no raw score in the history was taken against a thinner population
        (against a handful of peers, every account is far out). Once ready, a vector
        past the floor is not learned, and ``key``'s earlier one is retracted
        (``suspect``).
        """
        pending = self._pending
        if pending is None:
            raw = self.raw_score(x)
            if self._refuses(raw, key):
                return
            self.calibrator.learn_one(raw, key)
            self._learn_peer(x, key)
            return
        self._learn_peer(x, key)
        if key is None:
            self._anonymous += 1
        pending[key if key is not None else f"\x01{self._anonymous}"] = dict(x)
        if self._population_size() >= self.min_population:
            self._pending = None
            for k, v in pending.items():
                self.calibrator.learn_one(self.raw_score(v), None if k.startswith("\x01") else k)

    def _drop_pending(self, key: str) -> None:
        """Drop ``key``'s kept vector, if the calibration has not started yet."""
        if self._pending is not None:
            self._pending.pop(key, None)

    def _refuses(self, raw: float, key: str | None) -> bool:
        """Whether not to learn a vector scoring ``raw``; if so, retract ``key``'s earlier one.

        Only a ready detector refuses (``suspect``): before, raw scores against a thin
        population run high.
        """
        if not (self.ready and suspect(raw, self.min_raw)):
            return False
        if key is not None:
            self.forget(key)
            self.calibrator.forget(key)
        return True

    @property
    def ready(self) -> bool:
        """Whether enough accounts were learned to judge against, with a fitted tail.

        Once true it stays true (a latch): retracting accounts past the floor may take
        the history back under ``min_population``, and a detector that fell out of
        readiness would learn them again.
        """
        if not self._ready:
            self._ready = len(self.calibrator) >= self.min_population and self.calibrator.fitted
        return self._ready

    def score_one(self, x: Mapping[str, float]) -> float:
        """Return the calibrated score in [0, 1]; 0 while the detector is not ready."""
        if not self.ready:
            return 0.0
        raw = self.raw_score(x)
        return gated(self.calibrator.calibrate(raw), raw, self.min_raw, self.floor_cap)


class RobustPeerDetector(_Floored):
    """Score how far an account's features sit above its peers' (robust z, calibrated).

    The raw score is the mean of the ``top`` largest positive robust z values among the
    detector's features, scaled down by ``damp`` features (values in [0, 1] that make
    the pattern benign, e.g. the multiple-choice share of an evaluation harness).

    Args:
        name: the detector's name, as alerts list it.
        scales: the features compared with the population.
        top: how many of the strongest deviations are averaged.
        damp: features whose value ``d`` multiplies the raw score by ``1 - d``.
        window: population and calibration window size.
        min_population: learned vectors needed before the detector is ready.
        z_reason: robust z above which a feature is named in the reasons.
        z_cap: robust z values are clipped to ``[-z_cap, z_cap]``.
        min_raw: raw score (robust z units) below which the calibrated score is capped
            at ``floor_cap``, however rare the account among its peers, and from which a
            ready detector does not learn the vector (``suspect``; 0: no floor) ...
        floor_cap: ... the cap: below the policy's ``review_at``, so an account under
            the floor opens no episode, and above its ``release_below``, so an open
            episode does not close because the deviation eased a little.

    """

    def __init__(
        self,
        name: str,
        scales: Sequence[FeatureScale],
        top: int = 1,
        damp: Sequence[str] = (),
        window: int = 2048,
        min_population: int = 100,
        z_reason: float = 3.0,
        z_cap: float = 8.0,
        min_raw: float = 0.0,
        floor_cap: float = 0.99,
    ) -> None:
        super().__init__(min_population, min_raw, floor_cap)
        if top < 1 or top > len(scales):
            raise ConfigError(f"top must be in [1, {len(scales)}], got {top}")
        for d in damp:
            if d not in FEATURES:
                raise ConfigError(f"unknown damping feature {d!r}")
        self.name = name
        self.top = top
        self.damp = tuple(damp)
        self.z_reason = z_reason
        self.z_cap = z_cap
        self.population = PopulationReference(scales, window)
        self.calibrator = Calibrator(2 * window)

    def _zs(self, x: Mapping[str, float]) -> list[tuple[float, FeatureScale]]:
        """Return (robust z, scale) for every feature present in ``x``, strongest first."""
        cap = self.z_cap
        zs = [
            (min(max(self.population.z(s, v), -cap), cap), s)
            for s in self.population.scales
            if (v := x.get(s.name)) is not None
        ]
        zs.sort(key=lambda t: t[0], reverse=True)
        return zs

    def raw_score(self, x: Mapping[str, float]) -> float:
        """Return the uncalibrated score (mean of the strongest positive deviations)."""
        zs = self._zs(x)[: self.top]
        if not zs:
            return 0.0
        raw = sum(max(z, 0.0) for z, _ in zs) / self.top
        for d in self.damp:
            raw *= 1.0 - min(max(x.get(d, 0.0), 0.0), 1.0)
        return raw

    def _population_size(self) -> int:
        return len(self.population)

    def _learn_peer(self, x: Mapping[str, float], key: str | None) -> None:
        self.population.learn_one(x, key)

    def forget(self, key: str) -> None:
        """Drop ``key``'s features from the population; keep its raw score in calibration."""
        self.population.forget(key)
        self._drop_pending(key)

    def explain(self, x: Mapping[str, float]) -> list[str]:
        """Name each feature whose deviation passes ``z_reason``, with the peers' p99.9."""
        reasons = []
        for z, s in self._zs(x):
            if z < self.z_reason:
                break
            spec = FEATURES[s.name]
            value = spec.fmt.format(x[s.name])
            ref = spec.fmt.format(self.population.quantile(s.name, 0.999))
            reasons.append(f"{spec.phrase} {value} (population p99.9: {ref})")
        return reasons


class ConjunctiveDetector(_Floored):
    """Score accounts that stand out on *every* one of several aspects at once.

    The raw score is the weighted geometric mean of the parts' raw scores (each a mean
    of robust z values against the population), so an account must deviate on all aspects to
    score high: broad coverage alone (a curious power user) or reasoning demands alone
    (a chain-of-thought benchmark, a tutoring app) do not. The joint raw score is
    calibrated against its own rolling history, like any detector's.

    Args:
        name: the detector's name, as alerts list it.
        parts: the aspects; their populations are learned through this detector.
        weights: relative weight of each part in the geometric mean (default equal).
        min_population: learned vectors needed before the detector is ready.
        window: calibration window size.
        min_raw: raw score below which the calibrated score is capped at ``floor_cap``,
            and from which a ready detector does not learn (see ``RobustPeerDetector``;
            0: no floor).
        floor_cap: the cap under the floor.

    """

    def __init__(
        self,
        name: str,
        parts: Sequence[RobustPeerDetector],
        weights: Sequence[float] | None = None,
        min_population: int = 100,
        window: int = 4096,
        min_raw: float = 0.0,
        floor_cap: float = 0.99,
    ) -> None:
        if not parts:
            raise ConfigError("a conjunctive detector needs at least one part")
        super().__init__(min_population, min_raw, floor_cap)
        weights = tuple(weights) if weights is not None else (1.0,) * len(parts)
        if len(weights) != len(parts) or min(weights) <= 0.0:
            raise ConfigError("one positive weight per part")
        self.name = name
        self.parts = tuple(parts)
        total = sum(weights)
        self.exponents = tuple(w / total for w in weights)
        self.calibrator = Calibrator(window)

    def raw_score(self, x: Mapping[str, float]) -> float:
        """Return the weighted geometric mean of the parts' raw scores."""
        product = 1.0
        for part, exponent in zip(self.parts, self.exponents, strict=True):
            product *= math.pow(part.raw_score(x), exponent)
        return product

    def _population_size(self) -> int:
        return min(len(p.population) for p in self.parts)

    def _learn_peer(self, x: Mapping[str, float], key: str | None) -> None:
        for part in self.parts:
            part.population.learn_one(x, key)

    def forget(self, key: str) -> None:
        """Drop ``key``'s features from the populations; keep its raw score in calibration."""
        for part in self.parts:
            part.population.forget(key)
        self._drop_pending(key)

    def explain(self, x: Mapping[str, float]) -> list[str]:
        """Return the parts' reasons, in part order."""
        return [r for part in self.parts for r in part.explain(x)]


def volume_detector(window: int = 2048, min_population: int = 100) -> RobustPeerDetector:
    """Build the ``volume`` detector: request and token volume far above peers."""
    return RobustPeerDetector(
        "volume",
        [
            FeatureScale("req_24h", log=True),
            FeatureScale("req_1h", log=True),
            FeatureScale("out_tokens_24h", log=True),
            FeatureScale("req_per_active_hour", log=True),
        ],
        top=2,
        window=window,
        min_population=min_population,
    )


def coverage_detector(window: int = 2048, min_population: int = 100) -> RobustPeerDetector:
    """Build the ``coverage`` detector: systematic sweeps across capability areas.

    Breadth (how many capability areas, how evenly, how often consecutive prompts
    switch area: people stay on a topic within a session, sweeps move on with every
    request) or an ordered walk through a numbered list. Damped by the multiple-choice
    share: a benchmark run sweeps subjects too, but in short-answer, multiple-choice
    shape.
    """
    return RobustPeerDetector(
        "coverage",
        [
            FeatureScale("area_count_24h", log=True),
            FeatureScale("area_entropy", min_scale=0.05),
            FeatureScale("area_switch_rate", min_scale=0.05),
            FeatureScale("areas_recent", log=True),
            FeatureScale("enum_share", min_scale=0.05),
        ],
        top=2,
        damp=("mc_share",),
        window=window,
        min_population=min_population,
    )


def harvest_detector(window: int = 2048, min_population: int = 100) -> RobustPeerDetector:
    """Build the ``harvest`` detector: answers harvested for training data.

    Demands for step-by-step reasoning or full chains of thought, long outputs, and
    large ``max_tokens``. Damped by the multiple-choice share, like ``coverage``.
    """
    return RobustPeerDetector(
        "harvest",
        [
            FeatureScale("reasoning_share", min_scale=0.05),
            FeatureScale("out_tokens_per_req", log=True),
            FeatureScale("max_tokens_mean", log=True),
        ],
        top=2,
        damp=("mc_share",),
        window=window,
        min_population=min_population,
    )


def distill_detector(
    window: int = 2048, min_population: int = 100, min_raw: float = 2.5
) -> ConjunctiveDetector:
    """Build the ``distill`` detector: a systematic sweep *and* harvested answers at once.

    Coverage weighs twice as much as harvest: demanding reasoning is common among
    legitimate users (tutoring apps, chain-of-thought benchmarks); sweeping the whole
    capability taxonomy while doing it is not.

    ``min_raw`` is the floor on the joint deviation (the weighted geometric mean of the
    parts' mean robust z): under it no account reaches the policy's ``review_at``,
    however rare among its peers. Heavy legitimate users (broad interests, some
    reasoning demands) reach about 2 robust spreads on both aspects; harvesting sweeps
    reach 3 and more. Without the floor, the calibration alone must keep them apart,
    and it flags a fixed top share of whoever teaches it: traffic with few abusers
    would lend that share to power users.
    """
    return ConjunctiveDetector(
        "distill",
        [
            coverage_detector(window, min_population),
            harvest_detector(window, min_population),
        ],
        weights=(2.0, 1.0),
        min_population=min_population,
        window=2 * window,
        min_raw=min_raw,
    )
