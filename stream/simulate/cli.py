"""Command-line front end of the simulator (``distillguard simulate``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from detectors.exceptions import DistillguardError
from stream.simulate.config import (
    ATTACK_KINDS,
    BENIGN_KINDS,
    DEFAULT_START,
    SimConfig,
    parse_mix,
    parse_time,
)
from stream.simulate.core import write_simulation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's flags to ``parser``."""
    d = SimConfig()
    g = parser.add_argument_group("scale")
    g.add_argument(
        "--accounts",
        type=int,
        default=d.accounts,
        help="number of accounts (default %(default)s; ~300 events per account-day)",
    )
    g.add_argument(
        "--hours",
        type=float,
        default=d.hours,
        help="length of the simulated window in hours (default %(default)s)",
    )
    g.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    g.add_argument(
        "--start",
        default=str(DEFAULT_START),
        help="window start, epoch seconds or RFC 3339 (default 2026-11-02T00:00:00Z)",
    )
    g.add_argument(
        "--volume-scale",
        type=float,
        default=d.volume_scale,
        help="multiply every population's request rate (default %(default)s)",
    )
    g = parser.add_argument_group("scenario")
    g.add_argument(
        "--attack-share",
        type=float,
        default=d.attack_share,
        help="share of accounts that are attackers (default %(default)s)",
    )
    g.add_argument(
        "--new-model-at-hour",
        default=str(d.new_model_at_hour),
        help="hours into the window when frontier-large-2 is released, or 'none'"
        " (default %(default)s)",
    )
    g.add_argument(
        "--mix", default=None, help="benign mix as kind=weight,... over " + ", ".join(BENIGN_KINDS)
    )
    g.add_argument(
        "--attack-mix",
        default=None,
        help="attack mix as kind=weight,... over " + ", ".join(ATTACK_KINDS),
    )
    g = parser.add_argument_group("delivery defects")
    g.add_argument(
        "--bad-rate",
        type=float,
        default=d.bad_record_rate,
        help="malformed lines per event (default %(default)s)",
    )
    g.add_argument(
        "--dup-rate",
        type=float,
        default=d.duplicate_rate,
        help="share of events delivered twice (default %(default)s)",
    )
    g.add_argument(
        "--late-rate",
        type=float,
        default=d.late_rate,
        help="share of events delivered late (default %(default)s)",
    )
    g.add_argument(
        "--max-delay",
        type=float,
        default=d.max_delay_s,
        help="most seconds a late or duplicate delivery lags (default %(default)s)",
    )
    g.add_argument(
        "--rfc3339-share",
        type=float,
        default=d.rfc3339_ts_share,
        help="share of events whose ts is an RFC 3339 string (default %(default)s)",
    )
    g = parser.add_argument_group("output")
    g.add_argument(
        "--out", default="-", help="events file: .jsonl, .jsonl.gz, or - for stdout (default -)"
    )
    g.add_argument("--labels", default=None, help="write ground-truth labels (JSON Lines) here")
    g = parser.add_argument_group("kafka output (instead of --out)")
    g.add_argument(
        "--kafka",
        metavar="BOOTSTRAP",
        default=None,
        help="produce into Kafka at host:port,... (SASL/TLS from DISTILLGUARD_KAFKA_* variables)",
    )
    g.add_argument("--topic", default="distillguard.requests", help="topic (default %(default)s)")
    g.add_argument(
        "--rate", type=float, default=0.0, help="messages per second (default 0: unthrottled)"
    )
    g.add_argument(
        "--timestamps",
        choices=("event", "produce"),
        default="event",
        help="message timestamp: the event time or the produce time (default %(default)s)",
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """Build a ``SimConfig`` from parsed flags; raises ``ConfigError`` on bad values."""
    new_model = str(args.new_model_at_hour).strip().lower()
    cfg = SimConfig(
        accounts=args.accounts,
        hours=args.hours,
        seed=args.seed,
        start=parse_time(args.start),
        attack_share=args.attack_share,
        bad_record_rate=args.bad_rate,
        duplicate_rate=args.dup_rate,
        late_rate=args.late_rate,
        max_delay_s=args.max_delay,
        rfc3339_ts_share=args.rfc3339_share,
        new_model_at_hour=None if new_model in ("none", "") else float(new_model),
        volume_scale=args.volume_scale,
    )
    if args.mix:
        cfg = dataclasses.replace(cfg, benign_mix=parse_mix(args.mix, BENIGN_KINDS))
    if args.attack_mix:
        cfg = dataclasses.replace(cfg, attack_mix=parse_mix(args.attack_mix, ATTACK_KINDS))
    return cfg


def run(args: argparse.Namespace) -> int:
    """Write the simulation the flags describe; print a one-line summary to stderr.

    Returns 0 on success, 2 on a bad flag value, 1 when the output cannot be written.
    """
    try:
        cfg = config_from_args(args)
    except (DistillguardError, ValueError) as exc:
        print(f"distillguard simulate: {exc}", file=sys.stderr)
        return 2
    if args.kafka:
        from stream.simulate.kafka_cli import run_kafka  # noqa: PLC0415  # kafka only when asked

        return run_kafka(cfg, args)
    try:
        summary = write_simulation(cfg, args.out, args.labels)
    except OSError as exc:
        print(f"distillguard simulate: cannot write: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    print(summary.one_line(), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the simulator as a stand-alone program (``python -m stream.simulate.cli``)."""
    parser = argparse.ArgumentParser(prog="distillguard simulate", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
