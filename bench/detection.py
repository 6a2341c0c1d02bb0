"""Benchmark: detection quality on simulated traffic, over several seeds and settings.

For each seed, simulates ``--accounts`` accounts over ``--hours`` (cached under
.cache/), replays them through the full pipeline, and prints per-kind recall (attack
kinds) and false-positive rate (benign kinds), time to detect after an account's
attack starts, campaign-level detection and linkage quality. Figures are printed,
never asserted.

    python bench/detection.py --accounts 3000 --hours 24 --seeds 1,2,3
    python bench/detection.py --seeds 11 --attack-share 0.03 --volume-scale 1.5
    python bench/detection.py --seeds 1,2,3 --warm-seed 1000

By default every seed starts cold: empty detectors, and nobody is judged during the
population warm-up. ``--warm-seed N`` measures a running deployment instead: the
detectors first learn from seed N's traffic (a different population, same settings),
then each seed is replayed with those detectors restored, as a worker restores its
model snapshot (``Processor.mark_warm``).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from detectors.records import Alert
from stream.evaluate import Evaluation, evaluate, quantile
from stream.pipeline import run_pipeline
from stream.processor import Processor
from stream.simulate import SimConfig, load_labels, write_simulation
from stream.sinks.memory import MemorySink
from stream.sources import open_binary, read_lines

TARGETS = (
    "targets: recall >= 0.95, each attack kind >= 0.85, FP <= 0.2% overall and <= 1% per"
    " kind, median TTD <= 30 min, linkage >= 0.90"
)


def _traffic(args: argparse.Namespace, seed: int) -> tuple[Path, Path]:
    """Return the cached event and label files of one seed, simulating them if missing."""
    cfg = SimConfig(
        accounts=args.accounts,
        hours=args.hours,
        seed=seed,
        attack_share=args.attack_share,
        volume_scale=args.volume_scale,
    )
    tag = f"{cfg.accounts}x{cfg.hours:g}h-s{seed}-a{cfg.attack_share:g}-v{cfg.volume_scale:g}"
    events = Path(f".cache/det-{tag}.jsonl")
    labels_path = events.with_suffix(".labels.jsonl")
    if not (events.exists() and labels_path.exists()):
        events.parent.mkdir(parents=True, exist_ok=True)
        write_simulation(cfg, str(events), str(labels_path))
    return events, labels_path


def trained_detectors(args: argparse.Namespace, seed: int) -> bytes:
    """Replay seed ``seed``'s traffic and return the processor's detectors, pickled."""
    events, _ = _traffic(args, seed)
    processor = Processor()
    with open_binary(str(events)) as stream:
        run_pipeline(read_lines(stream, str(events)), processor, MemorySink())
    return pickle.dumps(processor.detectors)


def run_seed(
    args: argparse.Namespace, seed: int, warm: bytes | None = None
) -> tuple[Evaluation, dict[str, object]]:
    """Replay one seed's traffic (cold, or with ``warm`` detectors) and evaluate the alerts."""
    events, labels_path = _traffic(args, seed)
    labels = load_labels(str(labels_path))
    if warm is None:
        processor = Processor()
    else:
        processor = Processor(detectors=pickle.loads(warm))  # our own bytes, just made
        processor.mark_warm()
    sink: MemorySink[Alert] = MemorySink()
    ready = [float("-inf") if warm is not None else float("inf")]
    t = time.perf_counter()
    with open_binary(str(events)) as stream:
        records = read_lines(stream, str(events))
        if warm is None:
            records = _noting_readiness(records, processor, ready)
        summary = run_pipeline(records, processor, sink)
    seconds = time.perf_counter() - t
    result = evaluate(sink.flushed, labels)
    after_ready = [
        first.ts - label.attack_start_ts
        for account_id, label in labels.items()
        if label.role == "attack"
        and label.attack_start_ts is not None
        and label.attack_start_ts >= ready[0]
        and (first := result.first_flag.get(account_id)) is not None
    ]
    campaigns: dict[str, list[bool]] = defaultdict(list)
    for account_id, label in labels.items():
        if label.campaign_id is not None:
            campaigns[label.campaign_id].append(account_id in result.first_flag)
    info = {
        "records": summary.records,
        "seconds": seconds,
        "campaigns": len(campaigns),
        "campaigns_detected": sum(any(v) for v in campaigns.values()),
        "ready_ts": ready[0],
        "started_ts": processor.learning_since,
        "after_ready": after_ready,
        "campaign_member_recall": (
            sum(sum(v) for v in campaigns.values())
            / max(1, sum(len(v) for v in campaigns.values()))
        ),
    }
    return result, info


