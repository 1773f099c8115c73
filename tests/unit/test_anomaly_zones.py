"""Spindle severity by ISO velocity zones: the zone at each boundary, the exponential
time to zone D, stopped snapshots left out, and one escalation per zone risen."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plantos.analytics.anomaly.alarm import AlarmPolicy
from plantos.analytics.anomaly.detector import FeatureFrame, HotellingDetector
from plantos.analytics.anomaly.events import AnomalyEscalated, AnomalyRaised
from plantos.analytics.anomaly.monitor import AnomalyMonitor
from plantos.analytics.anomaly.trend import time_to_limit
from plantos.analytics.anomaly.zones import (
    GROUP2_RIGID,
    VelocityZones,
    ZoneSeverity,
)

NS = 1_000_000_000
MIN = 60 * NS
HOUR = 3600.0
NAMES = ("band_2500_3500hz", "velocity_rms")
RUNNING = 12000


def exponential_time_to_s(ts_ns: np.ndarray, v: np.ndarray, limit: float) -> float | None:
    """Time until the exponential trend of ``v`` reaches ``limit`` (a line through log v)."""
    x = (ts_ns - ts_ns[-1]).astype(np.float64) / NS
    return time_to_limit(x, np.log(v), math.log(limit)).time_s


def frame(velocity: list[float] | np.ndarray, state: list[int] | np.ndarray) -> FeatureFrame:
    v = np.asarray(velocity, dtype=np.float64)
    values = np.column_stack((np.ones(len(v)), v))
    return FeatureFrame.of(values, NAMES, np.arange(len(v)) * 5 * MIN, state)


@pytest.mark.parametrize(
    ("velocity", "zone"),
    [(0.0, "A"), (1.39, "A"), (1.4, "B"), (2.79, "B"), (2.8, "C"), (4.49, "C"), (4.5, "D")],
)
def test_a_level_on_a_boundary_belongs_to_the_higher_zone(velocity: float, zone: str) -> None:
    assert GROUP2_RIGID.zone(velocity) == zone


@pytest.mark.parametrize("bounds", [(2.8, 1.4, 4.5), (1.4, 2.8, 2.8), (0.0, 2.8, 4.5)])
def test_boundaries_must_be_positive_and_increasing(bounds: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="positive and increasing"):
        VelocityZones(*bounds)


def test_the_exponential_trend_estimates_the_time_to_zone_d_within_ten_percent() -> None:
    rng = np.random.default_rng(3)
    tau_s = 3 * HOUR  # e-folding time of the wear
    t_s = np.arange(24) * 300.0  # two hours of 5-minute snapshots
    v = 1.6 * np.exp(t_s / tau_s) * (1 + 0.05 * rng.standard_normal(len(t_s)))
    truth = tau_s * math.log(4.5 / 1.6) - t_s[-1]
    est = exponential_time_to_s((t_s * NS).astype(np.int64), v, 4.5)
    assert est is not None and abs(est - truth) < 0.1 * truth
    interval = time_to_limit(t_s - t_s[-1], np.log(v), math.log(4.5))
    assert interval.low_s is not None and interval.high_s is not None
    assert interval.low_s <= truth <= interval.high_s and interval.low_s < est < interval.high_s


@pytest.mark.parametrize("growth", [0.0, -0.2])
def test_no_estimate_when_the_level_is_flat_or_falling(growth: float) -> None:
    t_s = np.arange(24) * 300.0
    v = 2.0 * np.exp(growth * t_s / HOUR)
    assert exponential_time_to_s((t_s * NS).astype(np.int64), v, 4.5) is None


def test_at_or_above_the_limit_the_time_is_zero() -> None:
    ts = np.arange(5) * 300 * NS
    assert exponential_time_to_s(ts, np.full(5, 4.6), 4.5) == 0.0


def test_stopped_snapshots_count_neither_for_the_zone_nor_for_the_trend() -> None:
    t_s = np.arange(30) * 300.0
    v = 2.0 * np.exp(t_s / (4 * HOUR))
    state = np.full(30, RUNNING)
    state[[5, 12, 13, 29]] = 0
    with_stops = frame(np.where(state == 0, 0.2, v), state)
    running_only = FeatureFrame.of(
        with_stops.values[state != 0], NAMES, with_stops.ts_ns[state != 0], state[state != 0]
    )
    scale = ZoneSeverity(level_points=1)
    last = len(with_stops) - 1  # a stopped row: the newest running level stands
    assert scale.level_at(with_stops, last) == pytest.approx(v[28])
    assert scale.severity(with_stops, last, 100.0) == "alarm"  # v[28] = 3.23 mm/s: zone C
    nan = np.full(30, np.nan)
    expected = scale.time_to_threshold_s(running_only, len(running_only) - 1, nan)
    got = scale.time_to_threshold_s(with_stops, last, nan)
    assert expected is not None and got == pytest.approx(expected)


def test_history_carried_across_batches_gives_the_same_estimate() -> None:
    v = 1.5 * np.exp(np.arange(40) * 300.0 / (3 * HOUR))
    whole = frame(v, np.full(40, RUNNING))
    nan = np.full(40, np.nan)
    at_once = ZoneSeverity().time_to_threshold_s(whole, 39, nan)
    split = ZoneSeverity()
    split.remember(whole.rows(slice(0, 25)), nan[:25])
    assert split.time_to_threshold_s(whole.rows(slice(25, 40)), 14, nan[25:]) == at_once


def test_severity_follows_the_zone_and_escalates_once_per_zone_risen() -> None:
    """The band energy makes the score huge from the start (score-based: critical at once);
    the velocity climbs through B, C (twice, with a dip and a stop) and D."""
    policy = AlarmPolicy(raise_at=6.0, clear_at=3.0)
    monitor = AnomalyMonitor(
        HotellingDetector(ewma_alpha=1.0, min_samples=5),
        subject="plant-a/m/l/cnc-01",
        policy=policy,
        scale=ZoneSeverity(level_points=1),
    )
    rng = np.random.default_rng(4)
    healthy_state = np.where(np.arange(200) % 4 == 0, 0, RUNNING)
    healthy = 1 + 0.05 * rng.standard_normal((200, 2))
    healthy[:, 1] = np.where(healthy_state == 0, 0.2, 1.5) * healthy[:, 1]
    monitor.fit(FeatureFrame.of(healthy, NAMES, np.arange(200) * MIN, healthy_state))
    velocity = [1.5, 2.0, 3.0, 2.7, 3.2, 0.2, 4.6, 0.2, 3.0, 5.0]
    state = [RUNNING] * 5 + [0, RUNNING, 0, RUNNING, RUNNING]
    anomalous = frame(velocity, state)
    anomalous.values[:, 0] = 50.0  # the defect's band energy: far above any healthy level
    events = monitor.process(anomalous).events
    assert [type(e) for e in events] == [AnomalyRaised, AnomalyEscalated, AnomalyEscalated]
    raised, to_alarm, to_critical = events
    assert isinstance(raised, AnomalyRaised) and raised.score > 4 * policy.raise_at
    assert raised.severity == "warning" and raised.ts_ns == anomalous.ts_ns[0]
    assert isinstance(to_alarm, AnomalyEscalated) and isinstance(to_critical, AnomalyEscalated)
    assert (to_alarm.previous, to_alarm.severity, to_alarm.ts_ns) == (
        "warning",
        "alarm",
        anomalous.ts_ns[2],
    )
    assert (to_critical.previous, to_critical.severity, to_critical.ts_ns) == (
        "alarm",
        "critical",
        anomalous.ts_ns[6],
    )
    assert to_alarm.time_to_threshold_s is not None and to_alarm.time_to_threshold_s > 0
    assert to_critical.time_to_threshold_s == 0.0
