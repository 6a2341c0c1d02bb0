"""The cast of the simulation: accounts, their organisations, infrastructure and labels."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from stream.simulate import infra
from stream.simulate.config import ATTACK_KINDS, BENIGN_KINDS, SimConfig
from stream.simulate.infra import Location

_DAY = 86400.0
_HUMAN_KINDS = ("casual", "power_user")
# Attackers pick network categories from the blend the whole benign population shows,
# so that ASN type does not give the role away.
_ATTACK_CATEGORY_WEIGHTS: tuple[float, ...] = tuple(
    0.85 * h + 0.15 * s
    for h, s in zip(infra.HUMAN_CATEGORY_WEIGHTS, infra.SERVER_CATEGORY_WEIGHTS, strict=True)
)


@dataclass(slots=True)
class Account:
    """One simulated account: identity, kind, infrastructure and (for attackers) timing.

    ``locations`` lists where requests come from, repeated to encode weights (an empty
    tuple means: a different end user's address for every request). ``seed`` seeds the
    account's own random stream.
    """

    index: int
    account_id: str
    kind: str
    role: str
    org_id: str
    country: str
    tz: float
    api_keys: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()
    user_agent: str = ""
    tls: tuple[str, ...] = ()
    payment: str | None = None
    created_ts: float = 0.0
    created_field: float | str = 0.0
    endpoint: str = "/v1/messages"
    campaign_id: str | None = None
    attack_start: float | None = None
    warmup: bool = False
    seed: str = ""


@dataclass(slots=True)
class Campaign:
    """Accounts run by one operator (a hydra campaign or a blitz group)."""

    campaign_id: str
    kind: str
    members: list[int] = field(default_factory=list)
    start: float = 0.0
    seed: str = ""


@dataclass(slots=True)
class _Org:
    org_id: str
    country: str
    office: Location
    cloud_asn: int
    cloud_geo: str
    cloud_block: str
    payment: str | None


@dataclass(slots=True)
class Roster:
    """Every account and campaign of one simulation, in account-index order."""

    accounts: list[Account]
    campaigns: list[Campaign]


def allocate(n: int, mix: tuple[tuple[str, float], ...]) -> dict[str, int]:
    """Split ``n`` accounts over a mix by largest remainder; each weighted kind gets >= 1.

    The minimum of one per kind applies only when ``n`` is at least the number of
    kinds with a positive weight.
    """
    positive = [(k, w) for k, w in mix if w > 0.0]
    total = sum(w for _, w in positive)
    counts = {k: 0 for k, _ in mix}
    if n <= 0 or not positive:
        return counts
    floor_one = n >= len(positive)
    raw = {k: n * w / total for k, w in positive}
    for k, x in raw.items():
        counts[k] = max(1 if floor_one else 0, math.floor(x))
    least = 1 if floor_one else 0
    while sum(counts.values()) > n:
        over = [k for k, _ in positive if counts[k] > least]
        k = max(over, key=lambda k: (counts[k] - raw[k], counts[k]))
        counts[k] -= 1
    order = sorted(positive, key=lambda kw: raw[kw[0]] - math.floor(raw[kw[0]]), reverse=True)
    i = 0
    while sum(counts.values()) < n:
        counts[order[i % len(order)][0]] += 1
        i += 1
    return counts


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _created(r: random.Random, ts: float) -> tuple[float, float | str]:
    ts = float(int(ts))
    return ts, (_rfc3339(ts) if r.random() < 0.5 else ts)


def _loguniform(r: random.Random, lo: float, hi: float) -> float:
    return math.exp(r.uniform(math.log(lo), math.log(hi)))


def _split_campaigns(r: random.Random, n: int, lo: int, hi: int, max_groups: int) -> list[int]:
    """Split ``n`` accounts into groups of ``lo``..``hi`` (smaller when ``n`` is small)."""
    if n <= 0:
        return []
    groups = max(1, min(max_groups, n // lo) if n >= lo else 1)
    groups = max(groups, math.ceil(n / hi))
    weights = [r.uniform(0.6, 1.4) for _ in range(groups)]
    sizes = [max(1, int(n * w / sum(weights))) for w in weights]
    sizes[0] += n - sum(sizes)
    return sizes


class _Builder:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.r = random.Random(f"roster:{cfg.seed}")
        self.ids: set[str] = set()
        self.orgs: list[_Org] = []
        self.family_cards: list[str] = []

    def uid(self, prefix: str, bits: int = 48) -> str:
        while True:
            x = infra.new_id(self.r, prefix, bits)
            if x not in self.ids:
                self.ids.add(x)
                return x

    def new_org(self) -> _Org:
        r = self.r
        country = infra.draw_country(r)
        office = infra.draw_location(r, "corporate", country, self.cfg.ipv6_share)
        asn, geo = infra.draw_asn(r, "cloud", country)
        card = None if r.random() < 0.25 else infra.payment_fingerprint(r)  # invoiced
        org = _Org(self.uid("org"), country, office, asn, geo, infra.block24(r, asn), card)
        self.orgs.append(org)
        return org

    def company(self, join_existing: float) -> _Org:
        if self.orgs and self.r.random() < join_existing:
            return self.r.choice(self.orgs)
        return self.new_org()

    def human_agent(self, a: Account, browser_share: float) -> None:
        r = self.r
        a.user_agent = infra.browser_agent(r) if r.random() < browser_share else infra.sdk_agent(r)
        tls = infra.long_tail_tls(r) if r.random() < 0.06 else infra.tls_for_agent(r, a.user_agent)
        a.tls = (tls,)
        if "OpenAI" in a.user_agent or "langchain" in a.user_agent or r.random() < 0.08:
            a.endpoint = "/v1/chat/completions"

    def human(self, a: Account, employee_share: float) -> None:
        r, v6 = self.r, self.cfg.ipv6_share
        if r.random() < employee_share:
            org = self.company(0.7)
            a.org_id, a.country, a.payment = org.org_id, org.country, org.payment
            home = infra.draw_location(r, "residential", a.country, v6)
            a.locations = (org.office,) * 3 + (home,)
        else:
            a.org_id = self.uid("org")
            a.country = infra.draw_country(r)
            cat = r.choices(infra.CATEGORIES, infra.HUMAN_CATEGORY_WEIGHTS)[0]
            main = infra.draw_location(r, cat, a.country, v6)
            locs: tuple[Location, ...] = (main,) * 4
            if r.random() < 0.4:
                locs += (infra.draw_location(r, "mobile", a.country, v6),)
            a.locations = locs
            if self.family_cards and r.random() < 0.03:
                a.payment = r.choice(self.family_cards)  # family / shared card
            else:
                a.payment = infra.payment_fingerprint(r)
                self.family_cards.append(a.payment)
        a.tz = infra.utc_offset(a.country)
        a.api_keys = (self.uid("key"),) if r.random() < 0.8 else (self.uid("key"), self.uid("key"))
        self.human_agent(a, 0.7 if a.kind == "casual" else 0.45)
        age = (
            _loguniform(r, 0.3 * _DAY, 14 * _DAY)
            if r.random() < 0.07
            else _loguniform(r, 14 * _DAY, 1400 * _DAY)
        )
        a.created_ts, a.created_field = _created(r, self.cfg.start - age)

    def server(self, a: Account) -> None:
        r, v6 = self.r, self.cfg.ipv6_share
        org = self.company(0.45)
        a.org_id, a.country, a.payment = org.org_id, org.country, org.payment
        a.tz = infra.utc_offset(a.country)
        cat = r.choices(infra.CATEGORIES, infra.SERVER_CATEGORY_WEIGHTS)[0]
        if cat == "cloud":
            hosts = tuple(
                Location(infra.ip_in_block(r, org.cloud_block), org.cloud_asn, org.cloud_geo)
                for _ in range(r.randint(1, 6))
            )
        elif cat == "corporate":
            hosts = (org.office,)
        else:
            hosts = (infra.draw_location(r, cat, a.country, v6),)
        a.locations = hosts
        if a.kind == "app_platform" and r.random() < 0.3:
            a.locations = ()  # a client-side app: every end user calls the API directly
        a.user_agent = infra.sdk_agent(r)
        tls = infra.long_tail_tls(r) if r.random() < 0.1 else infra.tls_for_agent(r, a.user_agent)
        a.tls = (tls,)
        if "OpenAI" in a.user_agent or r.random() < 0.1:
            a.endpoint = "/v1/chat/completions"
        a.api_keys = tuple(self.uid("key") for _ in range(r.choice((1, 1, 2, 3))))
        age = _loguniform(r, 5 * _DAY, 1200 * _DAY)
        a.created_ts, a.created_field = _created(r, self.cfg.start - age)


def _attack_infra(b: _Builder, camp: Campaign, accounts: list[Account]) -> None:
    """Give a campaign's accounts shared blocks, client, cards and young ages."""
    r, cfg = b.r, b.cfg
    networks: list[tuple[int, str]] = []
    for _ in range(r.randint(3, 6) if camp.kind == "hydra" else r.randint(1, 2)):
        country = infra.draw_country(r)
        cat = r.choices(infra.CATEGORIES, _ATTACK_CATEGORY_WEIGHTS)[0]
        networks.append(infra.draw_asn(r, cat, country))
    # a few /24 blocks in each network (ASN) the operator rents or proxies through
    blocks = [
        (asn, geo, infra.block24(r, asn)) for asn, geo in networks for _ in range(r.randint(1, 2))
    ]
    r.shuffle(blocks)
    agent = infra.sdk_agent(r)
    pool = [infra.tls_for_agent(r, agent) if r.random() < 0.4 else infra.long_tail_tls(r)]
    pool += [infra.long_tail_tls(r) for _ in range(r.randint(0, 2))]
    endpoint = "/v1/chat/completions" if "OpenAI" in agent else "/v1/messages"
    card = infra.payment_fingerprint(r)
    group_left = r.randint(2, 8)
    members = [accounts[i] for i in camp.members]
    for k, a in enumerate(members):
        asn, geo, block = blocks[k % len(blocks)]
        if r.random() < cfg.ipv6_share:
            a.locations = (Location(infra.random_ip(r, asn, 1.0), asn, geo),)
        else:
            a.locations = tuple(
                Location(infra.ip_in_block(r, block), asn, geo) for _ in range(r.randint(1, 3))
            )
        a.country = infra.draw_country(r)  # the sign-up country claimed by the account
        a.tz = infra.utc_offset(a.country)
        a.org_id = b.uid("org")
        a.api_keys = (b.uid("key"),)
        a.user_agent = agent
        a.tls = (r.choice(pool),)
        a.endpoint = endpoint
        if group_left == 0:
            card, group_left = infra.payment_fingerprint(r), r.randint(2, 8)
        if camp.kind == "blitz" and r.random() < 0.5:
            a.payment = infra.payment_fingerprint(r)
        else:
            a.payment, group_left = card, group_left - 1
        a.campaign_id = camp.campaign_id


def _lone_attacker(b: _Builder, a: Account) -> None:
    r = b.r
    b.human(a, 0.0) if a.kind == "slow_sweep" else b.server(a)
    if a.kind != "slow_sweep":
        a.org_id = b.uid("org")
        a.payment = infra.payment_fingerprint(r)
        country = infra.draw_country(r)
        cat = r.choices(infra.CATEGORIES, _ATTACK_CATEGORY_WEIGHTS)[0]
        a.country, a.tz = country, infra.utc_offset(country)
        a.locations = (infra.draw_location(r, cat, country, b.cfg.ipv6_share),)


def _attack_timing(b: _Builder, roster: Roster) -> None:
    """Plan attack starts (campaign joins) and account creation times."""
    r, cfg = b.r, b.cfg
    span = cfg.hours * 3600.0
    for camp in roster.campaigns:
        running = r.random() < 0.45
        camp.start = cfg.start if running else cfg.start + r.uniform(0.05, 0.5) * span
        wave_gap = r.uniform(300.0, 3600.0)
        wave_size = r.randint(5, 25)
        for k, i in enumerate(roster.accounts[m].index for m in camp.members):
            a = roster.accounts[i]
            if running:
                a.attack_start = cfg.start + r.uniform(0.0, 900.0)
            else:
                wave = k // wave_size if r.random() < 0.7 else 0
                a.attack_start = camp.start + wave * wave_gap + r.uniform(0.0, 600.0)
            a.attack_start = min(a.attack_start, cfg.start + 0.9 * span)
    for a in roster.accounts:
        if a.role != "attack":
            continue
        if a.attack_start is None:  # lone attackers
            late = r.random() < 0.5
            a.attack_start = cfg.start + (r.uniform(0.02, 0.5) * span if late else 0.0)
        young = {
            "hydra": (3600.0, 7 * _DAY),
            "blitz": (_DAY, 30 * _DAY),
            "reasoning_harvest": (2 * _DAY, 120 * _DAY),
            "slow_sweep": (30 * _DAY, 700 * _DAY),
        }[a.kind]
        a.warmup = a.attack_start > cfg.start + 3600.0 and r.random() < 0.35
        anchor = cfg.start if a.warmup else a.attack_start
        a.created_ts, a.created_field = _created(r, anchor - _loguniform(r, *young))


def build_roster(cfg: SimConfig) -> Roster:
    """Create every account of the simulation: kinds, orgs, infrastructure, campaigns.

    Deterministic from ``cfg``; account ids are random-looking and kinds are shuffled
    over account indices, so neither order nor id reveals the role.
    """
    b = _Builder(cfg)
    r = b.r
    n_attack = round(cfg.accounts * cfg.attack_share)
    kinds: list[str] = []
    for kind, n in allocate(cfg.accounts - n_attack, cfg.benign_mix).items():
        kinds += [kind] * n
    attack_counts = allocate(n_attack, cfg.attack_mix)
    for kind in ATTACK_KINDS:
        kinds += [kind] * attack_counts.get(kind, 0)
    r.shuffle(kinds)
    accounts = [
        Account(i, b.uid("acct"), k, "attack" if k in ATTACK_KINDS else "benign", "", "US", 0.0)
        for i, k in enumerate(kinds)
    ]
    by_kind: dict[str, list[int]] = {}
    for a in accounts:
        a.seed = f"{cfg.seed}:{a.account_id}"
        by_kind.setdefault(a.kind, []).append(a.index)
    roster = Roster(accounts, [])
    for a in accounts:
        if a.kind in _HUMAN_KINDS:
            b.human(a, 0.12 if a.kind == "casual" else 0.3)
        elif a.kind in BENIGN_KINDS:
            b.server(a)
    for kind, lo, hi, most in (("hydra", 20, 150, 3), ("blitz", 1, 5, 10**6)):
        members = by_kind.get(kind, [])
        pos = 0
        sizes = (
            _split_campaigns(r, len(members), lo, hi, most)
            if kind == "hydra"
            else _blitz_groups(r, len(members))
        )
        for size in sizes:
            camp = Campaign(b.uid("cmp", 32), kind, members[pos : pos + size])
            camp.seed = f"{cfg.seed}:{camp.campaign_id}"
            pos += size
            roster.campaigns.append(camp)
            _attack_infra(b, camp, accounts)
    for kind in ("slow_sweep", "reasoning_harvest"):
        for i in by_kind.get(kind, []):
            _lone_attacker(b, accounts[i])
    _attack_timing(b, roster)
    return roster


def _blitz_groups(r: random.Random, n: int) -> list[int]:
    sizes: list[int] = []
    while n > 0:
        k = min(n, r.randint(1, 5))
        sizes.append(k)
        n -= k
    return sizes
