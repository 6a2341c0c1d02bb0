"""Per-account behavioural features over event-time windows, in bounded state.

``AccountFeatures.update`` runs once per request event and is O(1): it adds to fixed
rings, moments and small arrays. ``AccountFeatures.values`` runs on the scoring
cadence and returns the feature vector (name → number) that detectors score.

``FEATURES`` is the registry: every feature a detector may use, with the phrase and
unit that alert reasons print. A feature not in the registry cannot be emitted.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from detectors.prompts import AREAS, PromptProfile
from detectors.records import RequestEvent
from detectors.windows import DAY, HOUR, BucketRing, DecayedMoments, LastSeen, normalised_entropy


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How one feature is described in alert reasons."""

    phrase: str
    fmt: str = "{:,.0f}"


_RECENT_TEMPLATES = 64
_RECENT_AREAS = 16
_SWITCH_ALPHA = 0.1
# Sorted walks: per recent template, and across all the account's prompts (one list
# walked in several phrasings), the last slot code and the run of rises since the last
# fall. A prompt counts as a step once a run reaches _WALK_RUN: random order rises
# _WALK_RUN times in a row with probability 1/(_WALK_RUN + 1)! (under 1%).
_WALK_TEMPLATES = 4
_WALK_RUN = 4

FEATURES: dict[str, FeatureSpec] = {
    "req_1h": FeatureSpec("requests in 1 h"),
    "req_24h": FeatureSpec("requests in 24 h"),
    "in_tokens_24h": FeatureSpec("input tokens in 24 h"),
    "out_tokens_24h": FeatureSpec("output tokens in 24 h"),
    "out_tokens_per_req": FeatureSpec("output tokens per request (24 h)"),
    "out_in_ratio": FeatureSpec("output/input token ratio (24 h)", "{:.2f}"),
    "active_hours_24h": FeatureSpec("active hours of the last 24"),
    "req_per_active_hour": FeatureSpec("requests per active hour (24 h)"),
    "iat_cv": FeatureSpec("inter-arrival coefficient of variation", "{:.2f}"),
    "hour_entropy": FeatureSpec("spread of activity over the hours of the day", "{:.2f}"),
    "area_count_24h": FeatureSpec(f"capability areas (of {len(AREAS)}) covered in 24 h"),
    "area_entropy": FeatureSpec("evenness of capability-area coverage", "{:.2f}"),
    "area_switch_rate": FeatureSpec(
        "share of prompts that switch capability area from the previous one", "{:.2f}"
    ),
    "areas_recent": FeatureSpec(f"capability areas among the last {_RECENT_AREAS} prompts"),
    "reasoning_share": FeatureSpec("share of prompts demanding step-by-step reasoning", "{:.2f}"),
    "mc_share": FeatureSpec("share of multiple-choice prompts", "{:.2f}"),
    "enum_share": FeatureSpec("share of prompts walking a list in order", "{:.2f}"),
    "template_diversity": FeatureSpec("distinct templates among recent prompts", "{:.2f}"),
    "max_tokens_mean": FeatureSpec("mean max_tokens requested"),
    "account_age_days": FeatureSpec("account age (days)", "{:.1f}"),
}

# Metrics summed per hourly bucket.
_REQ, _IN, _OUT, _PROMPTS, _REASON, _MC, _ENUM, _MAXTOK, _MAXTOK_N = range(9)
_N_METRICS = 9
_HIST_CAP = 4096.0  # histograms are halved past this total: bounded, recent-weighted


def _rise(walk: array[int], i: int, code: int) -> bool:
    """Move the lane at ``walk[i:i + 3]`` to ``code``; True when its run reaches the bar."""
    last = walk[i + 1]
    walk[i + 1] = code
    if code > last:
        walk[i + 2] += 1
        return walk[i + 2] >= _WALK_RUN
    if code < last:
        walk[i + 2] = 0
    return False


