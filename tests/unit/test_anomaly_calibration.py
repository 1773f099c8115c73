"""Alarm thresholds calibrated from the training rows alone: held-out, with a floor."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from plantos.analytics.anomaly.alarm import AlarmPolicy
from plantos.analytics.anomaly.calibration import calibrate, chi2_per_dof_quantile
from plantos.analytics.anomaly.detector import FeatureFrame, HotellingDetector
from plantos.analytics.anomaly.offline import Table, detect
from plantos.analytics.anomaly.presets import SLOW, Calibration

NS = 1_000_000_000
NAMES = ("a", "b", "c", "d")
BASE = AlarmPolicy(min_duration_ns=60 * NS)


def detector() -> HotellingDetector:
    return HotellingDetector(ewma_alpha=0.2, min_samples=10)


@pytest.mark.parametrize(("p", "k", "exact"), [(0.999, 4, 18.467 / 4), (0.99, 10, 23.209 / 10)])
def test_chi_square_quantile_is_close_to_the_tabulated_value(
    p: float, k: int, exact: float
) -> None:
    assert chi2_per_dof_quantile(p, k) == pytest.approx(exact, rel=0.02)


def test_a_perfectly_fitted_series_gets_the_floor_not_a_zero_threshold() -> None:
    flat = FeatureFrame.of(np.ones((200, 4)), NAMES)
    cal = calibrate(detector, flat, BASE, Calibration())
    assert cal.policy.raise_at == pytest.approx(chi2_per_dof_quantile(0.999, 4))
    assert cal.policy.clear_at == pytest.approx(cal.policy.raise_at / 2)
    assert cal.policy.min_duration_ns == BASE.min_duration_ns  # the rest of the policy is kept


def test_a_restless_training_period_raises_the_threshold_above_the_floor() -> None:
    rng = np.random.default_rng(0)
    calm = FeatureFrame.of(rng.normal(size=(400, 4)), NAMES)
    drifting = rng.normal(size=(400, 4))
    drifting[200:] += 3.0  # the second half sits elsewhere: held out, it scores high
    restless = FeatureFrame.of(drifting, NAMES)
    calm_cal = calibrate(detector, calm, BASE, Calibration())
    restless_cal = calibrate(detector, restless, BASE, Calibration())
    assert calm_cal.held_out_rows == 400
    assert restless_cal.policy.raise_at > 2 * calm_cal.policy.raise_at
    assert restless_cal.held_out_quantile is not None
    assert restless_cal.policy.raise_at == pytest.approx(1.5 * restless_cal.held_out_quantile)


def test_offline_thresholds_depend_on_the_training_rows_only() -> None:
    rng = np.random.default_rng(1)
    ts = np.arange(1000, dtype=np.int64) * 300 * NS
    y = 20.0 + rng.normal(size=1000)
    other = y.copy()
    other[400:] += np.linspace(0, 50, 600)  # whatever happens after training
    runs = [detect(Table(ts, [""] * 1000, {"t": v}), train_rows=400) for v in (y, other)]
    assert runs[0].policy == runs[1].policy
    assert not runs[0].flags[:400].any() and np.isnan(runs[0].scores[:400]).all()
    assert any("alarm thresholds from the training rows" in n for n in runs[0].notes)


def test_the_slow_preset_ties_its_smoothing_to_the_window() -> None:
    five_min = np.arange(100, dtype=np.int64) * 300 * NS
    hourly = np.arange(100, dtype=np.int64) * 3600 * NS
    with pytest.raises(ValueError, match="from the training rows"):
        SLOW.window_rows(five_min)
    one_hour = dataclasses.replace(SLOW, window_ns=3600 * NS)
    assert one_hour.window_rows(five_min) == 12
    assert one_hour.window_rows(hourly) == 12  # never fewer rows than a slope needs
    assert getattr(SLOW.detector(12), "ewma_alpha", None) == pytest.approx(2 / 13)
    with pytest.raises(ValueError, match="window in rows"):
        SLOW.detector()


def test_a_preset_refuses_a_window_of_no_length() -> None:
    with pytest.raises(ValueError, match="window must be positive"):
        dataclasses.replace(SLOW, window_ns=0)
