"""Seeded synthetic API traffic with ground-truth labels, for demos, tests and benchmarks.

``simulate(cfg)`` streams request events (contract: request event v1) as JSON lines:
benign populations (casual chat, app platforms, batch jobs, eval harnesses, CI loops,
power users) mixed with attack populations (hydra campaigns, blitz, slow sweeps,
reasoning harvesters), plus deliberate delivery defects (bad records, duplicates, late
events). ``write_simulation`` writes the stream and a labels file; ``load_labels`` reads
the labels back. Everything is deterministic from ``SimConfig``; nothing reads a clock.

Knobs (``SimConfig`` field / ``distillguard simulate`` flag):

* scale: ``accounts`` / ``--accounts`` and ``hours`` / ``--hours``; events grow linearly
  with both, about 300 per account-day at the default mix (1000 accounts x 24 h gives
  roughly 300k events, 3000 x 24 h about 1.1 M). ``volume_scale`` / ``--volume-scale``
  multiplies every population's request rate (small values make fast tests).
* scenario: ``attack_share`` / ``--attack-share`` (share of attacker accounts),
  ``benign_mix`` / ``--mix`` and ``attack_mix`` / ``--attack-mix`` (relative weights of
  the kinds, e.g. ``--mix casual=0.7,power_user=0.2,ci_loop=0.1``), ``new_model_at_hour``
  / ``--new-model-at-hour`` (release of ``frontier-large-2``; ``none`` for never),
  ``start`` / ``--start`` (epoch or RFC 3339), ``seed`` / ``--seed``.
* defects: ``bad_record_rate`` / ``--bad-rate``, ``duplicate_rate`` / ``--dup-rate``,
  ``late_rate`` / ``--late-rate``, ``max_delay_s`` / ``--max-delay`` (bound on lateness
  and on duplicate lag), ``rfc3339_ts_share`` / ``--rfc3339-share``.

Labels (JSON Lines, one per account): ``account_id``, ``kind``, ``role`` (``benign`` or
``attack``), ``campaign_id`` (hydra campaigns and blitz groups; ``null`` for lone
accounts) and ``attack_start_ts`` (the time of the account's first attack request; an
attack account may send benign-looking warm-up traffic before it).
"""

from stream.simulate.config import (
    ALL_KINDS,
    ATTACK_KINDS,
    BENIGN_KINDS,
    DEFAULT_START,
    SimConfig,
    parse_mix,
    parse_time,
)
from stream.simulate.core import (
    Line,
    SimSummary,
    iter_lines,
    simulate,
    simulation_labels,
    write_simulation,
)
from stream.simulate.labels import Label, load_labels, write_labels

__all__ = [
    "ALL_KINDS",
    "ATTACK_KINDS",
    "BENIGN_KINDS",
    "DEFAULT_START",
    "Label",
    "Line",
    "SimConfig",
    "SimSummary",
    "iter_lines",
    "load_labels",
    "parse_mix",
    "parse_time",
    "simulate",
    "simulation_labels",
    "write_labels",
    "write_simulation",
]
