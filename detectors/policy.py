"""The alert policy: calibrated detector scores → severity, action and episodes.

Apart from the scorers on purpose (river's ``anomaly.filter`` idea): detectors say how
rare an account is, the policy says what to do about it.

- **Rules** combine detectors with a fuzzy AND/OR: a rule's score is the *minimum* of
  its detectors' scores, the combined score the *maximum* over rules. The shipped
  policy has two rules: the ``distill`` detector alone (itself a conjunction of a
  systematic sweep and harvested answers), and ``campaign`` alone (the pooled evidence
  of the accounts linked to this one); other detectors that fire add their evidence.
- **Levels** with hysteresis: review → throttle → block as the score passes each
  threshold; an episode stays open until the score has stayed below ``release_below``
  for ``cooldown_s`` of event time.
- **Episodes** carry one stable ``alert_id`` per (account, rule, episode start). A new
  alert is emitted only when an episode opens or escalates (the escalation re-uses the
  episode's ``alert_id`` with the higher severity, as an update of the same alert).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from detectors.exceptions import ConfigError
from detectors.records import Action, Alert, Severity

_LEVELS: tuple[tuple[Severity, Action], ...] = (
    ("info", "none"),
    ("warning", "review"),
    ("warning", "throttle"),
    ("critical", "block"),
)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Thresholds, rules and decision lifetimes of the alert policy.

    Args:
        rules: each rule is a tuple of detector names that must all score high.
        review_at: combined score that opens an episode with action ``review``.
        throttle_at: combined score that escalates to ``throttle``.
        block_at: combined score that escalates to ``block`` (severity ``critical``).
        release_below: an open episode closes once the score stays below this ...
        cooldown_s: ... for this many seconds of event time.
        throttle_rpm: requests per minute a throttled account is allowed.
        throttle_for_s: how long a throttle decision lasts at the edge.
        block_for_s: how long a block decision lasts at the edge.

    """

    rules: tuple[tuple[str, ...], ...] = (("distill",), ("campaign",))
    review_at: float = 0.995
    throttle_at: float = 0.998
    block_at: float = 0.9995
    release_below: float = 0.95
    cooldown_s: float = 6 * 3600.0
    throttle_rpm: int = 20
    throttle_for_s: float = 3600.0
    block_for_s: float = 24 * 3600.0

    def __post_init__(self) -> None:
        if not self.rules or any(not r for r in self.rules):
            raise ConfigError("policy needs at least one non-empty rule")
        if (
            not 0.0
            <= self.release_below
            <= self.review_at
            <= self.throttle_at
            <= self.block_at
            <= 1
        ):
            raise ConfigError(
                "thresholds must satisfy 0 <= release_below <= review_at <= throttle_at"
                " <= block_at <= 1"
            )
        if self.throttle_rpm < 0 or self.cooldown_s < 0:
            raise ConfigError("throttle_rpm and cooldown_s must be >= 0")

    def level(self, score: float) -> int:
        """Return the level a combined score reaches: 0 none, 1 review, 2 throttle, 3 block."""
        if score >= self.block_at:
            return 3
        if score >= self.throttle_at:
            return 2
        if score >= self.review_at:
            return 1
        return 0


class EpisodeState:
    """Per-account policy memory: the open episode, if any (small, snapshot-friendly)."""

    __slots__ = ("alert_id", "below_since", "level", "started")

    def __init__(self) -> None:
        self.level = 0
        self.alert_id = ""
        self.started = 0.0
        self.below_since: float | None = None

    @property
    def open(self) -> bool:
        """Whether an episode is open (the account is currently flagged)."""
        return self.level > 0


def combine(
    scores: Mapping[str, float], rules: Sequence[tuple[str, ...]]
) -> tuple[float, tuple[str, ...]]:
    """Return the combined score and the rule that gave it (max over rules of min).

    A rule with a detector missing from ``scores`` (not ready, or not configured)
    does not apply.
    """
    best: tuple[float, tuple[str, ...]] = (0.0, ())
    for rule in rules:
        if all(d in scores for d in rule):
            s = min(scores[d] for d in rule)
            if s > best[0]:
                best = (s, rule)
    return best


def episode_id(account_id: str, rule: Sequence[str], started: float) -> str:
    """Return the stable alert id of one (account, rule, episode start)."""
    key = f"{account_id}\x1f{'+'.join(rule)}\x1f{started!r}".encode()
    return hashlib.blake2b(key, digest_size=10).hexdigest()


def decide(
    cfg: PolicyConfig,
    state: EpisodeState,
    account_id: str,
    ts: float,
    scores: Mapping[str, float],
    features: Mapping[str, float],
    reasons: Sequence[str],
    related: Sequence[str] = (),
) -> Alert | None:
    """Apply the policy to one scoring of one account; return an alert to emit, if any.

    Mutates only ``state``. ``reasons`` are the detectors' explanations, already in
    the order they should be shown.
    """
    score, rule = combine(scores, cfg.rules)
    level = cfg.level(score)
    if state.open:
        if score < cfg.release_below:
            if state.below_since is None:
                state.below_since = ts
            if ts - state.below_since >= cfg.cooldown_s:
                state.level, state.alert_id, state.below_since = 0, "", None
            return None
        state.below_since = None
        if level <= state.level:
            return None
        state.level = level
    else:
        if level == 0:
            return None
        state.level, state.started, state.below_since = level, ts, None
        state.alert_id = episode_id(account_id, rule, ts)
    severity, action = _LEVELS[state.level]
    fired = tuple(d for d in scores if scores[d] >= cfg.review_at or d in rule)
    head = " and ".join(f"{d} {scores[d]:.4f}" for d in rule)
    return Alert(
        alert_id=state.alert_id,
        ts=ts,
        account_id=account_id,
        severity=severity,
        action=action,
        score=round(score, 6),
        detectors=fired,
        reasons=(f"{head} (rarer than {cfg.review_at:.1%} of peers)", *reasons),
        features={k: round(v, 4) for k, v in features.items()},
        related_accounts=tuple(related),
    )


def decision_for(alert: Alert, cfg: PolicyConfig) -> dict[str, object] | None:
    """Return the edge decision an alert implies (contract: edge decisions v1), if any.

    Only ``throttle`` and ``block`` make a decision; ``until`` is the alert's event time
    plus the action's lifetime. The reason is the first evidence line, never prompt text.
    """
    if alert.action == "block":
        until, rpm = alert.ts + cfg.block_for_s, None
    elif alert.action == "throttle":
        until, rpm = alert.ts + cfg.throttle_for_s, cfg.throttle_rpm
    else:
        return None
    return {
        "action": alert.action,
        "until": until,
        "alert_id": alert.alert_id,
        "severity": alert.severity,
        "rpm": rpm,
        "reason": "; ".join(alert.reasons[:2]),
    }
