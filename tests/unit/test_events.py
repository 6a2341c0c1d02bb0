"""Unit tests for stream.events: request-event parsing, validation and timestamps.

Expected timestamps are hand-computed: 2026-10-30 is day 20756 after 1970-01-01
(56 years of 365 days + 14 leap days = 20454, + 302 days into 2026), so
2026-10-30T08:12:00Z = 20756 * 86400 + 8 * 3600 + 12 * 60 = 1793347920.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import math
import pickle
import re
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.records import RequestEvent
from stream import events
from stream.events import BadRecord, event_to_json, parse_event, parse_timestamp

T_CREATED = 1793347920.0  # 2026-10-30T08:12:00Z, see the module docstring
T_EXAMPLE = 1764316800.25  # the contract example's ts (2025-11-28T08:00:00.25Z)

# The contract's example, byte for byte as a one-line record.
EXAMPLE: dict[str, Any] = {
    "ts": 1764316800.25,
    "request_id": "req_01",
    "account_id": "acct_42",
    "org_id": "org_7",
    "api_key_id": "key_3",
    "model": "frontier-large",
    "endpoint": "/v1/messages",
    "prompt": "Explain, step by step, how a B-tree stays balanced.",
    "input_tokens": 14,
    "output_tokens": 812,
    "max_tokens": 4096,
    "temperature": 1.0,
    "client_ip": "203.0.113.9",
    "user_agent": "python-httpx/0.28",
    "asn": 64500,
    "country": "NL",
    "tls_fingerprint": "t13d1516h2_8daaf6152771_02713d6af862",
    "payment_fingerprint": "pm_9f2c",
    "account_created_ts": "2026-10-30T08:12:00Z",
    "status": 200,
    "latency_ms": 5120,
}
MINIMAL: dict[str, Any] = {"ts": T_EXAMPLE, "account_id": "acct_42"}
FIELDS = tuple(f.name for f in dataclasses.fields(RequestEvent))
OPTIONAL_FIELDS = FIELDS[2:]


def _line(obj: object) -> bytes:
    # json, not orjson: it writes integers beyond 64 bits (orjson reads them as floats)
    return json.dumps(obj, ensure_ascii=False).encode()


def _parse(obj: object) -> RequestEvent | BadRecord:
    return parse_event(_line(obj))


def _ok(obj: object) -> RequestEvent:
    result = _parse(obj)
    assert isinstance(result, RequestEvent), result
    return result


def _bad(raw: bytes | str | bytearray | memoryview, reason: str) -> BadRecord:
    result = parse_event(raw)
    assert isinstance(result, BadRecord), result
    assert result.reason == reason, result
    return result


def _with(**fields: object) -> dict[str, Any]:
    return {**MINIMAL, **fields}


# -- the example and the basics ----------------------------------------------------


def test_contract_example_parses_to_every_field() -> None:
    ev = _ok(EXAMPLE)
    assert ev == RequestEvent(
        ts=T_EXAMPLE,
        account_id="acct_42",
        request_id="req_01",
        org_id="org_7",
        api_key_id="key_3",
        model="frontier-large",
        endpoint="/v1/messages",
        prompt="Explain, step by step, how a B-tree stays balanced.",
        input_tokens=14,
        output_tokens=812,
        max_tokens=4096,
        temperature=1.0,
        client_ip="203.0.113.9",
        user_agent="python-httpx/0.28",
        asn=64500,
        country="NL",
        tls_fingerprint="t13d1516h2_8daaf6152771_02713d6af862",
        payment_fingerprint="pm_9f2c",
        account_created_ts=T_CREATED,
        status=200,
        latency_ms=5120.0,
    )
    assert type(ev.latency_ms) is float  # an integer number field is stored as float


def test_contract_example_from_the_contract_file() -> None:
    contract = Path(__file__).parents[3] / "shared" / "contracts" / "request-event.md"
    if not contract.exists():  # the contracts live next to the repository
        pytest.skip(f"{contract} not found")
    block = re.search(r"```json\n(.*?)```", contract.read_text(), re.DOTALL)
    assert block is not None
    raw = block.group(1).replace("\n", " ").encode()
    assert parse_event(raw) == parse_event(_line(EXAMPLE))


def test_minimal_event_has_all_optionals_none() -> None:
    ev = _ok(MINIMAL)
    assert ev == RequestEvent(ts=T_EXAMPLE, account_id="acct_42")
    assert all(getattr(ev, name) is None for name in OPTIONAL_FIELDS)


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "str"])
def test_every_input_type_is_accepted(kind: str) -> None:
    raw = _line(EXAMPLE)
    inputs: dict[str, bytes | bytearray | memoryview | str] = {
        "bytes": raw,
        "bytearray": bytearray(raw),
        "memoryview": memoryview(raw),
        "str": raw.decode(),
    }
    assert parse_event(inputs[kind]) == parse_event(raw)


def test_surrounding_whitespace_and_newline_are_fine() -> None:
    assert parse_event(b"  " + _line(MINIMAL) + b"\r\n") == _ok(MINIMAL)


def test_unknown_fields_are_ignored() -> None:
    ev = _ok(_with(extra=1, nested={"a": [1, 2]}, TS="x", Account_Id=None, model_="m"))
    assert ev == RequestEvent(ts=T_EXAMPLE, account_id="acct_42")


def test_duplicate_keys_last_wins() -> None:
    ev = parse_event(b'{"ts": 1, "account_id": "a", "account_id": "b"}')
    assert isinstance(ev, RequestEvent)
    assert ev.account_id == "b"


def test_non_ascii_strings_survive() -> None:
    ev = _ok(_with(prompt="Erkläre 二分木 🌳", user_agent="\u0000\t"))
    assert ev.prompt == "Erkläre 二分木 🌳"
    assert ev.user_agent == "\u0000\t"


# -- null handling --------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIONAL_FIELDS)
def test_null_optional_field_means_absent(name: str) -> None:
    assert _ok(_with(**{name: None})) == RequestEvent(ts=T_EXAMPLE, account_id="acct_42")


def test_null_ts_is_missing() -> None:
    _bad(_line({"ts": None, "account_id": "a"}), "missing_ts")
    _bad(_line({"account_id": "a"}), "missing_ts")


def test_null_account_id_is_missing() -> None:
    _bad(_line({"ts": T_EXAMPLE, "account_id": None}), "missing_account_id")
    _bad(_line({"ts": T_EXAMPLE}), "missing_account_id")


def test_missing_ts_is_reported_before_missing_account_id() -> None:
    _bad(b"{}", "missing_ts")


# -- not JSON / not an object ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n",
        b"   ",
        b"{",
        b'{"ts": 1,}',
        b"{'ts': 1}",
        b'{"ts": NaN, "account_id": "a"}',
        b'{"ts": Infinity, "account_id": "a"}',
        b'{"ts": 1e400, "account_id": "a"}',
        b'{"ts": 1, "account_id": "\xff"}',  # invalid UTF-8
        b'{"ts": 1, "account_id": "\xed\xa0\x80"}',  # UTF-8-encoded surrogate
        b'{"ts": 1, "account_id": "\\ud800"}',  # lone surrogate escape
        b"\xef\xbb\xbf{}",  # byte order mark
        b'{"ts": 1, "account_id": "a"} {"ts": 2}',  # two documents on one line
        b"\x00",
    ],
)
def test_not_json(raw: bytes) -> None:
    bad = _bad(raw, "not_json")
    assert bad.raw == raw
    assert bad.detail


@pytest.mark.parametrize(
    "raw", [b"[]", b'[{"ts": 1, "account_id": "a"}]', b"1", b"1.5", b'"x"', b"true", b"null"]
)
def test_not_object(raw: bytes) -> None:
    bad = _bad(raw, "not_object")
    assert "expected an object" in bad.detail


def test_unsupported_input_type_is_a_bad_record_not_an_exception() -> None:
    result = parse_event(12345)  # type: ignore[arg-type]
    assert isinstance(result, BadRecord)
    assert result.reason == "not_json"
    assert result.raw == b""


# -- the field table ----------------------------------------------------------------------

STRING_FIELDS = (
    "request_id",
    "org_id",
    "api_key_id",
    "model",
    "endpoint",
    "prompt",
    "user_agent",
    "tls_fingerprint",
    "payment_fingerprint",
)
NON_STRINGS: tuple[object, ...] = (1, 1.5, True, False, [], ["a"], {}, {"a": "b"})

COUNT_FIELDS = ("input_tokens", "output_tokens", "max_tokens")
Case = tuple[str, object, str | None]  # (field, value, expected reason or None)


def _count_cases(name: str) -> list[Case]:
    """Cases for a count: an integer >= 0, nothing else."""
    return [
        (name, 0, None),
        (name, 1, None),
        (name, 18446744073709551615, None),
        (name, -1, f"bad_value:{name}"),
        (name, -9223372036854775808, f"bad_value:{name}"),
        (name, 12.0, f"bad_type:{name}"),
        (name, 12.5, f"bad_type:{name}"),
        (name, 18446744073709551616, f"bad_type:{name}"),  # orjson makes it a float
        (name, True, f"bad_type:{name}"),
        (name, False, f"bad_type:{name}"),
        (name, "12", f"bad_type:{name}"),
        (name, [12], f"bad_type:{name}"),
    ]


def _number_cases(name: str) -> list[Case]:
    """Cases for a number: finite and >= 0, integers allowed."""
    return [
        (name, 0, None),
        (name, 0.0, None),
        (name, -0.0, None),
        (name, 0.7, None),
        (name, 5120, None),
        (name, 1e300, None),
        (name, -0.1, f"bad_value:{name}"),
        (name, -1, f"bad_value:{name}"),
        (name, True, f"bad_type:{name}"),
        (name, "0.7", f"bad_type:{name}"),
        (name, {}, f"bad_type:{name}"),
    ]


# (field, value, expected reason, or None when valid)
CASES: list[Case] = [
    # ts (account_created_ts is the same list, generated below)
    ("ts", 1764316800, None),
    ("ts", 1764316800.25, None),
    ("ts", 1, None),
    ("ts", 99_999_999_999, None),
    ("ts", "2026-10-30T08:12:00Z", None),
    ("ts", True, "bad_type:ts"),
    ("ts", False, "bad_type:ts"),
    ("ts", [], "bad_type:ts"),
    ("ts", {}, "bad_type:ts"),
    ("ts", 0, "bad_value:ts"),
    ("ts", 0.0, "bad_value:ts"),
    ("ts", -1, "bad_value:ts"),
    ("ts", -1764316800.0, "bad_value:ts"),
    ("ts", 100_000_000_000, "bad_value:ts"),
    ("ts", 1e11, "bad_value:ts"),
    ("ts", 1764316800250, "bad_value:ts"),
    ("ts", 18446744073709551615, "bad_value:ts"),
    ("ts", 1e300, "bad_value:ts"),
    ("ts", "", "bad_value:ts"),
    ("ts", "1764316800", "bad_value:ts"),
    ("ts", "2026-10-30", "bad_value:ts"),
    ("ts", "2026-10-30T08:12:00", "bad_value:ts"),
    # account_id
    ("account_id", "a", None),
    ("account_id", "x" * 256, None),
    ("account_id", " ", None),
    ("account_id", "", "bad_value:account_id"),
    ("account_id", "x" * 257, "bad_value:account_id"),
    *(("account_id", v, "bad_type:account_id") for v in NON_STRINGS),
    # plain strings: any string, any length; nothing else
    *((name, "", None) for name in STRING_FIELDS),
    *((name, "v" * 100_000, None) for name in STRING_FIELDS),
    *((name, v, f"bad_type:{name}") for name in STRING_FIELDS for v in NON_STRINGS),
    *(case for name in COUNT_FIELDS for case in _count_cases(name)),
    *(case for name in ("temperature", "latency_ms") for case in _number_cases(name)),
    # client_ip
    ("client_ip", "203.0.113.9", None),
    ("client_ip", "0.0.0.0", None),
    ("client_ip", "255.255.255.255", None),
    ("client_ip", "::1", None),
    ("client_ip", "::", None),
    ("client_ip", "2001:db8::8a2e:370:7334", None),
    ("client_ip", "2001:DB8::1", None),
    ("client_ip", "::ffff:203.0.113.9", None),
    ("client_ip", "", "bad_value:client_ip"),
    ("client_ip", "localhost", "bad_value:client_ip"),
    ("client_ip", "203.0.113", "bad_value:client_ip"),
    ("client_ip", "203.0.113.256", "bad_value:client_ip"),
    ("client_ip", "203.0.113.09", "bad_value:client_ip"),
    ("client_ip", " 203.0.113.9", "bad_value:client_ip"),
    ("client_ip", "203.0.113.9:443", "bad_value:client_ip"),
    ("client_ip", "203.0.113.0/24", "bad_value:client_ip"),
    ("client_ip", "[::1]", "bad_value:client_ip"),
    ("client_ip", "fe80::1%eth0", "bad_value:client_ip"),
    ("client_ip", "1::2::3", "bad_value:client_ip"),
    ("client_ip", "203.0.113.9\u0000", "bad_value:client_ip"),
    ("client_ip", "\u0662\u0660\u0663.\u0660.\u0661\u0661\u0663.\u0669", "bad_value:client_ip"),
    ("client_ip", 3405803785, "bad_type:client_ip"),
    ("client_ip", ["203.0.113.9"], "bad_type:client_ip"),
    # asn
    ("asn", 0, None),
    ("asn", 64500, None),
    ("asn", 4294967295, None),
    ("asn", -1, "bad_value:asn"),
    ("asn", 4294967296, "bad_value:asn"),
    ("asn", 64500.0, "bad_type:asn"),
    ("asn", "AS64500", "bad_type:asn"),
    ("asn", True, "bad_type:asn"),
    # country
    ("country", "NL", None),
    ("country", "nl", None),
    ("country", "Nl", None),
    ("country", "", "bad_value:country"),
    ("country", "N", "bad_value:country"),
    ("country", "NLD", "bad_value:country"),
    ("country", "T1", "bad_value:country"),
    ("country", "N ", "bad_value:country"),
    ("country", "ÄÖ", "bad_value:country"),
    ("country", "\uff2e\uff2c", "bad_value:country"),  # full-width NL
    ("country", 31, "bad_type:country"),
    ("country", ["NL"], "bad_type:country"),
    # status
    ("status", 100, None),
    ("status", 200, None),
    ("status", 599, None),
    ("status", 99, "bad_value:status"),
    ("status", 600, "bad_value:status"),
    ("status", 0, "bad_value:status"),
    ("status", -200, "bad_value:status"),
    ("status", 200.0, "bad_type:status"),
    ("status", "200", "bad_type:status"),
    ("status", True, "bad_type:status"),
]
CASES += [
    ("account_created_ts", value, reason and reason.replace(":ts", ":account_created_ts"))
    for name, value, reason in list(CASES)
    if name == "ts"
]


@pytest.mark.parametrize(("name", "value", "reason"), CASES)
def test_field_table(name: str, value: object, reason: str | None) -> None:
    raw = _line(_with(**{name: value}))
    result = parse_event(raw)
    if reason is None:
        assert isinstance(result, RequestEvent), result
        return
    assert isinstance(result, BadRecord), result
    assert result.reason == reason
    assert result.raw == raw
    assert result.detail.startswith(f"{name}: ")
    assert len(result.detail) <= 160


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("ts", 1764316800, 1764316800.0),
        ("ts", "2026-10-30T08:12:00Z", T_CREATED),
        ("account_created_ts", 1764316800, 1764316800.0),
        ("temperature", 1, 1.0),
        ("temperature", -0.0, 0.0),
        ("latency_ms", 5120, 5120.0),
        ("country", "nl", "NL"),
        ("country", "Nl", "NL"),
        ("client_ip", "2001:DB8::1", "2001:DB8::1"),  # kept as sent, not normalised
        ("input_tokens", 18446744073709551615, 18446744073709551615),
    ],
)
def test_stored_values(name: str, value: object, stored: object) -> None:
    got = getattr(_ok(_with(**{name: value})), name)
    assert got == stored
    assert type(got) is type(stored)


def test_every_field_is_covered_by_the_table() -> None:
    assert {name for name, _, _ in CASES} == set(FIELDS)
    for name in FIELDS:
        kinds = {reason.split(":")[0] for n, _, reason in CASES if n == name and reason}
        assert "bad_type" in kinds, name
        if name not in STRING_FIELDS:
            assert "bad_value" in kinds, name


def test_every_reason_string_is_produced() -> None:
    produced = {
        _bad(b"nope", "not_json").reason,
        _bad(b"[]", "not_object").reason,
        _bad(b'{"account_id": "a"}', "missing_ts").reason,
        _bad(b'{"ts": 1}', "missing_account_id").reason,
    }
    produced |= {reason for _, _, reason in CASES if reason}
    expected = {"not_json", "not_object", "missing_ts", "missing_account_id"}
    expected |= {f"bad_type:{name}" for name in FIELDS}
    expected |= {f"bad_value:{name}" for name in FIELDS if name not in STRING_FIELDS}
    assert produced == expected


def test_first_bad_field_is_reported_in_a_fixed_order() -> None:
    bad = _parse(_with(ts="nope", account_id=3, model=1))
    assert isinstance(bad, BadRecord)
    assert bad.reason == "bad_value:ts"
    bad = _parse(_with(model=1, status="x", org_id=2))
    assert isinstance(bad, BadRecord)
    assert bad.reason == "bad_type:org_id"  # contract order within the strings


# -- details ------------------------------------------------------------------------------


def test_milliseconds_are_called_out() -> None:
    bad = _bad(_line(_with(ts=1764316800250)), "bad_value:ts")
    assert "looks like milliseconds" in bad.detail
    bad = _bad(_line(_with(ts=1764316800250.5)), "bad_value:ts")
    assert "looks like milliseconds" in bad.detail
    bad = _bad(_line(_with(account_created_ts=1793347920000)), "bad_value:account_created_ts")
    assert "looks like milliseconds" in bad.detail
    bad = _bad(_line(_with(ts=1764316800250000)), "bad_value:ts")
    assert "microseconds" in bad.detail


def test_detail_names_the_json_type() -> None:
    assert _bad(_line(_with(asn=True)), "bad_type:asn").detail == (
        "asn: expected integer, got boolean"
    )
    assert _bad(_line(_with(status=200.0)), "bad_type:status").detail == (
        "status: expected integer, got number"
    )
    assert _bad(_line(_with(model=None, prompt=[])), "bad_type:prompt").detail == (
        "prompt: expected string, got array"
    )


def test_detail_never_quotes_the_whole_record_or_a_long_value() -> None:
    secret = "s3cr3t-prompt-" * 1000
    long_ip = "1" * 5000
    for obj in (
        _with(prompt=secret, client_ip=long_ip),
        _with(prompt=secret, ts="x" * 5000),
        _with(prompt=secret, account_id="a" * 5000),
        {"prompt": secret, "account_id": "a"},
    ):
        raw = _line(obj)
        bad = parse_event(raw)
        assert isinstance(bad, BadRecord)
        assert len(bad.detail) <= 160
        assert "s3cr3t" not in bad.detail
        assert bad.raw == raw
    bad = _bad(b"[" * 10_000, "not_json")
    assert len(bad.detail) <= 160


def test_raw_is_the_exact_input() -> None:
    raw = b'{"ts": true, "account_id": "a", "x": "\\u00e9"}\n'
    assert _bad(raw, "bad_type:ts").raw is raw
    assert _bad(bytearray(raw), "bad_type:ts").raw == raw
    assert _bad(memoryview(raw), "bad_type:ts").raw == raw
    assert _bad(raw.decode(), "bad_type:ts").raw == raw
    garbage = b"\xff\xfe\x00garbage"
    assert _bad(garbage, "not_json").raw is garbage
    surrogate = '{"ts": 1, "account_id": "\ud800"}'
    assert _bad(surrogate, "not_json").raw == surrogate.encode("utf-8", "surrogatepass")


def test_non_contiguous_memoryview() -> None:
    raw = _line(MINIMAL)
    view = memoryview(raw + raw)[::2]  # not contiguous
    result = parse_event(view)
    assert isinstance(result, BadRecord | RequestEvent)
    if isinstance(result, BadRecord):
        assert result.raw == bytes(view)


# -- timestamps ---------------------------------------------------------------------------

TIMESTAMPS: list[tuple[object, float]] = [
    (1764316800, 1764316800.0),
    (1764316800.25, 1764316800.25),
    (1, 1.0),
    (0.001, 0.001),
    ("2026-10-30T08:12:00Z", T_CREATED),
    ("2026-10-30T08:12:00+00:00", T_CREATED),
    ("2026-10-30T08:12:00-00:00", T_CREATED),  # RFC 3339 "unknown local offset"
    ("2026-10-30t08:12:00z", T_CREATED),
    ("2026-10-30 08:12:00Z", T_CREATED),
    ("2026-10-30T10:12:00+02:00", T_CREATED),
    ("2026-10-30T02:42:00-05:30", T_CREATED),
    ("2026-10-30T08:12:00.123+02:00", T_CREATED - 7200 + 0.123),
    ("2026-10-30T08:12:00.5Z", T_CREATED + 0.5),
    ("2026-10-30T08:12:00.25Z", T_CREATED + 0.25),
    ("2026-10-30T08:12:00.000001Z", 1793347920.000001),
    ("2026-10-30T08:12:00.1234567Z", 1793347920.1234567),  # > 6 digits: exact path
    ("2026-10-30T08:12:00.1234567890123456789Z", 1793347920.1234567890123456789),
    ("2026-10-30t08:12:00.123z", 1793347920.123),
    ("2025-11-28T08:00:00.25Z", T_EXAMPLE),
    ("2024-02-29T00:00:00Z", 1709164800.0),  # leap day
    ("2016-12-31T23:59:60Z", 1483228800.0),  # leap second = next minute's :00
    ("1970-01-01T00:00:01Z", 1.0),
    ("1970-01-01T00:00:00.5Z", 0.5),
    ("1970-01-01T00:00:00-23:59", 86340.0),
    ("5138-11-16T09:46:39Z", 99999999999.0),  # just under the 1e11 bound
]


@pytest.mark.parametrize(("value", "expected"), TIMESTAMPS)
def test_parse_timestamp(value: object, expected: float) -> None:
    got = parse_timestamp(value)
    assert type(got) is float
    assert got == expected
    # the same value inside an event, in both timestamp fields
    ev = _ok(_with(ts=value, account_created_ts=value))
    assert ev.ts == expected
    assert ev.account_created_ts == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-10-30",  # date only
        "2026-10-30T08:12:00",  # naive
        "2026-10-30T08:12:00.123",  # naive with fraction
        "2026-10-30T08:12Z",  # no seconds
        "2026-10-30T08Z",
        "2026-10-30T08:12:00+02",  # offset without minutes
        "2026-10-30T08:12:00+0200",  # offset without colon
        "2026-10-30T08:12:00+02:00:00",  # offset with seconds
        "2026-10-30T08:12:00UTC",
        "2026-10-30T08:12:00 Z",
        "2026-10-30T08:12:00,5Z",  # comma fraction
        "2026-10-30T08:12:00.Z",  # empty fraction
        "20261030T081200Z",  # basic format
        "2026-W44-5T08:12:00Z",  # week date
        "2026-303T08:12:00Z",  # ordinal date
        "2026-10-30X08:12:00Z",  # fromisoformat takes any separator
        "2026-10-30_08:12:00Z",
        "2026-10-30T08:12:00Z\n",
        " 2026-10-30T08:12:00Z",
        "26-10-30T08:12:00Z",
        "+2026-10-30T08:12:00Z",
        "2026-1-30T08:12:00Z",
        "2026-02-29T00:00:00Z",  # not a leap year
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-10-00T00:00:00Z",
        "2026-10-30T24:00:00Z",
        "2026-10-30T08:60:00Z",
        "2026-10-30T08:12:61Z",
        "2026-10-30T08:12:00+24:00",
        "2026-10-30T08:12:00+02:60",
        "2026-10-30T08:12:00+02:75",  # fromisoformat would accept this one
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",  # before the epoch
        "1970-01-01T00:00:00Z",  # exactly 0
        "1970-01-01T01:00:00+01:00",  # 0 too
        "9999-12-31T23:59:59Z",  # past 1e11
        "\uff12\uff10\uff12\uff16-10-30T08:12:00Z",  # full-width digits
        "\u0662\u0660\u0662\u0666-10-30T08:12:00Z",  # Arabic-Indic digits
        "1764316800",  # numeric string
        "1764316800.25",
        "",
        "now",
        0,
        -1,
        0.0,
        -0.0,
        1e11,
        100_000_000_000,
        1764316800250,
        10**400,
        -(10**400),
        math.inf,
        -math.inf,
        math.nan,
        True,
        False,
        None,
        [],
        {},
        b"1764316800",
        datetime(2026, 10, 30, tzinfo=UTC),
    ],
)
def test_parse_timestamp_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=r"\S") as info:
        parse_timestamp(value)
    assert len(str(info.value)) < 200


def test_parse_timestamp_messages_are_clear() -> None:
    with pytest.raises(ValueError, match="looks like milliseconds"):
        parse_timestamp(1764316800250)
    with pytest.raises(ValueError, match="not RFC 3339"):
        parse_timestamp("2026-10-30T08:12:00")
    with pytest.raises(ValueError, match="invalid date"):
        parse_timestamp("2026-02-30T00:00:00Z")
    with pytest.raises(ValueError, match=r"got bool"):
        parse_timestamp(True)


def test_parse_timestamp_accepts_float_and_int_subclasses() -> None:
    class Seconds(float):
        pass

    got = parse_timestamp(Seconds(1764316800.25))
    assert got == T_EXAMPLE
    assert type(got) is float


# -- what the parser builds ---------------------------------------------------------------


def test_parsed_events_are_genuine_frozen_request_events() -> None:
    ev = _ok(EXAMPLE)
    plain = RequestEvent(**{name: getattr(ev, name) for name in FIELDS})
    assert type(ev) is RequestEvent
    assert ev == plain
    assert hash(ev) == hash(plain)
    assert repr(ev) == repr(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.ts = 1.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(ev)) == ev
    assert copy.deepcopy(ev) == ev
    assert dataclasses.replace(ev, account_id="other").account_id == "other"
    assert dataclasses.asdict(ev)["asn"] == 64500
    assert not hasattr(ev, "__dict__")


# -- event_to_json ------------------------------------------------------------------------


def test_event_to_json_omits_none_and_round_trips() -> None:
    ev = RequestEvent(ts=T_EXAMPLE, account_id="a", model="m", status=200)
    raw = event_to_json(ev)
    assert orjson.loads(raw) == {"ts": T_EXAMPLE, "account_id": "a", "model": "m", "status": 200}
    assert b"\n" not in raw
    assert parse_event(raw) == ev


def test_event_to_json_of_the_example() -> None:
    ev = _ok(EXAMPLE)
    out = orjson.loads(event_to_json(ev))
    assert out == {**EXAMPLE, "account_created_ts": T_CREATED, "latency_ms": 5120.0}
    assert list(out) == list(FIELDS)


# -- property tests -----------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _check_result(raw: bytes | str, result: RequestEvent | BadRecord) -> None:
    assert isinstance(result, RequestEvent | BadRecord)
    if isinstance(result, BadRecord):
        assert result.reason != "internal_error", result
        expected = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
        assert result.raw == expected
        assert len(result.detail) <= 160


@PROPERTY_SETTINGS
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    _check_result(raw, parse_event(raw))


@PROPERTY_SETTINGS
@given(st.text(max_size=256))
def test_arbitrary_text_never_raises(raw: str) -> None:
    _check_result(raw, parse_event(raw))


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: json.dumps writes them, orjson reads floats
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@PROPERTY_SETTINGS
@given(JSON_VALUES, st.booleans())
def test_arbitrary_json_never_raises(value: object, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    _check_result(raw, parse_event(raw))


# Objects shaped like events: mostly valid fields, a few corrupted ones, to reach every
# branch; checked against a plain reference implementation of the rules.
VALID_VALUES = {name: [v for n, v, r in CASES if n == name and r is None] for name in FIELDS}
INVALID_VALUES = {name: [v for n, v, r in CASES if n == name and r] for name in FIELDS}


@st.composite
def event_like(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a JSON object with contract fields, most of them valid, some not."""
    obj: dict[str, Any] = draw(st.dictionaries(st.text(max_size=5), JSON_SCALARS, max_size=2))
    for name in FIELDS:
        if name in ("ts", "account_id") or draw(st.booleans()):
            obj[name] = draw(st.sampled_from(VALID_VALUES[name]))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(FIELDS))
        obj[name] = draw(st.sampled_from(INVALID_VALUES[name]) | JSON_SCALARS)
    if draw(st.integers(0, 9)) == 0:
        obj.pop(draw(st.sampled_from(["ts", "account_id"])))
    return obj


