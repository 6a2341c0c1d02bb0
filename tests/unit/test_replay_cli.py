"""End-to-end tests of ``distillguard replay`` as a user runs it (a subprocess)."""

import gzip
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from stream.simulate import SimConfig, write_simulation

ROOT = Path(__file__).resolve().parents[2]

BAD_LINES = [
    b"this is not json",
    b"[1, 2, 3]",
    b'{"account_id": "x"}',
    b'{"ts": 1764288000, "account_id": "x", "input_tokens": -4}',
    b"",
]


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    """A small simulated file with known bad lines appended."""
    folder = tmp_path_factory.mktemp("replay")
    path = folder / "events.jsonl"
    write_simulation(SimConfig(accounts=80, hours=4, seed=11, bad_record_rate=0.0), str(path), None)
    with path.open("ab") as f:
        for line in BAD_LINES:
            f.write(line + b"\n")
    return path


def _replay(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", "replay", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        check=False,
    )


def test_replay_file_twice_gives_identical_bytes(events_file, tmp_path):
    out1, out2 = tmp_path / "a1.jsonl", tmp_path / "a2.jsonl"
    r1 = _replay(str(events_file), "--alerts-out", str(out1))
    r2 = _replay(str(events_file), "--alerts-out", str(out2))
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0
    assert out1.read_bytes() == out2.read_bytes()
    assert r1.stdout == b""  # alerts went to the file
    for line in out1.read_bytes().splitlines():
        alert = orjson.loads(line)
        assert set(alert) == {
            "alert_id",
            "ts",
            "account_id",
            "severity",
            "action",
            "score",
            "detectors",
            "reasons",
            "features",
            "related_accounts",
        }
        assert 0.0 <= alert["score"] <= 1.0


def test_replay_stdin_and_gzip_match_plain_file(events_file, tmp_path):
    plain = _replay(str(events_file))
    gz = tmp_path / "events.jsonl.gz"
    gz.write_bytes(gzip.compress(events_file.read_bytes()))
    from_gz = _replay(str(gz))
    from_stdin = _replay("-", stdin=events_file.read_bytes())
    from_gz_stdin = _replay("-", stdin=gz.read_bytes())
    assert plain.returncode == from_gz.returncode == from_stdin.returncode == 0
    assert plain.stdout == from_gz.stdout == from_stdin.stdout == from_gz_stdin.stdout


def test_dead_letter_file_holds_every_bad_line_with_reason(events_file, tmp_path):
    dead = tmp_path / "dead.jsonl"
    r = _replay(str(events_file), "--dead-letter", str(dead), "--alerts-out", str(tmp_path / "a"))
    assert r.returncode == 0
    records = [orjson.loads(x) for x in dead.read_bytes().splitlines()]
    assert [rec["raw"].encode() for rec in records] == BAD_LINES
    assert [rec["reason"] for rec in records] == [
        "not_json",
        "not_object",
        "missing_ts",
        "bad_value:input_tokens",
        "not_json",
    ]
    total = len(events_file.read_bytes().splitlines())
    assert [rec["line"] for rec in records] == list(range(total - 4, total + 1))
    summary = r.stderr.decode()
    assert "bad records 5" in summary and "not_json 2" in summary
    assert "events/s" in summary


def test_missing_file_is_a_clear_error():
    r = _replay("/no/such/file.jsonl")
    assert r.returncode == 2
    assert b"cannot open /no/such/file.jsonl" in r.stderr
