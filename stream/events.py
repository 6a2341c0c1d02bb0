"""Parse and validate request events (contract: ``shared/contracts/request-event.md`` v1).

``parse_event`` turns one raw record (a Kafka message value or one JSON Lines line)
into a :class:`~detectors.records.RequestEvent`, or into a :class:`BadRecord` that
says why it was rejected. It never raises, whatever it is given: a bad record is
data for the dead-letter sink, never a reason to stop the processor.

Validation, in order (the first failure wins, so a record with several bad fields
names one of them):

1. the input must be UTF-8 JSON (``not_json``), and an object (``not_object``);
2. ``ts`` and ``account_id`` must be present and not ``null`` (``missing_ts``,
   ``missing_account_id``);
3. every known field must have its contract type (``bad_type:<field>``) and a
   sensible value (``bad_value:<field>``). Unknown fields are ignored; ``null`` for
   an optional field means the field is absent.

Decisions beyond the contract text:

- JSON ``true``/``false`` is never a number; integer fields reject floats (even
  ``12.0``); number fields accept integers and store them as ``float``.
- Counts (``input_tokens``, ``output_tokens``, ``max_tokens``), ``temperature`` and
  ``latency_ms`` must be finite and non-negative; ``status`` is 100-599; ``asn`` is
  0-4294967295; ``account_id`` is 1-256 characters.
- Timestamps: see :func:`parse_timestamp`. Both ``ts`` and ``account_created_ts`` must
  fall in ``0 < t < 1e11`` Unix seconds (1970 to year 5138); larger values are
  usually milliseconds, and the detail says so.
- ``client_ip`` must be a plain IPv4 (dotted quad, no leading zeros) or IPv6 address
  (``::ffff:1.2.3.4`` forms included); a zone suffix (``fe80::1%eth0``) is rejected.
  The string is kept as sent, not normalised.
- ``country`` must be two ASCII letters; lower case is accepted and upper-cased
  (``"nl"`` becomes ``"NL"``), so consumers can compare codes directly.
  Non-letter codes such as Cloudflare's ``T1`` are rejected.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import lru_cache
from typing import Final

import orjson

from detectors.records import RequestEvent

__all__ = [
    "ACCOUNT_ID_MAX_LEN",
    "ASN_RANGE",
    "STATUS_RANGE",
    "TS_MAX",
    "TS_MIN",
    "BadRecord",
    "event_to_json",
    "parse_event",
    "parse_timestamp",
]

# -- limits -----------------------------------------------------------------------

#: Exclusive bounds of a plausible timestamp, in Unix seconds (1970 to year 5138).
TS_MIN: Final = 0.0
TS_MAX: Final = 1e11
#: Longest ``account_id`` accepted, in characters.
ACCOUNT_ID_MAX_LEN: Final = 256
#: Inclusive ranges of the bounded integer fields.
ASN_RANGE: Final = (0, 4_294_967_295)
STATUS_RANGE: Final = (100, 599)

_DETAIL_VALUE_MAX: Final = 40  # longest field-value prefix quoted in a detail
_DETAIL_MAX: Final = 160  # longest detail
_INF: Final = math.inf
_NONE_TYPE: Final = type(None)

# -- field tables ----------------------------------------------------------------------

#: The fields of RequestEvent in declaration (= positional) order. ``_validate`` unpacks
#: them by name, so a change to RequestEvent must be met here (checked at import).
_EVENT_FIELDS: Final = (
    "ts",
    "account_id",
    "request_id",
    "org_id",
    "api_key_id",
    "model",
    "endpoint",
    "prompt",
    "input_tokens",
    "output_tokens",
    "max_tokens",
    "temperature",
    "client_ip",
    "user_agent",
    "asn",
    "country",
    "tls_fingerprint",
    "payment_fingerprint",
    "account_created_ts",
    "status",
    "latency_ms",
)
if tuple(f.name for f in fields(RequestEvent)) != _EVENT_FIELDS:  # pragma: no cover
    raise ImportError("stream.events is out of date with detectors.records.RequestEvent")

#: Optional fields that are plain strings with no further rule (contract order).
_STR_FIELDS: Final = (
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
#: Optional integer fields with their inclusive range (contract order). Counts have
#: no upper bound (orjson turns integers beyond 2**64 into floats, rejected as such).
_INT_FIELDS: Final[tuple[tuple[str, int, float], ...]] = (
    ("input_tokens", 0, math.inf),
    ("output_tokens", 0, math.inf),
    ("max_tokens", 0, math.inf),
    ("asn", *ASN_RANGE),
    ("status", *STATUS_RANGE),
)
_STR_OR_NONE: Final[frozenset[type]] = frozenset((str, _NONE_TYPE))
_ASN_MIN, _ASN_MAX = ASN_RANGE
_STATUS_MIN, _STATUS_MAX = STATUS_RANGE
_inet_pton: Final = socket.inet_pton
_AF_INET: Final = socket.AF_INET
_AF_INET6: Final = socket.AF_INET6

_JSON_TYPE_NAMES: Final[dict[type, str]] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    _NONE_TYPE: "null",
}

# -- timestamps ---------------------------------------------------------------------

# RFC 3339 §5.6 date-time, strictly: full date, full time with seconds, optional
# fraction, mandatory offset ("Z" or ±hh:mm). Lower-case "t"/"z" are allowed (§5.6
# note), and so is a space as the separator (the same note lets applications use one).
# [0-9], not \d: \d would match any Unicode digit. Ranges are checked after matching.
_RFC3339: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
# The common subset that datetime.fromisoformat (C, 3.11) parses exactly and
# range-checks itself: upper-case T/Z, at most 6 fraction digits, offsets in range
# (fromisoformat would accept "+02:75"), seconds are range-checked by datetime (no :60).
_RFC3339_FAST: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_fast_match: Final = _RFC3339_FAST.fullmatch
_fromisoformat: Final = datetime.fromisoformat
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
# Fraction digits kept: enough for the float result to be correctly rounded for any
# timestamp after 1970-01-01T00:00:00.001Z; further digits cannot change it.
_FRACTION_DIGITS_MAX: Final = 64
_CREATED_TS_CACHE_SIZE: Final = 8192


def _epoch_range_error(value: float) -> str | None:
    """Return why ``value`` is not a plausible Unix-seconds timestamp, or None if it is."""
    if TS_MIN < value < TS_MAX:
        return None
    if math.isnan(value):  # only reachable from Python callers: JSON has no NaN
        return "timestamp is NaN"
    hint = ""
    if 1e12 <= value < 1e14:
        hint = " (looks like milliseconds)"
    elif 1e15 <= value < 1e17:
        hint = " (looks like microseconds)"
    elif 1e18 <= value < 1e20:
        hint = " (looks like nanoseconds)"
    return f"timestamp {value!r} outside 0 < ts < 1e11 Unix seconds{hint}"


def _parse_rfc3339_exact(text: str) -> float:
    """Return an RFC 3339 date-time as Unix seconds, by integer arithmetic; ValueError if not.

    Handles every accepted form, including the ones the fast path leaves out
    (lower-case ``t``/``z``, more than 6 fraction digits, leap second ``:60``).
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError(
            f"timestamp {_quote(text)} is not RFC 3339 with seconds and a UTC offset "
            "(e.g. 2026-10-30T08:12:00Z)"
        )
    year, month, day, hour, minute, second, frac, sign, off_h, off_m = m.groups()
    try:
        ordinal = date(int(year), int(month), int(day)).toordinal()
    except ValueError as exc:
        raise ValueError(f"timestamp {_quote(text)}: invalid date ({exc})") from None
    h, mi, s = int(hour), int(minute), int(second)
    # Second 60 is a leap second (RFC 3339 §5.7). POSIX time has none, so it maps to
    # the same Unix second as the next minute's :00.
    if h > 23 or mi > 59 or s > 60:
        raise ValueError(f"timestamp {_quote(text)}: time of day out of range")
    seconds = (ordinal - _EPOCH_ORDINAL) * 86400 + h * 3600 + mi * 60 + s
    if sign is not None:
        oh, om = int(off_h), int(off_m)
        if oh > 23 or om > 59:
            raise ValueError(f"timestamp {_quote(text)}: UTC offset out of range")
        offset = oh * 3600 + om * 60
        seconds = seconds - offset if sign == "+" else seconds + offset
    if frac is None:
        result = float(seconds)
    else:
        frac = frac[:_FRACTION_DIGITS_MAX]
        scale = 10 ** len(frac)
        # int / int is correctly rounded: the float nearest to the exact instant.
        result = (seconds * scale + int(frac)) / scale
    problem = _epoch_range_error(result)
    if problem is not None:
        raise ValueError(f"{problem} (from {_quote(text)})")
    return result


