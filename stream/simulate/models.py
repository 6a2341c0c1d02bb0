"""The model catalog, token counts, status codes and serving latency."""

from __future__ import annotations

import math
import random
from typing import NamedTuple

SMALL = "frontier-small"
MEDIUM = "frontier-medium"
LARGE = "frontier-large"
LARGE_2 = "frontier-large-2"
#: Every model name the simulator emits; ``frontier-large-2`` only after its release.
MODELS: tuple[str, ...] = (SMALL, MEDIUM, LARGE, LARGE_2)

# model -> (time to first token ms, ms per output token)
_SPEED: dict[str, tuple[float, float]] = {
    SMALL: (180.0, 4.0),
    MEDIUM: (320.0, 9.0),
    LARGE: (650.0, 17.0),
    LARGE_2: (800.0, 15.0),
}

PROMPT_BYTES_MAX = 4096


def truncate_prompt(text: str) -> str:
    """Cut ``text`` to at most 4 KB of UTF-8, as the gateway does."""
    if len(text) <= PROMPT_BYTES_MAX // 4:
        return text
    raw = text.encode("utf-8")
    if len(raw) <= PROMPT_BYTES_MAX:
        return text
    return raw[:PROMPT_BYTES_MAX].decode("utf-8", errors="ignore")


def approx_tokens(text: str) -> int:
    """Estimate the token count of ``text`` (about 4 characters per token in English)."""
    n = len(text)
    if n and not text.isascii():
        # Non-Latin scripts cost about one token per character or two.
        extra = sum(1 for ch in text if ord(ch) > 0x2E7F)
        return max(1, int((n - extra) / 3.8 + extra * 0.8))
    return max(1, int(n / 3.8))


def lognormal_int(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    """Draw an integer from a log-normal around ``median``, clipped to ``[lo, hi]``."""
    value = int(median * math.exp(rng.gauss(0.0, sigma)))
    return lo if value < lo else hi if value > hi else value


class Served(NamedTuple):
    """How the API answered one request."""

    status: int
    output_tokens: int
    latency_ms: float


def serve(
    rng: random.Random,
    model: str,
    input_tokens: int,
    wanted_output: int,
    max_tokens: int,
    p_429: float,
    p_5xx: float = 0.003,
) -> Served:
    """Decide status, billed output tokens and latency of one request."""
    x = rng.random()
    if x < p_429:
        return Served(429, 0, round(8.0 + 40.0 * rng.random(), 1))
    if x < p_429 + p_5xx:
        status = 500 if rng.random() < 0.6 else 503
        return Served(status, 0, round(200.0 + 30000.0 * rng.random() ** 3, 1))
    out = wanted_output if wanted_output < max_tokens else max_tokens
    ttft, per_token = _SPEED[model]
    latency = (ttft + input_tokens * 0.015) * math.exp(rng.gauss(0.0, 0.3))
    latency += out * per_token * (0.8 + 0.4 * rng.random())
    return Served(200, out, round(latency, 1))


def release_pivot_model(
    ts: float,
    release_ts: float | None,
    pivot_delay_s: float | None,
    base_model: str,
) -> str:
    """Return ``frontier-large-2`` once this account has pivoted to it, else ``base_model``.

    ``pivot_delay_s`` is how long after the release this account switches (``None``:
    never).
    """
    if release_ts is None or pivot_delay_s is None or ts < release_ts + pivot_delay_s:
        return base_model
    return LARGE_2
