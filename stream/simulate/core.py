"""Assemble the stream: merge populations in event time, add delivery defects, write out.

Per-account (or per-campaign) generators are merged with ``heapq.merge``, so memory
holds one pending item per generator plus the short delay buffer, whatever the length
of the simulation. Delivery defects are drawn from their own random stream:

* late delivery: with probability ``late_rate`` an event is emitted up to
  ``max_delay_s`` seconds (of event time) after its ``ts``;
* duplicates: with probability ``duplicate_rate`` an event is delivered a second time
  (same bytes, same ``request_id``) up to ``max_delay_s`` later;
* bad records: with probability ``bad_record_rate`` a malformed line is inserted after
  an event (it is extra: the good event is still delivered).
"""

from __future__ import annotations

import gzip
import heapq
import random
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import IO, Literal, NamedTuple, Protocol

import orjson

from stream.simulate import attack, benign
from stream.simulate.config import ALL_KINDS, SimConfig
from stream.simulate.emit import Context, Item
from stream.simulate.labels import Label, roster_labels, write_labels
from stream.simulate.roster import Roster, build_roster

Tag = Literal["event", "late", "duplicate", "bad"]

_OFFSETS_MIN: tuple[int, ...] = (0, 60, 120, -300, 330, 540, -480, 180, 600, -180)
_TZ_CACHE: dict[int, timezone] = {}


class Line(NamedTuple):
    """One output line (without newline), what it is, and whose event it came from.

    ``ts`` is the event time (Unix seconds) and ``account_id`` the account of the event
    the line carries (for a bad line: of the event it was derived from), handy as a
    Kafka message timestamp and key without parsing ``data``.
    """

    data: bytes
    tag: Tag
    kind: str
    ts: float
    account_id: str


@dataclass(slots=True)
class SimSummary:
    """Counts of what a simulation wrote.

    ``lines`` counts every line written; ``events`` the distinct good events (those
    delivered ``late`` included), per kind in ``events_by_kind``; ``duplicates`` and
    ``bad_records`` the extra lines; ``first_ts`` and ``last_ts`` bound the event times.
    """

    accounts: int = 0
    attack_accounts: int = 0
    campaigns: int = 0
    lines: int = 0
    events: int = 0
    duplicates: int = 0
    bad_records: int = 0
    late: int = 0
    events_by_kind: dict[str, int] = field(default_factory=dict)
    first_ts: float | None = None
    last_ts: float | None = None

    def one_line(self) -> str:
        """Return a one-line human summary."""
        kinds = " ".join(f"{k}={n}" for k, n in self.events_by_kind.items() if n)
        return (
            f"simulated {self.events} events ({self.duplicates} duplicates,"
            f" {self.bad_records} bad, {self.late} late) from {self.accounts} accounts"
            f" ({self.attack_accounts} attack, {self.campaigns} campaigns): {kinds}"
        )


def rfc3339(ts: float, offset_min: int) -> str:
    """Format ``ts`` as RFC 3339 with milliseconds at a UTC offset (``Z`` for zero).

    Rounds to the nearest millisecond, so the string parses back to ``round(ts, 3)``.
    """
    sec, milli = divmod(round(ts * 1000.0), 1000)
    tz = _TZ_CACHE.get(offset_min)
    if tz is None:
        tz = _TZ_CACHE[offset_min] = timezone(timedelta(minutes=offset_min))
    text = datetime.fromtimestamp(sec, tz=tz).replace(microsecond=milli * 1000)
    out = text.isoformat(timespec="milliseconds")
    return out[:-6] + "Z" if offset_min == 0 else out


def _context(cfg: SimConfig) -> Context:
    return Context(cfg.start, cfg.end, cfg.new_model_ts, cfg.ipv6_share, cfg.volume_scale)


def _generators(roster: Roster, ctx: Context) -> list[Iterator[Item]]:
    gens: list[Iterator[Item]] = []
    per_account = {
        "casual": benign.casual,
        "power_user": benign.power_user,
        "app_platform": benign.app_platform,
        "batch_job": benign.batch_job,
        "eval_harness": benign.eval_harness,
        "ci_loop": benign.ci_loop,
        "slow_sweep": attack.slow_sweep,
        "reasoning_harvest": attack.reasoning_harvest,
    }
    for a in roster.accounts:
        if a.warmup:
            gens.append(benign.casual(a, ctx, len(gens), until=a.attack_start))
        fn = per_account.get(a.kind)
        if fn is not None:
            gens.append(fn(a, ctx, len(gens)))
    for camp in roster.campaigns:
        run = attack.hydra if camp.kind == "hydra" else attack.blitz
        gens.append(run(camp, roster.accounts, ctx, len(gens)))
    return gens


_BAD_TEXT: tuple[bytes, ...] = (
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"null",
    b"42",
    b'"request"',
    b"{}",
    b"",
    b'\xff\xfe{\x00"ts\x00',
)


def _mutate(r: random.Random, bad: dict[str, object], case: int) -> None:
    """Break one field of ``bad`` in place (missing, empty, wrong type or negative)."""
    if case == 0:
        del bad["ts"]
    elif case == 1:
        del bad["account_id"]
    elif case == 2:
        bad["account_id"] = r.choice(("", r.randint(1, 10**6), None))
    elif case == 3:
        bad["ts"] = r.choice((True, [1, 2], {"s": 1}, "yesterday", None))
    elif case == 4:
        bad["input_tokens"] = str(bad.get("input_tokens", 12))
    elif case == 5:
        bad[r.choice(("input_tokens", "output_tokens", "max_tokens"))] = -r.randint(1, 500)
    elif case == 6:
        bad["asn"] = f"AS{bad.get('asn', 0)}"
    elif case == 7:
        bad["status"] = "200"
    elif case == 8:
        bad["output_tokens"] = 12.5
    else:
        bad["temperature"] = "hot"