def _parse_rfc3339(text: str) -> float:
    """Return an RFC 3339 date-time as Unix seconds; raise ValueError if invalid."""
    if _fast_match(text) is not None:
        try:
            # Aware datetime: timestamp() is (dt - epoch).total_seconds(), computed as
            # an int number of microseconds / 10**6 (true division), correctly rounded.
            result = _fromisoformat(text).timestamp()
        except ValueError:
            pass  # e.g. 2026-02-30: let the exact parser word the error
        else:
            if TS_MIN < result < TS_MAX:
                return result
    return _parse_rfc3339_exact(text)


# An account's creation time repeats on every one of its events: cache its parse.
# lru_cache does not cache exceptions, so bad values are re-parsed (and re-reported).
_parse_created_ts: Final = lru_cache(maxsize=_CREATED_TS_CACHE_SIZE)(_parse_rfc3339)


def parse_timestamp(value: object) -> float:
    """Convert a contract timestamp to Unix seconds as a float; raise ValueError if invalid.

    Accepted: Unix epoch seconds as ``int`` or ``float`` (fractions allowed; ``bool``
    is not a number), or an RFC 3339 date-time string with seconds and a UTC offset:
    ``2026-10-30T08:12:00Z``, ``2026-10-30T08:12:00.123+02:00``, lower-case ``t``/``z``,
    or a space instead of ``T`` (RFC 3339 §5.6 note). Any number of fraction digits is
    allowed; second ``60`` (leap second) equals the next minute's ``:00``. Rejected:
    naive (no offset) and date-only strings, week/ordinal dates, basic (no
    separators) forms, numeric strings, and any result outside ``0 < t < 1e11``
    (values of 1e12-1e14 are reported as probable milliseconds). The result is the
    float nearest to the exact instant.
    """
    if isinstance(value, bool):
        raise ValueError("timestamp must be Unix seconds (number) or an RFC 3339 string, got bool")
    if isinstance(value, int):
        # Range-checked before float() so that a huge int cannot overflow.
        if not TS_MIN < value < TS_MAX:
            raise ValueError(_epoch_range_error(float(max(min(value, 10**30), -(10**30)))))
        return float(value)
    if isinstance(value, float):
        problem = _epoch_range_error(value)
        if problem is not None:
            raise ValueError(problem)
        return float(value)
    if isinstance(value, str):
        return _parse_rfc3339(value)
    raise ValueError(
        f"timestamp must be Unix seconds (number) or an RFC 3339 string, got {_type_name(value)}"
    )


