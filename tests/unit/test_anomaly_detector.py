"""The Hotelling detector: never singular, robust to bad rows, one baseline per state."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.anomaly.detector import Detector, FeatureFrame, HotellingDetector
from plantos.analytics.anomaly.monitor import AnomalyMonitor
from plantos.analytics.anomaly.presets import VIBRATION

NAMES = ("a", "b", "c")
FIVE_MIN_NS = 300 * 1_000_000_000


def frame(values: np.ndarray, state: np.ndarray | None = None) -> FeatureFrame:
    return FeatureFrame.of(values, NAMES, state=state)


def healthy(n: int = 300, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3))


def test_hotelling_implements_the_detector_port() -> None:
    assert isinstance(HotellingDetector(), Detector)


@pytest.mark.parametrize(
    "training",
    [
        np.ones((50, 3)),  # flat
        np.column_stack([np.arange(50.0)] * 3),  # perfectly collinear
        np.ones((1, 3)),  # a single sample
    ],
    ids=["flat", "collinear", "single-sample"],
)
def test_degenerate_training_never_gives_a_singular_baseline(training: np.ndarray) -> None:
    det = HotellingDetector(min_samples=1, ewma_alpha=1.0)
    det.fit(frame(training))
    center = np.median(training, axis=0)
    scores = det.score_batch(frame(np.vstack([center, center + 1000.0])))
    assert np.isfinite(scores).all()
    assert scores[1] > scores[0]


def test_zero_variance_feature_while_training_is_reported_as_stuck() -> None:
    x = healthy()
    x[:, 1] = 7.0
    det = HotellingDetector()
    det.fit(frame(x))
    assert det.stuck == {0: ("b",)}


def test_nan_and_inf_rows_are_skipped_and_counted_never_learned() -> None:
    x = healthy()
    x[::10, 0] = np.nan
    x[5, 2] = np.inf
    x[7, 1] = 1e12  # a finite glitch must not move the robust baseline either
    det = HotellingDetector()
    det.fit(frame(x))
    assert det.skipped_rows == 31
    assert np.isfinite(det.baselines[0].center).all()
    scores = det.raw_scores(frame(np.array([[np.nan, 0.0, 0.0], [0.0, 0.0, 0.0]])))
    assert np.isnan(scores[0]) and scores[1] < 1.0
    assert det.skipped_rows == 32


def test_each_operating_state_has_its_own_baseline() -> None:
    rng = np.random.default_rng(1)
    fast = rng.normal([10.0, 5.0, 1.0], 0.1, size=(200, 3))
    slow = rng.normal([2.0, 1.0, 0.2], 0.1, size=(200, 3))
    det = HotellingDetector(ewma_alpha=1.0)
    det.fit(frame(np.vstack([fast, slow]), np.repeat([12000, 3000], 200)))
    normal = det.score_batch(
        frame(np.array([[10.0, 5.0, 1.0], [2.0, 1.0, 0.2]]), np.array([12000, 3000]))
    )
    assert (normal < 2.0).all()
    # The fast spindle's healthy vibration is an anomaly at 3,000 rpm, and vice versa.
    swapped = det.score_batch(
        frame(np.array([[10.0, 5.0, 1.0], [2.0, 1.0, 0.2]]), np.array([3000, 12000]))
    )
    assert (swapped > 100.0).all()
    unknown = det.score_batch(frame(np.zeros((1, 3)), np.array([6000])))
    assert np.isnan(unknown[0]) and det.unknown_state_rows == 1


def test_contributions_point_at_the_feature_that_moved() -> None:
    det = HotellingDetector()
    det.fit(frame(healthy()))
    shares = det.contributions(frame(np.array([[0.0, 8.0, 0.0]])))[0]
    assert int(np.argmax(shares)) == 1
    assert shares.sum() == pytest.approx(det.raw_scores(frame(np.array([[0.0, 8.0, 0.0]])))[0])


def test_scores_batch_by_batch_equal_scores_at_once() -> None:
    x = healthy(500, seed=2)
    x[300:] += 2.0
    det = HotellingDetector()
    det.fit(frame(x[:200]))
    at_once = det.score_batch(frame(x[200:]))
    det.reset()
    pieces = [det.score_batch(frame(p)) for p in np.array_split(x[200:], [1, 7, 150])]
    np.testing.assert_array_equal(np.concatenate(pieces), at_once)


def test_a_relative_scale_floor_keeps_a_tight_baseline_from_flagging_a_small_shift() -> None:
    """24 rows of a short, quiet run: their spread (0.2% of the level) is tighter than a
    reading repeats, so a 3% shift flags without a floor and not with a 5% one, while a
    tenfold rise flags either way."""
    x = 100.0 + np.random.default_rng(1).normal(0, 0.2, size=(24, 3))
    shifted, broken = np.full((1, 3), 103.0), np.full((1, 3), 1000.0)
    default, floored = (
        HotellingDetector(ewma_alpha=1.0, min_samples=8, relative_scale_floor=f)
        for f in (1e-3, 0.05)
    )
    for det in (default, floored):
        det.fit(frame(x))
    assert default.raw_scores(frame(shifted))[0] > 20
    assert floored.raw_scores(frame(shifted))[0] < 1
    assert floored.raw_scores(frame(broken))[0] > 1000
    with pytest.raises(ValueError, match="relative_scale_floor"):
        HotellingDetector(relative_scale_floor=0)


def _vibration_monitor(*, capped: bool) -> AnomalyMonitor:
    """The vibration preset's detector and alarm (5 min snapshots, 15 min to raise),
    trained on healthy rows; ``capped=False`` is the same detector without the cap."""
    det = VIBRATION.detector()
    if not capped:
        det = HotellingDetector(
            ewma_alpha=VIBRATION.alpha(0),
            min_samples=VIBRATION.min_samples,
            relative_scale_floor=VIBRATION.relative_scale_floor,
        )
    monitor = AnomalyMonitor(det, subject="cnc", policy=VIBRATION.policy)
    monitor.fit(FeatureFrame.of(10.0 + healthy(200), NAMES, np.arange(200) * FIVE_MIN_NS))
    return monitor


def _rows(values: np.ndarray, start: int = 200) -> FeatureFrame:
    return FeatureFrame.of(values, NAMES, (start + np.arange(len(values))) * FIVE_MIN_NS)


def test_the_vibration_preset_caps_the_raw_score_at_four_times_the_raise_threshold() -> None:
    det = VIBRATION.detector()
    assert isinstance(det, HotellingDetector)
    assert det.raw_cap == 4.0 * VIBRATION.policy.raise_at
    with pytest.raises(ValueError, match="raw_cap"):
        HotellingDetector(raw_cap=0.0)


def test_one_wild_snapshot_followed_by_normal_ones_raises_no_alarm() -> None:
    rows = 10.0 + healthy(12, seed=1)
    rows[0] += 1000.0  # one snapshot that arrived damaged: a raw score in the hundreds of thousands
    capped = _vibration_monitor(capped=True).process(_rows(rows))
    uncapped = _vibration_monitor(capped=False).process(_rows(rows))
    assert not capped.flags.any()
    assert capped.scores[1] < VIBRATION.policy.raise_at  # it fades after a single row
    assert uncapped.flags.any()  # what the cap prevents: the outlier alone held the score up


def test_a_sustained_high_score_raises_at_the_same_row_as_without_the_cap() -> None:
    rows = 10.0 + healthy(12, seed=2)
    rows[3:] += 1000.0  # a step far beyond the cap, from the fourth snapshot on
    capped = _vibration_monitor(capped=True).process(_rows(rows))
    uncapped = _vibration_monitor(capped=False).process(_rows(rows))
    first = int(np.argmax(capped.flags))
    assert capped.flags.any()
    assert first == int(np.argmax(uncapped.flags))
    assert first == 3 + VIBRATION.policy.min_duration_ns // FIVE_MIN_NS