class AccountFeatures:
    """Bounded behavioural state of one account, updated per event.

    Args:
        gap_alpha: weight of the newest inter-arrival gap in the decayed moments.

    """

    __slots__ = (
        "_area_hist",
        "_area_pos",
        "_area_switch",
        "_areas",
        "_fine",
        "_gaps",
        "_hour_hist",
        "_hourly",
        "_last_enum",
        "_recent_areas",
        "_templates",
        "_tpl_pos",
        "_walk",
        "_walk_pos",
        "created_ts",
        "events",
        "first_ts",
        "last_ts",
        "prompt_prior",
    )

    def __init__(self, gap_alpha: float = 0.05, prompt_prior: float = 5.0) -> None:
        self.prompt_prior = prompt_prior
        self.events = 0
        self.first_ts = math.inf
        self.last_ts = -math.inf
        self.created_ts: float | None = None
        self._hourly = BucketRing(24, HOUR, _N_METRICS)
        self._fine = BucketRing(12, 300.0, 1)
        self._gaps = DecayedMoments(gap_alpha)
        self._hour_hist = array("d", bytes(8 * 24))
        self._areas = LastSeen(len(AREAS))
        self._area_hist = array("d", bytes(8 * len(AREAS)))
        self._recent_areas = array("b", [-1] * _RECENT_AREAS)
        self._area_pos = 0
        self._area_switch = 0.0
        self._templates = array("Q", bytes(8 * _RECENT_TEMPLATES))
        self._tpl_pos = 0
        self._last_enum: int | None = None
        # (template, code, run) per recent template, then (-, code, run) of all prompts
        self._walk = array("Q", bytes(8 * 3 * (_WALK_TEMPLATES + 1)))
        self._walk_pos = 0

    def update(self, ev: RequestEvent, profile: PromptProfile | None) -> None:
        """Fold one request event (and its prompt's profile, if any) into the state."""
        ts = ev.ts
        self.events += 1
        self.first_ts = min(self.first_ts, ts)
        if ev.account_created_ts is not None and (
            self.created_ts is None or ev.account_created_ts < self.created_ts
        ):
            self.created_ts = ev.account_created_ts
        in_order = ts >= self.last_ts
        if in_order:
            if self.events > 1:
                self._gaps.update(ts - self.last_ts)
            self.last_ts = ts

        reasoning = mc = enum_step = 0.0
        prompts = 0.0
        if profile is not None:
            prompts = 1.0
            reasoning = profile.reasoning
            mc = 1.0 if profile.multiple_choice else 0.0
            if profile.enumeration is not None:
                if self._last_enum is not None and profile.enumeration == self._last_enum + 1:
                    enum_step = 1.0
                self._last_enum = profile.enumeration
            if profile.order and self._walk_step(profile.template, profile.order):
                enum_step = 1.0
            if profile.area >= 0:
                area = profile.area
                self._areas.touch(area, ts)
                _bump(self._area_hist, area)
                previous = self._recent_areas[(self._area_pos - 1) % _RECENT_AREAS]
                if previous >= 0:
                    switched = 1.0 if area != previous else 0.0
                    self._area_switch += _SWITCH_ALPHA * (switched - self._area_switch)
                self._recent_areas[self._area_pos] = area
                self._area_pos = (self._area_pos + 1) % _RECENT_AREAS
            self._templates[self._tpl_pos] = profile.template
            self._tpl_pos = (self._tpl_pos + 1) % _RECENT_TEMPLATES
        maxtok = float(ev.max_tokens) if ev.max_tokens is not None else 0.0
        self._hourly.add(
            ts,
            (
                1.0,
                float(ev.input_tokens or 0),
                float(ev.output_tokens or 0),
                prompts,
                reasoning,
                mc,
                enum_step,
                maxtok,
                1.0 if ev.max_tokens is not None else 0.0,
            ),
        )
        self._fine.add(ts, (1.0,))
        _bump(self._hour_hist, int(ts // HOUR) % 24)

    def merge(self, other: AccountFeatures) -> None:
        """Fold another stream's state into this one, as if its events had come here too.

        Exact for the windowed sums (requests, tokens, shares, active hours), the
        capability areas seen and the histograms. The order-dependent parts cannot be
        interleaved after the fact: the inter-arrival moments combine approximately
        (``DecayedMoments.merge``), the area-switch rate is averaged by events, and the
        recent areas, recent templates and sorted walks are the fuller stream's.
        ``other`` is left as it was.
        """
        if other.events == 0:
            return
        fuller = other.events > self.events
        total = self.events + other.events
        self._area_switch = (
            self._area_switch * self.events + other._area_switch * other.events
        ) / total
        self.events = total
        self.first_ts = min(self.first_ts, other.first_ts)
        self.last_ts = max(self.last_ts, other.last_ts)
        if other.created_ts is not None and (
            self.created_ts is None or other.created_ts < self.created_ts
        ):
            self.created_ts = other.created_ts
        self._hourly.merge(other._hourly)
        self._fine.merge(other._fine)
        self._gaps.merge(other._gaps)
        self._areas.merge(other._areas)
        _add_hist(self._hour_hist, other._hour_hist)
        _add_hist(self._area_hist, other._area_hist)
        if fuller:
            self._recent_areas = array("b", other._recent_areas)
            self._area_pos = other._area_pos
            self._templates = array("Q", other._templates)
            self._tpl_pos = other._tpl_pos
            self._walk = array("Q", other._walk)
            self._walk_pos = other._walk_pos
            self._last_enum = other._last_enum

    def _walk_step(self, template: int, code: int) -> bool:
        """Track slot codes; True when this prompt extends a sorted walk.

        Two lanes see each prompt: its template's (lists walked side by side, one per
        phrasing) and the account's (one list walked in rotating phrasings). In each, a
        rise extends the run, a fall ends it, an equal code (a repeat, or a slot sharing
        its first characters) leaves it as it is.
        """
        walk = self._walk
        step = _rise(walk, 3 * _WALK_TEMPLATES, code)
        for i in range(0, 3 * _WALK_TEMPLATES, 3):
            if walk[i] == template:
                break
        else:  # a template not among the recent ones replaces the oldest
            i = 3 * self._walk_pos
            self._walk_pos = (self._walk_pos + 1) % _WALK_TEMPLATES
            walk[i], walk[i + 1], walk[i + 2] = template, code, 0
            return step
        return _rise(walk, i, code) or step

    def values(self, now: float) -> dict[str, float]:
        """Return the feature vector at event time ``now``.

        Every key is in ``FEATURES``; a feature whose input the account never sent
        (``account_age_days`` without ``account_created_ts``) is left out, not faked.
        """
        h = self._hourly
        req = h.total(_REQ, now)
        tin = h.total(_IN, now)
        tout = h.total(_OUT, now)
        prompts = h.total(_PROMPTS, now)
        active = h.active(_REQ, now)
        maxtok_n = h.total(_MAXTOK_N, now)
        seen = min(_RECENT_TEMPLATES, self.events)
        shrunk = prompts + self.prompt_prior
        distinct = len(set(self._templates[:seen])) if seen else 0
        out = {
            "req_1h": self._fine.total(0, now),
            "req_24h": req,
            "in_tokens_24h": tin,
            "out_tokens_24h": tout,
            "out_tokens_per_req": tout / req if req else 0.0,
            "out_in_ratio": tout / (tin + 1.0),
            "active_hours_24h": float(active),
            "req_per_active_hour": req / active if active else 0.0,
            "iat_cv": self._gaps.cv if self._gaps.count >= 10 else 0.0,
            "hour_entropy": normalised_entropy(self._hour_hist),
            "area_count_24h": float(self._areas.count_since(now - DAY)),
            "area_entropy": normalised_entropy(self._area_hist) * prompts / shrunk,
            "area_switch_rate": self._area_switch,
            "areas_recent": float(len({a for a in self._recent_areas if a >= 0})),
            "reasoning_share": h.total(_REASON, now) / shrunk,
            "mc_share": h.total(_MC, now) / prompts if prompts else 0.0,
            "enum_share": h.total(_ENUM, now) / shrunk,
            "template_diversity": distinct / seen if seen else 0.0,
            "max_tokens_mean": h.total(_MAXTOK, now) / maxtok_n if maxtok_n else 0.0,
        }
        if self.created_ts is not None:
            out["account_age_days"] = max(0.0, (now - self.created_ts) / DAY)
        return out


def _bump(hist: array[float], index: int) -> None:
    """Add one to ``hist[index]``, halving every bin once the total passes the cap."""
    hist[index] += 1.0
    if sum(hist) >= _HIST_CAP:
        _halve(hist)


def _add_hist(hist: array[float], other: array[float]) -> None:
    """Add ``other`` into ``hist`` bin by bin, halving every bin while the total passes the cap."""
    for i, c in enumerate(other):
        hist[i] += c
    while sum(hist) >= _HIST_CAP:
        _halve(hist)


def _halve(hist: array[float]) -> None:
    """Halve every bin of ``hist`` (bounded, recent-weighted histograms)."""
    for i in range(len(hist)):
        hist[i] *= 0.5
