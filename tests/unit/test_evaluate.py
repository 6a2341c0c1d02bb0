"""Unit tests for scoring alerts against labels (recall, false positives, time to detect)."""

from dataclasses import dataclass

import pytest

from detectors.records import Alert
from stream.evaluate import evaluate


@dataclass(frozen=True)
class _Label:
    kind: str
    role: str
    campaign_id: str | None = None
    attack_start_ts: float | None = None


def _alert(account: str, ts: float, severity: str = "warning", related=()) -> Alert:
    return Alert(
        alert_id=f"{account}-{ts}", ts=ts, account_id=account, severity=severity,
        action="review", score=0.999, detectors=("distill",), reasons=(),
        related_accounts=tuple(related),
    )  # fmt: skip


def test_recall_false_positives_and_time_to_detect_overall_and_per_kind():
    labels = {
        "h1": _Label("hydra", "attack", "c1", 1000.0),
        "h2": _Label("hydra", "attack", "c1", 1000.0),
        "h3": _Label("hydra", "attack", "c1", 2000.0),
        "s1": _Label("slow_sweep", "attack", None, 0.0),
        "s2": _Label("slow_sweep", "attack", None, 0.0),
        "b1": _Label("power_user", "benign"),
        "b2": _Label("power_user", "benign"),
    }
    alerts = [
        _alert("h1", 1600.0, "info"),  # info flags nobody
        _alert("h1", 1900.0, related=["h2"]),  # 900 s
        _alert("h1", 5000.0),  # a later alert does not move the first flag
        _alert("h2", 1300.0, related=["s1"]),  # 300 s, no fellow member listed
        _alert("h3", 1500.0),  # flagged before its attack started: 0 s
        _alert("s1", 7200.0),  # 7200 s
        _alert("b1", 10.0),
        _alert("stranger", 10.0),  # no label: ignored
    ]
    ev = evaluate(alerts, labels)
    assert ev.recall == pytest.approx(4 / 5)
    assert ev.false_positive_rate == pytest.approx(1 / 2)
    assert ev.precision == pytest.approx(4 / 5)
    assert ev.kinds["hydra"].flagged == 3
    assert ev.kinds["slow_sweep"].rate == pytest.approx(1 / 2)
    assert sorted(ev.detect_delays) == [0.0, 300.0, 900.0, 7200.0]
    assert ev.delay_quantile(0.5) == 900.0  # sorted[int(0.5 * 4)]
    assert ev.kinds["hydra"].delays == [900.0, 300.0, 0.0]
    assert ev.kinds["hydra"].delay_quantile(0.5) == 300.0
    assert ev.kinds["slow_sweep"].delay_quantile(0.5) == 7200.0
    assert ev.kinds["power_user"].delay_quantile(0.5) is None  # benign: no delays
    assert ev.linkage == pytest.approx(1 / 3)  # h1 lists h2; h2 and h3 list no fellow
