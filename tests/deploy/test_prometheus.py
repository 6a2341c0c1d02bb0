"""Prometheus rules and config: promtool check/test, and every alert both fires and stays quiet.

promtool comes from the Debian package ``prometheus`` (``tests/infra/setup.sh``); the
tests FAIL when it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import DEPLOY, RULE_TESTS, RULES, load_yaml, promtool

REQUIRED_ALERTS = {
    "DistillguardCampaignDetected",
    "DistillguardBlockSpike",
    "DistillguardConsumerLagGrowing",
    "DistillguardDeadLetterRate",
    "DistillguardWorkerDown",
    "DistillguardSinkErrors",
}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _alerts() -> dict[str, dict[str, object]]:
    rules = [r for g in load_yaml(RULES)["groups"] for r in g["rules"]]
    return {r["alert"]: r for r in rules if "alert" in r}


def test_promtool_check_rules() -> None:
    out = _run("check", "rules", str(RULES), cwd=DEPLOY)
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_test_rules() -> None:
    assert RULE_TESTS, "no rule unit tests in deploy/prometheus/tests"
    out = _run("test", "rules", *map(str, RULE_TESTS), cwd=DEPLOY)
    assert out.returncode == 0, out.stdout + out.stderr


def test_compose_prometheus_config_is_valid(tmp_path: Path) -> None:
    """``promtool check config`` on prometheus.yml, its rule glob pointed at a copy."""
    rules_dir = tmp_path / "rules"
    shutil.copytree(RULES.parent, rules_dir)
    text = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    assert "/etc/prometheus/rules/*.yml" in text
    (tmp_path / "prometheus.yml").write_text(text.replace("/etc/prometheus/rules", str(rules_dir)))
    out = _run("check", "config", str(tmp_path / "prometheus.yml"), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 rule files found" in out.stdout + out.stderr


def test_required_alerts_exist_with_routing_labels_and_text() -> None:
    alerts = _alerts()
    assert set(alerts) >= REQUIRED_ALERTS
    for name, rule in alerts.items():
        labels = rule.get("labels")
        annotations = rule.get("annotations")
        assert isinstance(labels, dict) and isinstance(annotations, dict), name
        assert labels.get("severity") in ("critical", "warning", "info"), name
        assert labels.get("team"), name
        assert annotations.get("summary") and annotations.get("description"), name


def test_worker_down_selects_the_distillguard_job() -> None:
    assert re.fullmatch(
        r'up\{job="distillguard"\} == 0', str(_alerts()["DistillguardWorkerDown"]["expr"])
    )


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        doc = load_yaml(path)
        assert any(Path(f).name == RULES.name for f in doc["rule_files"]), path
        for case in doc["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = set(_alerts())
    assert alerts - fires == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested staying quiet"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("distillguard:dead_letter:ratio5m > 0.01", "distillguard:dead_letter:ratio5m > 0.05"),
        ("        for: 2m\n", "        for: 20m\n"),
        (
            "distillguard:consumer_lag_messages:sum > 10000",
            "distillguard:consumer_lag_messages:sum > 0",
        ),
        (" offset 10m\n", " offset 1m\n"),
    ],
    ids=["dead-letter-threshold", "worker-down-for", "lag-threshold", "campaign-new-series"],
)
def test_rule_tests_catch_a_changed_rule(tmp_path: Path, old: str, new: str) -> None:
    """The unit tests have teeth: a changed threshold or window makes them fail."""
    text = RULES.read_text()
    assert text.count(old) == 1, old
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / RULES.name).write_text(text.replace(old, new))
    shutil.copytree(RULES.parent.parent / "tests", tmp_path / "tests")
    files = sorted(str(p) for p in (tmp_path / "tests").glob("*.yml"))
    out = _run("test", "rules", *files, cwd=tmp_path)
    assert out.returncode != 0, f"rule tests still pass with {new!r}:\n{out.stdout}"
