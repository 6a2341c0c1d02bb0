"""Per-account state snapshots in Redis, per consumer group and partition, for state handoff.

One hash per (group, topic, partition): ``<prefix>snap:<group>:<topic>:<partition>``, field
= account id, value = a pickled ``(version, last_seen, AccountState)``. The hash's TTL
(``runtime.snapshot_ttl_s``) is renewed on every write, so a partition nobody consumes
any more is forgotten. The worker writes the states that changed before it commits
offsets, so a snapshot is never older than the committed offsets; an account state a
little *newer* than the commit (a crash between the two) is harmless because the
restored dedupe memory drops the re-delivered events.

Pickle is only as trustworthy as the Redis it comes from: give the runtime a Redis that
only it (and its operators) can write.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from stream.exceptions import SnapshotError
from stream.state import AccountState

_VERSION = 2  # 2: AccountFeatures tracks an account-wide sorted-walk lane
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class PartitionKey:
    """A topic partition, as the snapshot store names it."""

    topic: str
    partition: int


def encode_state(last_seen: float, state: AccountState) -> bytes:
    """Return the stored form of one account's state."""
    return pickle.dumps((_VERSION, last_seen, state), protocol=pickle.HIGHEST_PROTOCOL)


def decode_state(blob: bytes) -> tuple[float, AccountState] | None:
    """Return ``(last_seen, state)`` from its stored form, or None if it cannot be read."""
    try:
        version, last_seen, state = pickle.loads(blob)  # our own store, see module doc
    except Exception:  # an incompatible or corrupt snapshot: start that account afresh
        return None
    if version != _VERSION or not isinstance(state, AccountState):
        return None
    return float(last_seen), state


class SnapshotStore:
    """Write and read account-state snapshots of one consumer group.

    Args:
        client: a ``redis.Redis`` client (the caller owns it).
        prefix: key prefix.
        group: the consumer group (workers of one group share snapshots).
        ttl_s: lifetime of a partition's hash after its last write.

    """

    def __init__(self, client: Any, prefix: str, group: str, ttl_s: float) -> None:
        self._client = client
        self._prefix = prefix
        self._group = group
        self._ttl_ms = int(ttl_s * 1000)

    def key(self, pk: PartitionKey) -> str:
        """Return the hash key of one partition."""
        return f"{self._prefix}snap:{self._group}:{pk.topic}:{pk.partition}"

    def save(
        self,
        puts: Mapping[PartitionKey, Iterable[tuple[str, float, AccountState]]],
        deletes: Mapping[PartitionKey, Iterable[str]] | None = None,
    ) -> int:
        """Write ``puts`` and remove ``deletes`` (evicted accounts) in pipelined batches.

        Returns the number of states written; raises ``SnapshotError`` when Redis fails
        (nothing is lost: the caller keeps the states and tries again).
        """
        written = 0
        try:
            pipe = self._client.pipeline(transaction=False)
            queued = 0
            touched: set[str] = set()
            for pk, rows in puts.items():
                key = self.key(pk)
                mapping: dict[str, bytes] = {}
                for account_id, last_seen, state in rows:
                    mapping[account_id] = encode_state(last_seen, state)
                    if len(mapping) >= _CHUNK:
                        pipe.hset(key, mapping=mapping)
                        written, queued, mapping = written + len(mapping), queued + 1, {}
                if mapping:
                    pipe.hset(key, mapping=mapping)
                    written, queued = written + len(mapping), queued + 1
                touched.add(key)
                if queued >= 8:
                    pipe.execute()
                    queued = 0
            for pk, accounts in (deletes or {}).items():
                names = list(accounts)
                if names:
                    pipe.hdel(self.key(pk), *names)
                    touched.add(self.key(pk))
            for key in touched:
                pipe.pexpire(key, self._ttl_ms)
            pipe.execute()
        except redis.RedisError as exc:
            raise SnapshotError(f"redis: cannot write state snapshots: {exc}") from exc
        return written

    def load(self, pk: PartitionKey) -> Iterator[tuple[str, float, AccountState]]:
        """Yield ``(account id, last_seen, state)`` of every readable snapshot of ``pk``."""
        try:
            for field_, blob in self._client.hscan_iter(self.key(pk), count=500):
                decoded = decode_state(blob)
                if decoded is not None:
                    name = field_.decode() if isinstance(field_, bytes) else str(field_)
                    yield name, decoded[0], decoded[1]
        except redis.RedisError as exc:
            raise SnapshotError(f"redis: cannot read snapshots of {pk}: {exc}") from exc
