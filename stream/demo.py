"""``distillguard demo``: simulate a small scenario, replay it, report what was caught.

Runs on embedded defaults: no Kafka, no Redis. The simulated traffic and its labels
are written to a temporary folder (or ``--keep DIR``), replayed through the same
pipeline as ``replay``, and the report compares the alerts with the labels.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from detectors.records import Alert
from stream.evaluate import Evaluation, LabelLike, evaluate
from stream.pipeline import run_pipeline
from stream.processor import Processor
from stream.simulate import SimConfig, load_labels, write_simulation
from stream.sinks.memory import MemorySink
from stream.sources import open_binary, read_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``demo`` flags."""
    parser.add_argument("--accounts", type=int, default=500, help="simulated accounts (500)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (24)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (7)")
    parser.add_argument("--keep", metavar="DIR", help="keep events, labels and alerts in DIR")


def run(args: argparse.Namespace) -> int:
    """Run the demo; print the report to standard output."""
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="distillguard-demo-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        events_path, labels_path = folder / "events.jsonl.gz", folder / "labels.jsonl"
        cfg = SimConfig(accounts=args.accounts, hours=args.hours, seed=args.seed)
        print(
            f"Simulating {cfg.accounts} accounts over {cfg.hours:g} h (seed {cfg.seed}) ...",
            file=out,
            flush=True,
        )
        write_simulation(cfg, str(events_path), str(labels_path))
        labels = load_labels(str(labels_path))

        processor = Processor()
        sink: MemorySink[Alert] = MemorySink()
        started = time.perf_counter()  # wall clock for the report's speed figure only
        with open_binary(str(events_path)) as stream:
            summary = run_pipeline(read_lines(stream, str(events_path)), processor, sink)
        seconds = time.perf_counter() - started
        if args.keep:
            with (folder / "alerts.jsonl").open("w") as f:
                f.writelines(_alert_line(a) for a in sink.flushed)
        result = evaluate(sink.flushed, labels)
        print(
            f"Replayed {summary.records:,} records in {seconds:.1f} s "
            f"({summary.records / max(seconds, 1e-9):,.0f} events/s): "
            f"{processor.stats.events:,} events, {processor.stats.duplicates:,} duplicates, "
            f"{summary.bad_total:,} bad records, {len(sink.flushed):,} alerts.\n",
            file=out,
        )
        report(result, labels, sink.flushed, cfg.start, out)
    return 0


def _alert_line(alert: Alert) -> str:
    """Return one alert as a JSON line."""
    import orjson  # noqa: PLC0415  # only needed with --keep

    return orjson.dumps(alert.to_dict()).decode() + "\n"


def report(
    result: Evaluation,
    labels: Mapping[str, LabelLike],
    alerts: list[Alert],
    start: float,
    out: TextIO,
) -> None:
    """Print the flagged accounts and the detection quality against the labels."""
    worst: dict[str, Alert] = {}
    for a in alerts:
        if a.flagged:
            prev = worst.get(a.account_id)
            if prev is None or a.score >= prev.score:
                worst[a.account_id] = a
    print(f"Flagged accounts ({len(worst)}):", file=out)
    for account_id, a in sorted(worst.items(), key=lambda kv: -kv[1].score):
        label = labels.get(account_id)
        truth = label.kind if label is not None else "?"
        first = result.first_flag.get(account_id, a)
        hours = (first.ts - start) / 3600
        print(
            f"  {account_id:<18} truth={truth:<18} {a.severity:<8} {a.action:<8} "
            f"score {a.score:.4f}  first flagged at +{hours:.1f} h",
            file=out,
        )
        for reason in a.reasons[:4]:
            print(f"      - {reason}", file=out)
        if a.related_accounts:
            shown = ", ".join(a.related_accounts[:6])
            more = len(a.related_accounts) - 6
            print(f"      linked: {shown}{f' (+{more} more)' if more > 0 else ''}", file=out)

    print("\nAgainst the simulator's labels:", file=out)
    print(f"  {'kind':<20}{'role':<8}{'accounts':>9}{'flagged':>9}{'rate':>8}", file=out)
    for kind, kr in sorted(result.kinds.items(), key=lambda kv: (kv[1].role, kv[0])):
        print(f"  {kind:<20}{kr.role:<8}{kr.accounts:>9}{kr.flagged:>9}{kr.rate:>8.2f}", file=out)
    median = result.delay_quantile(0.5)
    ttd = f"{median / 60:.0f} min" if median is not None else "n/a"
    print(
        f"\n  precision {result.precision:.3f}   attack recall {result.recall:.3f}   "
        f"benign false-positive rate {result.false_positive_rate:.4f}   "
        f"median time to detect {ttd}",
        file=out,
    )
    caught = Counter(labels[a].kind for a in result.first_flag if labels[a].role == "attack")
    if caught:
        print(f"  caught: {', '.join(f'{k} {n}' for k, n in sorted(caught.items()))}", file=out)
