"""Coordinated groups: linked accounts that run the same prompt templates, pooled as one.

A hydra campaign spreads its harvest over many accounts, each so quiet that its own
behaviour takes hours to convict: a member sending two requests an hour needs five
hours for ten. Pooled, the campaign is one busy harvester, which the per-account
detectors catch within a few dozen requests. Pooling everything linked would be
wrong, though: an office behind one network block, or a company's accounts on one
card, pooled, also cover many areas. What sets the campaign apart is *coordination*:
its members run the operator's templates, so the same template turns up across
members, while people write their own prompts.

``GroupPool`` keeps:

- **groups**: accounts joined (union-find) when the caller says they are linked (the
  processor asks the campaign linker whenever an account shows a new payment, TLS or
  network key), so that a campaign whose accounts the linker chains together (a
  shared card, a block and a client) becomes one group;
- per group and template fingerprint, how many of the group's accounts used it; per
  template, how many accounts used it anywhere;
- the group's *coordinated* members: an account becomes one when it runs a template
  that another member ran too, provided at least ``min_concentration`` of the
  template's users are in the group (a common phrasing, used all over the
  population, is nobody's script); the member that ran it first becomes one too;
- bridges between groups of one operator (``reaches_out``, ``shares_script``): the
  processor joins a coordinated member to another group when a template is a script of
  both groups and the member shares with a coordinated member of the other a specific
  key that is too loose to join them on its own (a network block); and, earlier, pairs
  two accounts of two groups that share such a key and both ran a *rare* template
  (``pairable``, ``pairs_on``: the two groups hold ``min_concentration`` of its users),
  making both coordinated (``coordinate``);
- per group, an ``AccountFeatures`` of every request its coordinated members sent
  (since they joined the group: each grouped account keeps its latest ``backfill``
  requests, without prompts, until it becomes coordinated; a benign account that shares
  a network block with a campaign never becomes coordinated, so it adds nothing), which
  the processor scores as if the group were one account, and whose verdict may flag
  the coordinated members (and, with the processor's ``group_flags_linked``, members
  too new to be judged on their own behaviour).

Everything is bounded: templates counted overall, accounts in groups, group size,
templates per group and requests kept per account are capped, least recently active
dropped first. Pure code: event time comes with the events.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from detectors.exceptions import ConfigError
from detectors.features import AccountFeatures
from detectors.prompts import PromptProfile
from detectors.records import RequestEvent
from detectors.windows import DAY

#: A request kept until its account is coordinated: what ``AccountFeatures.update`` reads
#: (time, input, output and max tokens, account creation time, prompt profile).
_Kept = tuple[float, int | None, int | None, int | None, float | None, PromptProfile | None]


class _Template:
    """One template fingerprint within a group: how many of its accounts used it."""

    __slots__ = ("first", "users")

    def __init__(self, first: str) -> None:
        self.first = first
        self.users = 1


class Group:
    """Accounts joined by narrow anchor keys, and what they did in coordination (bounded)."""

    __slots__ = (
        "coordinated",
        "features",
        "last_ts",
        "members",
        "requests",
        "score",
        "scored_at",
        "templates",
    )

    def __init__(self) -> None:
        self.members: list[str] = []
        self.templates: OrderedDict[int, _Template] = OrderedDict()
        self.coordinated: dict[str, None] = {}  # members that sent coordinated requests
        self.features: AccountFeatures | None = None  # of the coordinated requests
        self.requests = 0  # all requests of the members, coordinated or not
        self.last_ts = float("-inf")
        self.score: float | None = None  # latest verdict on the pooled features
        self.scored_at = float("-inf")

    def pool(self, ev: RequestEvent, profile: PromptProfile | None) -> None:
        """Fold one coordinated request into the group's pooled features."""
        if self.features is None:
            self.features = AccountFeatures()
        self.features.update(ev, profile)

    def absorb_pooled(self, other: Group) -> None:
        """Add the requests ``other`` pooled to this group's (the two are being joined)."""
        if other.features is None:
            return
        if self.features is None:
            self.features = other.features
        else:
            self.features.merge(other.features)

    @property
    def pooled(self) -> int:
        """Return how many requests of coordinated members the group pooled."""
        return self.features.events if self.features is not None else 0

    @property
    def coordinated_share(self) -> float:
        """Share of the members' requests that were pooled (sent by coordinated members)."""
        return self.pooled / self.requests if self.requests else 0.0


