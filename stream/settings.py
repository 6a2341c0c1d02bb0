"""Settings of ``distillguard run``: one frozen object from a TOML file, the environment and flags.

Precedence, lowest first: the defaults below, the TOML file (``--config`` or
``DISTILLGUARD_CONFIG``), environment variables ``DISTILLGUARD_<SECTION>_<KEY>`` (e.g.
``DISTILLGUARD_KAFKA_BOOTSTRAP_SERVERS``, ``DISTILLGUARD_REDIS_URL``), then flags
(``--set section.key=value`` and the shortcuts of ``run``). The TOML file has one table
per section (``[kafka]``, ``[redis]``, ``[runtime]``, ``[metrics]``) and ``[kafka.options]``
for any other kafka-python setting, passed to the consumer and producer as is.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stream.exceptions import SettingsError

ENV_PREFIX = "DISTILLGUARD_"


def _frozen_map(value: Mapping[str, object] | None = None) -> Mapping[str, object]:
    """Return a read-only copy of ``value``."""
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Kafka connection, topics and consumer tuning (kafka-python names where they exist)."""

    bootstrap_servers: str = "localhost:9092"
    topic: str = "distillguard.requests"
    group_id: str = "distillguard"
    dead_letter_topic: str = "distillguard.dead-letter"
    client_id: str = "distillguard"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    sasl_plain_username: str = ""
    sasl_plain_password: str = field(default="", repr=False)
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_password: str = field(default="", repr=False)
    ssl_check_hostname: bool = True
    auto_offset_reset: str = "earliest"
    max_poll_records: int = 2000
    poll_timeout_ms: int = 100
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    options: Mapping[str, object] = field(default_factory=_frozen_map)

    def __post_init__(self) -> None:
        if not self.bootstrap_servers or not self.topic or not self.group_id:
            raise SettingsError("kafka: bootstrap_servers, topic and group_id are required")
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise SettingsError("kafka.auto_offset_reset must be 'earliest' or 'latest'")
        if self.max_poll_records < 1 or self.poll_timeout_ms < 0:
            raise SettingsError("kafka.max_poll_records must be >= 1, poll_timeout_ms >= 0")
        object.__setattr__(self, "options", _frozen_map(self.options))

    def __repr__(self) -> str:
        return _masked_repr(self)

    def client_config(self) -> dict[str, object]:
        """Return the connection settings shared by consumer, producer and admin (kafka-python)."""
        cfg: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            cfg["sasl_mechanism"] = self.sasl_mechanism
            cfg["sasl_plain_username"] = self.sasl_plain_username or None
            cfg["sasl_plain_password"] = self.sasl_plain_password or None
        if self.security_protocol in ("SSL", "SASL_SSL"):
            cfg["ssl_check_hostname"] = self.ssl_check_hostname
            for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password"):
                if getattr(self, key):
                    cfg[key] = getattr(self, key)
        cfg.update(self.options)
        return cfg


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Redis connection (``redis://`` or ``rediss://`` for TLS), key prefix and limits."""

    url: str = "redis://localhost:6379/0"
    password: str = field(default="", repr=False)
    ssl_ca_certs: str = ""
    prefix: str = "distillguard:"
    stream_maxlen: int = 100_000
    alert_dedupe_ttl_s: float = 7 * 86400.0
    socket_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("redis.url must start with redis://, rediss:// or unix://")
        if not self.prefix:
            raise SettingsError("redis.prefix must not be empty")
        if self.stream_maxlen < 1 or self.alert_dedupe_ttl_s <= 0 or self.socket_timeout_s <= 0:
            raise SettingsError("redis.stream_maxlen, alert_dedupe_ttl_s, socket_timeout_s > 0")

    def __repr__(self) -> str:
        return _masked_repr(self)


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """The worker loop: checkpoint cadence, snapshot lifetime, retry backoff, lateness.

    ``late_tolerance_s`` is the processor's: events older than the watermark minus this
    are counted late and not scored (raise it for a backlog of compressed simulated time).
    Partitions are merged in event time: records are processed in timestamp order across
    partitions, a partition with more to fetch holding the others back to its last event
    time plus ``align_slack_s`` (for at most ``align_max_wait_s`` of wall time); at most
    ``align_buffer`` fetched records wait per partition (then it is paused).

    Alerts (and their decisions) are written at most ``alert_flush_s`` of wall time after
    they were raised, even in the middle of a long drain; offsets still move only at
    checkpoints (every ``commit_interval_s`` or ``commit_every_records``).

    A worker that has been assigned no partition for ``rejoin_empty_s`` although the
    topic has some leaves and rejoins the group (0: never); the wait doubles at each
    rejoin, up to ten minutes.

    The detector models are snapshotted every ``model_snapshot_interval_s`` (0: never
    saved nor restored). With ``shared_linkage`` the campaign-linkage index and the
    behaviour scores it pools live in Redis, shared by the group's workers (kept
    ``linkage_ttl_s`` and ``score_ttl_s`` after their last write, reads cached for
    ``linkage_cache_s``); without it each worker links only the accounts it owns. With
    ``shared_population`` the workers share what their accounts teach the detectors
    through a Redis stream capped at about ``population_max_entries`` entries (kept
    ``snapshot_ttl_s`` after its last write, like the model snapshot), so every worker's
    detectors learn the whole group's population; without it each worker's detectors
    learn only from the accounts it owns.
    """

    commit_interval_s: float = 1.0
    alert_flush_s: float = 0.05
    commit_every_records: int = 50_000
    snapshot_ttl_s: float = 7 * 86400.0
    retry_initial_s: float = 0.1
    retry_max_s: float = 5.0
    late_tolerance_s: float = 300.0
    align_slack_s: float = 5.0
    align_max_wait_s: float = 1.0
    align_buffer: int = 20_000
    rejoin_empty_s: float = 15.0
    model_snapshot_interval_s: float = 60.0
    shared_linkage: bool = True
    linkage_ttl_s: float = 7 * 86400.0
    linkage_cache_s: float = 30.0
    score_ttl_s: float = 2 * 86400.0
    shared_population: bool = True
    population_max_entries: int = 50_000

    def __post_init__(self) -> None:
        if self.late_tolerance_s < 0 or self.align_slack_s < 0 or self.align_max_wait_s < 0:
            raise SettingsError("runtime: late_tolerance_s and align_* must be >= 0")
        if self.align_buffer < 1:
            raise SettingsError("runtime.align_buffer must be >= 1")
        if self.rejoin_empty_s < 0:
            raise SettingsError("runtime.rejoin_empty_s must be >= 0")
        if self.alert_flush_s < 0:
            raise SettingsError("runtime.alert_flush_s must be >= 0")
        if self.commit_interval_s <= 0 or self.commit_every_records < 1:
            raise SettingsError("runtime.commit_interval_s and commit_every_records must be > 0")
        if self.snapshot_ttl_s <= 0:
            raise SettingsError("runtime.snapshot_ttl_s must be > 0")
        if not 0 < self.retry_initial_s <= self.retry_max_s:
            raise SettingsError("runtime: need 0 < retry_initial_s <= retry_max_s")
        if self.model_snapshot_interval_s < 0 or self.linkage_cache_s < 0:
            raise SettingsError("runtime: model_snapshot_interval_s, linkage_cache_s >= 0")
        if self.linkage_ttl_s <= 0 or self.score_ttl_s <= 0:
            raise SettingsError("runtime: linkage_ttl_s and score_ttl_s must be > 0")
        if self.population_max_entries < 1:
            raise SettingsError("runtime.population_max_entries must be >= 1")


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """The HTTP endpoint with /metrics, /healthz and /readyz (port -1 turns it off)."""

    host: str = "0.0.0.0"  # a metrics endpoint is scraped from outside
    port: int = 9464
    prefix: str = "distillguard"

    def __post_init__(self) -> None:
        if not -1 <= self.port <= 65535:
            raise SettingsError("metrics.port must be -1 (off), 0 (any free port) or a port")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``distillguard run`` is configured with."""

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)


SECTIONS: dict[str, type[Any]] = {
    "kafka": KafkaSettings,
    "redis": RedisSettings,
    "runtime": RuntimeSettings,
    "metrics": MetricsSettings,
}


def _convert(section: str, key: str, value: object) -> object:
    """Convert ``value`` (from TOML, the environment or a flag) to the field's type."""
    cls = SECTIONS[section]
    kinds = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    if key not in kinds:
        raise SettingsError(f"unknown setting {section}.{key}")
    kind = kinds[key]
    if kind.startswith("Mapping"):
        if not isinstance(value, Mapping):
            raise SettingsError(f"{section}.{key} must be a table")
        return dict(value)
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(value)
            return text in ("1", "true", "yes", "on")
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(str(value)) if isinstance(value, str) else int(value)  # type: ignore[call-overload]  # checked above: int-like
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)  # type: ignore[arg-type]  # a bad value raises ValueError/TypeError
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{section}.{key}: expected {kind}, got {value!r}") from exc
    if not isinstance(value, str):
        raise SettingsError(f"{section}.{key}: expected a string, got {value!r}")
    return value


