"""Shared helpers of the deploy tests: paths, YAML loading, promtool, settings variables."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stream.settings import ENV_PREFIX, SECTIONS

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "rules" / "distillguard.rules.yml"
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "distillguard.json"
COMPOSE = DEPLOY / "docker-compose.yml"
K8S = DEPLOY / "k8s"


def load_yaml(path: Path) -> Any:
    """Return the one YAML document in ``path``."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list[Any]:
    """Return every YAML document in ``path`` (empty ones dropped)."""
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def promtool() -> str:
    """Return the path of promtool, or FAIL the test (never skip): CI installs it."""
    found = shutil.which("promtool") or next(
        (p for p in ("/usr/bin/promtool", "/usr/sbin/promtool") if Path(p).exists()), None
    )
    if found is None:
        pytest.fail(
            "promtool is not installed: run `bash tests/infra/setup.sh` "
            "(Debian package `prometheus`)",
            pytrace=False,
        )
    return found


def setting_of(variable: str) -> str:
    """Return ``section.key`` that a ``DISTILLGUARD_*`` variable sets; fail if it sets none.

    ``stream.settings`` silently ignores variables it does not know (they may be other
    tools'), so a misspelt one in a manifest would be lost without this check.
    """
    assert variable.startswith(ENV_PREFIX), variable
    section, _, key = variable[len(ENV_PREFIX) :].lower().partition("_")
    assert section in SECTIONS, f"{variable}: no settings section {section!r}"
    known = {f.name for f in dataclasses.fields(SECTIONS[section])} - {"options"}
    assert key in known, f"{variable}: {section} has no setting {key!r} (known: {sorted(known)})"
    return f"{section}.{key}"
