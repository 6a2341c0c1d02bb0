"""The Redis sink (contract: edge decisions v1): decision keys for the edge, the alert stream.

One Lua script per alert, all of a flush in one pipeline (one round trip):

- the alert goes to the stream (``XADD <prefix>alerts MAXLEN ~ N * alert <json>``) only the
  first time its ``(alert_id, action)`` is seen (a ``SET NX`` marker with a TTL), so an
  event delivered twice never adds a second copy: re-delivery is harmless;
- a ``throttle`` or ``block`` alert writes ``<prefix>decision:<account_id>`` with
  ``PXAT until`` (the key lapses with the decision), unless a stronger decision lasts
  (block > throttle) or the same action already lasts at least as long; a decision
  whose ``until`` already passed is not written. The read-compare-write is atomic
  (it runs inside the script).

Every key has a TTL; the stream's is renewed by each write. Nothing here writes prompt
text: alerts and decisions carry numbers and reasons only. When Redis cannot be
reached ``flush`` raises ``SinkError`` and keeps everything buffered, so the caller can
retry later (the scripts are idempotent, so a flush cut short is safe to repeat).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from detectors.policy import PolicyConfig, decision_for
from detectors.records import Alert
from stream.exceptions import SinkError

#: Lua: KEYS = decision key, seen marker, stream;
#: ARGV = alert json, decision json ('' for none), until ms, rank, maxlen, marker ttl ms.
#: Returns {alert added to the stream (0/1), decision: 0 none, 1 written, 2 kept, 3 lapsed}.
WRITE_ALERT_LUA = """
local added = 0
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[6]) then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'alert', ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
  added = 1
end
if ARGV[2] == '' then
  return {added, 0}
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = tonumber(ARGV[3])
if until_ms <= now_ms then
  return {added, 3}
end
local rank = tonumber(ARGV[4])
local old = redis.call('GET', KEYS[1])
if old then
  local ok, cur = pcall(cjson.decode, old)
  if ok and type(cur) == 'table' then
    local cur_rank = 1
    if cur['action'] == 'block' then cur_rank = 2 end
    local cur_until = (tonumber(cur['until']) or 0) * 1000
    if cur_rank > rank or (cur_rank == rank and cur_until >= until_ms) then
      return {added, 2}
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', until_ms)
return {added, 1}
"""

_RANK = {"throttle": 1, "block": 2}
_CHUNK = 500  # scripts per pipeline round trip


def decision_key(prefix: str, account_id: str) -> str:
    """Return the key the edge reads for ``account_id``."""
    return f"{prefix}decision:{account_id}"


def stream_key(prefix: str) -> str:
    """Return the key of the alert stream."""
    return f"{prefix}alerts"


class RedisAlertSink:
    """Write alerts to the alert stream and their decisions to decision keys (idempotent).

    Args:
        client: a ``redis.Redis`` client (the caller owns and closes it).
        policy: the policy whose lifetimes and rpm make the decisions.
        prefix: key prefix (``distillguard:`` by default).
        stream_maxlen: approximate cap of the alert stream (``MAXLEN ~``).
        marker_ttl_s: lifetime of the "already written" markers and of the stream key.
        on_written: called after a successful flush with each alert and its decision
            outcome (0 none, 1 written, 2 kept a stronger or longer one, 3 already lapsed).
        wall_clock: the clock for nothing but ``last_error_at`` (I/O bookkeeping).

    """

    def __init__(
        self,
        client: Any,
        policy: PolicyConfig,
        prefix: str = "distillguard:",
        stream_maxlen: int = 100_000,
        marker_ttl_s: float = 7 * 86400.0,
        on_written: Callable[[Alert, int, bool], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._policy = policy
        self._prefix = prefix
        self._maxlen = str(stream_maxlen)
        self._marker_ttl = str(int(marker_ttl_s * 1000))
        self._on_written = on_written
        self._wall = wall_clock
        self._script = client.register_script(WRITE_ALERT_LUA)
        self._pending: list[Alert] = []
        self.written = 0
        self.decisions_written = 0
        self.errors = 0
        self.last_error: str | None = None

    @property
    def pending(self) -> int:
        """Number of alerts added and not yet written."""
        return len(self._pending)

    def add(self, item: Alert) -> None:
        """Buffer one alert."""
        self._pending.append(item)

    def _args(self, alert: Alert) -> tuple[list[str], list[str | bytes]]:
        """Return the script's keys and arguments for ``alert``."""
        decision = decision_for(alert, self._policy)
        p = self._prefix
        keys = [
            decision_key(p, alert.account_id),
            f"{p}alert-seen:{alert.alert_id}:{alert.action}",
            stream_key(p),
        ]
        body = orjson.dumps(alert.to_dict())
        if decision is None:
            return keys, [body, "", "0", "0", self._maxlen, self._marker_ttl]
        until = decision["until"]
        assert isinstance(until, float)
        return keys, [
            body,
            orjson.dumps(decision),
            str(int(until * 1000)),
            str(_RANK[alert.action]),
            self._maxlen,
            self._marker_ttl,
        ]

    def flush(self) -> None:
        """Write every buffered alert; raise ``SinkError`` (keeping them) if Redis fails."""
        while self._pending:
            chunk = self._pending[:_CHUNK]
            try:
                pipe = self._client.pipeline(transaction=False)
                for alert in chunk:
                    keys, args = self._args(alert)
                    self._script(keys=keys, args=args, client=pipe)
                results = pipe.execute()
            except redis.RedisError as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise SinkError(f"redis: cannot write {len(self._pending)} alerts: {exc}") from exc
            del self._pending[: len(chunk)]
            for alert, (added, outcome) in zip(chunk, results, strict=True):
                self.written += int(added)
                self.decisions_written += int(outcome == 1)
                if self._on_written is not None:
                    self._on_written(alert, int(outcome), bool(added))

    def close(self) -> None:
        """Flush; the client is the caller's to close."""
        self.flush()
