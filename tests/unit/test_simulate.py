"""Tests of the traffic simulator (stream.simulate)."""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import itertools
import math
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from detectors.exceptions import ConfigError
from stream.exceptions import SourceError
from stream.simulate import (
    ALL_KINDS,
    ATTACK_KINDS,
    BENIGN_KINDS,
    DEFAULT_START,
    Label,
    Line,
    SimConfig,
    iter_lines,
    load_labels,
    parse_mix,
    parse_time,
    simulate,
    simulation_labels,
    write_simulation,
)
from stream.simulate import cli as sim_cli
from stream.simulate.roster import build_roster

# A small but complete day: every kind present, a few thousand events, well under 1 s.
SMALL = SimConfig(accounts=300, hours=24.0, seed=11, volume_scale=0.05)
INT_FIELDS = ("input_tokens", "output_tokens", "max_tokens")
STR_FIELDS = (
    "request_id",
    "org_id",
    "api_key_id",
    "model",
    "endpoint",
    "prompt",
    "client_ip",
    "user_agent",
    "country",
    "tls_fingerprint",
    "payment_fingerprint",
)


def _time(value: object) -> float | None:
    """Contract time: epoch number or RFC 3339 string; None when invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.timestamp() if parsed.tzinfo is not None else None
    return None


def _fields_ok(obj: dict[str, object]) -> bool:
    for name in STR_FIELDS:
        if name in obj and not isinstance(obj[name], str):
            return False
    for name in (*INT_FIELDS, "status", "asn"):
        value = obj.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return False
    for name in ("temperature", "latency_ms"):
        value = obj.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
    return "account_created_ts" not in obj or _time(obj["account_created_ts"]) is not None


def contract_ok(raw: bytes) -> bool:
    """An independent validator of the request-event contract (v1)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(obj, dict) or _time(obj.get("ts")) is None:
        return False
    acct = obj.get("account_id")
    return isinstance(acct, str) and bool(acct) and _fields_ok(obj)


@pytest.fixture(scope="module")
def small_lines() -> list[Line]:
    return list(iter_lines(SMALL))


@pytest.fixture(scope="module")
def small_events(small_lines: list[Line]) -> list[dict[str, object]]:
    return [orjson.loads(x.data) for x in small_lines if x.tag in ("event", "late")]


@pytest.fixture(scope="module")
def small_labels() -> dict[str, Label]:
    return {label.account_id: label for label in simulation_labels(SMALL)}


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    cfg = SimConfig(accounts=60, hours=6.0, seed=3, volume_scale=0.1)
    first = list(simulate(cfg))
    assert first == list(simulate(cfg))
    other = list(simulate(SimConfig(accounts=60, hours=6.0, seed=4, volume_scale=0.1)))
    assert first != other


def test_good_lines_follow_the_contract(small_lines: list[Line]) -> None:
    good = [x for x in small_lines if x.tag != "bad"]
    assert len(good) > 1000
    for x in good:
        assert contract_ok(x.data), x.data[:300]
        obj = orjson.loads(x.data)
        assert isinstance(obj["ts"], float | str)
        assert len(obj["prompt"].encode("utf-8")) <= 4096
        assert obj["status"] in (200, 429, 500, 503)
        if obj["status"] != 200:
            assert obj["output_tokens"] == 0


def test_bad_lines_are_all_invalid(small_lines: list[Line]) -> None:
    bad = [x for x in small_lines if x.tag == "bad"]
    assert bad
    for x in bad:
        assert not contract_ok(x.data), x.data[:300]


def test_every_kind_appears_at_default_mix() -> None:
    summary_kinds = collections.Counter(x.kind for x in iter_lines(SMALL) if x.tag == "event")
    for kind in ALL_KINDS:
        assert summary_kinds[kind] > 0, kind


def test_labels_cover_every_account(
    small_events: list[dict[str, object]], small_labels: dict[str, Label]
) -> None:
    seen = {e["account_id"] for e in small_events}
    assert seen <= set(small_labels)
    for label in simulation_labels(SMALL):
        if label.role == "attack":
            assert label.kind in ATTACK_KINDS
            assert label.attack_start_ts is not None
            assert SMALL.start <= label.attack_start_ts < SMALL.end
        else:
            assert label.kind in BENIGN_KINDS
            assert label.attack_start_ts is None
            assert label.campaign_id is None
        if label.kind == "hydra":
            assert label.campaign_id is not None


def test_attack_start_is_an_event_of_the_account(small_events: list[dict[str, object]]) -> None:
    times = collections.defaultdict(set)
    for e in small_events:
        ts = _time(e["ts"])
        assert ts is not None
        times[e["account_id"]].add(round(ts, 3))
    for label in simulation_labels(SMALL):
        if label.attack_start_ts is not None:
            assert label.attack_start_ts in times[label.account_id], label


