"""Campaign linkage: accounts that share infrastructure or templates, and pooled evidence.

A distillation campaign spreads over many accounts, each at a volume that looks
normal. What gives it away is what the accounts share: payment instruments, TLS
client fingerprints, network blocks, client software, recurring prompt templates.

- ``linkage_keys`` turns one request into the keys it carries (``pay:…``, ``tls:…``,
  ``net:…``, ``ua:…``, ``asn:…``); ``AccountLinks`` keeps an account's keys, bounded,
  and says which are new (only new (key, account) pairs are written to the index).
- A ``LinkageIndex`` maps key → accounts. ``MemoryLinkageIndex`` serves ``replay`` and
  a single worker; a shared implementation (Redis) serves many workers behind the
  same protocol.
- ``CampaignLinker`` weighs each shared key by its *specificity* (inverse document
  frequency: a key shared by a large part of the population links nothing) and by
  its type, links accounts whose shared weight passes a threshold, and pools the
  linked accounts' own calibrated scores: if each member's score were a one-sided
  p-value, how unlikely is it that ``k`` of the ``n`` linked accounts are individually
  as rare as ``member_q``? (a binomial tail). Only members past that bar count, so a
  linked group of merely somewhat-unusual users (an org's power users and its eval
  harness sharing one card) pools into nothing, while a campaign whose members cross
  the bar one after another is soon unmistakable, and flags its members with modest
  individual scores too.

Country is never a key, and ASN weighs little: infrastructure may *link* accounts
that share it; it never raises a score by itself (the pooled score comes only from
the members' behavioural scores).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from detectors.exceptions import ConfigError
from detectors.records import RequestEvent

#: Key types that can anchor a link: two accounts are linked only if they share at
#: least one specific key of these types (templates, user agents and ASNs only add).
ANCHOR_TYPES: frozenset[str] = frozenset({"pay", "tls", "net"})

#: Weight of one shared key of each type, before specificity (0 = never links).
DEFAULT_TYPE_WEIGHTS: Mapping[str, float] = {
    "pay": 1.0,  # a payment instrument: shared by a family at most, or by a campaign
    "tls": 0.5,  # a TLS client fingerprint: common SDKs are generic, custom clients not
    "net": 0.5,  # an IPv4 /24 or IPv6 /48 network block
    "tpl": 0.3,  # a prompt template the account uses repeatedly (common phrasings recur)
    "ua": 0.3,  # a User-Agent string
    "asn": 0.1,  # an autonomous system: very broad, a faint hint at most
}


def network_block(ip: str) -> str | None:
    """Return the /24 (IPv4) or /48 (IPv6) block of an address as a short string."""
    if "." in ip and ":" not in ip:
        head, sep, _ = ip.rpartition(".")
        return head if sep else None
    if ":" in ip:
        if "::" in ip:
            left, _, right = ip.partition("::")
            parts = left.split(":") if left else []
            missing = 8 - len(parts) - (len(right.split(":")) if right else 0)
            parts += ["0"] * max(missing, 0) + (right.split(":") if right else [])
        else:
            parts = ip.split(":")
        return ":".join(p.lower().lstrip("0") or "0" for p in parts[:3])
    return None


def linkage_keys(ev: RequestEvent) -> list[str]:
    """Return the infrastructure keys one request carries (never country, never prompts)."""
    keys = []
    if ev.payment_fingerprint:
        keys.append("pay:" + ev.payment_fingerprint)
    if ev.tls_fingerprint:
        keys.append("tls:" + ev.tls_fingerprint)
    if ev.client_ip and (block := network_block(ev.client_ip)) is not None:
        keys.append("net:" + block)
    if ev.user_agent:
        keys.append("ua:" + ev.user_agent[:200])
    if ev.asn is not None:
        keys.append(f"asn:{ev.asn}")
    return keys


class AccountLinks:
    """The linkage keys of one account, bounded, and its recurring templates.

    Args:
        max_keys: most keys remembered for the account (later new keys are ignored).
        max_templates: template fingerprints counted at once (least used dropped).
        template_repeat: uses after which a template becomes a linkage key.

    """

    __slots__ = ("_templates", "keys", "max_keys", "max_templates", "template_repeat")

    def __init__(self, max_keys: int = 32, max_templates: int = 16, template_repeat: int = 3):
        self.keys: set[str] = set()
        self._templates: dict[int, int] = {}
        self.max_keys = max_keys
        self.max_templates = max_templates
        self.template_repeat = template_repeat

    def uses(self, template: int) -> int:
        """Return how often the account used ``template`` (0 once forgotten)."""
        return self._templates.get(template, 0)

    def observe(self, keys: Iterable[str], template: int | None) -> list[str]:
        """Record one request's keys (and template); return the keys new to the account."""
        new = []
        for k in keys:
            if k not in self.keys and len(self.keys) < self.max_keys:
                self.keys.add(k)
                new.append(k)
        if template is not None:
            counts = self._templates
            n = counts.get(template, 0) + 1
            if n == 1 and len(counts) >= self.max_templates:
                del counts[min(counts, key=counts.__getitem__)]
            counts[template] = n
            key = f"tpl:{template:016x}"
            if n == self.template_repeat and len(self.keys) < self.max_keys:
                self.keys.add(key)
                new.append(key)
        return new


