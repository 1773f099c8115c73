"""The multichannel monitor: relations between channels, not only their levels."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.anomaly.detector import Detector, FeatureFrame
from plantos.analytics.anomaly.events import AnomalyRaised
from plantos.analytics.anomaly.monitor import AnomalyMonitor
from plantos.analytics.anomaly.pca import PcaDetector
from plantos.analytics.anomaly.presets import MULTICHANNEL

NAMES = ("flow", "pressure", "current")


def pump(n: int, *, seed: int = 0, leak_from: int | None = None) -> np.ndarray:
    """Pressure and current follow the flow; from ``leak_from`` the pressure no longer does,
    while every channel stays inside its own healthy range."""
    rng = np.random.default_rng(seed)
    flow = 20 + 2 * np.sin(np.arange(n) / 40) + rng.normal(0, 0.1, n)
    pressure = 3 + 0.15 * flow + rng.normal(0, 0.01, n)
    current = 11 + 0.2 * flow + rng.normal(0, 0.02, n)
    if leak_from is not None:
        pressure[leak_from:] -= 0.12
    return np.column_stack([flow, pressure, current])


def monitor() -> AnomalyMonitor:
    policy = MULTICHANNEL.policy
    return AnomalyMonitor(PcaDetector(ewma_alpha=2 / 16), subject="pump", policy=policy)


def test_pca_implements_the_detector_port() -> None:
    assert isinstance(PcaDetector(), Detector)


def test_a_broken_relation_is_flagged_and_named_while_levels_stay_in_range() -> None:
    healthy = pump(300)
    test = pump(600, seed=1, leak_from=400)
    lo, hi = healthy[:, 1].min(), healthy[:, 1].max()
    assert ((test[400:, 1] > lo) & (test[400:, 1] < hi)).mean() > 0.7  # levels look healthy
    m = monitor()
    m.fit(FeatureFrame.of(healthy, NAMES))
    out = m.process(FeatureFrame.of(test, NAMES))
    assert not out.flags[:400].any() and out.flags[420:].mean() > 0.9
    raised = [e for e in out.events if isinstance(e, AnomalyRaised)]
    assert len(raised) == 1
    top = raised[0].evidence[0]
    assert top.feature == "pressure" and top.relation.startswith("off its relation with flow")
    assert top.expected is not None and top.expected > top.value  # what the flow predicts
    assert sum(e.share for e in raised[0].evidence) <= raised[0].score * 1.0001


def test_units_do_not_matter() -> None:
    healthy, test = pump(300), pump(500, seed=1, leak_from=300)
    scale = np.array([1.0, 1e5, 1e-3])  # bar to Pa, mA to A
    scores = []
    for k in (np.ones(3), scale):
        d = PcaDetector()
        d.fit(FeatureFrame.of(healthy * k, NAMES))
        scores.append(d.score_batch(FeatureFrame.of(test * k, NAMES)))
    np.testing.assert_allclose(scores[0], scores[1], rtol=1e-6)


def test_a_constant_channel_is_left_out_and_named() -> None:
    healthy = np.column_stack([pump(300), np.full(300, 7.0)])
    d = PcaDetector()
    d.fit(FeatureFrame.of(healthy, (*NAMES, "setpoint")))
    assert d.stuck == {0: ("setpoint",)}
    scores = d.score_batch(
        FeatureFrame.of(
            np.column_stack([pump(100, seed=2), np.full(100, 7.0)]), (*NAMES, "setpoint")
        )
    )
    assert np.isfinite(scores).all()


def test_missing_values_neither_raise_nor_hide_the_score() -> None:
    d = PcaDetector()
    d.fit(FeatureFrame.of(pump(300), NAMES))
    clean = pump(300, seed=3)
    gappy = clean.copy()
    gappy[::7, 2] = np.nan  # the current misses every seventh sample
    gappy[5] = np.nan  # one row has nothing: no judgement
    a = d.score_batch(FeatureFrame.of(clean, NAMES))
    d.reset()
    b = d.score_batch(FeatureFrame.of(gappy, NAMES))
    assert np.isnan(b[5]) and np.isfinite(np.delete(b, 5)).all()
    assert np.nanmax(np.abs(a - b)) < 0.5


def test_scores_batch_by_batch_equal_scores_at_once() -> None:
    d = PcaDetector()
    d.fit(FeatureFrame.of(pump(300), NAMES))
    frame = FeatureFrame.of(pump(200, seed=4, leak_from=100), NAMES)
    whole = d.score_batch(frame)
    d.reset()
    parts = np.concatenate([d.score_batch(frame.rows(slice(i, i + 37))) for i in range(0, 200, 37)])
    np.testing.assert_allclose(whole, parts, rtol=1e-12)  # BLAS may round by batch size


def test_too_few_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="need 20"):
        PcaDetector().fit(FeatureFrame.of(pump(10), NAMES))
