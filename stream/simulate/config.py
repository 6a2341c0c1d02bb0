"""Configuration of the traffic simulator: ``SimConfig``, population mixes, time parsing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from detectors.exceptions import ConfigError

BENIGN_KINDS: tuple[str, ...] = (
    "casual",
    "app_platform",
    "batch_job",
    "eval_harness",
    "ci_loop",
    "power_user",
)
ATTACK_KINDS: tuple[str, ...] = ("hydra", "blitz", "slow_sweep", "reasoning_harvest")
ALL_KINDS: tuple[str, ...] = BENIGN_KINDS + ATTACK_KINDS

#: Default start of the simulated window: 2026-11-02T00:00:00Z (a Monday).
DEFAULT_START = 1793577600.0

#: Relative weights of the benign kinds among benign accounts.
DEFAULT_BENIGN_MIX: tuple[tuple[str, float], ...] = (
    ("casual", 0.78),
    ("power_user", 0.12),
    ("ci_loop", 0.05),
    ("eval_harness", 0.032),
    ("app_platform", 0.01),
    ("batch_job", 0.008),
)
#: Relative weights of the attack kinds among attack accounts.
DEFAULT_ATTACK_MIX: tuple[tuple[str, float], ...] = (
    ("hydra", 0.73),
    ("slow_sweep", 0.12),
    ("reasoning_harvest", 0.12),
    ("blitz", 0.03),
)


def parse_time(value: str | float) -> float:
    """Return Unix seconds for an epoch number (or numeric string) or an RFC 3339 string.

    A string without an offset is read as UTC. Raises ``ConfigError`` when the value is
    neither.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"not an epoch number or RFC 3339 time: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"not an epoch number or RFC 3339 time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_mix(text: str, allowed: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """Parse ``"kind=weight,kind=weight"`` into a mix; kinds left out get weight 0.

    Raises ``ConfigError`` for unknown kinds, bad numbers or an all-zero mix.
    """
    weights: dict[str, float] = {}
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        name, sep, num = part.partition("=")
        name = name.strip()
        if not sep or name not in allowed:
            raise ConfigError(f"bad mix entry {part!r}; kinds are {', '.join(allowed)}")
        try:
            weights[name] = float(num)
        except ValueError as exc:
            raise ConfigError(f"bad weight in mix entry {part!r}") from exc
    mix = tuple((kind, weights.get(kind, 0.0)) for kind in allowed)
    _check_mix(mix, allowed, "mix")
    return mix


def _check_mix(mix: tuple[tuple[str, float], ...], allowed: tuple[str, ...], what: str) -> None:
    seen: set[str] = set()
    for kind, weight in mix:
        if kind not in allowed or kind in seen:
            raise ConfigError(f"{what}: unknown or repeated kind {kind!r}")
        if not (weight >= 0.0 and math.isfinite(weight)):
            raise ConfigError(f"{what}: weight of {kind} must be finite and >= 0")
        seen.add(kind)
    if sum(w for _, w in mix) <= 0.0:
        raise ConfigError(f"{what}: at least one weight must be positive")


def _check_rate(name: str, value: float) -> None:
    if not (0.0 <= value <= 1.0):
        raise ConfigError(f"{name} must be within [0, 1], got {value}")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything the simulator needs; the same config always gives the same bytes.

    Volume knobs: the number of events grows linearly with ``accounts`` and ``hours``
    (about 300 events per account-day at the default mix) and with ``volume_scale``,
    which multiplies every population's request rate. Rates of deliberate defects:
    ``bad_record_rate`` (extra malformed lines per event), ``duplicate_rate`` (events
    delivered a second time), ``late_rate`` (events delivered up to ``max_delay_s``
    late), ``rfc3339_ts_share`` (``ts`` written as RFC 3339 with an offset).
    ``new_model_at_hour`` releases ``frontier-large-2`` that many hours into the
    window (``None``: never).
    """

    accounts: int = 1000
    hours: float = 24.0
    seed: int = 0
    start: float = DEFAULT_START
    attack_share: float = 0.06
    bad_record_rate: float = 0.002
    duplicate_rate: float = 0.004
    late_rate: float = 0.01
    max_delay_s: float = 8.0
    rfc3339_ts_share: float = 0.02
    new_model_at_hour: float | None = 12.0
    volume_scale: float = 1.0
    ipv6_share: float = 0.08
    benign_mix: tuple[tuple[str, float], ...] = field(default=DEFAULT_BENIGN_MIX)
    attack_mix: tuple[tuple[str, float], ...] = field(default=DEFAULT_ATTACK_MIX)

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise ConfigError(f"accounts must be >= 1, got {self.accounts}")
        if not (self.hours > 0.0 and math.isfinite(self.hours)):
            raise ConfigError(f"hours must be > 0, got {self.hours}")
        if not math.isfinite(self.start):
            raise ConfigError("start must be a finite epoch time")
        for name in (
            "attack_share",
            "bad_record_rate",
            "duplicate_rate",
            "late_rate",
            "rfc3339_ts_share",
            "ipv6_share",
        ):
            _check_rate(name, getattr(self, name))
        if not (0.0 < self.max_delay_s <= 3600.0):
            raise ConfigError(f"max_delay_s must be within (0, 3600], got {self.max_delay_s}")
        if not (0.0 < self.volume_scale <= 100.0):
            raise ConfigError(f"volume_scale must be within (0, 100], got {self.volume_scale}")
        if self.new_model_at_hour is not None and not math.isfinite(self.new_model_at_hour):
            raise ConfigError("new_model_at_hour must be finite or None")
        _check_mix(self.benign_mix, BENIGN_KINDS, "benign_mix")
        _check_mix(self.attack_mix, ATTACK_KINDS, "attack_mix")

    @property
    def end(self) -> float:
        """Return the end of the simulated window (Unix seconds, exclusive)."""
        return self.start + self.hours * 3600.0

    @property
    def new_model_ts(self) -> float | None:
        """Return when ``frontier-large-2`` is released (Unix seconds), or ``None``."""
        if self.new_model_at_hour is None:
            return None
        return self.start + self.new_model_at_hour * 3600.0