class LinkageIndex(Protocol):
    """Key → accounts that carry it: the cross-account view campaign linkage needs."""

    def add(self, key: str, account_id: str) -> None:
        """Record that ``account_id`` carries ``key`` (idempotent)."""
        ...

    def members(self, key: str, limit: int) -> Sequence[str]:
        """Return up to ``limit`` accounts carrying ``key``."""
        ...

    def count(self, key: str) -> int:
        """Return how many accounts carry ``key`` (may saturate at the index's cap)."""
        ...

    def population(self) -> int:
        """Return how many accounts the index has seen."""
        ...


class MemoryLinkageIndex:
    """In-process ``LinkageIndex`` for ``replay`` and one worker, bounded.

    Args:
        max_keys: keys kept (least recently extended evicted first).
        max_members: accounts listed per key; beyond it the key only counts.

    """

    def __init__(self, max_keys: int = 500_000, max_members: int = 256) -> None:
        self.max_keys = max_keys
        self.max_members = max_members
        self._members: OrderedDict[str, list[str]] = OrderedDict()
        self._counts: dict[str, int] = {}
        self._accounts = 0
        self._seen_accounts: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str, account_id: str) -> None:
        """Record that ``account_id`` carries ``key``; callers send each pair once."""
        if account_id not in self._seen_accounts:
            self._accounts += 1
            self._seen_accounts[account_id] = None
            if len(self._seen_accounts) > self.max_keys:
                self._seen_accounts.popitem(last=False)
        members = self._members.get(key)
        if members is None:
            if len(self._members) >= self.max_keys:
                old, _ = self._members.popitem(last=False)
                del self._counts[old]
            members = self._members[key] = []
            self._counts[key] = 0
        else:
            self._members.move_to_end(key)
        if account_id in members:
            return
        self._counts[key] += 1
        if len(members) < self.max_members:
            members.append(account_id)

    def members(self, key: str, limit: int) -> Sequence[str]:
        """Return up to ``limit`` accounts carrying ``key``, earliest first."""
        return self._members.get(key, [])[:limit]

    def count(self, key: str) -> int:
        """Return how many accounts carry ``key``."""
        return self._counts.get(key, 0)

    def population(self) -> int:
        """Return how many distinct accounts were added (bounded memory of which)."""
        return self._accounts


@dataclass(frozen=True, slots=True)
class CampaignEvidence:
    """What the linker concluded about one account's campaign."""

    score: float
    members: tuple[str, ...]
    scored_members: int
    rare_members: int
    mean_member_score: float
    shared: tuple[str, ...] = field(default=())