# -- bad records ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that is not a valid request event, kept for the dead-letter sink.

    ``reason`` is machine-readable, one of: ``not_json``, ``not_object``,
    ``missing_ts``, ``missing_account_id``, ``bad_type:<field>``,
    ``bad_value:<field>`` (and ``internal_error``, which only a bug in this module
    can produce). ``detail`` is a short human-readable explanation: it quotes at most
    a short prefix of one field value, never the whole record and never the prompt.
    ``raw`` is the original input bytes, unchanged (a ``str`` input is stored UTF-8
    encoded, lone surrogates passed through).
    """

    reason: str
    detail: str
    raw: bytes


class _RejectError(Exception):
    """Internal: a validation failure, carried to ``parse_event`` and made a BadRecord."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _type_name(value: object) -> str:
    """Return the JSON name of ``value``'s type (Python's name for non-JSON types)."""
    return _JSON_TYPE_NAMES.get(type(value)) or type(value).__name__


def _quote(text: str) -> str:
    """Return ``repr(text)``, shortened to a prefix if it is long."""
    if len(text) <= _DETAIL_VALUE_MAX:
        return repr(text)
    return f"{text[:_DETAIL_VALUE_MAX]!r}... ({len(text)} chars)"


def _bad_type(name: str, expected: str, value: object) -> _RejectError:
    """Build the rejection for a field of the wrong JSON type."""
    return _RejectError(f"bad_type:{name}", f"{name}: expected {expected}, got {_type_name(value)}")


