"""The event-time processor: one validated event in, zero or more alerts out.

Per event (cheap, O(1)): dedupe by ``request_id``, look up the account's state,
analyse the prompt, update the features. Per account on a cadence (every
``score_every_events`` events or ``score_every_s`` seconds of event time): build the
feature vector, score it with every detector, apply the policy, and let the detectors
learn from accounts that are not flagged (at most once per ``learn_every_s`` per
account, so heavy accounts do not dominate the population).

Time is the events' own: the watermark is the largest event time seen. Nothing here
reads the wall clock, which is what makes ``replay`` deterministic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from detectors.campaigns import (
    ANCHOR_TYPES,
    CampaignLinker,
    MemoryLinkageIndex,
    describe,
    linkage_keys,
)
from detectors.exceptions import ConfigError
from detectors.groups import Group, GroupPool
from detectors.models import Detector, distill_detector, floor_of, volume_detector
from detectors.policy import PolicyConfig, decide
from detectors.prompts import ProfileCache, PromptProfile
from detectors.records import Alert, RequestEvent
from stream.population import PopulationEntry, PopulationFeed
from stream.scoreboard import ScoreBoard
from stream.state import AccountState, AccountStore

_ANCHOR_PREFIXES = tuple(f"{t}:" for t in sorted(ANCHOR_TYPES))


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    """Knobs of the event-time processor; the defaults are the shipped configuration.

    Args:
        max_accounts: most accounts kept in memory at once (LRU beyond).
        idle_ttl_s: accounts idle this long in event time are evicted.
        dedupe_per_account: request ids remembered per account for dedupe.
        late_tolerance_s: events older than the watermark minus this are *late*:
            counted, and they update the windows they still fall in, but they do not
            trigger scoring.
        score_every_events: score an account after this many of its events ...
        score_every_s: ... or once this much event time passed since its last score.
        min_account_events: an account is not scored before it sent this many events
            (campaign evidence needs no more: it comes from the linked accounts) ...
        min_behaviour_events: ... and its own behaviour is not judged before this many ...
        min_teach_events: ... nor does it teach the peer population before this many
            (a population of near-empty vectors would make every busy account stand out).
        pooled_detector: the detector whose scores campaign linkage pools.
        campaign_prefilter: campaign evidence is looked up for an account only while its
            own pooled-detector score is unknown or at least this (linkage is costlier
            than the per-account detectors) ...
        campaign_recheck_s: ... and at most once per this much event time.
        link_campaigns: link accounts into campaigns at all.
        pool_groups: also judge coordinated groups (linked accounts running the same
            templates, ``detectors.groups``) as one account with the pooled detector; a
            member's campaign score is the higher of the two (needs ``link_campaigns``,
            whose linker says which accounts are linked) ...
        group_min_events: ... once the group pooled this many requests ...
        group_min_members: ... from this many of its accounts or more ...
        group_recheck_s: ... rescoring a group at most once per this much event time.
        group_flags_linked: a group whose verdict passed ``review_at`` also judges its
            members that are not coordinated (linked into it on narrow keys, but none of
            their templates counted yet) while their own behaviour cannot be judged yet
            (fewer than ``min_behaviour_events`` requests): a campaign's new, quiet
            member is flagged with its group, not hours later when one of its templates
            comes round again; an account with a history of its own (a person sharing a
            network block with the campaign) is judged on that, and on coordination.
        group_pairs_rare: join two groups when an account of each, sharing a specific
            anchor key (a network block), runs the same rare framed template (so rare
            that the two groups hold ``min_concentration`` of its users counting these
            two), and make both coordinated: a campaign spread over many cards has one
            or two members per card at first, so no template comes round twice within
            a card's group for an hour or more. A re-sent phrase without a frame ("try
            again, shorter") never pairs: people send those too.
        learn_every_s: an account teaches the population at most once per this period
            (flagged accounts never do, nor accounts linked into a campaign), which
            bounds how much abuse that is not yet flagged can teach the detectors that
            it is normal.
        population_warmup_s: no account's behaviour is judged before the processor has
            seen this much event time (the peer population of the first hours is small
            and skewed towards the heaviest accounts); ``mark_warm`` skips it when the
            detectors were restored from a snapshot.
        evict_every_s: how often (watermark progress) idle accounts are swept.
        prompt_cache: prompt profiles kept for prompts that come back verbatim
            (``detectors.prompts.ProfileCache``; 0: analyse every prompt).
        policy: the alert policy.

    """

    max_accounts: int = 200_000
    idle_ttl_s: float = 48 * 3600.0
    dedupe_per_account: int = 1024
    late_tolerance_s: float = 300.0
    score_every_events: int = 20
    score_every_s: float = 600.0
    min_account_events: int = 1
    min_behaviour_events: int = 5
    min_teach_events: int = 10
    pooled_detector: str = "distill"
    campaign_prefilter: float = 0.5
    campaign_recheck_s: float = 300.0
    link_campaigns: bool = True
    pool_groups: bool = True
    group_min_events: int = 10
    group_min_members: int = 5
    group_recheck_s: float = 60.0
    group_flags_linked: bool = True
    group_pairs_rare: bool = True
    learn_every_s: float = 3600.0
    population_warmup_s: float = 1800.0
    evict_every_s: float = 600.0
    prompt_cache: int = 4096
    policy: PolicyConfig = field(default_factory=PolicyConfig)


@dataclass(slots=True)
class ProcessorStats:
    """Counters of what the processor saw and did."""

    events: int = 0
    duplicates: int = 0
    late: int = 0
    scored: int = 0
    accounts_created: int = 0
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)


def check_floors(detectors: Sequence[Detector], policy: PolicyConfig) -> None:
    """Raise ``ConfigError`` unless each detector's floor cap sits in the policy's hysteresis band.

    A score capped under a floor must open no episode (cap < ``review_at``) and must not
    close one (cap >= ``release_below``).
    """
    for d in detectors:
        min_raw, cap = floor_of(d)
        if min_raw > 0.0 and not policy.release_below <= cap < policy.review_at:
            raise ConfigError(
                f"detector {d.name!r}: floor_cap {cap} must be >= policy.release_below"
                f" ({policy.release_below}) and < policy.review_at ({policy.review_at})"
            )


def default_detectors() -> list[Detector]:
    """Return a fresh set of the shipped detectors."""
    return [distill_detector(), volume_detector()]


class Processor:
    """Run events through dedupe, features, detectors and the policy, in event time.

    Args:
        config: the processor's configuration.
        detectors: the detectors to score with (default: ``default_detectors()``).
        linker: campaign linkage (default: over an in-memory index, unless the config
            switches linkage off); a runtime with many workers passes one over a
            shared index.
        scoreboard: where the pooled detector's scores are published and the linked
            accounts' scores read (a runtime with many workers passes the shared board);
            None: only the scores of the accounts in this processor's store are pooled.
        population: where what this processor's accounts teach the detectors (and the
            retraction of newly flagged accounts) is shared with the other workers, whose
            entries ``absorb`` applies; None: the detectors learn only from this
            processor's accounts.

    """

    def __init__(
        self,
        config: ProcessorConfig | None = None,
        detectors: Sequence[Detector] | None = None,
        linker: CampaignLinker | None = None,
        scoreboard: ScoreBoard | None = None,
        population: PopulationFeed | None = None,
    ) -> None:
        self.config = config or ProcessorConfig()
        self.detectors = list(detectors) if detectors is not None else default_detectors()
        check_floors(self.detectors, self.config.policy)
        if linker is None and self.config.link_campaigns:
            linker = CampaignLinker(MemoryLinkageIndex())
        self.linker = linker
        self.scoreboard = scoreboard
        self.population = population
        self.groups = GroupPool() if linker is not None and self.config.pool_groups else None
        self.store: AccountStore[AccountState] = AccountStore(
            self._new_state, self.config.max_accounts, self.config.idle_ttl_s
        )
        self.stats = ProcessorStats()
        self.prompts = ProfileCache(self.config.prompt_cache)
        self.watermark = float("-inf")
        self._next_sweep = float("-inf")
        self._started = float("inf")  # event time the detectors started learning
        self._convicted: list[Group] = []  # groups whose verdict just passed review_at

    @property
    def warm(self) -> bool:
        """Whether the population warm-up (``population_warmup_s`` of event time) is over."""
        if self._started == float("-inf"):  # mark_warm(): even before the first event
            return True
        return self.watermark - self._started >= self.config.population_warmup_s

    def mark_warm(self) -> None:
        """Skip the population warm-up (the detectors were restored warm from a snapshot)."""
        self._started = float("-inf")

    @property
    def learning_since(self) -> float:
        """Event time the detectors began to learn (+inf: not yet; -inf: restored warm)."""
        return self._started

    def learned_since(self, ts: float) -> None:
        """Count the warm-up from ``ts`` if earlier (restored models began to learn then)."""
        self._started = min(self._started, ts)

    def _new_state(self) -> AccountState:
        """Make the state of a newly seen account."""
        self.stats.accounts_created += 1
        return AccountState(self.config.dedupe_per_account)

    def process(self, ev: RequestEvent) -> list[Alert]:
        """Process one validated event; return the alerts it raised (usually none)."""
        cfg = self.config
        stats = self.stats
        state = self.store.get(ev.account_id, ev.ts)
        if ev.request_id is not None and not state.recent_ids.add(ev.request_id):
            stats.duplicates += 1
            return []
        stats.events += 1
        late = ev.ts < self.watermark - cfg.late_tolerance_s
        if late:
            stats.late += 1
        elif ev.ts > self.watermark:
            self.watermark = ev.ts
            self._started = min(self._started, ev.ts)
            if ev.ts >= self._next_sweep:
                self.store.evict_idle(ev.ts)
                if self.groups is not None:
                    self.groups.evict_idle(ev.ts, cfg.idle_ttl_s)
                self._next_sweep = ev.ts + cfg.evict_every_s

        profile = self.prompts.analyse(ev.prompt) if ev.prompt else None
        state.features.update(ev, profile)
        if self.linker is not None:
            self._observe_links(ev, state, profile)
        state.since_scored += 1
        if late or state.features.events < cfg.min_account_events:
            return []
        if state.since_scored < cfg.score_every_events and ev.ts - state.last_scored < (
            cfg.score_every_s
        ):
            return []
        return self._judge(ev.account_id, state, ev.ts)

    def _observe_links(
        self, ev: RequestEvent, state: AccountState, profile: PromptProfile | None
    ) -> None:
        """Record the request's linkage keys; join, pool and bridge coordinated groups."""
        linker, groups = self.linker, self.groups
        assert linker is not None  # only called with linkage on
        template = profile.template if profile is not None else None
        new_keys = state.links.observe(linkage_keys(ev), template)
        if new_keys:
            linker.record(ev.account_id, new_keys)
        if groups is None:
            return
        if any(k.startswith(_ANCHOR_PREFIXES) for k in new_keys):
            for other in linker.neighbours(ev.account_id, state.links.keys):
                groups.join(ev.account_id, other)
        first_use = template is not None and state.links.uses(template) == 1
        groups.observe(ev.account_id, ev, profile, first_use)
        if first_use and profile is not None and template is not None:
            self._bridge(ev.account_id, state, profile, ev.ts)

    def _bridge(
        self, account_id: str, state: AccountState, profile: PromptProfile, now: float
    ) -> None:
        """Join the groups of one operator that narrow keys alone left apart.

        A campaign spread over several cards forms one group per card; its members
        share network blocks too, but a block alone (an office's, a campus's) is too
        loose a tie to group accounts by. It is not when both sides run the same
        script: a coordinated member that first runs a template which is a script of
        its own group and of another group (``GroupPool.shares_script``), and shares a
        specific anchor key (one weighing ``min_key_weight``) with a coordinated member
        of that other group, joins it. Looked up only while the template is a script of
        the member's group with users outside it, so seldom.

        Before any template is a script, an account (coordinated or not) that first runs
        a rare framed template (``GroupPool.pairable``) joins the group of an account
        that shares a specific anchor key with it and ran that template too, when the
        two groups hold ``min_concentration`` of its users (``GroupPool.pairs_on``); both
        become coordinated (``group_pairs_rare``).
        """
        groups, linker = self.groups, self.linker
        assert groups is not None and linker is not None  # only called with groups on
        template = profile.template
        if groups.reaches_out(account_id, template):
            for other in linker.neighbours(account_id, state.links.keys, linker.min_key_weight):
                if groups.shares_script(account_id, other, template):
                    groups.join(account_id, other)
            return
        if (
            not self.config.group_pairs_rare
            or not profile.framed
            or not groups.pairable(account_id, template)
        ):
            return
        for other in linker.neighbours(account_id, state.links.keys, linker.min_key_weight):
            peer = self.store.peek(other)
            if (
                peer is not None
                and peer.links.uses(template)
                and groups.pairs_on(account_id, other, template)
            ):
                groups.join(account_id, other)
                groups.coordinate(account_id, now)
                groups.coordinate(other, now)

    def _judge(self, account_id: str, state: AccountState, now: float) -> list[Alert]:
        """Score the account, then the other members of any group its scoring convicted."""
        alert = self._score(account_id, state, now)
        alerts = [alert] if alert is not None else []
        if not self._convicted:
            return alerts
        swept: set[int] = set()
        while self._convicted:
            group = self._convicted.pop()
            if id(group) not in swept:  # a member's scoring may convict its group again
                swept.add(id(group))
                alerts += self._sweep(group, account_id, now)
        return alerts

    def _sweep(self, group: Group, judged: str, now: float) -> list[Alert]:
        """Score now the members of a group whose verdict passed ``review_at``.

        Otherwise each quiet member would be flagged only at its next request, which a
        hydra account sends minutes to hours later, and the edge would let that request
        through. The coordinated members are scored, and the others too with
        ``group_flags_linked`` (``_group`` says which of them the group judges). Members
        already flagged, not held here (another worker's, or evicted) or scored later
        than ``now`` are left alone; ``judged`` was just scored.
        """
        alerts = []
        cfg = self.config
        members = group.members if cfg.group_flags_linked else group.coordinated
        for member in list(members):
            state = self.store.peek(member)
            if member == judged or state is None or state.episode.open:
                continue
            own_history = state.features.events >= cfg.min_behaviour_events
            if own_history and member not in group.coordinated:
                continue  # judged on its own behaviour, not the group's (``_group``)
            if state.last_scored > now:
                continue
            alert = self._score(member, state, now)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _score(self, account_id: str, state: AccountState, now: float) -> Alert | None:
        """Score one account at event time ``now``, apply the policy, learn if clean."""
        cfg = self.config
        self.stats.scored += 1
        state.since_scored = 0
        state.last_scored = now
        x = state.features.values(now)
        events = state.features.events
        mature = events >= cfg.min_teach_events
        judged = events >= cfg.min_behaviour_events and self.warm
        ready = [d for d in self.detectors if d.ready and judged]
        scores = {d.name: d.score_one(x) for d in ready}
        own = scores.get(cfg.pooled_detector)
        if own is not None:
            state.behaviour_score = own
            if self.scoreboard is not None:
                self.scoreboard.publish(account_id, own)
        related, campaign_reasons, linked = self._campaign(account_id, state, own, now, scores)
        review_at = cfg.policy.review_at
        reasons = [r for d in ready if scores[d.name] >= review_at for r in d.explain(x)]
        reasons += campaign_reasons
        was_open = state.episode.open
        alert = decide(cfg.policy, state.episode, account_id, now, scores, x, reasons, related)
        if alert is not None:
            self.stats.alerts[(alert.severity, alert.action)] += 1
            if not was_open:  # newly flagged: what it taught the detectors is unlearned
                self._unlearn(account_id)
        teaches = mature and not (state.episode.open or linked)
        if teaches and now - state.last_learned >= cfg.learn_every_s:
            state.last_learned = now
            self._teach(account_id, x, now)
        return alert

    def _campaign(
        self,
        account_id: str,
        state: AccountState,
        own: float | None,
        now: float,
        scores: dict[str, float],
    ) -> tuple[tuple[str, ...], list[str], bool]:
        """Add the account's campaign score to ``scores`` (linked accounts, coordinated group).

        Returns the related accounts, the reasons to give, and whether the account is
        linked into a campaign or coordinated group (it then teaches nothing).
        """
        if self.linker is None:
            return (), [], False
        review_at = self.config.policy.review_at
        self._link(account_id, state, own, now)
        campaign = state.campaign
        related: tuple[str, ...] = ()
        reasons = []
        if campaign is not None:
            related = campaign.members
            if campaign.scored_members >= self.linker.min_members:
                scores["campaign"] = campaign.score
                if campaign.score >= review_at:
                    reasons.append(describe(campaign))
        group = self._group(account_id, own, state.episode.open, now)
        if group is not None and group.score is not None:
            scores["campaign"] = max(group.score, scores.get("campaign", 0.0))
            if not related:
                others = (a for a in group.coordinated if a != account_id)
                related = tuple(others)[: self.linker.max_related]
            if group.score >= review_at:
                reasons.append(self._describe_group(group, account_id in group.coordinated))
        suspect_group = group is not None and (group.score or 0.0) >= self.config.campaign_prefilter
        linked = (campaign is not None and bool(campaign.members)) or suspect_group
        return related, reasons, linked

    def _group(self, account_id: str, own: float | None, flagged: bool, now: float) -> Group | None:
        """Return the account's coordinated group if it may judge the account (rescored when due).

        It may when the account is one of the group's coordinated members, and the group
        pooled ``group_min_events`` requests and has ``group_min_members`` coordinated
        members or more. A member that is not coordinated is judged by the group's
        latest verdict (not rescored for it) when ``group_flags_linked``, the verdict
        passed ``review_at``, and the account has no ``own`` score yet (too few requests
        to judge its behaviour) or is ``flagged`` already (so that the verdict holds it
        while the group stays convicted, as campaign evidence does).
        """
        pool, cfg = self.groups, self.config
        group = pool.group_of(account_id) if pool is not None else None
        if group is not None and account_id not in group.coordinated:
            convicted = group.score is not None and group.score >= cfg.policy.review_at
            follows = cfg.group_flags_linked and convicted and (own is None or flagged)
            return group if follows else None
        if (
            group is None
            or group.features is None
            or group.pooled < cfg.group_min_events
            or len(group.coordinated) < cfg.group_min_members
        ):
            return None
        if now - group.scored_at >= cfg.group_recheck_s:
            group.scored_at = now
            group.score = None
            for d in self.detectors:
                if d.name == cfg.pooled_detector and d.ready and self.warm:
                    group.score = d.score_one(group.features.values(now))
            if group.score is not None and group.score >= cfg.policy.review_at:
                self._convicted.append(group)  # its other members are scored now (_sweep)
        return group

    def _describe_group(self, group: Group, coordinated: bool) -> str:
        """Return the alert reason for a coordinated group judged as one account."""
        who = (
            f"one of {len(group.coordinated)} accounts running the same prompt templates in "
            if coordinated
            else f"linked on shared keys to {len(group.coordinated)} accounts running the same"
            " prompt templates, in "
        )
        return (
            f"{who}a linked group of {len(group.members)} ({group.coordinated_share:.0%} of the "
            f"group's {group.requests:,} requests); their requests pooled as one account "
            f"score {group.score:.4f} on {self.config.pooled_detector}"
        )

    def _teach(self, account_id: str, x: Mapping[str, float], now: float) -> None:
        """Teach the detectors ``account_id``'s features, and share them with the peers."""
        for d in self.detectors:
            d.learn_one(x, account_id)
        if self.population is not None:
            self.population.publish(account_id, now, x)

    def _unlearn(self, account_id: str) -> None:
        """Drop a newly flagged account's features from the detectors, here and at the peers."""
        for d in self.detectors:
            d.forget(account_id)
        if self.population is not None:
            self.population.retract(account_id)

    def absorb(self, entries: Iterable[PopulationEntry]) -> int:
        """Apply other workers' population entries to the detectors; return how many applied.

        A teach entry is learned as this processor's own accounts are (``learn_one``,
        keyed by account), a retraction forgotten. A teach entry of an account this
        processor holds flagged or linked into a campaign is skipped (a stale entry of an
        account that moved here), as the account would not teach here. The population
        warm-up counts from the earliest event time learned, here or by the peers: a
        worker that absorbs a backlog spanning ``population_warmup_s`` is warm at once.
        """
        applied = 0
        for entry in entries:
            account_id, x = entry.account_id, entry.x
            if x is None:
                for d in self.detectors:
                    d.forget(account_id)
            else:
                state = self.store.peek(account_id)
                if state is not None and (
                    state.episode.open or (state.campaign is not None and state.campaign.members)
                ):
                    continue
                for d in self.detectors:
                    d.learn_one(x, account_id)
                if entry.ts is not None:
                    self._started = min(self._started, entry.ts)
            applied += 1
        return applied

    def _link(self, account_id: str, state: AccountState, own: float | None, now: float) -> None:
        """Refresh the account's campaign evidence when due (cached between checks)."""
        cfg = self.config
        assert self.linker is not None  # only called with linkage on
        if own is not None and own < cfg.campaign_prefilter and not state.episode.open:
            state.campaign = None
            return
        if now - state.campaign_checked < cfg.campaign_recheck_s:
            return
        state.campaign_checked = now
        local = _BehaviourScores(self.store)
        scores = self.scoreboard.view(local) if self.scoreboard is not None else local
        state.campaign = self.linker.evidence(account_id, state.links.keys, own, scores)


class _BehaviourScores(Mapping[str, float]):
    """Read-only view: account id → its latest pooled-detector score, from the store."""

    def __init__(self, store: AccountStore[AccountState]) -> None:
        self._store = store

    def __getitem__(self, account_id: str) -> float:
        state = self._store.peek(account_id)
        if state is None or state.behaviour_score is None:
            raise KeyError(account_id)
        return state.behaviour_score

    def __contains__(self, account_id: object) -> bool:
        if not isinstance(account_id, str):
            return False
        state = self._store.peek(account_id)
        return state is not None and state.behaviour_score is not None

    def __iter__(self) -> Iterator[str]:
        return (a for a, s in self._store.items() if s.behaviour_score is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)
