"""Every metric the dashboard and the rules query is one the code exports.

The exported names come from ``RuntimeMetrics`` itself: each metric is touched once (a
labelled metric exports nothing until a child exists), then the sample names are read
from ``registry.collect()`` (prometheus-client adds ``_total`` to counters, ``_bucket``,
``_sum``, ``_count`` to histograms, ``_created`` to both). A query must use a sample name
exactly, so a renamed metric, or a counter queried without ``_total``, fails here.
Names ``distillguard:...`` must be recording rules of deploy/prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from stream.metrics import RuntimeMetrics
from tests.deploy.helpers import DASHBOARD, RULES, load_yaml

# String literals (label values, regexes) are removed before names are looked for.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_NAME = re.compile(r"(?<![\w:])(distillguard[_:][A-Za-z0-9_:]*)")
_SELECTOR = re.compile(r"(?<![\w:])(distillguard_[A-Za-z0-9_]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped sample


def exported() -> dict[str, set[str]]:
    """Return ``{sample name: label names}`` that ``RuntimeMetrics`` exports."""
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    for metric in vars(metrics).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        names = metric._labelnames  # prometheus-client has no public accessor
        child: Any = metric.labels(*["x"] * len(names)) if names else metric
        if hasattr(child, "observe"):
            child.observe(0.1)
        else:
            child.inc()
    samples: dict[str, set[str]] = {}
    for family in registry.collect():
        assert family.samples, f"{family.name} exported no sample"
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    return samples


def rule_exprs() -> Iterator[tuple[str, str]]:
    """Yield ``(where, expr)`` of every rule."""
    for group in load_yaml(RULES)["groups"]:
        for rule in group["rules"]:
            yield f"rule {rule.get('record') or rule.get('alert')}", rule["expr"]


def recording_rules() -> set[str]:
    """Return the names the rules record."""
    return {r["record"] for g in load_yaml(RULES)["groups"] for r in g["rules"] if "record" in r}


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    """Yield ``(where, query)`` of every panel target and templating query of the dashboard."""
    dash = json.loads(DASHBOARD.read_text())

    def walk(node: Any, where: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            here = f"{where}/{node.get('title') or node.get('name') or ''}".rstrip("/")
            for key, value in node.items():
                # A templating "query" is a string only where it is PromQL (else an object).
                if key in ("expr", "definition", "query") and isinstance(value, str):
                    yield here, value
                else:
                    yield from walk(value, here)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, where)

    yield from walk(dash, "dashboard")


def unknown_names(
    exprs: list[tuple[str, str]], samples: dict[str, set[str]], recorded: set[str]
) -> list[str]:
    """Return one line per name or label matcher an expression uses that nothing provides."""
    problems = []
    for where, expr in exprs:
        bare = _STRING.sub('""', expr)
        for name in _NAME.findall(bare):
            if ":" in name:
                if name not in recorded:
                    problems.append(f"{where}: {name} is no recording rule")
            elif name not in samples:
                problems.append(f"{where}: {name} is not exported")
        for name, matchers in _SELECTOR.findall(bare):
            for label in _MATCHER.findall(matchers):
                if name in samples and label not in samples[name] | TARGET_LABELS:
                    problems.append(f"{where}: {name} has no label {label!r}")
    return problems


def test_exported_names_follow_prometheus_client_conventions() -> None:
    samples = exported()
    assert "distillguard_events_consumed_total" in samples
    assert "distillguard_events_consumed_created" in samples
    assert "distillguard_events_consumed" not in samples
    assert {
        "distillguard_decision_latency_seconds_bucket",
        "distillguard_decision_latency_seconds_count",
    } <= set(samples)
    assert samples["distillguard_alerts_total"] == {"severity", "action", "detector"}
    assert samples["distillguard_decision_latency_seconds_bucket"] == {"le"}


def test_rules_query_only_exported_metrics_and_recording_rules() -> None:
    exprs = list(rule_exprs())
    assert len(exprs) > 10
    assert unknown_names(exprs, exported(), recording_rules()) == []


def test_dashboard_queries_only_exported_metrics_and_recording_rules() -> None:
    exprs = list(dashboard_exprs())
    assert len(exprs) > 15
    assert unknown_names(exprs, exported(), recording_rules()) == []


def test_every_recording_rule_is_used() -> None:
    used = " ".join(e for _, e in [*rule_exprs(), *dashboard_exprs()])
    unused = {r for r in recording_rules() if not re.search(re.escape(r) + r"(?![\w:])", used)}
    assert unused == set()


def test_dashboard_and_rules_cover_the_main_metric_families() -> None:
    used = " ".join(e for _, e in [*rule_exprs(), *dashboard_exprs()])
    for family in (
        "events_consumed_total",
        "consumer_lag_messages",
        "alerts_total",
        "decisions_written_total",
        "decision_latency_seconds_bucket",
        "bad_records_total",
        "accounts_tracked",
        "account_evictions_total",
        "sink_errors_total",
    ):
        assert f"distillguard_{family}" in used, family


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("rate(distillguard_events_consumed[5m])", "distillguard_events_consumed is not exported"),
        ("rate(distillguard_events_total[5m])", "distillguard_events_total is not exported"),
        ("distillguard_decision_latency_seconds", "is not exported"),  # a histogram's base name
        ("sum(distillguard:nothing:rate5m)", "distillguard:nothing:rate5m is no recording rule"),
        ('distillguard_alerts_total{detectr="campaign"}', "has no label 'detectr'"),
    ],
)
def test_checker_catches_renames(expr: str, problem: str) -> None:
    problems = unknown_names([("t", expr)], exported(), recording_rules())
    assert len(problems) == 1 and problem in problems[0], problems


def test_checker_ignores_label_values_and_accepts_target_labels() -> None:
    expr = (
        'sum by (job) (rate(distillguard_sink_errors_total{sink="distillguard_bogus",'
        ' job=~"distillguard", instance!=""}[5m]))'
    )
    assert unknown_names([("t", expr)], exported(), recording_rules()) == []