def _reference_problems(obj: dict[str, Any]) -> set[str]:
    """Return the fields that break the contract rules (a slow, obvious re-statement)."""

    def is_int(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def is_num(v: object) -> bool:
        return is_int(v) or isinstance(v, float)

    def ts_ok(v: object) -> bool:
        if is_num(v):
            return 0 < v < 1e11  # type: ignore[operator]
        if not isinstance(v, str):
            return False
        m = re.fullmatch(
            r"(\d{4}-\d\d-\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)", v, re.ASCII
        )
        if not m or int(m[2]) > 23 or int(m[3]) > 59 or int(m[4]) > 60:
            return False
        tz = m[6].upper()
        if tz != "Z" and (int(tz[1:3]) > 23 or int(tz[4:]) > 59):
            return False
        try:
            day = datetime.fromisoformat(m[1])
        except ValueError:
            return False
        offset = 0 if tz == "Z" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 60 + int(tz[4:]))
        seconds = (day - datetime(1970, 1, 1)).days * 86400 + int(m[2]) * 3600
        seconds += int(m[3]) * 60 + int(m[4]) - offset * 60
        return 0 < seconds + float(m[5] or 0) < 1e11

    def ip_ok(v: str) -> bool:
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return False
        return "%" not in v

    rules: dict[str, Any] = {
        "ts": ts_ok,
        "account_created_ts": ts_ok,
        "account_id": lambda v: isinstance(v, str) and 1 <= len(v) <= 256,
        **{name: lambda v: isinstance(v, str) for name in STRING_FIELDS},
        "input_tokens": lambda v: is_int(v) and v >= 0,
        "output_tokens": lambda v: is_int(v) and v >= 0,
        "max_tokens": lambda v: is_int(v) and v >= 0,
        "temperature": lambda v: is_num(v) and 0 <= v < math.inf,
        "latency_ms": lambda v: is_num(v) and 0 <= v < math.inf,
        "client_ip": lambda v: isinstance(v, str) and ip_ok(v),
        "asn": lambda v: is_int(v) and 0 <= v <= 4294967295,
        "country": lambda v: isinstance(v, str) and re.fullmatch("[A-Za-z]{2}", v) is not None,
        "status": lambda v: is_int(v) and 100 <= v <= 599,
    }
    return {name for name, ok in rules.items() if obj.get(name) is not None and not ok(obj[name])}


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_like())
def test_event_like_objects_agree_with_reference(obj: dict[str, Any]) -> None:
    raw = json.dumps(obj).encode()
    decoded = orjson.loads(raw)  # what parse_event sees (big ints become floats)
    result = parse_event(raw)
    _check_result(raw, result)
    problems = _reference_problems(decoded)
    if decoded.get("ts") is None:
        assert isinstance(result, BadRecord)
        assert result.reason == "missing_ts"
    elif decoded.get("account_id") is None:
        assert isinstance(result, BadRecord)
        assert result.reason == "missing_account_id"
    elif problems:
        assert isinstance(result, BadRecord), (problems, result)
        assert result.reason.split(":")[1] in problems
    else:
        assert isinstance(result, RequestEvent), result


