"""The shared peer population: what each worker's accounts teach the detectors, for all workers.

With N workers in one consumer group each worker's processor sees only the accounts of
its own partitions, but the detectors judge an account against its *peers*, which are
the whole group's accounts: alone, each worker would learn 1/N of the population (and in
a small deployment never reach the detectors' ``min_population``). So every worker
publishes what its accounts teach and learns what the others' accounts taught:

- a *teach* entry: ``(account_id, ts, x)``, the feature vector the processor just passed
  to ``learn_one`` (numbers only: no prompt text ever leaves the process);
- a *retract* entry: ``account_id`` was newly flagged, so peers ``forget`` it, as the
  processor that flagged it does.

``PopulationFeed`` is what the processor needs (``publish``, ``retract``);
``PopulationExchange`` is what the worker drives on top (``flush``, ``pull``,
``start_at_end``). ``PopulationHub`` links processors in one process (tests and
experiments); ``RedisPopulationFeed`` links the workers of a group through one capped
Redis stream, ``<prefix>population:<group>``:

- ``XADD ... MAXLEN ~ max_entries`` with fields ``m`` (the writing worker's member id, so
  a worker skips its own entries) and ``e`` (the entry, orjson); the key's TTL is
  renewed by every write.
- Writes are buffered (at most ``max_entries``, oldest dropped) and sent in one pipeline
  by ``flush``, which the worker calls at each checkpoint with the other shared state.
- ``pull`` returns the other workers' entries added since the last pull: non-blocking
  ``XREAD`` from the last id seen, in batches of ``batch`` up to ``max_pull`` per call.
  A read that fails returns nothing and makes the next ``flush`` raise ``SinkError``
  until Redis answers (one ``PING``), so the worker pauses and retries as for the score
  board and the linkage index; the next successful pull goes on from the last id seen.
- A new feed reads from the beginning of the (capped) stream, so a cold worker learns
  the current population at once; ``start_at_end`` makes it read only what is added
  from now on (a worker whose models were restored from the model snapshot already
  holds what the stream says).

Entries are idempotent for the detectors in what matters: the population and the
calibration history keep one value per account, the latest, so an entry delivered twice,
or read again from the stream by a restarted worker, replaces the account's values (its
calibration score recomputed against the current population) instead of adding to them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

import orjson
import redis

from stream.exceptions import SinkError
from stream.read_breaker import ReadBreaker


@dataclass(frozen=True, slots=True)
class PopulationEntry:
    """One account's teach vector (``x``, at event time ``ts``), or its retraction (``x`` None)."""

    account_id: str
    x: Mapping[str, float] | None = None
    ts: float | None = None

    @property
    def retracted(self) -> bool:
        """Whether the entry withdraws the account from the population (it was flagged)."""
        return self.x is None


class PopulationFeed(Protocol):
    """Where the processor publishes what its accounts teach the detectors."""

    def publish(self, account_id: str, ts: float, x: Mapping[str, float]) -> None:
        """Share a teach vector: ``account_id``'s features ``x`` at event time ``ts``."""
        ...

    def retract(self, account_id: str) -> None:
        """Share that ``account_id`` was newly flagged: peers forget its features."""
        ...


class PopulationExchange(PopulationFeed, Protocol):
    """A population feed the worker drives: buffered writes, reads of the peers' entries."""

    @property
    def published(self) -> int:
        """Return how many entries this member wrote so far."""
        ...

    @property
    def reads(self) -> int:
        """Return how many reads of the peers' entries this member made so far."""
        ...

    def flush(self) -> None:
        """Write the buffered entries (``SinkError`` if they cannot be written)."""
        ...

    def pull(self) -> list[PopulationEntry]:
        """Return the other members' entries added since the last pull (oldest first)."""
        ...

    def start_at_end(self) -> None:
        """Read only entries added from now on (the models were restored warm)."""
        ...


def encode_entry(entry: PopulationEntry) -> bytes:
    """Return the wire form of ``entry`` (orjson; a retraction carries the account only)."""
    if entry.x is None:
        return orjson.dumps({"a": entry.account_id})
    return orjson.dumps({"a": entry.account_id, "t": entry.ts, "x": dict(entry.x)})


