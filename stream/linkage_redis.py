"""The campaign-linkage index in Redis, shared by the workers of one consumer group.

``RedisLinkageIndex`` satisfies ``detectors.campaigns.LinkageIndex``. Keys, all with a TTL
(``runtime.linkage_ttl_s``) renewed by every write:

- ``<prefix>link:<group>:m:<key>``: sorted set of the accounts carrying ``key``, scored by
  the wall time they were first written (so ``members`` lists the earliest first, as the
  in-memory index does), capped at ``max_members``: beyond the cap the key only counts;
- ``<prefix>link:<group>:n:<key>``: HyperLogLog of every account carrying ``key``, so the
  count of a key beyond the cap stays right (within about 1 %) and re-adding a pair
  never counts it twice;
- ``<prefix>link:<group>:accounts``: HyperLogLog of every account seen (``population``).

Writes are behind: ``add`` buffers the pair (this worker's reads see it at once) and
``flush`` writes every buffered pair in one pipeline (one Lua call per key: capped
``ZADD NX``, ``PFADD``, ``PEXPIRE``). The worker flushes at each checkpoint, before it
snapshots the account states that record those pairs as known, so a crash re-sends
exactly the pairs that may be missing; every write is idempotent.

Reads are cached for ``cache_ttl_s`` of wall time (the linker asks for a key's count and
members several times per scoring), and a miss reads every stale key of the account
that added the key (the linker weighs all of an account's keys in a row): about one
round trip (one Lua call) per account evaluated per cache period. Counts
and members may therefore lag other workers' writes by a checkpoint interval plus the
cache period, which only delays, never distorts, what linkage concludes. A read that
fails (Redis down) answers from the stale cache, or as if the key were unknown (it then
links nothing), and makes the next ``flush`` raise until Redis answers again, so the
worker pauses as for any other sink failure. Keys (payment,
TLS, network, client fingerprints) and account ids are stored; prompts never are.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from stream.exceptions import SinkError
from stream.read_breaker import ReadBreaker

#: Lua: KEYS = members zset, count HLL; ARGV = cap, ttl ms, then (score, account) pairs.
#: Adds accounts to the set while it is below the cap (never updates a known member's
#: score), every account to the HLL, and renews both TTLs. Idempotent.
ADD_PAIRS_LUA = """
local cap = tonumber(ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local accounts = {}
for i = 3, #ARGV, 2 do
  local account = ARGV[i + 1]
  accounts[#accounts + 1] = account
  if n < cap and redis.call('ZADD', KEYS[1], 'NX', ARGV[i], account) == 1 then
    n = n + 1
  end
end
redis.call('PFADD', KEYS[2], unpack(accounts))
if n > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return n
"""

#: Lua: KEYS = (members zset, count HLL) per linkage key; ARGV = members to list, cap.
#: Returns (count, members) per key: the set's size below the cap (exact), past it the
#: HyperLogLog's estimate (never below the set's size); the earliest members first.
READ_KEYS_LUA = """
local fetch, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS, 2 do
  local n = redis.call('ZCARD', KEYS[i])
  local count = n
  if n >= cap then count = math.max(n, redis.call('PFCOUNT', KEYS[i + 1])) end
  local members = {}
  if n > 0 then members = redis.call('ZRANGE', KEYS[i], 0, fetch - 1) end
  out[#out + 1] = count
  out[#out + 1] = members
end
return out
"""

_KEYS_PER_PIPELINE = 500
_SIBLINGS = 64  # keys per account read together
_PFADD_CHUNK = 1000


@dataclass(slots=True)
class _Cached:
    """A key's count and earliest members as last read from Redis."""

    expires: float
    count: int
    members: tuple[str, ...]
    fetched: int  # how many members were asked for


class RedisLinkageIndex:
    """``LinkageIndex`` in Redis for the workers of one group: buffered writes, cached reads.

    Args:
        client: a ``redis.Redis`` client (the caller owns it).
        prefix: key prefix.
        group: the consumer group whose workers share the index.
        ttl_s: lifetime of a key's entries after its last write.
        max_members: accounts listed per key (beyond it the key only counts), as in
            ``MemoryLinkageIndex``.
        cache_ttl_s: how long a read stays cached (wall time).
        max_cached_keys: keys cached at once (least recently read dropped).
        fetch_members: members read per key at least (the linker asks for 64).
        on_members: called with the members of every key read from Redis (the shared
            score board prefetches their scores with it).
        clock: monotonic clock of the cache (tests may pass a fake).
        wall_clock: the clock that orders members (first written, earliest).

    """

    def __init__(
        self,
        client: Any,
        prefix: str,
        group: str,
        ttl_s: float = 7 * 86400.0,
        max_members: int = 256,
        cache_ttl_s: float = 2.0,
        max_cached_keys: int = 100_000,
        fetch_members: int = 64,
        on_members: Callable[[Sequence[str]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._base = f"{prefix}link:{group}:"
        self._ttl_ms = str(int(ttl_s * 1000))
        self.max_members = max_members
        self.cache_ttl_s = cache_ttl_s
        self.max_cached_keys = max_cached_keys
        self.fetch_members = fetch_members
        self._on_members = on_members
        self._now = clock
        self._wall = wall_clock
        self._script = client.register_script(ADD_PAIRS_LUA)
        self._read_script = client.register_script(READ_KEYS_LUA)
        self._pending: dict[str, dict[str, float]] = {}
        self._pending_accounts: set[str] = set()
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._adder: OrderedDict[str, str] = OrderedDict()  # key -> account that last added it
        self._keys_of: OrderedDict[str, list[str]] = OrderedDict()  # account -> keys it added
        self._population: tuple[float, int] = (float("-inf"), 0)
        self._breaker = ReadBreaker()
        self.pairs_written = 0
        self.reads = 0

    # ----------------------------------------------------------------- key names

    def members_key(self, key: str) -> str:
        """Return the sorted set of accounts carrying ``key``."""
        return f"{self._base}m:{key}"

    def count_key(self, key: str) -> str:
        """Return the HyperLogLog counting the accounts carrying ``key``."""
        return f"{self._base}n:{key}"

    @property
    def population_key(self) -> str:
        """Return the HyperLogLog of every account seen."""
        return f"{self._base}accounts"

    # ----------------------------------------------------------------- LinkageIndex

    def add(self, key: str, account_id: str) -> None:
        """Record that ``account_id`` carries ``key`` (buffered until ``flush``; idempotent)."""
        pending = self._pending.setdefault(key, {})
        if account_id not in pending:
            pending[account_id] = self._wall()
            self._pending_accounts.add(account_id)
        # Remember which keys an account added, to read them together (bounded, LRU).
        self._adder[key] = account_id
        self._adder.move_to_end(key)
        keys = self._keys_of.setdefault(account_id, [])
        self._keys_of.move_to_end(account_id)
        if key not in keys and len(keys) < _SIBLINGS:
            keys.append(key)
        while len(self._adder) > self.max_cached_keys:
            self._adder.popitem(last=False)
        while len(self._keys_of) > self.max_cached_keys // 4:
            self._keys_of.popitem(last=False)

    def members(self, key: str, limit: int) -> Sequence[str]:
        """Return up to ``limit`` accounts carrying ``key``, earliest first (own unflushed last)."""
        cached = self._read(key, limit)
        out = list(cached.members[:limit])
        pending = self._pending.get(key)
        if pending and len(out) < limit and cached.count < self.max_members:
            known = set(out)
            out.extend(a for a in pending if a not in known)
        return out[:limit]

    def count(self, key: str) -> int:
        """Return how many accounts carry ``key`` (this worker's unflushed pairs included)."""
        return self._read(key, self.fetch_members).count + len(self._pending.get(key, ()))

    def population(self) -> int:
        """Return how many distinct accounts the group's workers added (about, past 1,000s)."""
        expires, n = self._population
        if self._now() >= expires:
            if not self._breaker.tripped:  # after a failed read, none until a flush pings
                try:
                    n = int(self._client.pfcount(self.population_key))
                except redis.RedisError as exc:
                    self._breaker.trip(exc)  # keep the stale figure
            self._population = (self._now() + self.cache_ttl_s, n)
        return n + len(self._pending_accounts)

    # ----------------------------------------------------------------- I/O

    @property
    def read_errors(self) -> int:
        """Return how many reads failed."""
        return self._breaker.errors

    @property
    def pending(self) -> int:
        """Number of (key, account) pairs buffered and not yet written."""
        return sum(len(v) for v in self._pending.values())

    def flush(self) -> None:
        """Write every buffered pair; raise ``SinkError`` (keeping them) if Redis fails.

        Also raises while the reads that failed since the last flush cannot be confirmed
        to work again (one ``PING``), so the worker pauses until Redis is back.
        """
        try:
            self._breaker.confirm(self._client)
        except redis.RedisError as exc:
            raise SinkError(f"redis: linkage index unreadable: {exc}") from exc
        if not self._pending:
            return
        keys = list(self._pending)
        try:
            for start in range(0, len(keys), _KEYS_PER_PIPELINE):
                pipe = self._client.pipeline(transaction=False)
                for key in keys[start : start + _KEYS_PER_PIPELINE]:
                    args: list[str | float] = [str(self.max_members), self._ttl_ms]
                    for account_id, first in self._pending[key].items():
                        args += [f"{first:.6f}", account_id]
                    self._script(
                        keys=[self.members_key(key), self.count_key(key)], args=args, client=pipe
                    )
                accounts = sorted(self._pending_accounts) if start == 0 else []
                for i in range(0, len(accounts), _PFADD_CHUNK):
                    pipe.pfadd(self.population_key, *accounts[i : i + _PFADD_CHUNK])
                if accounts:
                    pipe.pexpire(self.population_key, int(self._ttl_ms))
                pipe.execute()
                for key in keys[start : start + _KEYS_PER_PIPELINE]:
                    self.pairs_written += len(self._pending.pop(key))
                    self._cache.pop(key, None)  # read it back fresh, with this worker's pairs
                if accounts:  # read the population again; meanwhile count them in
                    self._pending_accounts.clear()
                    self._population = (float("-inf"), self._population[1] + len(accounts))
        except redis.RedisError as exc:
            raise SinkError(f"redis: cannot write {self.pending} linkage pairs: {exc}") from exc

    def close(self) -> None:
        """Flush; the client is the caller's to close."""
        self.flush()

    def _fresh(self, key: str, limit: int, now: float) -> _Cached | None:
        """Return ``key``'s cache entry if it is fresh and long enough."""
        cached = self._cache.get(key)
        if cached is not None and now < cached.expires and cached.fetched >= limit:
            return cached
        return None

    def _read(self, key: str, limit: int) -> _Cached:
        """Return ``key``'s cached count and members, reading Redis when stale or too short.

        A miss also reads the other stale keys of the account that last added ``key``
        (the linker asks for all of an account's keys in a row): one round trip for all.
        """
        now = self._now()
        cached = self._fresh(key, limit, now)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        fetch = max(limit, self.fetch_members)
        batch = [key]
        adder = self._adder.get(key)
        for other in self._keys_of.get(adder, ()) if adder is not None else ():
            if other != key and self._fresh(other, fetch, now) is None:
                batch.append(other)
        keys = [name for k in batch for name in (self.members_key(k), self.count_key(k))]
        replies = None
        if not self._breaker.tripped:  # after a failed read, none until a flush pings Redis
            try:
                replies = self._read_script(keys=keys, args=[fetch, self.max_members])
            except redis.RedisError as exc:
                self._breaker.trip(exc)  # answer from what is cached, fail the next flush
        if replies is None:  # answer from the stale entry (or nothing) for a cache period
            old = self._cache.get(key) or _Cached(0.0, 0, (), fetch)
            cached = _Cached(now + self.cache_ttl_s, old.count, old.members, fetch)
            self._cache[key] = cached
            return cached
        self.reads += 1
        listed_members: list[str] = []
        for n, k in enumerate(batch):
            count, raw = replies[2 * n], replies[2 * n + 1]
            members = tuple(m.decode() if isinstance(m, bytes) else str(m) for m in raw)
            self._cache[k] = _Cached(now + self.cache_ttl_s, int(count), members, fetch)
            self._cache.move_to_end(k)
            listed_members.extend(members)
        while len(self._cache) > self.max_cached_keys:
            self._cache.popitem(last=False)
        if self._on_members is not None and listed_members:
            self._on_members(listed_members)
        return self._cache[key]
