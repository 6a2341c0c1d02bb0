"""Fixtures for the integration tests: real Kafka and Redis servers, started once per session.

Every test under tests/integration is marked ``integration``. The servers come from
``tests/infra/setup.sh``; where it has not been run, the fixtures FAIL (never skip) with
a message that says so. Run only the fast tests with ``pytest -m "not integration"``.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[1]
if str(_REPO) not in sys.path:  # `pytest tests/integration` from anywhere
    sys.path.insert(0, str(_REPO))

from tests.servers import (  # noqa: E402
    KAFKA_LIB_DIR,
    SETUP_HINT,
    KafkaBroker,
    RedisServer,
    ServerError,
    ServerMissingError,
    kafka_jars_present,
    redis_server_binary,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected below tests/integration with ``integration``."""
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.integration)


def _start(server: KafkaBroker | RedisServer, what: str) -> None:
    """Start ``server`` or fail the requesting tests with a clear, trace-free message."""
    try:
        server.start()
    except ServerMissingError as exc:
        pytest.fail(f"{what}: {exc}", pytrace=False)
    except ServerError as exc:
        pytest.fail(f"{what} failed to start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """Return a real single-node Kafka broker (KRaft) shared by the whole test session."""
    if not kafka_jars_present():
        pytest.fail(
            f"Kafka broker jars are missing in {KAFKA_LIB_DIR}: {SETUP_HINT}", pytrace=False
        )
    broker = KafkaBroker()
    try:
        _start(broker, "Kafka broker")
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """Return a real redis-server shared by the whole test session."""
    if redis_server_binary() is None:
        pytest.fail(f"redis-server is not installed: {SETUP_HINT}", pytrace=False)
    server = RedisServer()
    try:
        _start(server, "redis-server")
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[Any]:
    """Return a redis-py client on an empty database (restarts the server if a test stopped it)."""
    if not redis_server.is_running():
        _start(redis_server, "redis-server (restart after an outage test)")
    client = redis_server.client()
    client.flushall()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def kafka_topic(kafka_broker: KafkaBroker) -> Callable[..., str]:
    """Return a factory ``make(partitions=1, prefix='t')`` that creates a fresh, unique topic."""

    def make(partitions: int = 1, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        kafka_broker.create_topic(name, partitions)
        return name

    return make