def _number(value: object) -> float | None:
    """Return ``value`` as a finite float, or None when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def decode_entry(raw: bytes) -> PopulationEntry | None:
    """Return the entry encoded in ``raw``, or None when it is not a valid entry.

    Only numbers are kept from a feature vector: a feature that is not a finite number
    (orjson writes NaN and infinities as null) is left out, as the detectors do with
    absent features.
    """
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    account_id = obj.get("a")
    if not isinstance(account_id, str) or not account_id:
        return None
    x = obj.get("x")
    if x is None:
        return PopulationEntry(account_id)
    ts = _number(obj.get("t"))
    if ts is None or not isinstance(x, dict):
        return None
    vector = {k: v for k, raw_v in x.items() if (v := _number(raw_v)) is not None}
    return PopulationEntry(account_id, vector, ts)


# --------------------------------------------------------------------------- in memory


class PopulationHub:
    """Link several processors in one process: each member sees the others' entries.

    Args:
        max_entries: entries kept (the oldest dropped first), like the Redis stream's cap.

    """

    def __init__(self, max_entries: int = 50_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._entries: deque[tuple[int, str, PopulationEntry]] = deque(maxlen=max_entries)
        self._seq = 0
        self._members = 0

    @property
    def last_seq(self) -> int:
        """Return the sequence number of the latest entry (0: none yet)."""
        return self._seq

    def member(self, name: str | None = None) -> MemoryPopulationFeed:
        """Return a new member's feed (``name`` defaults to ``m<n>``)."""
        self._members += 1
        return MemoryPopulationFeed(self, name or f"m{self._members}")

    def append(self, member: str, entry: PopulationEntry) -> None:
        """Add ``member``'s entry."""
        self._seq += 1
        self._entries.append((self._seq, member, entry))

    def since(self, seq: int) -> Iterator[tuple[int, str, PopulationEntry]]:
        """Yield ``(seq, member, entry)`` of the entries kept after sequence number ``seq``."""
        if not self._entries:
            return iter(())
        first = self._entries[0][0]
        return islice(self._entries, max(0, seq + 1 - first), None)


class MemoryPopulationFeed:
    """One member of a ``PopulationHub``: publishes at once, pulls the other members' entries.

    Args:
        hub: the hub shared with the other members.
        member: this member's name (its own entries are skipped when pulling).

    """

    def __init__(self, hub: PopulationHub, member: str) -> None:
        self.hub = hub
        self.member = member
        self._seen = 0
        self._published = 0
        self._reads = 0

    @property
    def published(self) -> int:
        """Return how many entries this member published."""
        return self._published

    @property
    def reads(self) -> int:
        """Return how many pulls this member made."""
        return self._reads

    def publish(self, account_id: str, ts: float, x: Mapping[str, float]) -> None:
        """Share a teach vector (a copy: the caller may reuse ``x``)."""
        self.hub.append(self.member, PopulationEntry(account_id, dict(x), ts))
        self._published += 1

    def retract(self, account_id: str) -> None:
        """Share that ``account_id`` was newly flagged."""
        self.hub.append(self.member, PopulationEntry(account_id))
        self._published += 1

    def flush(self) -> None:
        """Nothing to write: entries reach the hub as they are published."""

    def pull(self) -> list[PopulationEntry]:
        """Return the other members' entries added since the last pull."""
        self._reads += 1
        out = [e for seq, m, e in self.hub.since(self._seen) if m != self.member]
        self._seen = self.hub.last_seq
        return out

    def start_at_end(self) -> None:
        """Skip everything published so far."""
        self._seen = self.hub.last_seq


# --------------------------------------------------------------------------- Redis


