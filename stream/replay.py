"""``distillguard replay PATH``: the whole pipeline over a file, in event time.

Contract (shared/contracts/alert.md): PATH is ``.jsonl``, ``.jsonl.gz`` or ``-``;
alerts go as JSON Lines to standard output or ``--alerts-out``; progress, logs and
the closing summary go to standard error; the same input gives the same alerts.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, TextIO

from stream.exceptions import SourceError
from stream.pipeline import RunSummary, run_pipeline
from stream.processor import Processor
from stream.sinks.files import DeadLetterFileSink, JsonlAlertSink
from stream.sources import open_binary, read_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``replay`` flags."""
    parser.add_argument("path", metavar="PATH", help="request events: .jsonl, .jsonl.gz or -")
    parser.add_argument(
        "--alerts-out", metavar="FILE", help="write alerts here instead of standard output"
    )
    parser.add_argument(
        "--dead-letter", metavar="FILE", help="write bad records here, with reason and line"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress lines (the summary is still printed)"
    )


def _open_out(path: str, stack: ExitStack) -> BinaryIO:
    """Open an output file for writing bytes (closed with the stack)."""
    try:
        return stack.enter_context(Path(path).open("wb"))
    except OSError as exc:
        raise SourceError(f"cannot write {path}: {exc.strerror or exc}") from exc


def run(args: argparse.Namespace) -> int:
    """Run ``replay`` as the command line asked; return the exit code."""
    processor = Processor()
    err = sys.stderr
    started = time.perf_counter()  # wall clock for the events/s figure only

    def progress(n: int) -> None:
        if not args.quiet:
            rate = n / max(time.perf_counter() - started, 1e-9)
            print(f"replay: {n:,} records, {rate:,.0f}/s", file=err, flush=True)

    with ExitStack() as stack:
        out = _open_out(args.alerts_out, stack) if args.alerts_out else sys.stdout.buffer
        alerts = JsonlAlertSink(out, close_stream=False)
        dead = (
            DeadLetterFileSink(_open_out(args.dead_letter, stack), close_stream=False)
            if args.dead_letter
            else None
        )
        stream = stack.enter_context(open_binary(args.path))
        summary = run_pipeline(
            read_lines(stream, args.path), processor, alerts, dead, on_progress=progress
        )
    print_summary(summary, processor, time.perf_counter() - started, err)
    return 0


def print_summary(summary: RunSummary, processor: Processor, seconds: float, err: TextIO) -> None:
    """Print the closing summary of a run to ``err``."""
    st = processor.stats
    rate = summary.records / max(seconds, 1e-9)
    bad = ", ".join(f"{r} {n:,}" for r, n in sorted(summary.bad.items())) or "none"
    by_level = (
        ", ".join(f"{sev}/{act} {n:,}" for (sev, act), n in sorted(st.alerts.items())) or "none"
    )
    lines = [
        f"replay: {summary.records:,} records in {seconds:.1f} s ({rate:,.0f} events/s)",
        f"  events {st.events:,}  duplicates {st.duplicates:,}  late {st.late:,}",
        f"  bad records {summary.bad_total:,} ({bad})",
        f"  accounts seen {st.accounts_created:,}  in memory {len(processor.store):,}"
        f"  evicted {processor.store.evictions:,}  scorings {st.scored:,}",
        f"  alerts {summary.alerts:,} ({by_level})",
    ]
    print("\n".join(lines), file=err, flush=True)
