"""The monitor learns operating states when they first run, escalates, and reports sensors."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.anomaly.alarm import AlarmPolicy
from plantos.analytics.anomaly.detector import FeatureFrame, HotellingDetector
from plantos.analytics.anomaly.events import (
    AnomalyCleared,
    AnomalyEscalated,
    AnomalyRaised,
    SensorFinding,
)
from plantos.analytics.anomaly.monitor import AnomalyMonitor

NS = 1_000_000_000
MIN = 60 * NS
NAMES = ("rms", "kurtosis")
POLICY = AlarmPolicy(raise_at=6.0, clear_at=3.0, min_duration_ns=0)


QUIET = AlarmPolicy(raise_at=1e9, clear_at=1e8, min_duration_ns=0)
"""Never raises: for tests of learning alone (an alarm stops learning, see below)."""


def monitor(policy: AlarmPolicy = POLICY, **kw: int) -> AnomalyMonitor:
    det = HotellingDetector(ewma_alpha=1.0, min_samples=5)
    return AnomalyMonitor(det, subject="plant-b/m/l/cnc-01", policy=policy, **kw)


def shifts() -> FeatureFrame:
    """Off (no rows) for a while, then state 12000 and state 3000 alternating in runs."""
    rng = np.random.default_rng(0)
    state = np.repeat([12000, 3000, 12000, 3000], [15, 8, 15, 12])
    values = rng.normal(size=(len(state), 2)) + (state[:, None] == 3000) * 10.0
    ts = (600 + np.arange(len(state))) * 5 * MIN
    return FeatureFrame.of(values, NAMES, ts, state)


def fault_then_a_new_speed(seed: int, fault_rows: int, fault: float) -> FeatureFrame:
    """5 min rows: 30 healthy at 12000 rpm; ``fault_rows`` with the kurtosis up by
    ``fault``; 25 at 3000 rpm, run for the first time, with the fault still there; 5
    healthy at 12000 rpm again; 25 healthy at 3000 rpm."""
    rng = np.random.default_rng(seed)
    healthy = rng.normal(size=(30, 2))
    faulty = rng.normal(size=(fault_rows, 2)) + np.array([0.0, fault])
    slow_faulty = rng.normal(size=(25, 2)) + np.array([10.0, fault])
    recovered = rng.normal(size=(5, 2))
    slow_ok = rng.normal(size=(25, 2)) + np.array([10.0, 0.0])
    x = np.vstack([healthy, faulty, slow_faulty, recovered, slow_ok])
    state = np.repeat([12000, 12000, 3000, 12000, 3000], [30, fault_rows, 25, 5, 25])
    return FeatureFrame.of(x, NAMES, np.arange(len(x)) * 5 * MIN, state)


def test_each_state_is_learned_from_its_first_rows_whenever_they_come() -> None:
    m = monitor(QUIET, learn_rows=20)
    frame = shifts()
    out = m.process(frame)  # never fitted: everything is learned in the stream
    # 12000 reaches 20 rows at row 27 (15 + 5 of its second run), 3000 at row 49
    assert m.learned_ns == {12000: int(frame.ts_ns[27]), 3000: int(frame.ts_ns[49])}
    assert np.isnan(out.scores[:28]).all()
    judged = np.isfinite(out.scores)
    assert judged[28:38].all() and not judged[38:].any()  # 3000 rows wait for their baseline
    assert m.learning_rows == 40 and m.learning == {}


def test_learning_gives_the_same_answer_batch_by_batch() -> None:
    frame = shifts()
    at_once = monitor(QUIET, learn_rows=20)
    whole = at_once.process(frame)
    split = monitor(QUIET, learn_rows=20)
    parts = [split.process(frame.rows(p)) for p in np.array_split(np.arange(len(frame)), 7)]
    np.testing.assert_allclose(np.concatenate([p.scores for p in parts]), whole.scores, rtol=1e-12)
    assert split.learned_ns == at_once.learned_ns


def test_fit_seeds_the_states_with_enough_rows_and_keeps_learning_the_rest() -> None:
    frame = shifts()
    m = monitor(QUIET, learn_rows=20)
    m.fit(frame.rows(slice(0, 23)))  # 15 rows of 12000 and 8 of 3000: neither is enough
    assert m.learning == {12000: 15, 3000: 8}
    m.process(frame.rows(slice(23, None)))
    # the rows given to fit count: 12000 completes at row 27, 3000 (8 + 12) at the last row
    assert m.learned_ns == {12000: int(frame.ts_ns[27]), 3000: int(frame.ts_ns[49])}


def test_learn_rows_below_the_detectors_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="min_samples"):
        monitor(learn_rows=3)


def test_a_new_state_is_judged_against_the_nearest_learned_one_within_reach() -> None:
    det = HotellingDetector(ewma_alpha=1.0, min_samples=5)
    m = AnomalyMonitor(det, subject="cnc", policy=POLICY, learn_rows=10, neighbour_within=0.05)
    rng = np.random.default_rng(3)
    learned = FeatureFrame.of(rng.normal(size=(10, 2)), NAMES, np.arange(10) * MIN, [12000] * 10)
    m.process(learned)
    # 2 % away and far off its neighbour's baseline; 75 % away; both new
    state = np.array([12250] * 3 + [3000] * 3)
    values = rng.normal(size=(6, 2)) + 50.0
    out = m.process(FeatureFrame.of(values, NAMES, (10 + np.arange(6)) * MIN, state))
    assert np.isfinite(out.scores[:3]).all() and out.scores[0] > POLICY.raise_at
    assert np.isnan(out.scores[3:]).all()
    assert m.provisional_rows == 3
    assert set(m.learned_ns) == {12000}  # scored high: not learned as health
    with pytest.raises(ValueError, match="neighbour_within"):
        AnomalyMonitor(det, subject="cnc", neighbour_within=0.0)


def test_a_rising_anomaly_escalates_once_per_level_then_clears() -> None:
    m = monitor()
    rng = np.random.default_rng(1)
    m.fit(FeatureFrame.of(rng.normal(size=(200, 2)), NAMES, np.arange(200) * MIN))
    x = np.zeros((12, 2))
    x[2:9, 1] = [4.0, 5.0, 6.0, 9.0, 12.0, 9.0, 5.0]  # up through warning, alarm, critical, down
    out = m.process(FeatureFrame.of(x, NAMES, (300 + np.arange(12)) * MIN))
    kinds = [type(e) for e in out.events]
    assert kinds == [AnomalyRaised, AnomalyEscalated, AnomalyEscalated, AnomalyCleared]
    raised, first, second = out.events[0], out.events[1], out.events[2]
    assert isinstance(first, AnomalyEscalated) and isinstance(second, AnomalyEscalated)
    assert isinstance(raised, AnomalyRaised)
    assert (first.previous, first.severity) == (raised.severity, "alarm")
    assert (second.previous, second.severity) == ("alarm", "critical")
    assert first.evidence[0].feature == "kurtosis" and second.ts_ns > first.ts_ns


def test_stuck_features_and_missing_rows_are_sensor_findings() -> None:
    m = monitor(stuck_after_ns=30 * MIN, missing_after_ns=20 * MIN)
    rng = np.random.default_rng(2)
    m.fit(FeatureFrame.of(rng.normal(size=(100, 2)), NAMES, np.arange(100) * MIN))
    x = rng.normal(size=(60, 2))
    x[10:50, 0] = 0.7  # the RMS freezes
    x[52:58] = np.nan  # then nothing usable for 30 min (5 min rows)
    ts = (200 + np.arange(60)) * 5 * MIN
    out = m.process(FeatureFrame.of(x, NAMES, ts))
    findings = [e for e in out.events if isinstance(e, SensorFinding)]
    assert [(f.finding, f.subject) for f in findings] == [
        ("stuck", "plant-b/m/l/cnc-01/rms"),
        ("missing", "plant-b/m/l/cnc-01"),
    ]
    stuck, missing = findings
    assert (stuck.since_ns, stuck.ts_ns, stuck.samples) == (ts[10], ts[16], 7)
    assert missing.since_ns == ts[51] and missing.ts_ns == ts[56] and missing.samples == 5
    again = monitor(stuck_after_ns=30 * MIN, missing_after_ns=20 * MIN)
    again.fit(FeatureFrame.of(rng.normal(size=(100, 2)), NAMES, np.arange(100) * MIN))
    frame = FeatureFrame.of(x, NAMES, ts)
    pieces = [again.process(frame.rows(p)).events for p in np.array_split(np.arange(60), 9)]
    assert [e for p in pieces for e in p if isinstance(e, SensorFinding)] == findings


def test_a_state_first_run_during_an_alarm_is_not_learned_and_the_alarm_holds() -> None:
    """12000 rpm is learned healthy; the machine goes bad, then first runs at 3000 rpm. That
    speed's rows are not learned as healthy (they would carry the fault), stay unjudged and
    keep the alarm up; after the alarm clears, 3000 rpm is learned from healthy rows."""
    m = monitor(learn_rows=20)
    frame = fault_then_a_new_speed(5, fault_rows=10, fault=8.0)
    out = m.process(frame)
    split = monitor(learn_rows=20)
    parts = [split.process(frame.rows(p)) for p in np.array_split(np.arange(len(frame)), 9)]
    np.testing.assert_array_equal(np.concatenate([p.flags for p in parts]), out.flags)
    assert split.learned_ns == m.learned_ns
    raised = [e for e in out.events if isinstance(e, AnomalyRaised)]
    cleared = [e for e in out.events if isinstance(e, AnomalyCleared)]
    assert len(raised) == 1 and len(cleared) == 1
    assert out.flags[40:65].all()  # held through the unlearned speed
    assert np.isnan(out.scores[40:65]).all()
    assert m.alarmed_rows_not_learned == 25
    assert 3000 in m.learned_ns and m.learned_ns[3000] == int(frame.ts_ns[-6])


def test_two_anomalies_in_one_batch_clear_with_their_own_durations() -> None:
    m = monitor()
    rng = np.random.default_rng(7)
    m.fit(FeatureFrame.of(rng.normal(size=(200, 2)), NAMES, np.arange(200) * MIN))
    x = np.zeros((20, 2))
    x[2:5, 1] = 12.0  # raised at row 2, cleared at row 5: 15 min
    x[10:16, 1] = 12.0  # raised at row 10, cleared at row 16: 30 min
    frame = FeatureFrame.of(x, NAMES, (300 + np.arange(20)) * 5 * MIN)
    whole = [e.duration_s for e in m.process(frame).events if isinstance(e, AnomalyCleared)]
    assert whole == [900.0, 1800.0]
    split = monitor()
    split.fit(FeatureFrame.of(rng.normal(size=(200, 2)), NAMES, np.arange(200) * MIN))
    parts = [split.process(frame.rows(p)).events for p in np.array_split(np.arange(20), 4)]
    assert [e.duration_s for p in parts for e in p if isinstance(e, AnomalyCleared)] == whole


def test_a_state_first_run_while_the_score_rises_before_the_raise_is_not_learned() -> None:
    """The fault begins at 12000 rpm and the score passes ``clear_at``, but the alarm
    waits out its minimum duration; 3000 rpm first runs meanwhile. Learning it then would
    take the fault's beginning as normal; its rows stay unjudged, and 3000 rpm is learned
    once the machine is healthy again."""
    waiting = AlarmPolicy(raise_at=6.0, clear_at=3.0, min_duration_ns=10_000 * MIN)
    m = monitor(waiting, learn_rows=20)
    frame = fault_then_a_new_speed(11, fault_rows=5, fault=4.0)  # drifting, not yet raised
    out = m.process(frame)
    assert not out.flags.any()  # never raised: the minimum duration is long
    assert (out.scores[30:35] > 3.0).all()
    assert np.isnan(out.scores[35:60]).all() and m.alarmed_rows_not_learned == 25
    assert m.learned_ns[3000] == int(frame.ts_ns[-6])
