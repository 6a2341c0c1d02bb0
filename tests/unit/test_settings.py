"""Settings of ``distillguard run``: precedence, conversion, masking and clear errors."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from stream.exceptions import SettingsError
from stream.run import add_arguments, settings_from_args
from stream.settings import Settings, describe, load_settings, mask_url, parse_assignment

TOML = """
[kafka]
bootstrap_servers = "file:9092"
topic = "from-file"
group_id = "file-group"
max_poll_records = 500

[kafka.options]
fetch_max_bytes = 1048576
sasl_oauth_token = "tok"

[redis]
url = "redis://:filepw@redis:6379/1"
stream_maxlen = 1000

[runtime]
commit_interval_s = 2
shared_linkage = false

[metrics]
port = 9000
"""


@pytest.fixture
def toml(tmp_path: Path) -> str:
    path = tmp_path / "distillguard.toml"
    path.write_text(TOML)
    return str(path)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults() -> None:
    s = load_settings(None, {}, None)
    assert s == Settings()
    assert s.kafka.bootstrap_servers == "localhost:9092"
    assert s.runtime.commit_interval_s == 1.0
    assert s.runtime.shared_linkage is True
    assert s.metrics.port == 9464


def test_toml_over_defaults(toml: str) -> None:
    s = load_settings(toml, {}, None)
    assert (s.kafka.topic, s.kafka.max_poll_records, s.redis.stream_maxlen) == (
        "from-file",
        500,
        1000,
    )
    assert s.runtime.commit_interval_s == 2.0 and isinstance(s.runtime.commit_interval_s, float)
    assert s.runtime.shared_linkage is False
    assert dict(s.kafka.options) == {"fetch_max_bytes": 1048576, "sasl_oauth_token": "tok"}
    assert s.kafka.client_config()["fetch_max_bytes"] == 1048576
    assert s.kafka.client_id == "distillguard", "what the file leaves out keeps its default"


def test_environment_over_toml(toml: str) -> None:
    env = {
        "DISTILLGUARD_KAFKA_TOPIC": "from-env",
        "DISTILLGUARD_RUNTIME_COMMIT_INTERVAL_S": "3.5",
        "DISTILLGUARD_RUNTIME_SHARED_LINKAGE": "yes",
        "DISTILLGUARD_METRICS_PORT": "9100",
        "DISTILLGUARD_KAFKA_LIB": "/elsewhere",  # another tool's variable: ignored
        "DISTILLGUARD_OTHER_THING": "x",  # not a section: ignored
    }
    s = load_settings(toml, env, None)
    assert s.kafka.topic == "from-env"
    assert s.kafka.group_id == "file-group"
    assert s.runtime.commit_interval_s == 3.5
    assert s.runtime.shared_linkage is True
    assert s.metrics.port == 9100


def test_shared_population_from_each_layer(toml: str) -> None:
    assert load_settings(None, {}, None).runtime.shared_population is True
    assert load_settings(None, {}, None).runtime.population_max_entries == 50_000
    env = {
        "DISTILLGUARD_RUNTIME_SHARED_POPULATION": "false",
        "DISTILLGUARD_RUNTIME_POPULATION_MAX_ENTRIES": "1000",
    }
    s = load_settings(toml, env, None)
    assert (s.runtime.shared_population, s.runtime.population_max_entries) == (False, 1000)
    s = load_settings(toml, env, {"runtime.shared_population": "on"})
    assert s.runtime.shared_population is True, "--set beats the environment"
    assert s.runtime.shared_linkage is False, "the two switches are independent"


def test_config_path_from_environment(toml: str) -> None:
    s = load_settings(None, {"DISTILLGUARD_CONFIG": toml}, None)
    assert s.kafka.topic == "from-file"


def test_set_over_environment_and_flags_over_set(
    toml: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTILLGUARD_KAFKA_TOPIC", "from-env")
    monkeypatch.setenv("DISTILLGUARD_KAFKA_GROUP_ID", "env-group")
    monkeypatch.setenv("DISTILLGUARD_METRICS_PORT", "9100")
    args = parse(
        "--config", toml,
        "--set", "kafka.topic=from-set",
        "--set", "kafka.group_id=set-group",
        "--set", "runtime.align_buffer=7",
        "--group-id", "flag-group",
        "--metrics-port", "-1",
    )  # fmt: skip
    s = settings_from_args(args)
    assert s.kafka.topic == "from-set", "--set beats the environment"
    assert s.kafka.group_id == "flag-group", "a shortcut flag beats --set"
    assert s.metrics.port == -1, "a shortcut flag beats the environment"
    assert s.runtime.align_buffer == 7
    assert s.kafka.bootstrap_servers == "file:9092"


def test_options_tables_merge_across_layers(toml: str) -> None:
    s = load_settings(toml, {}, {"kafka.options": {"fetch_max_bytes": 1, "linger_ms": 3}})
    assert dict(s.kafka.options) == {
        "fetch_max_bytes": 1,
        "sasl_oauth_token": "tok",
        "linger_ms": 3,
    }


def test_secrets_are_masked(toml: str) -> None:
    s = load_settings(
        toml,
        {
            "DISTILLGUARD_KAFKA_SASL_PLAIN_PASSWORD": "kpw",
            "DISTILLGUARD_KAFKA_SSL_PASSWORD": "sslpw",
            "DISTILLGUARD_REDIS_PASSWORD": "rpw",
        },
        None,
    )
    rows = dict(describe(s))
    assert rows["kafka.sasl_plain_password"] == "***"
    assert rows["kafka.ssl_password"] == "***"
    assert rows["redis.password"] == "***"
    assert rows["redis.url"] == "redis://:***@redis:6379/1"
    assert rows["kafka.options"] == {"fetch_max_bytes": 1048576, "sasl_oauth_token": "***"}
    text = repr(rows) + repr(s)
    for secret in ("kpw", "sslpw", "rpw", "filepw", "tok'"):
        assert secret not in text
    assert dict(describe(Settings()))["redis.password"] == "", "an empty secret shows as empty"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:pw@h/0", "rediss://user:***@h/0"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_print_settings_masks(toml: str, capsys: pytest.CaptureFixture[str]) -> None:
    from stream.run import run

    assert run(parse("--config", toml, "--print-settings")) == 0
    out = capsys.readouterr().out
    assert "kafka.topic = 'from-file'" in out
    assert "filepw" not in out and "redis.url = 'redis://:***@redis:6379/1'" in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kafka.max_poll_records": "many"}, "kafka.max_poll_records: expected int"),
        ({"kafka.max_poll_records": "1.5"}, "expected int"),
        ({"kafka.max_poll_records": "0"}, "max_poll_records must be >= 1"),
        ({"runtime.commit_interval_s": "soon"}, "runtime.commit_interval_s: expected float"),
        ({"runtime.commit_interval_s": "0"}, "commit_interval_s"),
        ({"runtime.shared_linkage": "maybe"}, "runtime.shared_linkage: expected bool"),
        ({"runtime.retry_initial_s": "9"}, "retry_initial_s <= retry_max_s"),
        ({"runtime.linkage_ttl_s": "0"}, "linkage_ttl_s"),
        ({"runtime.model_snapshot_interval_s": "-1"}, "model_snapshot_interval_s"),
        ({"runtime.shared_population": "maybe"}, "runtime.shared_population: expected bool"),
        ({"runtime.population_max_entries": "0"}, "population_max_entries must be >= 1"),
        ({"kafka.auto_offset_reset": "middle"}, "auto_offset_reset"),
        ({"kafka.topic": ""}, "required"),
        ({"kafka.options": "x=1"}, "kafka.options must be a table"),
        ({"redis.url": "http://redis"}, "redis.url must start with"),
        ({"metrics.port": "70000"}, "metrics.port"),
        ({"kafka.nope": "1"}, "unknown setting kafka.nope"),
        ({"nope.key": "1"}, "unknown setting nope.key"),
    ],
)
def test_bad_values_raise_clear_errors(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(None, {}, overrides)


def test_bad_environment_value_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"kafka\.poll_timeout_ms: expected int"):
        load_settings(None, {"DISTILLGUARD_KAFKA_POLL_TIMEOUT_MS": "fast"}, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[kafka\n", "not valid TOML"),
        ("[nope]\nx = 1\n", r"unknown section \[nope\]"),
        ("[kafka]\ntopik = 'x'\n", r"unknown setting kafka\.topik"),
        ("[kafka]\nmax_poll_records = 'ten'\n", "expected int"),
        ("[redis]\nurl = 5\n", r"redis\.url: expected a string"),
        ("[runtime]\nshared_linkage = 'perhaps'\n", "expected bool"),
    ],
)
def test_bad_toml_raises_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message):
        load_settings(str(path), {}, None)


def test_missing_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(str(tmp_path / "absent.toml"), {}, None)


@pytest.mark.parametrize("text", ["kafka.topic", "topic=x", "nope.key=1"])
def test_bad_set_flag(text: str) -> None:
    with pytest.raises(SettingsError, match=r"section\.key=value"):
        parse_assignment(text)


def test_set_flag_keeps_equals_in_the_value() -> None:
    assert parse_assignment("redis.url=redis://h/0?a=b") == ("redis", "url", "redis://h/0?a=b")


def test_run_exits_2_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    from stream.run import run

    assert run(parse("--set", "kafka.max_poll_records=lots")) == 2
    err = capsys.readouterr().err
    assert err.startswith("distillguard run: kafka.max_poll_records: expected int")