class CampaignLinker:
    """Link accounts through specific shared keys and pool their behavioural scores.

    Args:
        index: where (key, account) pairs live.
        type_weights: weight of each key type before specificity.
        max_key_share: a key carried by more than this share of accounts is generic.
        min_population: accounts the index must have seen before keys are weighed.
        link_threshold: summed key weight that links two accounts (with at least one
            anchor key among the shared ones).
        min_key_weight: keys weighing less than this are ignored (many weak keys,
            a common phrasing plus a big ASN plus a popular browser, link nothing).
        min_members: scored members (the account included) needed to pool evidence.
        member_q: calibrated score from which a member counts as individually rare.
        min_rare: rare members needed before the campaign scores at all.
        members_per_key: accounts looked at per key.
        max_related: most related accounts returned.

    """

    def __init__(
        self,
        index: LinkageIndex,
        type_weights: Mapping[str, float] = DEFAULT_TYPE_WEIGHTS,
        max_key_share: float = 0.1,
        min_population: int = 100,
        link_threshold: float = 0.6,
        min_key_weight: float = 0.2,
        min_members: int = 3,
        member_q: float = 0.95,
        min_rare: int = 4,
        members_per_key: int = 64,
        max_related: int = 25,
    ) -> None:
        if not 0.0 < max_key_share <= 1.0:
            raise ConfigError("max_key_share must be in (0, 1]")
        self.index = index
        self.type_weights = dict(type_weights)
        self.max_key_share = max_key_share
        self.min_population = min_population
        self.link_threshold = link_threshold
        self.min_key_weight = min_key_weight
        self.min_members = min_members
        self.member_q = member_q
        self.min_rare = min_rare
        self.members_per_key = members_per_key
        self.max_related = max_related

    def record(self, account_id: str, new_keys: Iterable[str]) -> None:
        """Write the account's new (key, account) pairs to the index."""
        for key in new_keys:
            self.index.add(key, account_id)

    def key_weight(self, key: str) -> float:
        """Return a key's linking weight: type weight times inverse document frequency."""
        type_w = self.type_weights.get(key.partition(":")[0], 0.0)
        n = self.index.population()
        if type_w <= 0.0 or n < self.min_population:
            return 0.0
        df = self.index.count(key)
        if df < 2 or df > self.max_key_share * n:
            return 0.0
        return type_w * math.log(n / df) / math.log(n)

    def neighbours(
        self, account_id: str, keys: Iterable[str], threshold: float | None = None
    ) -> dict[str, float]:
        """Return linked accounts → summed weight of the keys they share (≥ threshold).

        A pair is linked only if it shares an anchor key (``ANCHOR_TYPES``) that weighs
        ``min_key_weight`` or more. ``threshold`` defaults to ``link_threshold``; a lower
        one returns looser ties (``min_key_weight``: any one specific anchor key shared).
        """
        weights: dict[str, float] = {}
        anchored: set[str] = set()
        for key in keys:
            w = self.key_weight(key)
            if w < self.min_key_weight or w <= 0.0:
                continue
            anchor = key.partition(":")[0] in ANCHOR_TYPES
            for other in self.index.members(key, self.members_per_key):
                if other != account_id:
                    weights[other] = weights.get(other, 0.0) + w
                    if anchor:
                        anchored.add(other)
        bar = self.link_threshold if threshold is None else threshold
        return {a: w for a, w in weights.items() if w >= bar and a in anchored}

    def evidence(
        self,
        account_id: str,
        keys: Iterable[str],
        own_score: float | None,
        scores: Mapping[str, float],
    ) -> CampaignEvidence | None:
        """Pool the behavioural scores of the account's campaign (None if no campaign).

        With ``n`` scored members (the account included) of which ``k`` score at least
        ``member_q``, the campaign score is ``P(X < k)`` for ``X ~ Binomial(n, 1 -
        member_q)``: one minus the chance that so many would be that rare by luck.
        Members without a score yet (new accounts) are listed, not pooled.
        """
        keys = list(keys)
        linked = self.neighbours(account_id, keys)
        if not linked:
            return None
        pooled = [scores[a] for a in linked if a in scores]
        if own_score is not None:
            pooled.append(own_score)
        ranked = sorted(linked, key=lambda a: (-linked[a], a))[: self.max_related]
        if len(pooled) < self.min_members:
            return CampaignEvidence(0.0, tuple(ranked), len(pooled), 0, 0.0)
        rare = sum(1 for s in pooled if s >= self.member_q)
        score = (
            0.0 if rare < self.min_rare else binomial_cdf(rare - 1, len(pooled), 1 - self.member_q)
        )
        shared = tuple(sorted({k.partition(":")[0] for k in keys if self.key_weight(k) > 0}))
        return CampaignEvidence(
            score=score,
            members=tuple(ranked),
            scored_members=len(pooled),
            rare_members=rare,
            mean_member_score=sum(pooled) / len(pooled),
            shared=shared,
        )


def describe(evidence: CampaignEvidence) -> str:
    """Return the alert reason for a campaign: size, what links it, member scores."""
    via = ", ".join(evidence.shared) or "shared keys"
    return (
        f"linked to {len(evidence.members)} accounts through specific {via}; "
        f"{evidence.rare_members} of {evidence.scored_members} scored members are "
        f"individually rare (mean score {evidence.mean_member_score:.2f}; "
        f"campaign score {evidence.score:.4f})"
    )


def binomial_cdf(k: int, n: int, p: float) -> float:
    """Return ``P(X <= k)`` for ``X ~ Binomial(n, p)`` (exact, by summing the pmf)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)))