def test_hydra_campaigns_share_infrastructure_but_not_prompts(
    small_events: list[dict[str, object]], small_labels: dict[str, Label]
) -> None:
    by_campaign = collections.defaultdict(list)
    for e in small_events:
        label = small_labels[str(e["account_id"])]
        ts = _time(e["ts"])
        start = label.attack_start_ts
        if label.kind == "hydra" and start is not None and ts is not None and ts >= start:
            by_campaign[label.campaign_id].append(e)
    assert by_campaign
    for events in by_campaign.values():
        prompts = [e["prompt"] for e in events]
        assert 1 - len(set(prompts)) / len(prompts) < 0.05
        assert len({e["user_agent"] for e in events}) == 1
        assert len({e["tls_fingerprint"] for e in events}) <= 3
        assert all(e["model"] in ("frontier-large", "frontier-large-2") for e in events)


def test_ci_loops_really_repeat(
    small_events: list[dict[str, object]], small_labels: dict[str, Label]
) -> None:
    prompts = collections.defaultdict(list)
    for e in small_events:
        if small_labels[str(e["account_id"])].kind == "ci_loop":
            prompts[e["account_id"]].append(str(e["prompt"]).split("] ")[-1])
    assert prompts
    for ps in prompts.values():
        assert len(set(ps)) <= 3


def test_defect_rates_are_roughly_as_configured() -> None:
    cfg = SimConfig(
        accounts=200,
        hours=12.0,
        seed=5,
        volume_scale=0.2,
        bad_record_rate=0.05,
        duplicate_rate=0.04,
        late_rate=0.03,
    )
    tags = collections.Counter(x.tag for x in iter_lines(cfg))
    events = tags["event"] + tags["late"]
    assert events > 3000
    assert tags["bad"] / events == pytest.approx(0.05, rel=0.25)
    assert tags["duplicate"] / events == pytest.approx(0.04, rel=0.25)
    assert tags["late"] / events == pytest.approx(0.03, rel=0.3)


def test_duplicates_repeat_an_event_and_request_ids_are_unique(
    small_lines: list[Line],
) -> None:
    events = [x.data for x in small_lines if x.tag in ("event", "late")]
    ids = [orjson.loads(d)["request_id"] for d in events]
    assert len(ids) == len(set(ids))
    event_set = set(events)
    dups = [x.data for x in small_lines if x.tag == "duplicate"]
    assert dups
    assert all(d in event_set for d in dups)


def test_order_is_event_time_apart_from_bounded_lateness(small_lines: list[Line]) -> None:
    top = -math.inf
    for x in small_lines:
        if x.tag == "bad":
            continue
        ts = _time(orjson.loads(x.data)["ts"])
        assert ts is not None
        assert ts >= top - SMALL.max_delay_s - 0.001
        top = max(top, ts)
    strict = SimConfig(accounts=60, hours=6.0, seed=2, volume_scale=0.1, late_rate=0.0,
                       duplicate_rate=0.0, bad_record_rate=0.0)  # fmt: skip
    stamps = [_time(orjson.loads(d)["ts"]) for d in simulate(strict)]
    assert stamps == sorted(stamps)  # type: ignore[type-var]


def test_timestamps_mix_epoch_and_rfc3339_with_offsets(small_lines: list[Line]) -> None:
    objs = [orjson.loads(x.data) for x in small_lines if x.tag == "event"]
    strings = [o["ts"] for o in objs if isinstance(o["ts"], str)]
    for x in small_lines:
        if x.tag == "event" and b'"ts":"' in x.data:
            assert _time(orjson.loads(x.data)["ts"]) == pytest.approx(x.ts, abs=1e-6)
    assert 0.005 < len(strings) / len(objs) < 0.05
    assert any(s.endswith("Z") for s in strings)
    assert any(s[-6] in "+-" for s in strings)
    created = {type(o["account_created_ts"]) for o in objs}
    assert created == {float, str}
    assert any(":" in o["client_ip"] for o in objs)


def test_new_model_appears_only_after_release() -> None:
    cfg = SimConfig(accounts=150, hours=10.0, seed=8, volume_scale=0.1, new_model_at_hour=4.0)
    release = cfg.start + 4 * 3600
    seen = False
    for x in iter_lines(cfg):
        if x.tag == "bad":
            continue
        obj = orjson.loads(x.data)
        if obj["model"] == "frontier-large-2":
            seen = True
            assert _time(obj["ts"]) >= release  # type: ignore[operator]
    assert seen
    never = SimConfig(accounts=80, hours=6.0, seed=8, volume_scale=0.1, new_model_at_hour=None)
    assert all(b"frontier-large-2" not in d for d in simulate(never))


def test_write_plain_and_gzip_round_trip(tmp_path: Path) -> None:
    cfg = SimConfig(accounts=50, hours=4.0, seed=1, volume_scale=0.2)
    plain, gz, labels = tmp_path / "a.jsonl", tmp_path / "a.jsonl.gz", tmp_path / "l.jsonl"
    s1 = write_simulation(cfg, str(plain), str(labels))
    s2 = write_simulation(cfg, str(gz), None)
    assert s1 == s2
    data = plain.read_bytes()
    assert gzip.decompress(gz.read_bytes()) == data
    assert data.count(b"\n") == s1.lines == s1.events + s1.duplicates + s1.bad_records
    first_gz = gz.read_bytes()
    write_simulation(cfg, str(gz), None)
    assert gz.read_bytes() == first_gz  # no timestamp in the gzip header
    loaded = load_labels(str(labels))
    assert len(loaded) == cfg.accounts
    assert sum(s1.events_by_kind.values()) == s1.events


