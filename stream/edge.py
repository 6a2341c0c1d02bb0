"""Enforce distillguard's edge decisions in any ASGI application (contract: edge decisions v1).

:class:`EdgeDecisions` wraps an ASGI app (FastAPI, Starlette, Django, Quart, ... or none:
it is plain ASGI) and asks Redis one question per request, ``GET
<prefix>decision:<account_id>``:

- no key: the request passes (a clean account costs that one round trip);
- ``block`` until ``until``: answered ``403`` (or ``block_status``, e.g. ``429``) with
  ``Retry-After`` = the seconds until ``until``, rounded up;
- ``throttle`` with ``rpm``: a counter per account and wall-clock minute
  (``<prefix>edge-rpm:<account_id>:<minute>``, ``INCR`` + ``EXPIRE`` in one pipelined
  transaction) lets ``rpm`` requests a minute through and answers ``429`` to the rest,
  with ``Retry-After`` = the seconds until the minute (or the decision) ends;
- a decision whose ``until`` passed is ignored (the key's TTL removes it at that time).

Redis errors, timeouts (``timeout_s``) and unreadable decisions never raise: the request
passes (``fail_open=True``, the default: enforcement is best effort, availability first)
or is answered ``503`` (``fail_open=False``). Denials carry no detection reason (that
would teach an abuser what was seen); the alert id is in the decision for support.

Usage::

    import redis.asyncio
    from stream.edge import EdgeDecisions

    app = EdgeDecisions(app, redis.asyncio.from_url("redis://redis:6379/0"))

Only ``http`` and ``websocket`` scopes are checked (a denied websocket is closed before
it is accepted, which servers answer with 403); ``lifespan`` passes through.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger("distillguard.edge")

Scope = MutableMapping[str, Any]
"""An ASGI connection scope."""
Message = MutableMapping[str, Any]
"""An ASGI event message."""
Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable."""
Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable."""
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application."""
AccountIdFrom = Callable[[Scope], str | None]
"""Returns the account id of a request (None: not an account's request, not checked)."""

#: The counter window of ``throttle`` decisions: ``rpm`` is per wall-clock minute.
WINDOW_S = 60
_ERROR_LOG_EVERY_S = 60.0


def header_account_id(name: str = "x-account-id") -> AccountIdFrom:
    """Return an ``account_id_from`` that reads the request header ``name`` (case-insensitive)."""
    wanted = name.lower().encode("latin-1")

    def account_id_from(scope: Scope) -> str | None:
        for key, value in scope.get("headers") or ():
            if bytes(key).lower() == wanted:
                text = bytes(value).decode("latin-1").strip()
                return text or None
        return None

    return account_id_from


@dataclass(frozen=True, slots=True)
class Decision:
    """An edge decision as the contract writes it: ``block``, or ``throttle`` at ``rpm``."""

    action: str
    until: float
    rpm: int | None = None
    alert_id: str = ""


def parse_decision(raw: bytes | str) -> Decision:
    """Parse a decision value (JSON); raise ``ValueError`` if it breaks the contract."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"decision is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("decision is not a JSON object")
    action, until, rpm = data.get("action"), data.get("until"), data.get("rpm")
    if action not in ("block", "throttle"):
        raise ValueError(f"unknown decision action {action!r}")
    if isinstance(until, bool) or not isinstance(until, int | float) or not math.isfinite(until):
        raise ValueError(f"decision until is not a number: {until!r}")
    if action == "throttle" and (isinstance(rpm, bool) or not isinstance(rpm, int) or rpm < 0):
        raise ValueError(f"throttle decision without a valid rpm: {rpm!r}")
    alert_id = data.get("alert_id")
    return Decision(
        action=action,
        until=float(until),
        rpm=rpm if action == "throttle" else None,
        alert_id=alert_id if isinstance(alert_id, str) else "",
    )


def block_retry_after(until: float, now: float) -> int:
    """Return the ``Retry-After`` seconds of a block lasting until ``until``: rounded up, >= 1."""
    return max(1, math.ceil(until - now))


def throttle_window(now: float) -> int:
    """Return the index of the wall-clock minute that ``now`` falls in."""
    return math.floor(now / WINDOW_S)


def throttle_retry_after(until: float, now: float) -> int:
    """Return the ``Retry-After`` seconds of a throttled request: to the end of the minute.

    Or to ``until`` if the decision lapses first; rounded up, at least 1.
    """
    window_end = (throttle_window(now) + 1) * WINDOW_S
    return max(1, math.ceil(min(window_end, until) - now))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one request: pass (``status`` 0) or answer ``status``."""

    status: int = 0
    retry_after: int = 0
    error: str = ""
    limit: int | None = None

    @property
    def allowed(self) -> bool:
        """Whether the request goes to the application."""
        return self.status == 0


