"""Window features against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.anomaly.features import (
    SlowFeatureStream,
    StateExpectation,
    slow_features,
    snapshot_features,
    speed_band,
)

RATE_HZ = 10_000.0


def test_sine_has_known_rms_peak_crest_and_kurtosis() -> None:
    t = np.arange(10_000) / RATE_HZ
    x, names = snapshot_features([3.0 * np.sin(2 * np.pi * 100 * t)], rate_hz=RATE_HZ, bands_hz=[])
    rms, peak, crest, kurt = x[0]
    assert names == ("rms", "peak", "crest", "kurtosis")
    assert rms == pytest.approx(3.0 / np.sqrt(2), rel=1e-6)
    assert peak == pytest.approx(3.0, rel=1e-6)
    assert crest == pytest.approx(np.sqrt(2), rel=1e-6)
    assert kurt == pytest.approx(1.5, rel=1e-6)


def test_fft_band_energy_of_a_tone_sits_in_its_band() -> None:
    t = np.arange(4096) / RATE_HZ
    tone = 2.0 * np.sin(2 * np.pi * 3000.0 * t)
    x, _ = snapshot_features(
        [tone], rate_hz=RATE_HZ, bands_hz=[(0, 2500), (2500, 3500), (3500, 5000)]
    )
    low, resonance, high = x[0, 4:]
    assert low + resonance + high == pytest.approx(np.var(tone), rel=1e-9)  # Parseval
    assert resonance > 0.99 * 2.0  # mean square of amplitude 2 is 2
    assert low < 0.01 and high < 0.01


def test_flat_snapshot_has_zero_crest_and_kurtosis_not_nan() -> None:
    x, _ = snapshot_features([np.zeros(64)], rate_hz=RATE_HZ, bands_hz=[(0, 100)])
    assert np.isfinite(x).all() and (x == 0).all()


def test_slow_features_of_a_line_give_its_level_and_slope() -> None:
    feats = slow_features(2.0 * np.arange(10) + 5.0, window=5)
    assert np.isnan(feats[:4]).all()  # warm-up
    level, slope, _spread, residual = feats[-1]
    assert level == pytest.approx(2.0 * 7 + 5.0)
    assert slope == pytest.approx(2.0)
    assert residual == pytest.approx(4.0)


def test_slow_features_skip_missing_samples_and_refuse_mostly_missing_windows() -> None:
    y = np.array([1.0, np.nan, 3.0, 4.0, np.nan, np.nan, np.nan, 8.0])
    feats = slow_features(y, window=4)
    assert feats[3, 1] == pytest.approx(1.0)  # slope through 1, 3, 4 at t = 0, 2, 3
    assert np.isnan(feats[4]).all()  # newest sample missing
    assert np.isnan(feats[7]).all()  # 1 valid sample in 4


def test_stream_gives_the_same_features_batch_by_batch() -> None:
    y = np.random.default_rng(3).normal(size=200)
    stream = SlowFeatureStream(window=12)
    parts = [stream.update(chunk) for chunk in np.array_split(y, [5, 6, 50, 130])]
    np.testing.assert_array_equal(np.vstack(parts), slow_features(y, window=12))


def test_residual_is_measured_from_the_expected_level_of_the_state() -> None:
    exp = StateExpectation()
    exp.fit([60.0, 61.0, 40.0, 41.0], [12000, 12000, 4000, 4000])
    assert exp.residual([65.0, 45.0, 1.0], [12000, 4000, 8000]).tolist()[:2] == [4.5, 4.5]
    assert np.isnan(exp.residual([1.0], [8000])[0])


def test_speed_band_separates_stopped_slow_and_fast() -> None:
    assert speed_band([0.0, 3000.0, 12000.0]).tolist() == [0, 4000, 12000]
