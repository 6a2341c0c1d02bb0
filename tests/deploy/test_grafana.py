"""The Grafana dashboard (JSON) and its provisioning: panels, datasource, file paths."""

from __future__ import annotations

import json
from typing import Any

from tests.deploy.helpers import COMPOSE, DASHBOARD, DEPLOY, load_yaml

PROVISIONING = DEPLOY / "grafana" / "provisioning"


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def by_title(title: str) -> dict[str, Any]:
    found = [p for p in panels() if p["title"] == title]
    assert len(found) == 1, f"no single panel titled {title!r}"
    return found[0]


def exprs(panel: dict[str, Any]) -> str:
    return " ".join(t["expr"] for t in panel["targets"])


def test_dashboard_has_the_panels_operators_need() -> None:
    assert "events_consumed" in exprs(by_title("Throughput"))
    assert "distillguard_consumer_lag_messages" in exprs(by_title("Consumer lag"))
    assert "by (severity)" in exprs(by_title("Alerts by severity"))
    assert "by (detector)" in exprs(by_title("Alerts by detector"))
    active = exprs(by_title("Active decisions"))
    assert 'action="throttle"' in active and 'action="block"' in active
    assert "by (action)" in exprs(by_title("Decisions written by action"))
    assert "by (reason)" in exprs(by_title("Bad records by reason"))
    state = exprs(by_title("State size"))
    assert "distillguard_accounts_tracked" in state
    assert "distillguard_account_evictions_total" in state


def test_latency_is_a_heatmap_of_the_histogram_buckets() -> None:
    panel = by_title("Decision latency")
    assert panel["type"] == "heatmap"
    (target,) = panel["targets"]
    assert target["format"] == "heatmap"
    assert "distillguard_decision_latency_seconds_bucket" in target["expr"]
    assert "by (le)" in target["expr"]
    assert panel["options"]["calculate"] is False  # Prometheus buckets, not Grafana's


def test_panels_are_well_formed() -> None:
    dash = dashboard()
    assert dash["uid"] == "distillguard"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "job"} <= variables
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            if "distillguard" in target["expr"]:
                assert 'job=~"$job"' in target["expr"], (panel["title"], target["expr"])


def test_provisioning_points_at_the_compose_services_and_mounts() -> None:
    compose = load_yaml(COMPOSE)["services"]
    (source,) = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in compose
    (provider,) = load_yaml(PROVISIONING / "dashboards" / "distillguard.yml")["providers"]
    assert provider["type"] == "file"
    # The provider's path is where compose mounts the repository's dashboard folder.
    mounts = {
        target: (COMPOSE.parent / src.removeprefix("./")).resolve()
        for src, target, *_ in (v.split(":") for v in compose["grafana"]["volumes"])
    }
    folder = mounts[provider["options"]["path"]]
    assert folder == DASHBOARD.parent.resolve()
    assert DASHBOARD in set(folder.glob("*.json"))