def _bad_value(name: str, why: str) -> _RejectError:
    """Build the rejection for a field of the right type but an invalid value."""
    return _RejectError(f"bad_value:{name}", f"{name}: {why}"[:_DETAIL_MAX])


def _first_bad_type(
    obj: dict[str, object], names: tuple[str, ...], allowed: frozenset[type], expected: str
) -> _RejectError:
    """Build the rejection for the first of ``names`` whose type is not ``allowed``."""
    for name in names:
        value = obj.get(name)
        if type(value) not in allowed:
            return _bad_type(name, expected, value)
    return _RejectError("internal_error", f"no bad field among {names}")  # unreachable


def _first_bad_int(obj: dict[str, object]) -> _RejectError:
    """Build the rejection for the first integer field of the wrong type or range."""
    for name, low, high in _INT_FIELDS:
        value = obj.get(name)
        if value is None:
            continue
        if type(value) is not int:
            return _bad_type(name, "integer", value)
        if not low <= value <= high:
            bounds = f">= {low}" if high == math.inf else f"in {low} to {high}"
            return _bad_value(name, f"{value!r} is not {bounds}")
    return _RejectError("internal_error", "no bad integer field")  # unreachable


def _as_bytes(raw: object) -> bytes:
    """Return the input as bytes for ``BadRecord.raw`` (only on the rejection path)."""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    return b""


# -- field checks ------------------------------------------------------------------


def _timestamp_field(name: str, value: object, parse_text: Callable[[str], float]) -> float:
    """Validate a timestamp field (``ts``, ``account_created_ts``); return Unix seconds."""
    if type(value) is str:
        try:
            return parse_text(value)
        except ValueError as exc:
            raise _bad_value(name, str(exc)) from None
    if type(value) is not int and type(value) is not float:
        raise _bad_type(name, "number or RFC 3339 string", value)
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise _bad_value(name, str(exc)) from None


def _nonneg_number(name: str, value: object) -> float:
    """Validate a number field that must be finite and >= 0; return it as a float."""
    if type(value) is float:
        if 0.0 <= value < _INF:
            return value
    elif type(value) is int:
        if value >= 0:
            return float(value)
    else:
        raise _bad_type(name, "number", value)
    raise _bad_value(name, f"{value!r} is not a finite number >= 0")


def _check_country(value: object) -> str:
    """Validate ``country``: two ASCII letters; return it upper-cased."""
    if type(value) is not str:
        raise _bad_type("country", "string", value)
    if not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise _bad_value("country", f"{_quote(value)} is not a two-letter ISO 3166-1 code")
    return value if value.isupper() else value.upper()


