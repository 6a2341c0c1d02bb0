"""The ASGI edge middleware against a real redis-server (contract: edge decisions v1).

Decisions are written the way the workers write them (``RedisAlertSink``) or set by hand
for the edge cases; the middleware reads them with ``redis.asyncio``. The ASGI app is
driven by a hand-written call harness: no web server, no HTTP client dependency.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
import pytest
import redis.asyncio

from detectors.policy import PolicyConfig
from detectors.records import Alert
from stream.edge import EdgeDecisions, Message, Scope, throttle_window
from stream.sinks.redis import RedisAlertSink
from tests.servers import RedisServer, free_port

PREFIX = "dg:"
POLICY = PolicyConfig()  # the workers' default policy: throttle 20 rpm for 1 h, block 24 h
NOW = 1_900_000_050.0  # 30 s into a wall-clock minute


class App:
    """The protected application: answers 200 and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.calls += 1
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


class Response:
    """What the harness saw the middleware (or the app) send."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        self.status = start["status"] if start else None
        self.headers = {k.decode(): v.decode() for k, v in (start or {}).get("headers", [])}
        self.body = b"".join(m.get("body", b"") for m in messages if m["type"].endswith("body"))


async def call(
    app: Any, account: str | None = "acct_1", kind: str = "http", **extra: Any
) -> Response:
    """Send one request through ``app``; return what it sent back."""
    headers = [(b"host", b"api.example")]
    if account is not None:
        headers.append((b"x-account-id", account.encode()))
    scope: Scope = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https" if kind == "http" else "wss",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "headers": headers,
        "client": ("10.0.0.1", 50000),
        "server": ("api.example", 443),
        **extra,
    }
    sent: list[Message] = []

    async def receive() -> Message:
        if kind == "websocket":
            return {"type": "websocket.connect"}
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return Response(sent)


def run(
    server: RedisServer | str,
    body: Callable[[EdgeDecisions, App], Coroutine[Any, Any, None]],
    **options: Any,
) -> EdgeDecisions:
    """Run ``body(middleware, app)`` on a fresh event loop with its own asyncio client."""
    url = server if isinstance(server, str) else server.url
    inner = App()

    async def main() -> EdgeDecisions:
        client = redis.asyncio.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        options.setdefault("prefix", PREFIX)
        options.setdefault("clock", lambda: NOW)
        mw = EdgeDecisions(inner, client, **options)
        try:
            await body(mw, inner)
        finally:
            await client.aclose()
        return mw

    return asyncio.run(main())


def put(client: Any, account: str, value: dict[str, Any] | bytes, ttl_s: int = 3600) -> None:
    """Set a decision key by hand (as the workers would: JSON with a TTL)."""
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    client.set(f"{PREFIX}decision:{account}", raw, ex=ttl_s)


def block(until: float = NOW + 100) -> dict[str, Any]:
    return {"action": "block", "until": until, "alert_id": "a1", "severity": "critical",
            "rpm": None, "reason": "r"}  # fmt: skip


def throttle(rpm: int, until: float = NOW + 3600) -> dict[str, Any]:
    return {"action": "throttle", "until": until, "alert_id": "a2", "severity": "warning",
            "rpm": rpm, "reason": "r"}  # fmt: skip


# ------------------------------------------------------------------------------ tests


def test_clean_account_passes(redis_server: RedisServer, redis_client: Any) -> None:
    async def body(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw)
        assert (r.status, r.body, app.calls) == (200, b"ok", 1)

    mw = run(redis_server, body)
    assert mw.stats == {"allowed": 1}


def test_decisions_written_by_the_workers_sink_are_enforced(
    redis_server: RedisServer, redis_client: Any
) -> None:
    """The real writer (RedisAlertSink, Lua) and the real reader agree on the contract."""
    now = time.time()
    sink = RedisAlertSink(redis_client, POLICY, PREFIX)
    for account, action in (("acct_b", "block"), ("acct_t", "throttle")):
        sink.add(
            Alert(
                alert_id=f"e-{account}",
                ts=now - 10,
                account_id=account,
                severity="critical" if action == "block" else "warning",
                action=action,  # type: ignore[arg-type]  # a Literal from a str in a test
                score=0.9999,
                detectors=("campaign",),
                reasons=("hydra campaign: 37 linked accounts",),
            )
        )
    sink.flush()

    async def body(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw, "acct_b")
        assert r.status == 403
        assert int(r.headers["retry-after"]) == pytest.approx(POLICY.block_for_s - 10, abs=5)
        assert orjson.loads(r.body)["error"] == "account_blocked"
        assert b"hydra" not in r.body  # no detection reason for the client
        statuses = [(await call(mw, "acct_t")).status for _ in range(POLICY.throttle_rpm + 1)]
        assert statuses == [200] * POLICY.throttle_rpm + [429]
        assert (await call(mw, "acct_clean")).status == 200
        assert app.calls == POLICY.throttle_rpm + 1

    run(redis_server, body, clock=lambda: now)


def test_block_answers_403_with_retry_after_from_until(
    redis_server: RedisServer, redis_client: Any
) -> None:
    put(redis_client, "acct_1", block(until=NOW + 99.2))

    async def body(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw)
        assert r.status == 403
        assert r.headers["retry-after"] == "100"  # rounded up
        assert r.headers["content-type"] == "application/json"
        assert int(r.headers["content-length"]) == len(r.body)
        assert orjson.loads(r.body) == {"error": "account_blocked", "retry_after": 100}
        assert app.calls == 0
        assert (await call(mw, "acct_2")).status == 200  # other accounts are not affected

    mw = run(redis_server, body)
    assert mw.stats == {"blocked": 1, "allowed": 1}


def test_block_status_429_when_configured(redis_server: RedisServer, redis_client: Any) -> None:
    put(redis_client, "acct_1", block())

    async def body(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw)
        assert (r.status, r.headers["retry-after"]) == (429, "100")

    run(redis_server, body, block_status=429)


def test_lapsed_decision_is_not_enforced(redis_server: RedisServer, redis_client: Any) -> None:
    put(redis_client, "acct_1", block(until=NOW - 1))  # key still there (clock skew)
    put(redis_client, "acct_2", throttle(0, until=NOW))

    async def body(mw: EdgeDecisions, app: App) -> None:
        assert (await call(mw, "acct_1")).status == 200
        assert (await call(mw, "acct_2")).status == 200

    run(redis_server, body)


def test_throttle_allows_rpm_a_minute_with_a_redis_counter(
    redis_server: RedisServer, redis_client: Any
) -> None:
    put(redis_client, "acct_1", throttle(3))
    put(redis_client, "acct_2", throttle(3))
    clock = {"now": NOW}

    async def body(mw: EdgeDecisions, app: App) -> None:
        statuses = [(await call(mw)).status for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        r = await call(mw)
        assert r.headers["retry-after"] == "30"  # to the end of the minute (NOW is :30)
        assert r.headers["x-ratelimit-limit"] == "3"
        assert orjson.loads(r.body)["error"] == "rate_limited"
        assert (await call(mw, "acct_2")).status == 200  # a counter per account
        clock["now"] = NOW + 30  # the next minute: a fresh counter
        assert (await call(mw)).status == 200

    mw = run(redis_server, body, clock=lambda: clock["now"])
    assert mw.stats == {"allowed": 5, "throttled": 3}
    key = f"{PREFIX}edge-rpm:acct_1:{throttle_window(NOW)}"
    assert int(redis_client.get(key)) == 6
    assert 0 < redis_client.ttl(key) <= 120  # counters expire


def test_throttle_retry_after_stops_at_until(redis_server: RedisServer, redis_client: Any) -> None:
    put(redis_client, "acct_1", throttle(0, until=NOW + 12))

    async def body(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw)
        assert (r.status, r.headers["retry-after"]) == (429, "12")

    run(redis_server, body)


def test_prefix_and_account_id_from_are_configurable(
    redis_server: RedisServer, redis_client: Any
) -> None:
    redis_client.set("other:decision:org_9", orjson.dumps(block()), ex=60)

    def from_path(scope: Scope) -> str | None:
        return str(scope["path"]).rsplit("/", 1)[-1] or None

    async def body(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw, None, path="/orgs/org_9")
        assert r.status == 403
        assert (await call(mw, None, path="/orgs/org_1")).status == 200

    run(redis_server, body, prefix="other:", account_id_from=from_path)


def test_no_account_id_skips_redis(redis_server: RedisServer) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: a lookup would fail

    async def body(mw: EdgeDecisions, app: App) -> None:
        assert (await call(mw, None)).status == 200

    mw = run(dead, body)
    assert mw.stats == {}


def test_redis_down_fails_open_by_default_and_closed_when_asked() -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"

    async def body(mw: EdgeDecisions, app: App) -> None:
        assert (await call(mw)).status == 200
        assert app.calls == 1

    assert run(dead, body).stats == {"errors": 1}

    async def closed(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw)
        assert (r.status, r.headers["retry-after"], app.calls) == (503, "1", 0)

    run(dead, closed, fail_open=False)


def test_unresponsive_redis_is_bounded_by_timeout() -> None:
    """A server that accepts connections and never answers costs at most ``timeout_s``."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes handshakes; nobody ever reads
        url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"

        async def body(mw: EdgeDecisions, app: App) -> None:
            began = time.monotonic()
            assert (await call(mw)).status == 200
            assert time.monotonic() - began < 0.9  # socket timeout is 1 s: ours won

        mw = run(url, body, timeout_s=0.2)
    assert mw.stats == {"errors": 1}


