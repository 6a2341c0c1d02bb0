"""Ground-truth labels: which account is what, and when each attack began."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import orjson

from stream.exceptions import SourceError
from stream.simulate.roster import Roster

Role = Literal["benign", "attack"]


@dataclass(frozen=True, slots=True)
class Label:
    """The truth about one account: its kind, role, campaign and first attack time.

    ``campaign_id`` is set for accounts run together (hydra campaigns, blitz groups) and
    ``None`` for lone accounts. ``attack_start_ts`` is the time (Unix seconds) of the
    account's first attack request, ``None`` for benign accounts and for attack accounts
    whose attack falls outside the simulated window.
    """

    account_id: str
    kind: str
    role: Role
    campaign_id: str | None
    attack_start_ts: float | None

    def to_dict(self) -> dict[str, object]:
        """Return the label as its JSON object (field order fixed)."""
        return {
            "account_id": self.account_id,
            "kind": self.kind,
            "role": self.role,
            "campaign_id": self.campaign_id,
            "attack_start_ts": self.attack_start_ts,
        }


def roster_labels(roster: Roster, end: float) -> list[Label]:
    """Return one label per account of ``roster`` (window ends at ``end``), in index order."""
    out: list[Label] = []
    for a in roster.accounts:
        start = None
        if a.role == "attack" and a.attack_start is not None and a.attack_start < end:
            start = round(a.attack_start, 3)
        role: Role = "attack" if a.role == "attack" else "benign"
        out.append(Label(a.account_id, a.kind, role, a.campaign_id, start))
    return out


def write_labels(path: str, labels: Iterable[Label]) -> int:
    """Write labels as JSON Lines to ``path`` (gzip if it ends in ``.gz``); return the count."""
    data = b"".join(orjson.dumps(label.to_dict()) + b"\n" for label in labels)
    with open(path, "wb") as raw:
        if path.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(data)
        else:
            raw.write(data)
    return data.count(b"\n")


def load_labels(path: str) -> dict[str, Label]:
    """Read a labels file into ``{account_id: Label}``.

    Raises ``SourceError`` when the file is missing or a line is not a valid label.
    """
    out: dict[str, Label] = {}
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                    start = obj["attack_start_ts"]
                    if obj["role"] not in ("benign", "attack"):
                        raise ValueError(f"unknown role {obj['role']!r}")
                    label = Label(
                        str(obj["account_id"]),
                        str(obj["kind"]),
                        "attack" if obj["role"] == "attack" else "benign",
                        None if obj["campaign_id"] is None else str(obj["campaign_id"]),
                        None if start is None else float(start),
                    )
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise SourceError(f"{path}:{n}: not a label: {exc}") from exc
                out[label.account_id] = label
    except OSError as exc:
        raise SourceError(f"cannot read labels {path}: {exc}") from exc
    return out
