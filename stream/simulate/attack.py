"""Generators of the attack populations: distillation campaigns and lone harvesters.

A hydra campaign is one generator for all of its accounts: a shared scheduler hands
requests round-robin to the accounts that have joined, which is what synchronises
their timing. Each account's first attack request is sent at its planned
``attack_start`` exactly, so the labels can state it without running the stream.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator

from stream.simulate import models as m
from stream.simulate import schedules as sch
from stream.simulate import tasks
from stream.simulate.emit import Context, Item, make_event
from stream.simulate.models import approx_tokens, lognormal_int, release_pivot_model
from stream.simulate.phrasing import DEEP_REASONING, HARVEST_FAMILIES, ROLES, SWEEP_STYLES, fill
from stream.simulate.roster import Account, Campaign

_HARD_DOMAINS = ("math", "math", "reasoning", "coding", "coding", "science")


class _Harvester:
    """Template set, taxonomy sweep and request parameters shared by one operator."""

    def __init__(self, r: random.Random, families: int, sweep: bool) -> None:
        picked = r.sample(HARVEST_FAMILIES, families)
        self.templates = [t for fam in picked for t in r.sample(fam, r.randint(2, len(fam)))]
        self.cells = list(tasks.CELLS)
        r.shuffle(self.cells)
        self.sweep = sweep
        self.cursor = r.randrange(len(self.cells))
        self.counter = r.randint(1000, 90000)
        self.max_tokens = r.choice(((8192, 16384), (16384, 32000), (32000,), (8192,)))
        self.temperature = r.choice((1.0, 0.7, None, 0.6))
        self.out_median = r.uniform(1200.0, 2600.0)

    def prompt(self, r: random.Random) -> str:
        if self.sweep:
            domain, sub, gen = self.cells[self.cursor % len(self.cells)]
            self.cursor += 1
        else:
            domain, sub, gen = r.choice(self.cells)
        self.counter += 1
        return fill(
            r.choice(self.templates),
            r,
            task=tasks.vary(r, gen(r)),
            field=tasks.DOMAIN_TITLES[domain],
            domain=domain,
            sub=sub,
            role=r.choice(ROLES),
            n=self.counter,
        )

    def event(
        self, a: Account, r: random.Random, ctx: Context, ts: float, model: str, p_429: float
    ) -> dict[str, object]:
        prompt = self.prompt(r)
        mx = r.choice(self.max_tokens)
        out = lognormal_int(r, self.out_median, 0.55, 200, mx)
        return make_event(
            a,
            r,
            ctx,
            ts,
            model,
            prompt,
            approx_tokens(prompt) + 8,
            out,
            mx,
            self.temperature,
            p_429,
        )


def _fast_pivot(r: random.Random, ctx: Context) -> float | None:
    return r.uniform(180.0, 3300.0) if ctx.release_ts is not None else None


def hydra(camp: Campaign, accounts: list[Account], ctx: Context, gid: int) -> Iterator[Item]:
    """Many accounts, shared templates, one scheduler round-robining across them, 24/7."""
    r = random.Random(f"{camp.seed}:hydra")
    h = _Harvester(r, r.randint(3, 8), sweep=True)
    per_account = r.uniform(50.0, 400.0) * ctx.volume_scale / sch.DAY
    paced = r.random() < 0.6
    reshuffle = r.random() < 0.5
    pivot = _fast_pivot(r, ctx)
    base = m.LARGE
    members = sorted((accounts[i] for i in camp.members), key=lambda a: a.attack_start or 0.0)
    joins = [(a.attack_start or ctx.start, a) for a in members]
    active: list[Account] = []
    rr = 0
    j = 0
    tick = math.inf
    while True:
        if j < len(joins) and joins[j][0] <= tick:
            ts, acct = joins[j]
            j += 1
            active.append(acct)
            if tick == math.inf:
                tick = ts + r.expovariate(per_account)
        else:
            ts = tick
            if rr >= len(active):
                rr = 0
                if reshuffle:
                    r.shuffle(active)
            acct = active[rr]
            rr += 1
            rate = per_account * len(active)
            tick += (r.uniform(0.7, 1.3) / rate) if paced else r.expovariate(rate)
        if ts >= ctx.end:
            return
        model = release_pivot_model(ts, ctx.release_ts, pivot, base)
        yield ts, gid, h.event(acct, r, ctx, ts, model, 0.006)


def blitz(camp: Campaign, accounts: list[Account], ctx: Context, gid: int) -> Iterator[Item]:
    """Blitz: few accounts at huge volume (10k-60k a day each), broad coverage, long outputs."""
    r = random.Random(f"{camp.seed}:blitz")
    h = _Harvester(r, r.randint(2, 4), sweep=r.random() < 0.5)
    pivot = _fast_pivot(r, ctx)
    members = [accounts[i] for i in camp.members]
    nexts = [a.attack_start or ctx.start for a in members]
    rates = [sch.loguniform(r, 10_000.0, 60_000.0) * ctx.volume_scale / sch.DAY for _ in members]
    while True:
        k = min(range(len(nexts)), key=nexts.__getitem__)
        ts = nexts[k]
        if ts >= ctx.end:
            return
        nexts[k] = ts + r.expovariate(rates[k])
        model = release_pivot_model(ts, ctx.release_ts, pivot, m.LARGE)
        yield ts, gid, h.event(members[k], r, ctx, ts, model, 0.05)


def slow_sweep(a: Account, ctx: Context, gid: int) -> Iterator[Item]:
    """Low, human-looking volume that walks an ordered list of topics or problems."""
    r = random.Random(f"{a.seed}:sweep")
    style = r.randrange(len(SWEEP_STYLES))
    wordings = SWEEP_STYLES[style]
    items = tasks.glossary()
    total = len(items) if r.random() < 0.5 else r.choice((400, 500, 1000))
    i = r.randrange(len(items) // 2)
    daily = r.uniform(20.0, 100.0) * ctx.volume_scale
    cum = sch.curve_cum(sch.WORK_CURVE)
    pivot = r.uniform(600.0, 5400.0) if r.random() < 0.7 else None
    mx = r.choice((2048, 4096, 4096, 8192))
    temperature = r.choice((None, 0.7, 1.0))
    start = a.attack_start or ctx.start
    human = sch.human_times(
        r, start, ctx.end, a.tz, cum, daily, r.uniform(4, 12), r.uniform(60.0, 300.0), 0.05, 1.0
    )
    # the operator kicks the sweep off at the planned start, then it runs at human pace
    times = itertools.chain([start], (t for t, _sid, _k in human if t > start))
    for ts in times:
        if ts >= ctx.end:
            return
        i += 1
        gen = tasks.CELLS[i % len(tasks.CELLS)][2]
        prompt = r.choice(wordings).format(
            i=i, total=total, item=items[i % len(items)], task=tasks.vary(r, gen(r), 0.4)
        )
        out = lognormal_int(r, 1300, 0.5, 150, mx)
        model = release_pivot_model(ts, ctx.release_ts, pivot, m.LARGE)
        in_tok = approx_tokens(prompt) + 8
        yield (
            ts,
            gid,
            make_event(a, r, ctx, ts, model, prompt, in_tok, out, mx, temperature, 0.003),
        )


def reasoning_harvest(a: Account, ctx: Context, gid: int) -> Iterator[Item]:
    """Moderate volume (200-1500 a day) of prompts demanding the full chain of thought."""
    r = random.Random(f"{a.seed}:harvest")
    rate = r.uniform(200.0, 1500.0) * ctx.volume_scale / sch.DAY
    mx_choices = r.choice(((32000, 64000), (16384, 32000), (64000,)))
    temperature = r.choice((1.0, None))
    pivot = _fast_pivot(r, ctx)
    prefixes = r.sample(DEEP_REASONING, r.randint(2, 5))
    ts = a.attack_start or ctx.start
    while ts < ctx.end:
        domain = r.choice(_HARD_DOMAINS)
        task = tasks.vary(r, tasks.task_in(r, domain), 0.5)
        demand = r.choice(prefixes)
        prompt = f"{demand}\n\n{task}" if r.random() < 0.8 else f"{task}\n\n{demand}"
        mx = r.choice(mx_choices)
        out = lognormal_int(r, 5000, 0.5, 400, mx)
        model = release_pivot_model(ts, ctx.release_ts, pivot, m.LARGE)
        in_tok = approx_tokens(prompt) + 8
        yield (
            ts,
            gid,
            make_event(a, r, ctx, ts, model, prompt, in_tok, out, mx, temperature, 0.01),
        )
        # a worker pool: mostly steady, now and then a pause
        ts += r.expovariate(rate) + (r.uniform(60.0, 1800.0) if r.random() < 0.002 else 0.0)
