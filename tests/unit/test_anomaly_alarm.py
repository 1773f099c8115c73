"""Alarms: hysteresis, minimum duration, severity, time to threshold, events with evidence."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.anomaly.alarm import (
    AlarmPolicy,
    Hysteresis,
    theil_sen_slope,
    time_to_threshold_s,
)
from plantos.analytics.anomaly.detector import FeatureFrame, HotellingDetector
from plantos.analytics.anomaly.events import AnomalyCleared, AnomalyRaised
from plantos.analytics.anomaly.monitor import AnomalyMonitor

NS = 1_000_000_000
POLICY = AlarmPolicy(raise_at=6.0, clear_at=3.0, min_duration_ns=60 * NS)


def minutes(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * 60 * NS


def test_one_spike_raises_nothing() -> None:
    scores = np.zeros(20)
    scores[5] = 100.0
    tr = Hysteresis(POLICY).update(minutes(20), scores)
    assert not tr.flags.any() and tr.raised == []


def test_sustained_score_raises_after_the_minimum_duration_and_clears_below_clear_at() -> None:
    scores = np.array([0, 7, 7, 7, 5, 4, 2, 2, 7], dtype=float)
    tr = Hysteresis(POLICY).update(minutes(9), scores)
    # above from minute 1; one minute later (minute 2) the alarm is raised
    assert tr.raised == [2]
    # 5 and 4 are between the thresholds: still active (no chatter); 2 clears
    assert tr.flags.tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0]
    assert tr.cleared == [6]


def test_hysteresis_state_carries_across_batches_and_nan_holds_it() -> None:
    alarm = Hysteresis(POLICY)
    scores = np.array([7, 7, np.nan, 7, 1], dtype=float)
    flags = [alarm.update(minutes(5)[i : i + 1], scores[i : i + 1]).flags[0] for i in range(5)]
    assert flags == [False, True, True, True, False]


def test_unjudged_rows_complete_a_confirmed_excursion_but_not_one_spike() -> None:
    policy = AlarmPolicy(raise_at=6.0, clear_at=3.0, min_duration_ns=3 * 60 * NS)
    # two judged rows above raise_at, then rows that cannot be judged: time passes
    confirmed = np.array([1, 7, 8, np.nan, np.nan, np.nan, np.nan], dtype=float)
    tr = Hysteresis(policy).update(minutes(7), confirmed)
    assert tr.raised == [4]  # minute 4: three minutes after the first row above
    assert tr.flags.tolist() == [0, 0, 0, 0, 1, 1, 1]
    # a growing fault passes clear_at first: one row between the thresholds confirms it
    rising = np.array([1, 4, 7, np.nan, np.nan, np.nan, np.nan], dtype=float)
    assert Hysteresis(policy).update(minutes(7), rising).raised == [5]
    # from health straight over raise_at (a damaged snapshot), then nothing judged: no alarm
    spike = np.array([1, 7, np.nan, np.nan, np.nan, np.nan, np.nan], dtype=float)
    assert Hysteresis(policy).update(minutes(7), spike).raised == []


def test_severity_rises_with_the_score() -> None:
    assert [POLICY.severity(s) for s in (6.0, 12.0, 30.0)] == ["warning", "alarm", "critical"]
    assert POLICY.threshold == 24.0


def test_time_to_threshold_of_a_linear_trend() -> None:
    ts = minutes(30)
    scores = 1.0 + 0.5 * np.arange(30)  # +0.5 per minute, last value 15.5
    scores[10] = 400.0  # an outlier does not tilt Theil-Sen
    assert theil_sen_slope(ts / NS, scores) == pytest.approx(0.5 / 60)
    assert time_to_threshold_s(ts, scores, 24.0) == pytest.approx((24.0 - 15.5) / 0.5 * 60)
    assert time_to_threshold_s(ts, scores[::-1].copy(), 500.0) is None  # falling: no estimate
    assert time_to_threshold_s(ts, scores, 10.0) == 0.0


def test_policy_rejects_a_clear_threshold_above_the_raise_threshold() -> None:
    with pytest.raises(ValueError, match="clear_at"):
        AlarmPolicy(raise_at=3.0, clear_at=6.0)


def test_monitor_emits_raised_with_evidence_then_cleared() -> None:
    rng = np.random.default_rng(0)
    names = ("rms", "kurtosis")
    train = FeatureFrame.of(rng.normal(size=(200, 2)), names, minutes(200))
    monitor = AnomalyMonitor(
        HotellingDetector(ewma_alpha=0.5), subject="plant-a/m/l/cnc-07", policy=POLICY
    )
    monitor.fit(train)
    x = np.zeros((30, 2))
    x[5:20, 1] = np.linspace(5.0, 20.0, 15)  # kurtosis climbs: impacts
    out = monitor.process(FeatureFrame.of(x, names, minutes(30) + 200 * 60 * NS))
    raised = [e for e in out.events if isinstance(e, AnomalyRaised)]
    cleared = [e for e in out.events if isinstance(e, AnomalyCleared)]
    assert len(raised) == 1 and len(cleared) == 1
    event = raised[0]
    assert event.subject == "plant-a/m/l/cnc-07" and event.detector == "hotelling"
    assert event.evidence[0].feature == "kurtosis"
    assert event.evidence[0].expected == pytest.approx(0.0, abs=0.3)
    assert event.time_to_threshold_s is not None and event.time_to_threshold_s >= 0
    assert event.to_dict()["kind"] == "AnomalyRaised"
    assert cleared[0].duration_s > 0
