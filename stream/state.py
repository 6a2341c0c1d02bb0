"""Bounded per-account state: the account store, dedupe memory and what one account holds.

Memory is bounded from the first event: at most ``max_accounts`` accounts are kept
(least recently active evicted first), accounts idle for ``idle_ttl_s`` of *event
time* are evicted, and each account remembers a bounded number of request ids.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from detectors.campaigns import AccountLinks, CampaignEvidence
from detectors.features import AccountFeatures
from detectors.policy import EpisodeState

S = TypeVar("S")


class RecentIds:
    """The last ``capacity`` request ids of one account, for dedupe (bounded).

    Args:
        capacity: how many ids are remembered; older ones are forgotten first.

    """

    __slots__ = ("_order", "_seen")

    def __init__(self, capacity: int) -> None:
        self._seen: set[str] = set()
        self._order: deque[str] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, request_id: str) -> bool:
        """Remember ``request_id``; return ``False`` if it was already remembered."""
        if request_id in self._seen:
            return False
        order = self._order
        if len(order) == order.maxlen:
            self._seen.discard(order[0])
        order.append(request_id)
        self._seen.add(request_id)
        return True


class AccountState:
    """Everything the processor keeps for one account.

    Args:
        dedupe_capacity: request ids remembered for dedupe.

    """

    __slots__ = (
        "behaviour_score",
        "campaign",
        "campaign_checked",
        "episode",
        "features",
        "last_learned",
        "last_scored",
        "links",
        "recent_ids",
        "since_scored",
    )

    def __init__(self, dedupe_capacity: int = 1024) -> None:
        self.features = AccountFeatures()
        self.episode = EpisodeState()
        self.recent_ids = RecentIds(dedupe_capacity)
        self.links = AccountLinks()
        self.behaviour_score: float | None = None  # latest score of the pooled detector
        self.campaign: CampaignEvidence | None = None
        self.campaign_checked = float("-inf")
        self.last_scored = float("-inf")
        self.last_learned = float("-inf")
        self.since_scored = 0


class AccountStore(Generic[S]):
    """Map account id → state, bounded by count and by event-time idleness.

    Args:
        factory: makes the state of an account seen for the first time.
        max_accounts: hard cap; the least recently active account is evicted first.
        idle_ttl_s: an account whose last event is older than this (relative to the
            event time passed to ``evict_idle``) is evicted.

    """

    def __init__(self, factory: Callable[[], S], max_accounts: int, idle_ttl_s: float) -> None:
        self._factory = factory
        self.max_accounts = max_accounts
        self.idle_ttl_s = idle_ttl_s
        self._states: OrderedDict[str, S] = OrderedDict()
        self._last_seen: dict[str, float] = {}
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self._states

    def items(self) -> Iterator[tuple[str, S]]:
        """Iterate over (account id, state), least recently active first."""
        return iter(self._states.items())

    def last_seen(self, account_id: str) -> float:
        """Return the event time ``account_id`` was last active (``-inf`` if not held)."""
        return self._last_seen.get(account_id, float("-inf"))

    def peek(self, account_id: str) -> S | None:
        """Return the state of ``account_id`` if held, without marking it active."""
        return self._states.get(account_id)

    def pop(self, account_id: str) -> S | None:
        """Remove ``account_id`` and return its state (None if not held); not an eviction."""
        self._last_seen.pop(account_id, None)
        return self._states.pop(account_id, None)

    def put(self, account_id: str, state: S, last_seen: float) -> None:
        """Hold ``state`` for ``account_id`` (restored from a snapshot) as active at ``last_seen``.

        It joins as the most recently active account; past ``max_accounts`` the least
        recently active one is evicted, as in ``get``.
        """
        states = self._states
        if account_id in states:
            states.move_to_end(account_id)
        elif len(states) >= self.max_accounts:
            evicted, _ = states.popitem(last=False)
            del self._last_seen[evicted]
            self.evictions += 1
        states[account_id] = state
        self._last_seen[account_id] = last_seen

    def get(self, account_id: str, ts: float) -> S:
        """Return the state of ``account_id`` (creating it), marking it active at ``ts``."""
        states = self._states
        state = states.get(account_id)
        if state is None:
            if len(states) >= self.max_accounts:
                evicted, _ = states.popitem(last=False)
                del self._last_seen[evicted]
                self.evictions += 1
            state = states[account_id] = self._factory()
        else:
            states.move_to_end(account_id)
        if ts > self._last_seen.get(account_id, float("-inf")):
            self._last_seen[account_id] = ts
        return state

    def evict_idle(self, now: float) -> int:
        """Evict accounts idle since before ``now - idle_ttl_s``; return how many.

        Accounts are kept in order of activity, so the scan stops at the first account
        still active: the cost is proportional to the number evicted.
        """
        cutoff = now - self.idle_ttl_s
        evicted = 0
        states, last_seen = self._states, self._last_seen
        while states:
            account_id = next(iter(states))
            if last_seen[account_id] >= cutoff:
                break
            del states[account_id]
            del last_seen[account_id]
            evicted += 1
        self.evictions += evicted
        return evicted
