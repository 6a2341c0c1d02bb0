"""Unit tests of the edge middleware's pure parts: decision parsing, Retry-After, account ids."""

from __future__ import annotations

import math

import orjson
import pytest

from stream.edge import (
    WINDOW_S,
    Decision,
    block_retry_after,
    header_account_id,
    parse_decision,
    throttle_retry_after,
    throttle_window,
)


def test_parse_decision_block_as_the_contract_writes_it() -> None:
    raw = orjson.dumps(
        {
            "action": "block",
            "until": 1764320400.0,
            "alert_id": "a1",
            "severity": "critical",
            "rpm": None,
            "reason": "hydra campaign",
        }
    )
    assert parse_decision(raw) == Decision("block", 1764320400.0, None, "a1")


def test_parse_decision_throttle_keeps_rpm_and_accepts_str_and_int_until() -> None:
    text = '{"action": "throttle", "until": 1764320400, "rpm": 20, "alert_id": "x"}'
    assert parse_decision(text) == Decision("throttle", 1764320400.0, 20, "x")


def test_parse_decision_block_ignores_rpm() -> None:
    assert parse_decision('{"action": "block", "until": 5, "rpm": 3}').rpm is None


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'"block"',
        b'{"action": "review", "until": 5}',
        b'{"action": "block"}',
        b'{"action": "block", "until": "soon"}',
        b'{"action": "block", "until": true}',
        b'{"action": "throttle", "until": 5}',
        b'{"action": "throttle", "until": 5, "rpm": null}',
        b'{"action": "throttle", "until": 5, "rpm": 2.5}',
        b'{"action": "throttle", "until": 5, "rpm": -1}',
        b'{"action": "throttle", "until": 5, "rpm": true}',
    ],
)
def test_parse_decision_rejects_what_breaks_the_contract(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_decision(raw)


@pytest.mark.parametrize(
    ("until", "now", "expected"),
    [
        (1000.0, 900.0, 100),  # whole seconds
        (1000.0, 899.5, 101),  # rounded up: never tell a client to come back too early
        (1000.0, 999.9, 1),
        (1000.0, 1000.0, 1),  # at least 1 (a lapsed decision is not enforced at all)
        (1000.0 + 86400, 1000.0, 86400),
    ],
)
def test_block_retry_after(until: float, now: float, expected: int) -> None:
    assert block_retry_after(until, now) == expected


def test_throttle_window_is_the_wall_clock_minute() -> None:
    assert throttle_window(0.0) == 0
    assert throttle_window(59.999) == 0
    assert throttle_window(60.0) == 1
    assert throttle_window(1764320430.0) == math.floor(1764320430.0 / WINDOW_S)


@pytest.mark.parametrize(
    ("until", "now", "expected"),
    [
        (10_000.0, 600.0, 60),  # start of a minute: the whole minute
        (10_000.0, 630.0, 30),
        (10_000.0, 659.2, 1),  # 0.8 s left: rounded up
        (10_000.0, 659.99, 1),
        (645.0, 630.0, 15),  # the decision lapses before the minute ends
        (630.5, 630.0, 1),
    ],
)
def test_throttle_retry_after(until: float, now: float, expected: int) -> None:
    assert throttle_retry_after(until, now) == expected


def test_header_account_id_is_case_insensitive_and_strips() -> None:
    scope = {"headers": [(b"host", b"api"), (b"X-Account-Id", b" acct_42 ")]}
    assert header_account_id()(scope) == "acct_42"
    assert header_account_id("X-Org")({"headers": [(b"x-org", b"o1")]}) == "o1"


def test_header_account_id_absent_or_empty_is_none() -> None:
    get = header_account_id()
    assert get({"headers": [(b"host", b"api")]}) is None
    assert get({"headers": [(b"x-account-id", b"  ")]}) is None
    assert get({}) is None