def _noting_readiness(
    records: Iterable[tuple[int, bytes]], processor: Processor, ready: list[float]
) -> Iterator[tuple[int, bytes]]:
    """Yield ``records``, noting in ``ready[0]`` the event time the processor can first judge.

    That is when its population warm-up is over and every detector is ready; checked
    between records (each is processed before the next is asked for) until it happens.
    """
    it = iter(records)
    for record in it:
        yield record
        if processor.warm and all(d.ready for d in processor.detectors):
            ready[0] = processor.watermark
            break
    yield from it


def _ready_after(_r: Evaluation, info: dict[str, object]) -> str:
    """Minutes of event time from the first event until the detectors could judge."""
    ready, started = info["ready_ts"], info["started_ts"]
    assert isinstance(ready, float) and isinstance(started, float)
    if ready == float("inf"):
        return "never"
    return "-" if ready == float("-inf") else _fmt_minutes(ready - started)


def _after_ready(_r: Evaluation, info: dict[str, object]) -> str:
    """Median time to detect of the attacks that started once the detectors could judge."""
    delays = info["after_ready"]
    assert isinstance(delays, list)
    if info["ready_ts"] == float("-inf"):
        return "-"
    return f"{_fmt_minutes(quantile(delays, 0.5))} (n={len(delays)})"


def _kind_median(kind: str) -> Callable[[Evaluation, dict[str, object]], str]:
    """Return a row function printing ``kind``'s median time to detect (minutes)."""

    def cell(r: Evaluation, _info: dict[str, object]) -> str:
        kr = r.kinds.get(kind)
        return _fmt_minutes(kr.delay_quantile(0.5)) if kr is not None else "-"

    return cell


def _fmt_minutes(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds / 60:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=3000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--attack-share", type=float, default=SimConfig().attack_share)
    ap.add_argument("--volume-scale", type=float, default=1.0)
    ap.add_argument(
        "--warm-seed",
        type=int,
        default=None,
        help="train the detectors on this seed's traffic first (default: start cold)",
    )
    args = ap.parse_args()

    warm = None
    if args.warm_seed is not None:
        t = time.perf_counter()
        warm = trained_detectors(args, args.warm_seed)
        print(
            f"detectors trained on seed {args.warm_seed} in {time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        result, info = run_seed(args, seed, warm)
        results.append((seed, result, info))
        print(
            f"seed {seed}: {info['records']:,} records in {info['seconds']:.0f} s "
            f"({info['records'] / info['seconds']:,.0f} events/s)",
            file=sys.stderr,
        )

    kinds = sorted(
        {k for _, r, _ in results for k in r.kinds},
        key=lambda k: (results[0][1].kinds[k].role if k in results[0][1].kinds else "", k),
    )
    header = f"{'kind':<20}{'role':<8}" + "".join(f"{'seed ' + str(s):>16}" for s, _, _ in results)
    print(header)
    for kind in kinds:
        role = next(r.kinds[kind].role for _, r, _ in results if kind in r.kinds)
        cells = []
        for _, r, _ in results:
            kr = r.kinds.get(kind)
            cells.append(f"{kr.flagged:>5}/{kr.accounts:<5}{kr.rate:>6.3f}" if kr else f"{'-':>16}")
        print(f"{kind:<20}{role:<8}" + "".join(f"{c:>16}" for c in cells))
    rows = [
        ("attack recall", lambda r, i: f"{r.recall:.3f}"),
        ("benign FP rate", lambda r, i: f"{r.false_positive_rate:.4f}"),
        ("precision", lambda r, i: f"{r.precision:.3f}"),
        ("TTD median (min)", lambda r, i: _fmt_minutes(r.delay_quantile(0.5))),
        ("TTD p90 (min)", lambda r, i: _fmt_minutes(r.delay_quantile(0.9))),
        ("campaigns detected", lambda r, i: f"{i['campaigns_detected']}/{i['campaigns']}"),
        ("campaign members", lambda r, i: f"{i['campaign_member_recall']:.3f}"),
        ("linkage (flagged)", lambda r, i: f"{r.linkage:.3f}"),
        ("ready after (min)", _ready_after),
        ("TTD median, started after", _after_ready),
    ]
    for kind in kinds:
        if all(kind not in r.kinds or r.kinds[kind].role == "attack" for _, r, _ in results):
            rows.append((f"  {kind} TTD median", _kind_median(kind)))
    for name, fn in rows:
        print(f"{name:<28}" + "".join(f"{fn(r, i):>16}" for _, r, i in results))
    print(f"start: warm (detectors trained on seed {args.warm_seed})" if warm else "start: cold")
    print(TARGETS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
