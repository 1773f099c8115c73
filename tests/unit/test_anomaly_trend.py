"""Robust trends and the time to a limit, with an interval that holds the truth."""

from __future__ import annotations

import numpy as np

from plantos.analytics.anomaly.alarm import AlarmPolicy
from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.severity import ScoreSeverity
from plantos.analytics.anomaly.trend import sen_slope, time_to_limit

NS = 1_000_000_000


def test_sen_interval_holds_the_true_slope_about_as_often_as_it_says() -> None:
    rng = np.random.default_rng(5)
    x = np.arange(24, dtype=np.float64)
    held = 0
    for _ in range(200):
        fit = sen_slope(x, 0.5 * x + rng.normal(0, 2.0, len(x)))
        assert fit is not None and fit.low <= fit.slope <= fit.high
        held += fit.low <= 0.5 <= fit.high
    assert 0.8 <= held / 200 <= 0.99  # a 90% interval


def test_time_to_limit_is_reached_open_or_absent() -> None:
    x = np.arange(-10.0, 1.0)
    assert time_to_limit(x, np.full(11, 5.0), 4.0).time_s == 0.0
    assert time_to_limit(x, 3.0 - 0.1 * x, 4.0).time_s is None  # falling: never
    rng = np.random.default_rng(1)
    noisy = 1.0 + 0.01 * x + rng.normal(0, 0.3, len(x))  # barely rising
    est = time_to_limit(x, noisy, 4.0)
    if est.time_s is not None:
        assert est.high_s is None  # the slope may be zero: the latest end is open
    rising = time_to_limit(x, 1.0 + 0.5 * (x + 10), 7.0)
    assert rising.time_s == rising.low_s == rising.high_s == 2.0


def test_the_score_trend_gives_an_interval_around_its_estimate() -> None:
    rng = np.random.default_rng(2)
    scores = 6.0 + 0.05 * np.arange(30) + rng.normal(0, 0.2, 30)
    frame = FeatureFrame.of(np.zeros((30, 1)), ["x"], np.arange(30) * 60 * NS)
    est = ScoreSeverity(AlarmPolicy()).estimate(frame, 29, scores)
    assert est.time_s is not None and est.low_s is not None
    assert est.low_s < est.time_s and (est.high_s is None or est.time_s < est.high_s)
