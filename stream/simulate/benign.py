"""Generators of the benign populations: one function per kind, each yields ordered items.

Every generator takes the account, the simulation context and a generator id, and
yields ``(ts, gid, event)`` in non-decreasing ``ts`` within ``[ctx.start, end)``.
Only timing state is held ahead; events are built as they are yielded.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from stream.simulate import chat_prompts as chat
from stream.simulate import models as m
from stream.simulate import schedules as sch
from stream.simulate import workload_prompts as wp
from stream.simulate.emit import Context, Item, make_event
from stream.simulate.models import approx_tokens, lognormal_int, release_pivot_model
from stream.simulate.roster import Account
from stream.simulate.vocab import COMPANIES

_CASUAL_CUM = sch.curve_cum(sch.CASUAL_CURVE)
_WORK_CUM = sch.curve_cum(sch.WORK_CURVE)
_APP_MAX = max(sch.APP_CURVE)
_APP_MEAN = sum(sch.APP_CURVE) / 24.0
_POWER_INTERESTS: tuple[str, ...] = (
    "coding", "coding", "math", "science", "creative_writing", "economics", "reasoning", "law",
    "medicine", "humanities", "tool_use",
)  # fmt: skip


def _pivot(r: random.Random, share: float, median_s: float, floor_s: float) -> float | None:
    """Return after how long this account adopts a new model (``None``: never)."""
    if r.random() >= share:
        return None
    return max(floor_s, sch.lognormal(r, median_s, 0.9))


def _chat(a: Account, ctx: Context, gid: int, until: float | None, power: bool) -> Iterator[Item]:
    r = random.Random(f"{a.seed}:chat")
    end = ctx.end if until is None else min(ctx.end, until)
    scale = ctx.volume_scale
    tz = a.tz + r.uniform(-1.5, 1.5)  # chronotype
    if power:
        daily, mean_len, gap, cum = sch.loguniform(r, 100, 600), r.uniform(15, 60), 55.0, _WORK_CUM
        base = r.choices((m.LARGE, m.MEDIUM, m.SMALL), (0.65, 0.3, 0.05))[0]
        pivot = _pivot(r, 0.45, 3 * sch.HOUR, 900.0)
        interests = tuple(r.sample(_POWER_INTERESTS, r.randint(2, 5)))
        max_choices: tuple[int, ...] = (4096, 8192, 8192, 16384)
    else:
        daily, mean_len, gap, cum = sch.loguniform(r, 5, 80), r.uniform(3, 12), 80.0, _CASUAL_CUM
        base = r.choices((m.MEDIUM, m.LARGE, m.SMALL), (0.5, 0.35, 0.15))[0]
        pivot = _pivot(r, 0.2, 6 * sch.HOUR, 1800.0)
        interests = ()
        max_choices = (1024, 2048, 4096, 4096)
    max_tokens = r.choice(max_choices)
    temperature = r.choice((None, None, 1.0, 0.7))
    history, last_sid = 0, -1
    times = sch.human_times(
        r,
        ctx.start,
        end,
        tz,
        cum,
        daily * scale,
        mean_len,
        gap,
        0.1 if power else 0.15,
        0.6 if power else 1.1,
    )
    for ts, sid, k in times:
        if k == 0 or sid != last_sid or r.random() < 0.15:
            history = 0
            prompt = chat.power_prompt(r, interests) if power else chat.casual_opening(r)
        else:
            prompt = chat.power_followup(r) if power else chat.casual_followup(r)
        last_sid = sid
        reasoning = "step" in prompt or "rigorous" in prompt
        out = lognormal_int(r, (900 if reasoning else 450) if power else 260, 0.7, 5, max_tokens)
        in_tok = approx_tokens(prompt) + history + 12
        model = release_pivot_model(ts, ctx.release_ts, pivot, base)
        history = min(150_000, in_tok + out)
        yield (
            ts,
            gid,
            make_event(a, r, ctx, ts, model, prompt, in_tok, out, max_tokens, temperature, 0.002),
        )


def casual(a: Account, ctx: Context, gid: int, until: float | None = None) -> Iterator[Item]:
    """Chat users: diurnal sessions of a few minutes, 5-80 requests a day, everyday topics.

    ``until`` cuts the stream early (used for an attack account's benign warm-up).
    """
    yield from _chat(a, ctx, gid, until, power=False)


def power_user(a: Account, ctx: Context, gid: int) -> Iterator[Item]:
    """Heavy human users: long work sessions, 100-600 a day, coding, math, writing."""
    yield from _chat(a, ctx, gid, None, power=True)


def app_platform(a: Account, ctx: Context, gid: int) -> Iterator[Item]:
    """One product on the API: one template, many end users, 2k-20k requests a day."""
    r = random.Random(f"{a.seed}:app")
    app = r.choice(wp.APPS)
    company = r.choice(COMPANIES)
    daily = sch.loguniform(r, 2000, 20000) * ctx.volume_scale
    rate_max = daily / sch.DAY * _APP_MAX / _APP_MEAN
    base = r.choices((m.SMALL, m.MEDIUM, m.LARGE), (0.45, 0.45, 0.1))[0]
    pivot = _pivot(r, 0.04, 10 * sch.HOUR, 6 * sch.HOUR)
    tz = a.tz
    curve, off = sch.APP_CURVE, tz * sch.HOUR
    t = ctx.start
    while True:
        t += r.expovariate(rate_max)
        if t >= ctx.end:
            return
        if r.random() * _APP_MAX > curve[int(((t + off) % sch.DAY) // sch.HOUR)]:
            continue
        prompt = app.render(r, company)
        out = lognormal_int(r, app.output_median, 0.5, 1, app.max_tokens)
        model = release_pivot_model(t, ctx.release_ts, pivot, base)
        in_tok = app.system_tokens + approx_tokens(prompt)
        yield (
            t,
            gid,
            make_event(
                a,
                r,
                ctx,
                t,
                model,
                prompt,
                in_tok,
                out,
                app.max_tokens,
                app.temperature,
                0.004,
            ),
        )


def _runs(
    r: random.Random,
    ctx: Context,
    tz: float,
    hours: list[float],
    size: tuple[int, int],
    dur_h: tuple[float, float],
    skip: float,
) -> list[tuple[float, int, float]]:
    """Plan (start, n requests, duration s) machine runs at fixed local hours each day."""
    runs: list[tuple[float, int, float]] = []
    for day, _wd in sch.local_days(ctx.start, ctx.end, tz):
        for h in hours:
            if r.random() < skip:
                continue
            start = day + h * sch.HOUR + r.uniform(-300.0, 900.0)
            n = max(1, int(r.randint(*size) * ctx.volume_scale))
            runs.append((start, n, r.uniform(*dur_h) * sch.HOUR))
    runs.sort()
    return runs


def _paced(r: random.Random, start: float, n: int, dur: float) -> Iterator[float]:
    """Yield ``n`` machine-paced times spread over ``dur`` seconds (jittered concurrency)."""
    gap = dur / n
    t = start
    for _ in range(n):
        yield t
        t += gap * (0.55 + 0.9 * r.random())


def batch_job(a: Account, ctx: Context, gid: int) -> Iterator[Item]:
    """Scheduled bulk processing of the customer's own documents: big in, small out."""
    r = random.Random(f"{a.seed}:batch")
    spec = wp.batch_spec(r)
    first = r.choice((1.0, 2.0, 3.0, 4.0, 6.0, 13.0, 20.0, 22.0))
    hours = [first] if r.random() < 0.6 else [first, (first + r.uniform(8, 14)) % 24]
    model = r.choices((m.SMALL, m.MEDIUM, m.LARGE), (0.55, 0.4, 0.05))[0]
    temperature = r.choice((0.0, 0.0, 0.2, None))
    last = -math.inf
    for start, n, dur in _runs(r, ctx, a.tz, hours, (2000, 10000), (1.0, 3.0), 0.05):
        for t in _paced(r, max(start, last), n, dur):
            last = t
            if t < ctx.start:
                continue
            if t >= ctx.end:
                return
            prompt, in_tok = wp.batch_prompt(r, spec)
            want = spec.output_median or int(in_tok * r.uniform(0.9, 1.3))
            out = lognormal_int(r, want, 0.4, 1, spec.max_tokens)
            yield (
                t,
                gid,
                make_event(
                    a,
                    r,
                    ctx,
                    t,
                    model,
                    prompt,
                    in_tok,
                    out,
                    spec.max_tokens,
                    temperature,
                    0.02,
                ),
            )


class _EvalRun:
    """One benchmark run: items in sweep order, generated on demand by index."""

    def __init__(self, r: random.Random, suite: str, n: int) -> None:
        self.r, self.suite, self.n = r, suite, n
        self.subjects = sorted(r.sample(wp.MMLU_SUBJECTS, r.randint(20, len(wp.MMLU_SUBJECTS))))
        self.per = max(1, n // len(self.subjects))
        self.style = r.choice((".", ")"))
        self.mc_max = r.choice((1, 1, 2, 5, 16, 32))

    def item(self, i: int) -> tuple[str, int, int, int]:
        """Return (prompt, extra input tokens, wanted output, max_tokens) of item ``i``."""
        r = self.r
        if self.suite == "mc":
            subject = self.subjects[min(i // self.per, len(self.subjects) - 1)]
            prompt = wp.mc_item(r, subject, self.style)
            return prompt, 4 * approx_tokens(prompt), r.choice((1, 1, 1, 2, 3)), self.mc_max
        if self.suite == "code":
            return wp.code_item(r, i), 0, lognormal_int(r, 160, 0.5, 20, 1024), 1024
        return wp.gsm_item(r), 700, lognormal_int(r, 170, 0.4, 30, 512), 512


def eval_harness(a: Account, ctx: Context, gid: int) -> Iterator[Item]:
    """Benchmark sweeps: nightly or ad-hoc runs, subjects in order, tiny outputs.

    Many harnesses launch a run on a newly released model within hours of release.
    """
    r = random.Random(f"{a.seed}:eval")
    suites = r.sample(("mc", "mc", "mc", "code", "gsm"), r.randint(1, 2))
    nightly = r.uniform(0.5, 5.0)
    runs = _runs(r, ctx, a.tz, [nightly, r.uniform(9.0, 18.0)], (300, 3000), (1.0, 3.0), 0.55)
    plan = [(s, n, d, r.choice((m.SMALL, m.MEDIUM, m.LARGE, m.LARGE))) for s, n, d in runs]
    if ctx.release_ts is not None and r.random() < 0.6:
        n = max(1, int(r.randint(300, 3000) * ctx.volume_scale))
        plan.append(
            (
                ctx.release_ts + r.uniform(0.5, 4.0) * sch.HOUR,
                n,
                r.uniform(1.0, 3.0) * sch.HOUR,
                m.LARGE_2,
            )
        )
        plan.sort()
    temperature = r.choice((0.0, 0.0, None))
    last = -math.inf
    for start, n, dur, model in plan:
        if ctx.release_ts is not None and model == m.LARGE_2 and start < ctx.release_ts:
            continue
        run = _EvalRun(r, r.choice(suites), n)
        for i, t in enumerate(_paced(r, max(start, last), n, dur)):
            last = t
            if t < ctx.start:
                continue
            if t >= ctx.end:
                return
            prompt, extra, out, mx = run.item(i)
            in_tok = approx_tokens(prompt) + extra
            yield (
                t,
                gid,
                make_event(a, r, ctx, t, model, prompt, in_tok, out, mx, temperature, 0.01),
            )


def ci_loop(a: Account, ctx: Context, gid: int) -> Iterator[Item]:
    """Health checks and integration tests: the same prompts every few minutes, 24/7."""
    r = random.Random(f"{a.seed}:ci")
    interval = r.choice((60.0, 120.0, 300.0, 300.0, 600.0, 600.0, 900.0, 900.0))
    interval /= ctx.volume_scale
    suite = chat.ci_suite(r)
    stamped = r.random() < 0.25
    model = r.choices((m.SMALL, m.MEDIUM), (0.7, 0.3))[0]
    mx = r.choice((5, 10, 16, 32, 64))
    temperature = r.choice((0.0, None))
    build = r.randint(1000, 90000)
    t = ctx.start + r.uniform(0.0, interval)
    while t < ctx.end:
        build += 1
        if r.random() >= 0.01:  # the runner is sometimes down
            s = t + r.uniform(0.0, 2.0)
            for base in suite:
                if s >= ctx.end:
                    return
                prompt = chat.ci_prompt(base, build, stamped)
                out = lognormal_int(r, 3, 0.6, 1, mx)
                yield (
                    s,
                    gid,
                    make_event(
                        a,
                        r,
                        ctx,
                        s,
                        model,
                        prompt,
                        approx_tokens(prompt) + 10,
                        out,
                        mx,
                        temperature,
                        0.001,
                    ),
                )
                s += r.uniform(0.3, 4.0)
        t += interval
