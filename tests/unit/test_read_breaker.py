"""Unit tests for the read breaker shared by the Redis-backed shared state."""

import pytest
import redis

from stream.read_breaker import ReadBreaker


class Client:
    """A Redis client whose PING fails while ``down``."""

    def __init__(self) -> None:
        self.down = True
        self.pings = 0

    def ping(self) -> bool:
        self.pings += 1
        if self.down:
            raise redis.ConnectionError("refused")
        return True


def test_a_failed_read_trips_until_a_ping_answers() -> None:
    breaker, client = ReadBreaker(), Client()
    breaker.confirm(client)
    assert client.pings == 0, "no ping while reads work"
    breaker.trip(redis.ConnectionError("reset"))
    assert breaker.tripped and breaker.errors == 1
    assert breaker.error == "ConnectionError: reset"
    with pytest.raises(redis.ConnectionError):
        breaker.confirm(client)
    assert breaker.tripped, "still tripped after a failed ping"
    client.down = False
    breaker.confirm(client)
    assert not breaker.tripped and breaker.errors == 1 and client.pings == 2
