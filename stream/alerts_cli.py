"""``distillguard alerts``: read the alert stream from Redis and explain alerts for triage.

Newest first. Filters: ``--account`` (one account), ``--severity`` (at least this
severity), ``--action``, ``--campaign ACCOUNT`` (alerts about ACCOUNT or listing it among
their related accounts, i.e. its campaign). Each alert is printed with its evidence,
its related accounts and the edge decision that is in force for the account right now;
``--json`` prints the alert objects as JSON Lines instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import redis

from detectors.records import SEVERITIES
from stream.exceptions import SettingsError
from stream.run import make_redis
from stream.settings import load_settings
from stream.sinks.redis import decision_key, stream_key

_PAGE = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``alerts`` flags."""
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (for [redis])")
    parser.add_argument("--redis-url", default=None, help="redis:// or rediss:// URL")
    parser.add_argument("--prefix", default=None, help="key prefix (default distillguard:)")
    parser.add_argument("--account", default=None, help="only alerts about this account")
    parser.add_argument(
        "--severity", choices=SEVERITIES, default="info", help="at least this severity"
    )
    parser.add_argument("--action", choices=("none", "review", "throttle", "block"), default=None)
    parser.add_argument(
        "--campaign", metavar="ACCOUNT", default=None, help="alerts of ACCOUNT's campaign"
    )
    parser.add_argument("--count", type=int, default=20, help="most alerts shown (20)")
    parser.add_argument("--json", action="store_true", help="print alert JSON Lines")


def read_alerts(client: Any, prefix: str) -> Iterator[dict[str, Any]]:
    """Yield the alerts of the stream, newest first."""
    key, end = stream_key(prefix), "+"
    while True:
        page = client.xrevrange(key, max=end, min="-", count=_PAGE)
        for entry_id, fields in page:
            raw = fields.get(b"alert")
            if raw is not None:
                alert: dict[str, Any] = orjson.loads(raw)
                yield alert
            end = "(" + (entry_id.decode() if isinstance(entry_id, bytes) else entry_id)
        if len(page) < _PAGE:
            return


def matches(alert: dict[str, Any], args: argparse.Namespace) -> bool:
    """Tell whether ``alert`` passes the command line's filters."""
    if args.account is not None and alert.get("account_id") != args.account:
        return False
    if SEVERITIES.index(alert.get("severity", "info")) < SEVERITIES.index(args.severity):
        return False
    if args.action is not None and alert.get("action") != args.action:
        return False
    if args.campaign is not None:
        related = alert.get("related_accounts") or []
        return alert.get("account_id") == args.campaign or args.campaign in related
    return True


def _when(ts: float) -> str:
    """Format Unix seconds as UTC for people."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def explain(alert: dict[str, Any], decision: dict[str, Any] | None, out: TextIO) -> None:
    """Print one alert for triage: verdict, evidence, campaign, the decision in force."""
    print(
        f"{_when(float(alert['ts']))}  {alert['severity'].upper()}/{alert['action']}  "
        f"account {alert['account_id']}  score {alert['score']:.4f}  alert {alert['alert_id']}",
        file=out,
    )
    print(f"  detectors: {', '.join(alert.get('detectors') or []) or '-'}", file=out)
    for reason in alert.get("reasons") or []:
        print(f"  - {reason}", file=out)
    related = alert.get("related_accounts") or []
    if related:
        shown = ", ".join(related[:10]) + (" ..." if len(related) > 10 else "")
        print(f"  campaign: {len(related)} related accounts: {shown}", file=out)
    if decision is None:
        print("  decision in force: none (the edge allows the account)", file=out)
    else:
        rpm = f", {decision['rpm']} requests/min" if decision.get("rpm") is not None else ""
        print(
            f"  decision in force: {decision['action']}{rpm} until "
            f"{_when(float(decision['until']))} (alert {decision['alert_id']})",
            file=out,
        )


def run(args: argparse.Namespace) -> int:
    """List and explain alerts as the flags ask; return the exit code."""
    overrides: dict[str, object] = {}
    if args.redis_url:
        overrides["redis.url"] = args.redis_url
    if args.prefix:
        overrides["redis.prefix"] = args.prefix
    try:
        settings = load_settings(args.config, os.environ, overrides).redis
    except SettingsError as exc:
        print(f"distillguard alerts: {exc}", file=sys.stderr)
        return 2
    client = make_redis(settings)
    out = sys.stdout
    shown = 0
    try:
        for alert in read_alerts(client, settings.prefix):
            if shown >= args.count:
                break
            if not matches(alert, args):
                continue
            shown += 1
            if args.json:
                out.write(orjson.dumps(alert).decode() + "\n")
                continue
            raw = client.get(decision_key(settings.prefix, alert["account_id"]))
            explain(alert, orjson.loads(raw) if raw else None, out)
            print(file=out)
    except redis.RedisError as exc:
        print(f"distillguard alerts: redis: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"{shown} alerts shown", file=sys.stderr)
    return 0