@st.composite
def rfc3339_strings(draw: st.DrawFn) -> tuple[str, Fraction]:
    """Draw a valid RFC 3339 string and its exact Unix time."""
    offset_min = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    local = draw(
        st.datetimes(min_value=datetime(1970, 1, 3), max_value=datetime(5138, 11, 14))
    ).replace(microsecond=0)
    digits = draw(st.text(alphabet="0123456789", max_size=12))
    sep = draw(st.sampled_from("Tt "))
    if offset_min == 0 and draw(st.booleans()):
        zone = draw(st.sampled_from("Zz"))
    else:
        sign = "-" if offset_min < 0 else "+"
        zone = f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
    second = local.second
    if draw(st.integers(0, 20)) == 0 and local.second == 59:
        second = 60  # leap second
    text = f"{local:%Y-%m-%d}{sep}{local:%H:%M}:{second:02d}"
    if digits:
        text += "." + digits
    text += zone
    utc = local.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    exact = Fraction(int((utc - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()))
    exact += second - local.second
    if digits:
        exact += Fraction(int(digits), 10 ** len(digits))
    return text, exact


@PROPERTY_SETTINGS
@given(rfc3339_strings())
def test_rfc3339_is_exact(case: tuple[str, Fraction]) -> None:
    text, exact = case
    got = parse_timestamp(text)
    assert got == float(exact)  # float(Fraction) is correctly rounded
    assert events._parse_rfc3339_exact(text) == got  # fast and exact paths agree


@PROPERTY_SETTINGS
@given(st.text(alphabet="0123456789-:.+TtZz ", max_size=32))
def test_rfc3339_fast_and_exact_paths_agree_on_noise(text: str) -> None:
    def outcome(parse: Any) -> float | None:
        try:
            return float(parse(text))
        except ValueError:
            return None

    assert outcome(events._parse_rfc3339) == outcome(events._parse_rfc3339_exact)


@PROPERTY_SETTINGS
@given(st.text(alphabet="0123456789abcdefABCDEF.:", max_size=45) | st.ip_addresses().map(str))
def test_client_ip_agrees_with_ipaddress(text: str) -> None:
    try:
        ipaddress.ip_address(text)
        valid = True
    except ValueError:
        valid = False
    result = _parse(_with(client_ip=text))
    assert isinstance(result, RequestEvent) == valid


VALID_EVENTS = st.builds(
    RequestEvent,
    ts=st.floats(min_value=0.0, max_value=1e11, exclude_min=True, exclude_max=True),
    account_id=st.text(min_size=1, max_size=256),
    request_id=st.none() | st.text(),
    org_id=st.none() | st.text(),
    api_key_id=st.none() | st.text(),
    model=st.none() | st.text(),
    endpoint=st.none() | st.text(),
    prompt=st.none() | st.text(),
    input_tokens=st.none() | st.integers(0, 2**64 - 1),
    output_tokens=st.none() | st.integers(0, 2**64 - 1),
    max_tokens=st.none() | st.integers(0, 2**64 - 1),
    temperature=st.none() | st.floats(min_value=0.0, allow_infinity=False),
    client_ip=st.none() | st.ip_addresses().map(str),
    user_agent=st.none() | st.text(),
    asn=st.none() | st.integers(0, 4294967295),
    country=st.none() | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    tls_fingerprint=st.none() | st.text(),
    payment_fingerprint=st.none() | st.text(),
    account_created_ts=st.none()
    | st.floats(min_value=0.0, max_value=1e11, exclude_min=True, exclude_max=True),
    status=st.none() | st.integers(100, 599),
    latency_ms=st.none() | st.floats(min_value=0.0, allow_infinity=False),
)


@PROPERTY_SETTINGS
@given(VALID_EVENTS)
def test_round_trip_of_valid_events(ev: RequestEvent) -> None:
    raw = event_to_json(ev)
    assert parse_event(raw) == ev
    assert parse_event(raw.decode()) == ev