_ALLOW = Verdict()
_OUTCOMES = {"": "allowed", "account_blocked": "blocked", "rate_limited": "throttled"}


class EdgeDecisions:
    """ASGI middleware enforcing the decisions distillguard writes to Redis.

    Args:
        app: the ASGI application to protect.
        redis: a ``redis.asyncio.Redis`` client (the caller owns and closes it); give it
            short socket timeouts, as for any call on the request path.
        prefix: the key prefix (``redis.prefix`` of the workers).
        account_id_from: returns a request's account id from its scope (default: the
            ``x-account-id`` header); None skips the check.
        block_status: the status of a blocked request (403, or 429 if clients should
            treat it as a rate limit).
        fail_open: on a Redis error, timeout or unreadable decision, let the request
            through (True) or answer 503 (False).
        timeout_s: the most time the check may add to a request.
        clock: wall-clock time in Unix seconds (tests pass a fixed one).

    ``stats`` counts outcomes: ``allowed``, ``blocked``, ``throttled``, ``errors``.
    """

    def __init__(
        self,
        app: ASGIApp,
        redis: Any,
        *,
        prefix: str = "distillguard:",
        account_id_from: AccountIdFrom | None = None,
        block_status: int = 403,
        fail_open: bool = True,
        timeout_s: float = 0.25,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if block_status not in (403, 429):
            raise ValueError("block_status must be 403 or 429")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.app = app
        self.redis = redis
        self.prefix = prefix
        self.account_id_from = account_id_from or header_account_id()
        self.block_status = block_status
        self.fail_open = fail_open
        self.timeout_s = timeout_s
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self._last_error_log = -math.inf

    def decision_key(self, account_id: str) -> str:
        """Return the key the workers write ``account_id``'s decision to."""
        return f"{self.prefix}decision:{account_id}"

    def counter_key(self, account_id: str, window: int) -> str:
        """Return the key counting ``account_id``'s requests in minute ``window``."""
        return f"{self.prefix}edge-rpm:{account_id}:{window}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request's account, then pass it on or answer it."""
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            account_id = self.account_id_from(scope)
        except Exception as exc:  # a caller's extractor must not take the app down
            verdict = self._error(f"account_id_from failed: {exc!r}")
        else:
            verdict = await self.check(account_id) if account_id else _ALLOW
        if verdict.allowed:
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": verdict.error})
        else:
            await _respond(send, verdict)

    async def check(self, account_id: str) -> Verdict:
        """Return the verdict for one request of ``account_id`` (never raises)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                verdict = await self._check(account_id)
        except Exception as exc:  # Redis errors, timeouts, bad values: fail open or 503
            return self._error(f"{type(exc).__name__}: {exc}")
        self.stats[_OUTCOMES[verdict.error]] += 1
        return verdict

    async def _check(self, account_id: str) -> Verdict:
        """Read the decision and, for a throttle, count the request."""
        raw = await self.redis.get(self.decision_key(account_id))
        if raw is None:
            return _ALLOW
        decision = parse_decision(raw)
        now = self.clock()
        if decision.until <= now:
            return _ALLOW  # lapsed; the key's TTL is about to remove it
        if decision.action == "block":
            return Verdict(
                self.block_status, block_retry_after(decision.until, now), "account_blocked"
            )
        assert decision.rpm is not None  # parse_decision: a throttle has an rpm
        window = throttle_window(now)
        key = self.counter_key(account_id, window)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 2 * WINDOW_S)
        count, _ = await pipe.execute()
        if int(count) <= decision.rpm:
            return _ALLOW
        return Verdict(
            429, throttle_retry_after(decision.until, now), "rate_limited", limit=decision.rpm
        )

    def _error(self, what: str) -> Verdict:
        """Count and (at most once a minute) log a failed check; return the fallback verdict."""
        self.stats["errors"] += 1
        mono = time.monotonic()
        if mono - self._last_error_log >= _ERROR_LOG_EVERY_S:
            self._last_error_log = mono
            log.warning(
                "edge decision check failed (%s); requests %s",
                what,
                "pass (fail open)" if self.fail_open else "get 503 (fail closed)",
            )
        if self.fail_open:
            return _ALLOW
        return Verdict(503, 1, "decision_unavailable")


async def _respond(send: Send, verdict: Verdict) -> None:
    """Answer a denied HTTP request with a small JSON body and ``Retry-After``."""
    body = orjson.dumps({"error": verdict.error, "retry_after": verdict.retry_after})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(verdict.retry_after).encode()),
        (b"cache-control", b"no-store"),
    ]
    if verdict.limit is not None:
        headers.append((b"x-ratelimit-limit", str(verdict.limit).encode()))
    await send({"type": "http.response.start", "status": verdict.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