def _from_toml(path: str) -> dict[str, dict[str, object]]:
    """Read a settings file into ``{section: {key: value}}``."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    out: dict[str, dict[str, object]] = {}
    for section, table in data.items():
        if section not in SECTIONS or not isinstance(table, dict):
            raise SettingsError(f"{path}: unknown section [{section}]")
        out[section] = {k: _convert(section, k, v) for k, v in table.items()}
    return out


def _from_env(env: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """Read ``DISTILLGUARD_<SECTION>_<KEY>`` variables (``DISTILLGUARD_CONFIG`` excepted)."""
    out: dict[str, dict[str, object]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section, _, key = rest.partition("_")
        if section not in SECTIONS:
            continue  # other tools' DISTILLGUARD_* variables (e.g. the tests' KAFKA_LIB)
        known = {f.name for f in dataclasses.fields(SECTIONS[section])}
        if key not in known or key == "options":
            continue
        out.setdefault(section, {})[key] = _convert(section, key, value)
    return out


def parse_assignment(text: str) -> tuple[str, str, str]:
    """Split ``section.key=value`` (a ``--set`` flag) into its three parts."""
    dotted, sep, value = text.partition("=")
    section, dot, key = dotted.strip().partition(".")
    if not sep or not dot or section not in SECTIONS:
        raise SettingsError(f"--set expects section.key=value with a section of {list(SECTIONS)}")
    return section, key.strip(), value


def load_settings(
    path: str | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Return the settings from defaults < TOML file < environment < ``overrides``.

    Args:
        path: a TOML file (default: ``$DISTILLGUARD_CONFIG`` if set, else none).
        env: the environment (default: ``os.environ``).
        overrides: ``{"section.key": value}`` from flags; strings are converted.

    """
    env = os.environ if env is None else env
    path = path or env.get(ENV_PREFIX + "CONFIG") or None
    layers = [_from_toml(path)] if path else []
    layers.append(_from_env(env))
    flags: dict[str, dict[str, object]] = {}
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if section not in SECTIONS:
            raise SettingsError(f"unknown setting {dotted}")
        flags.setdefault(section, {})[key] = _convert(section, key, value)
    layers.append(flags)
    merged: dict[str, dict[str, object]] = {s: {} for s in SECTIONS}
    for layer in layers:
        for section, values in layer.items():
            for key, value in values.items():
                old = merged[section].get(key)
                if isinstance(value, Mapping) and isinstance(old, Mapping):
                    merged[section][key] = {**old, **value}  # [kafka.options] tables merge
                else:
                    merged[section][key] = value
    try:
        return Settings(**{s: SECTIONS[s](**merged[s]) for s in SECTIONS})
    except TypeError as exc:  # pragma: no cover - keys are checked by _convert
        raise SettingsError(str(exc)) from exc


