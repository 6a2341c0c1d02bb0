"""deploy/k8s validated offline against the Kubernetes JSON schemas, and wired consistently.

Built-in kinds are validated with ``kubernetes-validate`` (PyPI; it bundles the
Kubernetes OpenAPI schemas, so no network) in strict mode: an unknown or misspelt field
fails. ServiceMonitor is a CRD of the Prometheus Operator, not in those schemas: it is
checked against a hand-written SUBSET of its CRD schema below (the fields these
manifests may use, with the CRD's types and patterns; anything else is refused), plus
the cross-references. The Kustomization is checked structurally.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from stream.settings import load_settings
from tests.deploy.helpers import K8S, RULES, load_yaml, load_yaml_all, setting_of

# The oldest minor the manifests support (the PDB's unhealthyPodEvictionPolicy).
KUBERNETES_VERSION = "1.30.0"

_DURATION = (  # the CRD's pattern of a Prometheus duration
    "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
SERVICE_MONITOR_SUBSET = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": _LABEL_SELECTOR,
                "jobLabel": {"type": "string"},
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": _DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": _DURATION},
                            "honorLabels": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}


def manifests() -> dict[str, dict[str, Any]]:
    """Return ``{kind: document}`` of every manifest (one document of each kind)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in load_yaml_all(path):
            assert doc["kind"] not in out, f"two {doc['kind']} documents"
            out[doc["kind"]] = doc
    return out


def container() -> dict[str, Any]:
    (c,) = manifests()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(c)


BUILT_IN = ["ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Secret"]


@pytest.mark.parametrize("kind", BUILT_IN)
def test_built_in_kinds_validate_against_the_kubernetes_schema(kind: str) -> None:
    kubernetes_validate.validate(manifests()[kind], KUBERNETES_VERSION, strict=True)


def test_the_validator_does_reject_a_misspelt_field() -> None:
    bad = manifests()["Deployment"]
    bad["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)


def test_service_monitor_matches_its_crd_schema_subset() -> None:
    jsonschema.validate(manifests()["ServiceMonitor"], SERVICE_MONITOR_SUBSET)
    bad = manifests()["ServiceMonitor"]
    bad["spec"]["endpoints"][0]["intervall"] = "15s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SERVICE_MONITOR_SUBSET)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == {n for n in on_disk if not n.endswith(".example.yaml")}
    assert all((K8S / name).is_file() for name in listed)


def test_deployment_runs_two_non_root_workers_with_probes() -> None:
    deployment = manifests()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    c = container()
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    dockerfile_user = re.findall(r"^USER (\d+)", (K8S.parent / "Dockerfile").read_text(), re.M)
    assert pod["securityContext"]["runAsUser"] == int(dockerfile_user[-1])
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": 9464}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert pod["terminationGracePeriodSeconds"] >= 30  # time to flush, snapshot, commit


def test_resources_are_sized_modestly() -> None:
    resources = container()["resources"]
    assert resources["requests"] == {"cpu": "1", "memory": "512Mi"}
    assert resources["limits"] == {"memory": "1Gi"}  # no CPU limit: throttling builds lag


def test_secrets_come_from_secret_refs_never_the_config_map() -> None:
    config = manifests()["ConfigMap"]["data"]
    assert not [k for k in config if re.search("PASSWORD|SECRET|TOKEN|REDIS_URL", k)]
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container()["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert set(refs) == {"DISTILLGUARD_KAFKA_SASL_PLAIN_PASSWORD", "DISTILLGUARD_REDIS_URL"}
    secret = manifests()["Secret"]
    assert {r["name"] for r in refs.values()} == {secret["metadata"]["name"]}
    assert {r["key"] for r in refs.values()} == set(secret["stringData"])
    (source,) = container()["envFrom"]
    assert source["configMapRef"]["name"] == manifests()["ConfigMap"]["metadata"]["name"]


def test_every_variable_is_a_setting_and_the_settings_load() -> None:
    env = {k: str(v) for k, v in manifests()["ConfigMap"]["data"].items()}
    for name in container()["env"]:
        env[name["name"]] = "rediss://:x@redis:6380/0" if "URL" in name["name"] else "secret"
    for name in env:
        setting_of(name)
    settings = load_settings(None, env)
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.sasl_plain_password == "secret"
    assert settings.metrics.port == 9464
    assert settings.kafka.group_id == "distillguard"


def test_selectors_ports_and_job_label_line_up() -> None:
    m = manifests()
    pod_labels = m["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert m["Deployment"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    service = m["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["publishNotReadyAddresses"] is True
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics"
    monitor = m["ServiceMonitor"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [port["name"]]
    assert m["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert m["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    # The job label of a ServiceMonitor's targets is the Service's name: what the rules use.
    assert "jobLabel" not in monitor["spec"]
    assert f'job="{service["metadata"]["name"]}"' in Path(RULES).read_text()
