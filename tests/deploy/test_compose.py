"""deploy/docker-compose.yml, parsed: services, shared group id, mounts, commands that parse.

Docker is not needed (nor run): the file is checked for structure, its DISTILLGUARD_*
variables against stream/settings.py, and its commands against the CLI's parser.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from stream.cli import build_parser
from stream.settings import load_settings
from tests.deploy.helpers import COMPOSE, DEPLOY, RULES, load_yaml, setting_of

WORKERS = ("worker-1", "worker-2")


def services() -> dict[str, Any]:
    return dict(load_yaml(COMPOSE)["services"])


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Return ``{container path: repository path}`` of a service's bind mounts."""
    out = {}
    for volume in service.get("volumes", []):
        src, target, *_ = volume.split(":")
        assert src.startswith("./"), f"not a bind mount of the repository: {volume}"
        out[target] = (COMPOSE.parent / src).resolve()
    return out


def test_the_stack_has_every_service() -> None:
    assert set(services()) >= {
        "kafka",
        "kafka-init",
        "redis",
        *WORKERS,
        "simulator",
        "prometheus",
        "grafana",
    }


def test_kafka_runs_in_kraft_mode_and_topics_are_created() -> None:
    svc = services()
    kafka = svc["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "zookeeper" not in str(kafka).lower()
    init = " ".join(svc["kafka-init"]["command"])
    worker_env = svc["worker-1"]["environment"]
    for topic in ("DISTILLGUARD_KAFKA_TOPIC", "DISTILLGUARD_KAFKA_DEAD_LETTER_TOPIC"):
        assert worker_env[topic] in init, topic
    assert svc["kafka-init"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_workers_share_one_consumer_group_and_their_settings() -> None:
    svc = services()
    envs = [svc[w]["environment"] for w in WORKERS]
    assert envs[0] == envs[1]
    groups = {e["DISTILLGUARD_KAFKA_GROUP_ID"] for e in envs}
    assert len(groups) == 1
    assert [svc[w]["command"] for w in WORKERS] == [["run"], ["run"]]
    assert {svc[w]["hostname"] for w in WORKERS} == set(WORKERS)


def test_worker_variables_are_settings_and_load() -> None:
    env = {k: str(v) for k, v in services()["worker-1"]["environment"].items()}
    for name, value in env.items():
        # Each variable is a known setting, read exactly as `--set section.key=value`.
        as_flag = load_settings(None, {}, {setting_of(name): value})
        assert load_settings(None, {name: value}) == as_flag, name
    settings = load_settings(None, env)
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.redis.url == "redis://redis:6379/0"
    assert settings.metrics.port == 9464


def test_commands_parse_with_the_cli() -> None:
    svc = services()
    parser = build_parser()
    for worker in WORKERS:
        assert parser.parse_args(svc[worker]["command"]).command == "run"
    (script,) = svc["simulator"]["command"]
    script = re.sub(r"\$\$\(\(.*?\)\)", "1764300000", script)  # compose's escaped $(( ))
    argv = shlex.split(script)
    assert argv[:2] == ["exec", "distillguard"]
    args = parser.parse_args(argv[2:])
    env = svc["worker-1"]["environment"]
    assert args.command == "simulate"
    assert args.kafka == env["DISTILLGUARD_KAFKA_BOOTSTRAP_SERVERS"]
    assert args.topic == env["DISTILLGUARD_KAFKA_TOPIC"]
    assert args.rate > 0


def test_prometheus_loads_the_rules_and_scrapes_both_workers() -> None:
    prom = services()["prometheus"]
    mounted = mounts(prom)
    assert mounted["/etc/prometheus/rules"] == RULES.parent.resolve()
    config_path = mounted["/etc/prometheus/prometheus.yml"]
    assert config_path == (DEPLOY / "prometheus" / "prometheus.yml").resolve()
    config = load_yaml(config_path)
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "distillguard"]
    port = services()["worker-1"]["environment"]["DISTILLGUARD_METRICS_PORT"]
    targets = [t for c in job["static_configs"] for t in c["targets"]]
    assert sorted(targets) == [f"{w}:{port}" for w in WORKERS]


def test_grafana_provisioning_paths_exist_in_the_repository() -> None:
    mounted = mounts(services()["grafana"])
    assert set(mounted) >= {
        "/etc/grafana/provisioning/datasources",
        "/etc/grafana/provisioning/dashboards",
        "/var/lib/grafana/dashboards",
    }
    for target, path in mounted.items():
        assert path.is_dir(), f"{target}: {path} is not in the repository"
        assert any(path.iterdir()), f"{target}: {path} is empty"


def test_image_is_built_from_the_repository() -> None:
    for name in (*WORKERS, "simulator"):
        build = services()[name]["build"]
        context = (COMPOSE.parent / build["context"]).resolve()
        assert (context / build["dockerfile"]).is_file(), name
        assert (context / "pyproject.toml").is_file(), name
