"""The shared score board: each account's latest behaviour score, for campaign evidence.

Campaign linkage pools the behavioural scores of an account's linked accounts
(``CampaignLinker.evidence(..., scores)``). In one process those come from the local
account store; with N workers most linked accounts live on other workers, so each
worker publishes the scores it computes and reads the others' from Redis.

``ScoreBoard`` is what the processor needs: ``publish`` a score as it is computed, and
``view(local)`` the mapping ``evidence`` reads (local scores first, then the board's).
``RedisScoreBoard`` implements it with generation hashes, so the board stays bounded
without per-field TTLs (Redis < 7.4 has none):

- ``<prefix>scores:<group>:<generation>``: hash account id → score, generation =
  wall time // (``ttl_s`` / 2); the key expires at the end of the next generation, so
  a score is readable for between ``ttl_s / 2`` and ``ttl_s`` after it was written.
  Reads look in the current generation, then the previous one.

Writes are behind (``publish`` buffers, the worker's checkpoint calls ``flush``); reads
are cached for ``cache_ttl_s`` and batched: the linkage index hands the board the
members it reads (``want``), and the first lookup that misses fetches all of them in one
round trip. A failed read answers "no score" (the member is listed, not pooled) and
makes the next ``flush`` raise until Redis answers, so the worker pauses.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

import redis

from stream.exceptions import SinkError
from stream.read_breaker import ReadBreaker

_MAX_WANTED = 10_000
_HMGET_CHUNK = 1000


class ScoreBoard(Protocol):
    """Account → latest behaviour score, shared by the workers of a group."""

    def publish(self, account_id: str, score: float) -> None:
        """Record the latest score of an account this worker owns."""
        ...

    def view(self, local: Mapping[str, float]) -> Mapping[str, float]:
        """Return ``local`` backed by the board: local scores first, then the shared ones."""
        ...


class RedisScoreBoard:
    """``ScoreBoard`` in Redis generation hashes: buffered writes, cached, batched reads.

    Args:
        client: a ``redis.Redis`` client (the caller owns it).
        prefix: key prefix.
        group: the consumer group whose workers share the board.
        ttl_s: a score is readable for at least half this and at most this after it
            was published.
        cache_ttl_s: how long a read (a score or its absence) stays cached.
        max_cached: accounts cached at once (least recently read dropped).
        clock: monotonic clock of the cache (tests may pass a fake).
        wall_clock: the clock of the generations (tests may pass a fake).

    """

    def __init__(
        self,
        client: Any,
        prefix: str,
        group: str,
        ttl_s: float = 2 * 86400.0,
        cache_ttl_s: float = 2.0,
        max_cached: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_s <= 0 or cache_ttl_s < 0:
            raise ValueError("ttl_s must be > 0 and cache_ttl_s >= 0")
        self._client = client
        self._base = f"{prefix}scores:{group}:"
        self._span = ttl_s / 2
        self.cache_ttl_s = cache_ttl_s
        self.max_cached = max_cached
        self._now = clock
        self._wall = wall_clock
        self._pending: dict[str, float] = {}
        self._cache: OrderedDict[str, tuple[float, float | None]] = OrderedDict()
        self._wanted: set[str] = set()
        self._breaker = ReadBreaker()
        self.written = 0
        self.reads = 0

    @property
    def read_errors(self) -> int:
        """Return how many reads failed."""
        return self._breaker.errors

    def key(self, generation: int) -> str:
        """Return the hash of one generation."""
        return f"{self._base}{generation}"

    def generation(self) -> int:
        """Return the current generation (wall time // half the TTL)."""
        return int(self._wall() // self._span)

    # ----------------------------------------------------------------- ScoreBoard

    def publish(self, account_id: str, score: float) -> None:
        """Buffer ``account_id``'s latest score (written by ``flush``; read back at once)."""
        self._pending[account_id] = score
        self._remember(account_id, score)

    def view(self, local: Mapping[str, float]) -> Mapping[str, float]:
        """Return ``local`` backed by the board (iterating lists ``local`` only)."""
        return _BoardView(self, local)

    def want(self, accounts: Iterable[str]) -> None:
        """Note accounts whose scores will be asked for: the next miss fetches them together."""
        now = self._now()
        for account_id in accounts:
            hit = self._cache.get(account_id)
            if hit is None or now >= hit[0]:
                self._wanted.add(account_id)
        if len(self._wanted) > _MAX_WANTED:
            self._wanted.clear()

    def get(self, account_id: str) -> float | None:
        """Return the board's latest score of ``account_id`` (None: none published)."""
        hit = self._cache.get(account_id)
        if hit is not None and self._now() < hit[0]:
            self._cache.move_to_end(account_id)
            return hit[1]
        self._wanted.add(account_id)
        self._fetch()
        hit = self._cache.get(account_id)
        return hit[1] if hit is not None else None

    # ----------------------------------------------------------------- I/O

    @property
    def pending(self) -> int:
        """Number of scores buffered and not yet written."""
        return len(self._pending)

    def flush(self) -> None:
        """Write the buffered scores; raise ``SinkError`` (keeping them) if Redis fails.

        Also raises while the reads that failed since the last flush cannot be confirmed
        to work again (one ``PING``).
        """
        try:
            self._breaker.confirm(self._client)
            if not self._pending:
                return
            generation = self.generation()
            key = self.key(generation)
            expire_at_ms = int((generation + 2) * self._span * 1000)
            pipe = self._client.pipeline(transaction=False)
            items = list(self._pending.items())
            for i in range(0, len(items), _HMGET_CHUNK):
                pipe.hset(key, mapping=dict(items[i : i + _HMGET_CHUNK]))
            pipe.pexpireat(key, expire_at_ms)
            pipe.execute()
        except redis.RedisError as exc:
            raise SinkError(f"redis: cannot write {len(self._pending)} scores: {exc}") from exc
        self.written += len(self._pending)
        self._pending.clear()

    def close(self) -> None:
        """Flush; the client is the caller's to close."""
        self.flush()

    def _fetch(self) -> None:
        """Read the scores of every wanted account (current, then previous generation)."""
        wanted = list(self._wanted)
        self._wanted.clear()
        generation = self.generation()
        now = self._now()
        replies = None
        if not self._breaker.tripped:  # after a failed read, none until a flush pings Redis
            try:
                pipe = self._client.pipeline(transaction=False)
                for i in range(0, len(wanted), _HMGET_CHUNK):
                    chunk = wanted[i : i + _HMGET_CHUNK]
                    pipe.hmget(self.key(generation), chunk)
                    pipe.hmget(self.key(generation - 1), chunk)
                replies = pipe.execute()
            except redis.RedisError as exc:
                self._breaker.trip(exc)
        if replies is None:
            for account_id in wanted:  # no score for a cache period
                self._store(account_id, now, self._cache.get(account_id, (0.0, None))[1])
            return
        self.reads += 1
        for n, i in enumerate(range(0, len(wanted), _HMGET_CHUNK)):
            current, previous = replies[2 * n], replies[2 * n + 1]
            for account_id, cur, prev in zip(
                wanted[i : i + _HMGET_CHUNK], current, previous, strict=True
            ):
                raw = cur if cur is not None else prev
                self._store(account_id, now, float(raw) if raw is not None else None)

    def _remember(self, account_id: str, score: float | None) -> None:
        """Cache a score this worker knows now."""
        self._store(account_id, self._now(), score)

    def _store(self, account_id: str, now: float, score: float | None) -> None:
        """Cache ``score`` for a cache period, bounded (least recently read dropped)."""
        self._cache[account_id] = (now + self.cache_ttl_s, score)
        self._cache.move_to_end(account_id)
        while len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)


class _BoardView(Mapping[str, float]):
    """Local scores first, then the board's; iterating lists the local ones only."""

    def __init__(self, board: RedisScoreBoard, local: Mapping[str, float]) -> None:
        self._board = board
        self._local = local

    def __getitem__(self, account_id: str) -> float:
        if account_id in self._local:
            return self._local[account_id]
        score = self._board.get(account_id)
        if score is None:
            raise KeyError(account_id)
        return score

    def __contains__(self, account_id: object) -> bool:
        if not isinstance(account_id, str):
            return False
        return account_id in self._local or self._board.get(account_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._local)

    def __len__(self) -> int:
        return len(self._local)