_SECRET_WORDS = ("password", "secret", "token", "credential")
_MASK = "***"


def mask_url(url: str) -> str:
    """Return ``url`` with the password of its user-info part (``user:password@``) masked."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, password = userinfo.partition(":")
    if colon and password:
        userinfo = f"{user}:{_MASK}"
    elif not colon and user:  # redis://secret@host: some clients read it as a password
        userinfo = _MASK
    return f"{scheme}{sep}{userinfo}{at}{host}{slash}{path}"


def _mask_options(options: Mapping[str, object]) -> dict[str, object]:
    """Return ``[kafka.options]`` with every value whose name suggests a secret masked."""
    return {
        k: _MASK if v and any(w in k.lower() for w in _SECRET_WORDS) else v
        for k, v in options.items()
    }


def _shown(f: dataclasses.Field[Any], value: object) -> object:
    """Return a setting's value as logs may show it (secrets masked)."""
    if not f.repr and value:
        return _MASK
    if f.name == "options" and isinstance(value, Mapping):
        return _mask_options(value)
    if f.name == "url" and isinstance(value, str):
        return mask_url(value)
    return value


def _masked_repr(obj: object) -> str:
    """Return the ``repr`` of a settings section with its secrets masked."""
    fields = dataclasses.fields(obj)  # type: ignore[arg-type]  # only called on dataclasses
    body = ", ".join(f"{f.name}={_shown(f, getattr(obj, f.name))!r}" for f in fields)
    return f"{type(obj).__name__}({body})"


def describe(settings: Settings) -> list[tuple[str, object]]:
    """Return ``(section.key, value)`` for every setting, secrets masked (for logs).

    Masked: the password fields, the password in ``redis.url``, and ``kafka.options``
    entries whose names contain password, secret, token or credential (``repr`` of the
    settings masks them alike).
    """
    rows: list[tuple[str, object]] = []
    for section in SECTIONS:
        obj = getattr(settings, section)
        for f in dataclasses.fields(obj):
            rows.append((f"{section}.{f.name}", _shown(f, getattr(obj, f.name))))
    return rows