# One flat function is the per-event hot path: every field check is inline and the
# type checks are chained boolean expressions (cheaper in CPython 3.11 than calls or
# C-level bulk checks); details are worked out only when something is wrong. Hence
# the branch-count exemption.
def _validate(obj: dict[str, object]) -> RequestEvent:  # noqa: PLR0912
    """Validate a decoded JSON object against the contract; raise _RejectError if invalid."""
    (
        ts,
        account_id,
        request_id,
        org_id,
        api_key_id,
        model,
        endpoint,
        prompt,
        input_tokens,
        output_tokens,
        max_tokens,
        temperature,
        client_ip,
        user_agent,
        asn,
        country,
        tls_fingerprint,
        payment_fingerprint,
        account_created_ts,
        status,
        latency_ms,
    ) = map(obj.get, _EVENT_FIELDS)

    if ts is None:
        raise _RejectError("missing_ts", "ts is missing or null")
    if account_id is None:
        raise _RejectError("missing_account_id", "account_id is missing or null")
    if not (type(ts) is float and TS_MIN < ts < TS_MAX):
        ts = _timestamp_field("ts", ts, _parse_rfc3339)
    if type(account_id) is not str:
        raise _bad_type("account_id", "string", account_id)
    if not 0 < len(account_id) <= ACCOUNT_ID_MAX_LEN:
        raise _bad_value(
            "account_id",
            f"length {len(account_id)}, expected 1 to {ACCOUNT_ID_MAX_LEN} characters",
        )

    if not (
        (type(request_id) is str or request_id is None)
        and (type(org_id) is str or org_id is None)
        and (type(api_key_id) is str or api_key_id is None)
        and (type(model) is str or model is None)
        and (type(endpoint) is str or endpoint is None)
        and (type(prompt) is str or prompt is None)
        and (type(user_agent) is str or user_agent is None)
        and (type(tls_fingerprint) is str or tls_fingerprint is None)
        and (type(payment_fingerprint) is str or payment_fingerprint is None)
    ):
        raise _first_bad_type(obj, _STR_FIELDS, _STR_OR_NONE, "string")

    # type() is exact: bool is not int, and 12.0 (a float) is not either.
    if not (
        (input_tokens is None or (type(input_tokens) is int and input_tokens >= 0))
        and (output_tokens is None or (type(output_tokens) is int and output_tokens >= 0))
        and (max_tokens is None or (type(max_tokens) is int and max_tokens >= 0))
        and (asn is None or (type(asn) is int and _ASN_MIN <= asn <= _ASN_MAX))
        and (status is None or (type(status) is int and _STATUS_MIN <= status <= _STATUS_MAX))
    ):
        raise _first_bad_int(obj)

    # NaN fails every comparison, so "0 <= x < inf" also rejects it.
    if temperature is not None and not (type(temperature) is float and 0.0 <= temperature < _INF):
        temperature = _nonneg_number("temperature", temperature)
    if latency_ms is not None and not (type(latency_ms) is float and 0.0 <= latency_ms < _INF):
        latency_ms = _nonneg_number("latency_ms", latency_ms)

    if client_ip is not None:
        if type(client_ip) is not str:
            raise _bad_type("client_ip", "string", client_ip)
        try:
            _inet_pton(_AF_INET6 if ":" in client_ip else _AF_INET, client_ip)
        except (OSError, ValueError):  # ValueError: embedded NUL, or not encodable
            raise _bad_value(
                "client_ip", f"{_quote(client_ip)} is not an IPv4 or IPv6 address"
            ) from None

    if country is not None and not (
        type(country) is str
        and len(country) == 2
        and country.isascii()
        and country.isalpha()
        and country.isupper()
    ):
        country = _check_country(country)

    if account_created_ts is not None and not (
        type(account_created_ts) is float and TS_MIN < account_created_ts < TS_MAX
    ):
        account_created_ts = _timestamp_field(
            "account_created_ts", account_created_ts, _parse_created_ts
        )

    return RequestEvent(
        ts,
        account_id,
        request_id,
        org_id,
        api_key_id,
        model,
        endpoint,
        prompt,
        input_tokens,
        output_tokens,
        max_tokens,
        temperature,
        client_ip,
        user_agent,
        asn,
        country,
        tls_fingerprint,
        payment_fingerprint,
        account_created_ts,
        status,
        latency_ms,
    )


# -- public API ----------------------------------------------------------------------


def parse_event(raw: bytes | bytearray | memoryview | str) -> RequestEvent | BadRecord:
    """Parse one raw record into a RequestEvent, or a BadRecord saying why not; never raises.

    ``raw`` is one JSON object: a Kafka message value or one line of a JSON Lines file
    (surrounding whitespace, such as the trailing newline, is fine). See the module
    docstring for the rules and the reason strings.
    """
    try:
        obj = orjson.loads(raw)
    except Exception as exc:  # JSONDecodeError; TypeError for an unsupported input type
        return BadRecord("not_json", str(exc)[:_DETAIL_MAX], _as_bytes(raw))
    if type(obj) is not dict:
        return BadRecord(
            "not_object", f"JSON {_type_name(obj)}, expected an object", _as_bytes(raw)
        )
    try:
        return _validate(obj)
    except _RejectError as rej:
        return BadRecord(rej.reason, rej.detail, _as_bytes(raw))
    except Exception as exc:  # a bug here must count as a bad record, not stop the run
        return BadRecord("internal_error", repr(exc)[:_DETAIL_MAX], _as_bytes(raw))


def event_to_json(ev: RequestEvent) -> bytes:
    """Serialise a RequestEvent to contract JSON (one object, no newline, None fields omitted).

    Fields are written in declaration order; timestamps as Unix seconds.
    ``parse_event(event_to_json(ev)) == ev`` for every valid event. Values are not
    validated: a non-finite float is written as ``null`` (orjson's rule), which
    ``parse_event`` then treats as absent.
    """
    return orjson.dumps(
        {name: value for name in _EVENT_FIELDS if (value := getattr(ev, name)) is not None}
    )
