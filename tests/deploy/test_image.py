"""deploy/Dockerfile without a Docker engine: its instructions, and its HEALTHCHECK for real.

The HEALTHCHECK command is run here, as the image would, against the worker's own
``HealthServer`` (``stream/metrics.py``): it must pass on a 200 and fail on a 503 or when
nothing listens.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from stream.metrics import HealthServer
from tests.deploy.helpers import DEPLOY, REPO
from tests.servers import free_port

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """Return ``(INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    """Return the instructions of the last stage (the image that runs)."""
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def healthcheck_command() -> str:
    (args,) = [rest for word, rest in final_stage() if word == "HEALTHCHECK"]
    options, sep, command = args.partition(" CMD ")
    assert sep, args
    assert "--interval=" in options and "--timeout=" in options
    return command.strip()


def test_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in final_stage() if word == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert int(user) >= 10000  # numeric: Kubernetes' runAsNonRoot can verify it
    assert "useradd" in " ".join(rest for word, rest in final_stage() if word == "RUN")


def test_entrypoint_is_distillguard_run_and_configured_by_environment() -> None:
    stage = dict(final_stage())
    assert stage["ENTRYPOINT"] == '["distillguard"]'
    assert stage["CMD"] == '["run"]'
    assert stage["EXPOSE"] == "9464"
    assert "DISTILLGUARD_" not in stage.get("ENV", "")  # settings: the deployment's, not baked


def test_slim_base_and_no_build_tools_or_curl() -> None:
    froms = [rest for word, rest in instructions() if word == "FROM"]
    assert len(froms) == 2  # build stage, runtime stage
    assert "slim" in DOCKERFILE.read_text().split("PYTHON_IMAGE=", 1)[1].split()[0]
    text = DOCKERFILE.read_text()
    assert "curl" not in text.replace("no curl", "").replace("No curl", "")
    assert "apt-get install" not in text


def test_copied_sources_exist_and_pass_the_dockerignore() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [p for p in (line.strip() for line in ignore) if p and not p.startswith("#")]
    for word, rest in instructions():
        if word != "COPY" or rest.startswith("--from"):
            continue
        *sources, _ = rest.split()
        for src in sources:
            assert (REPO / src).exists(), src
            included = False
            for pattern in patterns:  # last match wins, as in .dockerignore
                negated = pattern.startswith("!")
                if fnmatch.fnmatch(src, pattern.lstrip("!").rstrip("/")):
                    included = negated
            assert included, f"{src} is excluded from the build context"


@pytest.mark.parametrize(("healthy", "code"), [(True, 0), (False, 1)])
def test_healthcheck_command_against_the_real_endpoint(healthy: bool, code: int) -> None:
    server = HealthServer(
        "127.0.0.1",
        0,
        CollectorRegistry(),
        lambda: (healthy, "loop idle 0.1s"),
        lambda: (True, "ready"),
    ).start()
    try:
        out = _run_healthcheck(server.port)
    finally:
        server.stop()
    assert (out.returncode == 0) == (code == 0), out.stderr


def test_healthcheck_fails_when_nothing_listens() -> None:
    assert _run_healthcheck(free_port()).returncode != 0


def _run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """Run the HEALTHCHECK as ``/bin/sh -c`` would in the image, with this Python."""
    command = healthcheck_command()
    assert command.startswith("python -c ")
    command = command.replace("python", f'"{sys.executable}"', 1)
    env = {**os.environ, "DISTILLGUARD_METRICS_PORT": str(port)}
    return subprocess.run(
        ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_healthcheck_probes_healthz() -> None:
    assert "/healthz" in healthcheck_command()
    assert Path("/bin/sh").exists()
