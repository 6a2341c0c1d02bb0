"""The ``distillguard`` command: one entry point, one sub-command per module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from detectors.exceptions import DistillguardError
from stream import alerts_cli, demo, replay, run
from stream.simulate import cli as simulate_cli


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``distillguard`` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="distillguard",
        description="Catch distillation campaigns and other abuse of an LLM API in real time.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, help_ in (
        ("replay", replay, "run the detection pipeline over a file of request events"),
        ("simulate", simulate_cli, "write seeded synthetic traffic with labels"),
        ("demo", demo, "simulate a small scenario, replay it and report what was caught"),
        ("run", run, "consume request events from Kafka; decisions to Redis, metrics over HTTP"),
        ("alerts", alerts_cli, "read the alert stream from Redis and explain alerts for triage"),
    ):
        p = sub.add_parser(name, help=help_, description=help_)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``distillguard`` with ``argv``; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except DistillguardError as exc:
        print(f"distillguard {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
