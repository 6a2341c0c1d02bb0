"""Detector population models in Redis, so a restarted worker does not start them cold.

One key per consumer group: ``<prefix>models:<group>``, a pickled ``(version, [(name,
class)], detectors, learning_since)`` with a TTL (``runtime.snapshot_ttl_s``) renewed by
every write.
Every worker of the group writes it now and then (``runtime.model_snapshot_interval_s``),
before its partitions are revoked and when it shuts down; a worker that starts reads it
before it consumes anything. The last writer wins, and that is sound: with the request
topic keyed by account, hash partitioning makes each worker's accounts a random sample
of the same population, so any worker's models describe that population; they are not
merged. A snapshot whose detectors (names and classes) differ from the configured ones
is ignored, as is one that cannot be unpickled: the worker then starts its models cold.
``learning_since`` is the event time the models began to learn (``Processor.
learning_since``): a worker that restores them counts its population warm-up from it, so
models saved while still warming up do not skip the rest of it.

Pickle is only as trustworthy as the Redis it comes from: give the runtime a Redis that
only distillguard (and its operators) can write.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any, NamedTuple

import redis

from detectors.models import Detector, floor_of
from stream.exceptions import SnapshotError

_VERSION = 4  # 3: detectors carry a raw-score floor; 4: and keep early vectors (_pending)


class ModelSnapshot(NamedTuple):
    """Restored detector models and the event time they began to learn."""

    detectors: list[Detector]
    learning_since: float


def _signature(detectors: Sequence[Detector]) -> list[tuple[str, str, float, float]]:
    """Return the (name, class, floor, floor cap) of each detector, what a snapshot must match.

    The floor is configuration the restored models would otherwise carry over silently.
    """
    return [
        (d.name, f"{type(d).__module__}.{type(d).__qualname__}", *floor_of(d)) for d in detectors
    ]


class ModelSnapshotStore:
    """Write and read the detector models of one consumer group.

    Args:
        client: a ``redis.Redis`` client (the caller owns it).
        prefix: key prefix.
        group: the consumer group (its workers share one snapshot).
        ttl_s: lifetime of the snapshot after its last write.

    """

    def __init__(self, client: Any, prefix: str, group: str, ttl_s: float) -> None:
        self._client = client
        self.key = f"{prefix}models:{group}"
        self._ttl_ms = int(ttl_s * 1000)

    def save(self, detectors: Sequence[Detector], learning_since: float = float("-inf")) -> int:
        """Write ``detectors``; return the snapshot's size in bytes (``SnapshotError`` if not).

        ``learning_since``: the event time the models began to learn (-inf: warm).
        """
        blob = pickle.dumps(
            (_VERSION, _signature(detectors), list(detectors), float(learning_since)),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        try:
            self._client.set(self.key, blob, px=self._ttl_ms)
        except redis.RedisError as exc:
            raise SnapshotError(f"redis: cannot write the detector models: {exc}") from exc
        return len(blob)

    def load(self, expected: Sequence[Detector]) -> ModelSnapshot | None:
        """Return the stored models if they match ``expected`` (names, classes), else None.

        Raises ``SnapshotError`` when Redis cannot be read (not when there is no snapshot).
        """
        try:
            blob = self._client.get(self.key)
        except redis.RedisError as exc:
            raise SnapshotError(f"redis: cannot read the detector models: {exc}") from exc
        if blob is None:
            return None
        try:
            version, signature, detectors, since = pickle.loads(blob)  # our own store: module doc
        except Exception:  # an incompatible or corrupt snapshot: start cold
            return None
        if version != _VERSION or signature != _signature(expected):
            return None
        if not isinstance(detectors, list) or _signature(detectors) != signature:
            return None
        if not isinstance(since, float):
            return None
        return ModelSnapshot(detectors, since)