class GroupPool:
    """Union-find over linked accounts, pooling the requests of coordinated members.

    Args:
        max_group: most accounts in one group (groups that would grow past it are not
            joined).
        max_accounts: accounts kept in groups at once (least recently active groups
            dropped first).
        max_templates: templates counted per group.
        max_tracked_templates: templates whose users are counted overall.
        min_concentration: share of a template's users that must be in the group for
            its requests to count as coordinated.
        backfill: requests a grouped account keeps (without prompts) until it becomes
            coordinated; they are pooled then, so the group does not lose what its
            members sent before their first shared template came round (0: none).

    """

    def __init__(
        self,
        max_group: int = 1024,
        max_accounts: int = 200_000,
        max_templates: int = 256,
        max_tracked_templates: int = 500_000,
        min_concentration: float = 0.1,
        backfill: int = 8,
    ) -> None:
        if max_group < 2:
            raise ConfigError("max_group must be >= 2")
        if not 0.0 < min_concentration <= 1.0:
            raise ConfigError("min_concentration must be in (0, 1]")
        if backfill < 0:
            raise ConfigError("backfill must be >= 0")
        self.max_group = max_group
        self.max_accounts = max_accounts
        self.max_templates = max_templates
        self.max_tracked_templates = max_tracked_templates
        self.min_concentration = min_concentration
        self._parent: dict[str, str] = {}
        self._groups: OrderedDict[str, Group] = OrderedDict()  # root → group, LRU
        self._users: OrderedDict[int, int] = OrderedDict()  # template → accounts using it
        self.backfill = backfill
        # grouped accounts not yet coordinated → their latest requests (``_Kept``)
        self._backlog: dict[str, deque[_Kept]] = {}

    def __len__(self) -> int:
        return len(self._groups)

    @property
    def accounts(self) -> int:
        """Return how many accounts are in groups."""
        return len(self._parent)

    @property
    def kept(self) -> int:
        """Return how many requests grouped accounts keep until they are coordinated."""
        return sum(len(b) for b in self._backlog.values())

    def group_of(self, account_id: str) -> Group | None:
        """Return the account's group, if it is in one."""
        if account_id not in self._parent:
            return None
        return self._groups.get(self._find(account_id))

    def observe(
        self, account_id: str, ev: RequestEvent, profile: PromptProfile | None, first_use: bool
    ) -> None:
        """Fold one request in; pool it if its account is coordinated within its group.

        ``first_use`` says whether the account used the prompt's template for the first
        time.
        """
        template = profile.template if profile is not None else None
        if template is not None and first_use:
            self._count_user(template)
        if account_id not in self._parent:
            return
        root = self._find(account_id)
        group = self._groups[root]
        self._groups.move_to_end(root)
        group.requests += 1
        group.last_ts = max(group.last_ts, ev.ts)
        coordinated = group.coordinated
        if template is not None:
            entry = group.templates.get(template)
            if entry is None:
                if len(group.templates) >= self.max_templates:
                    group.templates.popitem(last=False)
                group.templates[template] = _Template(account_id)
            else:
                group.templates.move_to_end(template)
                if first_use and entry.first != account_id:
                    entry.users += 1
                if (
                    account_id not in coordinated
                    and entry.users >= 2
                    and self._concentrated(entry.users, template)
                ):
                    self._coordinate(group, account_id, ev.ts)
                    first = entry.first
                    if first in self._parent and self._find(first) == root:
                        self._coordinate(group, first, ev.ts)  # it ran the template first
        self._pool(group, account_id, ev, profile)

    def _count_user(self, template: int) -> None:
        """Count one more account using ``template`` (bounded, least recently used dropped)."""
        users = self._users
        n = users.pop(template, 0) + 1
        if n == 1 and len(users) >= self.max_tracked_templates:
            users.popitem(last=False)
        users[template] = n

    def _pool(
        self, group: Group, account_id: str, ev: RequestEvent, profile: PromptProfile | None
    ) -> None:
        """Pool a coordinated member's request; keep another member's for later (``backfill``)."""
        if account_id in group.coordinated:
            group.pool(ev, profile)
        elif self.backfill > 0:
            backlog = self._backlog.get(account_id)
            if backlog is None:
                backlog = self._backlog[account_id] = deque(maxlen=self.backfill)
            created = ev.account_created_ts
            backlog.append(
                (ev.ts, ev.input_tokens, ev.output_tokens, ev.max_tokens, created, profile)
            )

    def _coordinate(self, group: Group, account_id: str, now: float) -> None:
        """Make ``account_id`` a coordinated member; pool the requests it kept in the last day.

        The kept requests are older than what the group pooled already; the features'
        windows place them by their own time (their order-based parts, such as area
        switches, take them as the newest).
        """
        if account_id in group.coordinated:
            return
        group.coordinated[account_id] = None
        backlog = self._backlog.pop(account_id, None)
        for ts, tin, tout, maxtok, created, profile in backlog or ():
            if now - ts >= DAY:
                continue  # outside every window the pooled features keep
            ev = RequestEvent(
                ts=ts,
                account_id=account_id,
                input_tokens=tin,
                output_tokens=tout,
                max_tokens=maxtok,
                account_created_ts=created,
            )
            group.pool(ev, profile)

    def reaches_out(self, account_id: str, template: int) -> bool:
        """Whether a coordinated member's ``template`` is a script of its group used outside too.

        A script of its group: at least two of its users are in the group.
        """
        group = self.group_of(account_id)
        if group is None or account_id not in group.coordinated:
            return False
        entry = group.templates.get(template)
        return entry is not None and 2 <= entry.users < self._users.get(template, 0)

    def shares_script(self, a: str, b: str, template: int) -> bool:
        """Whether ``template`` is a script of both ``a``'s group and ``b``'s, another group.

        A script of each: at least two users in each group, ``b`` coordinated, and
        together the two groups hold ``min_concentration`` of the template's users (a
        common phrasing that turns up in two offices' groups is nobody's script).
        """
        users = self._joint_users(a, b, template)
        if users is None or b not in self._groups[self._find(b)].coordinated:
            return False
        return min(users) >= 2 and self._concentrated(sum(users), template)

    def pairable(self, account_id: str, template: int) -> bool:
        """Whether a grouped account's ``template`` is rare enough to pair it across groups.

        Rare: the account's group and one user in another group would hold
        ``min_concentration`` of the template's users, and someone else ran it.
        """
        group = self.group_of(account_id)
        entry = group.templates.get(template) if group is not None else None
        if entry is None:
            return False
        return self._users.get(template, 0) >= 2 and self._concentrated(entry.users + 1, template)

    def pairs_on(self, a: str, b: str, template: int) -> bool:
        """Whether ``a`` and ``b``, in two groups that both hold ``template``, may pair on it.

        They may when the two groups together hold ``min_concentration`` of the
        template's users (the caller checks that ``b`` itself ran it).
        """
        users = self._joint_users(a, b, template)
        return users is not None and self._concentrated(sum(users), template)

    def _joint_users(self, a: str, b: str, template: int) -> tuple[int, int] | None:
        """Return the users of ``template`` in ``a``'s group and in ``b``'s, two groups.

        None when either account is in no group, both are in one, or either group does
        not hold the template.
        """
        group_a, group_b = self.group_of(a), self.group_of(b)
        if group_a is None or group_b is None or group_a is group_b:
            return None
        mine, theirs = group_a.templates.get(template), group_b.templates.get(template)
        if mine is None or theirs is None:
            return None
        return mine.users, theirs.users

    def _concentrated(self, users: int, template: int) -> bool:
        """Whether ``users`` of ``template`` are ``min_concentration`` of all its users.

        A template no longer counted overall counts ``users`` as all of them.
        """
        return users >= self.min_concentration * self._users.get(template, users)

    def coordinate(self, account_id: str, now: float) -> None:
        """Make a grouped account a coordinated member (pooling what it kept)."""
        group = self.group_of(account_id)
        if group is not None:
            self._coordinate(group, account_id, now)

    def join(self, a: str, b: str) -> None:
        """Put the linked accounts ``a`` and ``b`` in one group (the larger absorbs the smaller).

        Groups that would grow past ``max_group`` are not joined.
        """
        if a != b:
            self._union(a, b)

    def _find(self, account_id: str) -> str:
        """Return the root of the account's group (path halving)."""
        parent = self._parent
        while (up := parent[account_id]) != account_id:
            parent[account_id] = parent[up]
            account_id = parent[up]
        return account_id

    def _add(self, account_id: str) -> str:
        """Make ``account_id`` a group of its own if it is in none; return its root."""
        if account_id in self._parent:
            root = self._find(account_id)
            self._groups.move_to_end(root)  # now the newest: not the one dropped for room
            return root
        while len(self._parent) >= self.max_accounts and self._groups:
            self._forget(self._groups.popitem(last=False)[1])
        self._parent[account_id] = account_id
        group = self._groups[account_id] = Group()
        group.members.append(account_id)
        return account_id

    def _union(self, a: str, b: str) -> None:
        """Join the groups of ``a`` and ``b`` (the larger absorbs the smaller)."""
        parent, groups = self._parent, self._groups
        ra = self._find(a) if a in parent else None
        rb = self._find(b) if b in parent else None
        if ra is not None and ra == rb:
            return
        size_a = len(groups[ra].members) if ra is not None else 1
        size_b = len(groups[rb].members) if rb is not None else 1
        if size_a + size_b > self.max_group:
            return
        # Making room for a new member drops the least recently active groups: add
        # ``b`` first, then ``a`` (``b``'s group is then the newest, never the one dropped).
        self._add(b)
        ra = self._add(a)
        if b not in parent:  # dropped to make room after all (a pool of one group)
            return
        rb = self._find(b)
        if ra == rb:
            return
        ga, gb = groups[ra], groups[rb]
        if len(ga.members) < len(gb.members):
            ra, rb, ga, gb = rb, ra, gb, ga
        self._parent[rb] = ra
        del self._groups[rb]
        ga.members.extend(gb.members)
        ga.requests += gb.requests
        ga.last_ts = max(ga.last_ts, gb.last_ts)
        for template, theirs in gb.templates.items():
            mine = ga.templates.get(template)
            if mine is None:
                if len(ga.templates) < self.max_templates:
                    ga.templates[template] = theirs
            else:
                mine.users += theirs.users
        for member in gb.coordinated:
            if len(ga.coordinated) < self.max_group:
                ga.coordinated[member] = None
        ga.absorb_pooled(gb)
        ga.score, ga.scored_at = None, float("-inf")

    def evict_idle(self, now: float, idle_ttl_s: float) -> int:
        """Drop groups idle for ``idle_ttl_s`` of event time; return how many."""
        stale = [root for root, g in self._groups.items() if now - g.last_ts > idle_ttl_s]
        for root in stale:
            self._forget(self._groups.pop(root))
        return len(stale)

    def _forget(self, group: Group) -> None:
        """Forget the members of a group just dropped (their place and what they kept)."""
        for member in group.members:
            self._parent.pop(member, None)
            self._backlog.pop(member, None)