def test_simulate_streams_without_materialising() -> None:
    big = SimConfig(accounts=3000, hours=72.0, seed=9)
    head = list(itertools.islice(simulate(big), 2000))
    assert len(head) == 2000


def test_parse_helpers_and_validation() -> None:
    assert parse_time("2026-11-02T00:00:00Z") == DEFAULT_START
    assert parse_time("2026-11-02T02:00:00+02:00") == DEFAULT_START
    assert parse_time(str(DEFAULT_START)) == DEFAULT_START
    with pytest.raises(ConfigError):
        parse_time("next tuesday")
    mix = dict(parse_mix("casual=1,ci_loop=0.5", BENIGN_KINDS))
    assert mix["casual"] == 1.0 and mix["batch_job"] == 0.0
    for bad in ("casual", "hydra=1", "casual=x", "casual=0"):
        with pytest.raises(ConfigError):
            parse_mix(bad, BENIGN_KINDS)
    for kwargs in ({"accounts": 0}, {"hours": 0.0}, {"attack_share": 1.5}, {"bad_record_rate": -1}):
        with pytest.raises(ConfigError):
            SimConfig(**kwargs)


def test_custom_mix_and_no_attackers() -> None:
    cfg = SimConfig(accounts=40, hours=6.0, seed=1, attack_share=0.0, volume_scale=0.2,
                    benign_mix=parse_mix("ci_loop=1", BENIGN_KINDS))  # fmt: skip
    kinds = {label.kind for label in simulation_labels(cfg)}
    assert kinds == {"ci_loop"}


def test_load_labels_rejects_garbage(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"account_id": "a"}\n')
    with pytest.raises(SourceError):
        load_labels(str(p))
    with pytest.raises(SourceError):
        load_labels(str(tmp_path / "missing.jsonl"))


def test_cli_runs_and_rejects_bad_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    out, labels = tmp_path / "o.jsonl.gz", tmp_path / "l.jsonl"
    args = parser.parse_args(
        ["--accounts", "30", "--hours", "3", "--seed", "5", "--start", "2026-11-02T00:00:00Z",
         "--attack-share", "0.1", "--bad-rate", "0.01", "--dup-rate", "0.01",
         "--new-model-at-hour", "none", "--volume-scale", "0.2",
         "--out", str(out), "--labels", str(labels)]
    )  # fmt: skip
    assert sim_cli.run(args) == 0
    assert "simulated" in capsys.readouterr().err
    assert out.stat().st_size > 0
    assert len(load_labels(str(labels))) == 30
    bad = parser.parse_args(["--accounts", "0", "--out", str(out)])
    assert sim_cli.run(bad) == 2
    bad = parser.parse_args(["--mix", "nobody=1", "--out", str(out)])
    assert sim_cli.run(bad) == 2


def test_country_does_not_depend_on_role() -> None:
    counts: dict[str, collections.Counter[str]] = {
        "attack": collections.Counter(),
        "benign": collections.Counter(),
    }
    for seed in range(12):
        for a in build_roster(SimConfig(seed=seed)).accounts:
            if a.locations:
                counts[a.role][collections.Counter(a.locations).most_common(1)[0][0].country] += 1
    att, ben = counts["attack"], counts["benign"]
    n_att, n_ben = sum(att.values()), sum(ben.values())
    tv = 0.5 * sum(abs(att[k] / n_att - ben[k] / n_ben) for k in set(att) | set(ben))
    assert tv < 0.2
    assert abs(att["US"] / n_att - ben["US"] / n_ben) < 0.1


def test_bytes_do_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "import hashlib, sys\n"
        "from stream.simulate import SimConfig, simulate\n"
        "cfg = SimConfig(accounts=80, hours=6.0, seed=12, volume_scale=0.1)\n"
        "h = hashlib.sha256()\n"
        "for line in simulate(cfg):\n"
        "    h.update(line + b'\\n')\n"
        "print(h.hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, check=True, cwd=root
        )
        digests.add(out.stdout.strip())
    h = hashlib.sha256()
    for line in simulate(SimConfig(accounts=80, hours=6.0, seed=12, volume_scale=0.1)):
        h.update(line + b"\n")
    digests.add(h.hexdigest().encode())
    assert len(digests) == 1


def test_allocate_keeps_one_account_per_weighted_kind() -> None:
    from stream.simulate.config import DEFAULT_ATTACK_MIX, DEFAULT_BENIGN_MIX
    from stream.simulate.roster import allocate

    for n in range(4, 40):
        counts = allocate(n, DEFAULT_ATTACK_MIX)
        assert sum(counts.values()) == n
        assert min(counts.values()) >= 1
    counts = allocate(1000, DEFAULT_BENIGN_MIX)
    assert sum(counts.values()) == 1000
    assert counts["casual"] == 780
    assert allocate(2, DEFAULT_BENIGN_MIX)["casual"] == 2
