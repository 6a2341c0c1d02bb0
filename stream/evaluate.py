"""Score alerts against ground-truth labels: recall, false positives, time to detect.

Used by ``distillguard demo`` and the detection benchmark. Labels come from the
simulator's side file (``stream.simulate.load_labels``); an account counts as
*flagged* from its first alert of severity ``warning`` or ``critical``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from detectors.records import Alert


class LabelLike(Protocol):
    """The fields of a ground-truth label this module reads."""

    @property
    def kind(self) -> str:
        """Population kind, e.g. ``casual`` or ``hydra``."""
        ...

    @property
    def role(self) -> str:
        """``benign`` or ``attack``."""
        ...

    @property
    def campaign_id(self) -> str | None:
        """Campaign of an attack account, if it belongs to one."""
        ...

    @property
    def attack_start_ts(self) -> float | None:
        """Event time of the account's first attack request."""
        ...


@dataclass(slots=True)
class KindResult:
    """Accounts of one kind and how many were flagged."""

    role: str
    accounts: int = 0
    flagged: int = 0
    delays: list[float] = field(default_factory=list)  # time to detect, attack accounts

    @property
    def rate(self) -> float:
        """Flagged share: recall for attack kinds, false-positive rate for benign ones."""
        return self.flagged / self.accounts if self.accounts else 0.0

    def delay_quantile(self, q: float) -> float | None:
        """Return the ``q`` quantile of this kind's time-to-detect (seconds), None if none."""
        return quantile(self.delays, q)


@dataclass(slots=True)
class Evaluation:
    """Detection quality of one run against its labels."""

    kinds: dict[str, KindResult] = field(default_factory=dict)
    detect_delays: list[float] = field(default_factory=list)
    linked_flagged: int = 0
    campaign_flagged: int = 0
    first_flag: dict[str, Alert] = field(default_factory=dict)

    def _sum(self, role: str, attr: str) -> int:
        return sum(getattr(k, attr) for k in self.kinds.values() if k.role == role)

    @property
    def recall(self) -> float:
        """Share of attack accounts flagged."""
        n = self._sum("attack", "accounts")
        return self._sum("attack", "flagged") / n if n else 0.0

    @property
    def false_positive_rate(self) -> float:
        """Share of benign accounts flagged."""
        n = self._sum("benign", "accounts")
        return self._sum("benign", "flagged") / n if n else 0.0

    @property
    def precision(self) -> float:
        """Share of flagged accounts that are attackers (1.0 when none flagged)."""
        tp, fp = self._sum("attack", "flagged"), self._sum("benign", "flagged")
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def linkage(self) -> float:
        """Share of flagged campaign members that list a fellow member as related."""
        return self.linked_flagged / self.campaign_flagged if self.campaign_flagged else 0.0

    def delay_quantile(self, q: float) -> float | None:
        """Return the ``q`` quantile of time-to-detect (seconds), None if nothing detected."""
        return quantile(self.detect_delays, q)


def quantile(values: list[float], q: float) -> float | None:
    """Return the ``q`` quantile of ``values``: ``sorted(values)[int(q * n)]`` (None if empty)."""
    if not values:
        return None
    d = sorted(values)
    return d[min(len(d) - 1, int(q * len(d)))]


def evaluate(alerts: Iterable[Alert], labels: Mapping[str, LabelLike]) -> Evaluation:
    """Compare ``alerts`` with ``labels``; accounts without a label are ignored."""
    ev = Evaluation()
    related: dict[str, set[str]] = {}
    for a in alerts:
        if not a.flagged or a.account_id not in labels:
            continue
        ev.first_flag.setdefault(a.account_id, a)
        related.setdefault(a.account_id, set()).update(a.related_accounts)
    for account_id, label in labels.items():
        kr = ev.kinds.setdefault(label.kind, KindResult(label.role))
        kr.accounts += 1
        first = ev.first_flag.get(account_id)
        if first is None:
            continue
        kr.flagged += 1
        if label.role == "attack" and label.attack_start_ts is not None:
            delay = max(0.0, first.ts - label.attack_start_ts)
            ev.detect_delays.append(delay)
            kr.delays.append(delay)
        if label.campaign_id is not None:
            ev.campaign_flagged += 1
            fellows = related[account_id]
            if any(
                (other := labels.get(f)) is not None and other.campaign_id == label.campaign_id
                for f in fellows
            ):
                ev.linked_flagged += 1
    return ev