def _bad_line(r: random.Random, ev: dict[str, object]) -> bytes:
    """Return a malformed variant of ``ev`` (one of the contract's bad-record cases)."""
    case = r.randrange(13)
    if case == 0:
        raw = orjson.dumps(ev)
        return raw[: r.randrange(1, len(raw) - 1)]  # truncated JSON
    if case == 1:
        return r.choice(_BAD_TEXT)
    if case == 2:
        return orjson.dumps([ev])
    bad = dict(ev)
    _mutate(r, bad, case - 3)
    return orjson.dumps(bad)


def iter_lines(cfg: SimConfig, roster: Roster | None = None) -> Iterator[Line]:
    """Yield every output line with its tag and the kind of account it belongs to.

    Tags: ``event`` (a good event, delivered in order), ``late`` (a good event delivered
    up to ``max_delay_s`` late), ``duplicate`` (a second delivery of an event), ``bad``
    (a malformed line).
    ``roster`` may be passed when the caller already built it from the same ``cfg``.
    """
    roster = roster if roster is not None else build_roster(cfg)
    kind_of = {a.account_id: a.kind for a in roster.accounts}
    r = random.Random(f"{cfg.seed}:delivery")
    merged = heapq.merge(*_generators(roster, _context(cfg)))
    late_rate, dup_rate, bad_rate = cfg.late_rate, cfg.duplicate_rate, cfg.bad_record_rate
    rfc_share, max_delay = cfg.rfc3339_ts_share, cfg.max_delay_s
    pending: list[tuple[float, int, Line]] = []
    seq = 0
    rand = r.random
    dumps = orjson.dumps
    for ts, _gid, ev in merged:
        while pending and pending[0][0] <= ts:
            yield heapq.heappop(pending)[2]
        acct = str(ev["account_id"])
        kind = kind_of[acct]
        ets = round(ts, 3)  # what make_event wrote
        if rand() < rfc_share:
            ev["ts"] = rfc3339(ets, r.choice(_OFFSETS_MIN))
        data = dumps(ev)
        if rand() < late_rate:
            seq += 1
            late = Line(data, "late", kind, ets, acct)
            heapq.heappush(pending, (ts + r.uniform(0.2, max_delay), seq, late))
        else:
            yield Line(data, "event", kind, ets, acct)
        if rand() < dup_rate:
            seq += 1
            dup = Line(data, "duplicate", kind, ets, acct)
            heapq.heappush(pending, (ts + r.uniform(0.05, max_delay), seq, dup))
        if rand() < bad_rate:
            yield Line(_bad_line(r, ev), "bad", kind, ets, acct)
    while pending:
        yield heapq.heappop(pending)[2]


def simulate(cfg: SimConfig) -> Iterator[bytes]:
    """Yield the simulated stream: one JSON line per item (no newline), some deliberately bad."""
    for line in iter_lines(cfg):
        yield line.data


def simulation_labels(cfg: SimConfig) -> list[Label]:
    """Return the ground-truth label of every account ``simulate(cfg)`` may emit."""
    return roster_labels(build_roster(cfg), cfg.end)


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


def _open_out(out: str, stack: ExitStack) -> _Sink:
    if out == "-":
        return sys.stdout.buffer
    raw: IO[bytes] = stack.enter_context(open(out, "wb"))  # noqa: SIM115  (closed by the stack)
    if out.endswith(".gz"):
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=5)
        stack.callback(gz.close)
        return gz
    return raw


def write_simulation(cfg: SimConfig, out: str, labels: str | None) -> SimSummary:
    """Write the stream to ``out`` (``.jsonl``, ``.jsonl.gz`` or ``-``) and labels; count.

    Output is byte-identical for identical configs (gzip headers carry no time).
    """
    roster = build_roster(cfg)
    s = SimSummary(
        accounts=len(roster.accounts),
        attack_accounts=sum(1 for a in roster.accounts if a.role == "attack"),
        campaigns=len(roster.campaigns),
        events_by_kind=dict.fromkeys(ALL_KINDS, 0),
    )
    by_kind = s.events_by_kind
    buf: list[bytes] = []
    with ExitStack() as stack:
        f = _open_out(out, stack)
        for line in iter_lines(cfg, roster):
            buf.append(line.data)
            tag = line.tag
            if tag in ("event", "late"):
                by_kind[line.kind] += 1
                if s.first_ts is None:
                    s.first_ts = line.ts
                s.last_ts = line.ts if s.last_ts is None else max(s.last_ts, line.ts)
                if tag == "late":
                    s.late += 1
            elif tag == "duplicate":
                s.duplicates += 1
            else:
                s.bad_records += 1
            if len(buf) >= 2048:
                s.lines += len(buf)
                buf.append(b"")
                f.write(b"\n".join(buf))
                buf.clear()
        if buf:
            s.lines += len(buf)
            buf.append(b"")
            f.write(b"\n".join(buf))
        f.flush()
    s.events = sum(by_kind.values())
    if labels is not None:
        write_labels(labels, roster_labels(roster, cfg.end))
    return s