def test_unreadable_decision_counts_as_an_error(
    redis_server: RedisServer, redis_client: Any
) -> None:
    put(redis_client, "acct_1", b"{not json")
    put(redis_client, "acct_2", {"action": "throttle", "until": NOW + 60})  # no rpm

    async def body(mw: EdgeDecisions, app: App) -> None:
        assert (await call(mw, "acct_1")).status == 200
        assert (await call(mw, "acct_2")).status == 200

    assert run(redis_server, body).stats == {"errors": 2}

    async def closed(mw: EdgeDecisions, app: App) -> None:
        assert (await call(mw, "acct_1")).status == 503

    run(redis_server, closed, fail_open=False)


def test_failing_account_id_from_never_crashes(redis_server: RedisServer) -> None:
    def broken(scope: Scope) -> str | None:
        raise KeyError("tenant")

    async def body(mw: EdgeDecisions, app: App) -> None:
        assert (await call(mw)).status == 200

    assert run(redis_server, body, account_id_from=broken).stats == {"errors": 1}


def test_websocket_of_a_blocked_account_is_closed_before_accept(
    redis_server: RedisServer, redis_client: Any
) -> None:
    put(redis_client, "acct_1", block())

    async def body(mw: EdgeDecisions, app: App) -> None:
        r = await call(mw, kind="websocket")
        assert [m["type"] for m in r.messages] == ["websocket.close"]
        assert r.messages[0]["code"] == 1008
        r = await call(mw, "acct_2", kind="websocket")
        assert [m["type"] for m in r.messages] == ["websocket.accept"]

    run(redis_server, body)


def test_lifespan_passes_through(redis_server: RedisServer) -> None:
    async def body(mw: EdgeDecisions, app: App) -> None:
        seen: list[str] = []

        async def inner(scope: Scope, receive: Any, send: Any) -> None:
            seen.append(scope["type"])

        mw.app = inner
        await mw({"type": "lifespan", "asgi": {"version": "3.0"}}, _never, _never)
        assert seen == ["lifespan"]

    run(redis_server, body)


async def _never(*_: Any) -> Any:
    raise AssertionError("not called")


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError):
        EdgeDecisions(App(), None, block_status=500)
    with pytest.raises(ValueError):
        EdgeDecisions(App(), None, timeout_s=0)