class RedisPopulationFeed:
    """``PopulationExchange`` over one capped Redis stream per consumer group.

    Args:
        client: a ``redis.Redis`` client (the caller owns it).
        prefix: key prefix.
        group: the consumer group whose workers share the population.
        member: this worker's id, unique in the group (its own entries are skipped).
        max_entries: the stream's cap (``XADD MAXLEN ~``), also the write buffer's.
        ttl_s: lifetime of the stream after its last write.
        batch: entries read per round trip (``XREAD COUNT``).
        max_pull: most entries one ``pull`` returns (the rest come with the next pulls).

    """

    def __init__(
        self,
        client: Any,
        prefix: str,
        group: str,
        member: str,
        max_entries: int = 50_000,
        ttl_s: float = 7 * 86400.0,
        batch: int = 1000,
        max_pull: int = 10_000,
    ) -> None:
        if not member or max_entries < 1 or ttl_s <= 0 or batch < 1 or max_pull < 1:
            raise ValueError("need a member id, max_entries, ttl_s, batch and max_pull > 0")
        self._client = client
        self.key = f"{prefix}population:{group}"
        self.member = member
        self._member = member.encode()
        self.max_entries = max_entries
        self._ttl_ms = int(ttl_s * 1000)
        self.batch = batch
        self.max_pull = max_pull
        self._pending: deque[bytes] = deque(maxlen=max_entries)
        self._last_id: bytes | None = b"0-0"  # None: the stream's end, still to be read
        self._breaker = ReadBreaker()
        self._published = 0
        self._reads = 0
        self.skipped = 0  # entries that were not valid (never this worker's own)

    @property
    def published(self) -> int:
        """Return how many entries this worker wrote to the stream."""
        return self._published

    @property
    def reads(self) -> int:
        """Return how many round trips read the stream."""
        return self._reads

    @property
    def read_errors(self) -> int:
        """Return how many reads failed."""
        return self._breaker.errors

    @property
    def pending(self) -> int:
        """Return how many entries are buffered and not yet written."""
        return len(self._pending)

    # ----------------------------------------------------------------- PopulationFeed

    def publish(self, account_id: str, ts: float, x: Mapping[str, float]) -> None:
        """Buffer a teach vector (encoded now: the caller may reuse ``x``)."""
        self._pending.append(encode_entry(PopulationEntry(account_id, x, ts)))

    def retract(self, account_id: str) -> None:
        """Buffer the retraction of a newly flagged account."""
        self._pending.append(encode_entry(PopulationEntry(account_id)))

    # ----------------------------------------------------------------- I/O

    def flush(self) -> None:
        """Write the buffered entries in one pipeline; ``SinkError`` (keeping them) if not.

        Also raises while a read that failed since the last flush cannot be confirmed
        to work again (one ``PING``).
        """
        try:
            self._breaker.confirm(self._client)
            if not self._pending:
                return
            pipe = self._client.pipeline(transaction=False)
            for payload in self._pending:
                pipe.xadd(
                    self.key,
                    {"m": self._member, "e": payload},
                    maxlen=self.max_entries,
                    approximate=True,
                )
            pipe.pexpire(self.key, self._ttl_ms)
            pipe.execute()
        except redis.RedisError as exc:
            raise SinkError(
                f"redis: cannot write {len(self._pending)} population entries: {exc}"
            ) from exc
        self._published += len(self._pending)
        self._pending.clear()

    def close(self) -> None:
        """Flush; the client is the caller's to close."""
        self.flush()

    def start_at_end(self) -> None:
        """Read only entries added from now on (the stream's end is read at once, or later)."""
        self._last_id = None
        self._resolve_end()

    def pull(self) -> list[PopulationEntry]:
        """Return the other workers' entries added since the last pull (oldest first).

        Non-blocking. Nothing after a failed read until a ``flush`` pinged Redis.
        """
        if self._breaker.tripped or not self._resolve_end():
            return []
        out: list[PopulationEntry] = []
        taken = 0
        try:
            while taken < self.max_pull:
                count = min(self.batch, self.max_pull - taken)
                reply = self._client.xread({self.key: self._last_id}, count=count)
                self._reads += 1
                rows = reply[0][1] if reply else []
                for entry_id, fields in rows:
                    self._last_id = entry_id
                    if fields.get(b"m") == self._member:
                        continue
                    entry = decode_entry(fields.get(b"e", b""))
                    if entry is None:
                        self.skipped += 1
                    else:
                        out.append(entry)
                taken += len(rows)
                if len(rows) < count:
                    break
        except redis.RedisError as exc:
            self._breaker.trip(exc)
        return out

    def _resolve_end(self) -> bool:
        """Set the read position to the stream's last entry if it is still to be read."""
        if self._last_id is not None:
            return True
        if self._breaker.tripped:
            return False
        try:
            last = self._client.xrevrange(self.key, count=1)
        except redis.RedisError as exc:
            self._breaker.trip(exc)
            return False
        self._reads += 1
        self._last_id = last[0][0] if last else b"0-0"
        return True
