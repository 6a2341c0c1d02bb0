"""Benchmark: replay throughput and memory on simulated traffic.

Simulates traffic (or reuses a file), then replays it through the full pipeline in one
process, and prints events/s overall and per stage (parse only, prompt analysis only)
and the peak resident memory. Figures are printed, never asserted.

    python bench/replay_throughput.py --accounts 3000 --hours 24 --seed 1
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from detectors.prompts import analyse_prompt
from detectors.records import Alert
from stream.events import BadRecord, parse_event
from stream.pipeline import run_pipeline
from stream.processor import Processor
from stream.simulate import SimConfig, write_simulation
from stream.sinks.memory import MemorySink
from stream.sources import open_binary, read_lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=3000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--file", help="events file to use (simulated into it if absent)")
    args = ap.parse_args()

    path = Path(args.file or f".cache/bench-{args.accounts}x{args.hours:g}h-s{args.seed}.jsonl")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_simulation(
            SimConfig(accounts=args.accounts, hours=args.hours, seed=args.seed), str(path), None
        )
        print(f"simulated {path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    # The full replay first, so that the peak RSS it reports is the replay's own (the
    # per-stage figures below hold the whole file and its parsed events in memory).
    processor = Processor()
    sink: MemorySink[Alert] = MemorySink()
    t = time.perf_counter()
    with open_binary(str(path)) as stream:
        summary = run_pipeline(read_lines(stream, str(path)), processor, sink)
    total_s = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"file: {path} ({summary.records:,} records, {path.stat().st_size / 1e6:.0f} MB)")
    print(
        f"full replay:          {summary.records / total_s:>10,.0f} events/s "
        f"({summary.records:,} records in {total_s:.1f} s)"
    )
    print(
        f"accounts seen {processor.stats.accounts_created:,}, scorings {processor.stats.scored:,}, "
        f"alerts {summary.alerts:,}, peak RSS of the replay {rss_mb:,.0f} MB"
    )
    del processor, sink

    lines = path.read_bytes().splitlines()
    n = len(lines)
    t = time.perf_counter()
    events = [e for e in map(parse_event, lines) if not isinstance(e, BadRecord)]
    parse_s = time.perf_counter() - t
    print(f"parse only:           {n / parse_s:>10,.0f} records/s")

    prompts = [e.prompt for e in events if e.prompt]
    t = time.perf_counter()
    for p in prompts:
        analyse_prompt(p)
    prompt_s = time.perf_counter() - t
    print(f"prompt analysis only: {len(prompts) / prompt_s:>10,.0f} prompts/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
