"""The stream and the offline path give the same answers; spindle batches become feature rows."""

from __future__ import annotations

import dataclasses

import numpy as np

from plantos.analytics.anomaly.calibration import calibrate
from plantos.analytics.anomaly.detector import FeatureFrame
from plantos.analytics.anomaly.features import SLOW_FEATURES, SlowFeatureStream
from plantos.analytics.anomaly.monitor import AnomalyMonitor
from plantos.analytics.anomaly.offline import Table, detect
from plantos.analytics.anomaly.presets import SLOW
from plantos.analytics.anomaly.spindle import SpindleFeatures, SpindleTags
from plantos.core import quality
from plantos.core.batch import SampleBatch

NS = 1_000_000_000
STEP_NS = 300 * NS


def drifting_series(n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    y = 80.0 + rng.normal(0, 1.0, n)
    y[1000:] -= np.linspace(0, 30, n - 1000)  # the machine cools: a failure on its way
    return np.arange(n, dtype=np.int64) * STEP_NS, y


def test_streaming_batches_score_exactly_like_the_offline_file() -> None:
    ts, y = drifting_series()
    train = 400
    preset = dataclasses.replace(SLOW, window_ns=3600 * NS)  # 12 rows: short training suffices
    offline = detect(Table(ts, [str(t) for t in ts], {"t": y}), train_rows=train, preset=preset)
    window = preset.window_rows(ts)
    features = SlowFeatureStream(window=window)
    names = tuple(f"t.{f}" for f in SLOW_FEATURES)
    training = FeatureFrame.of(features.update(y[:train]), names, ts[:train])
    assert preset.calibration is not None
    policy = calibrate(lambda: preset.detector(window), training, preset.policy, preset.calibration)
    assert policy.policy == offline.policy  # the thresholds come from the training rows alone
    monitor = AnomalyMonitor(preset.detector(window), subject="", policy=policy.policy)
    monitor.fit(training)
    scores, flags = [], []
    for part in np.array_split(np.arange(train, len(y)), 37):
        out = monitor.process(FeatureFrame.of(features.update(y[part]), names, ts[part]))
        scores.append(out.scores)
        flags.append(out.flags)
    np.testing.assert_array_equal(np.concatenate(scores), offline.scores[train:])
    np.testing.assert_array_equal(np.concatenate(flags), offline.flags[train:])
    assert offline.flags[1100:].any() and not offline.flags[:1000].any()


def spindle_batch(
    start_ns: int, rpm: float, rng: np.random.Generator, bad: bool = False
) -> SampleBatch:
    """One snapshot of 64 samples at 1 kHz plus 1 s speed and RMS samples around it."""
    wave_ts = start_ns + np.arange(64, dtype=np.int64) * 1_000_000
    slow_ts = start_ns + np.arange(-3, 1, dtype=np.int64) * NS
    tag = np.concatenate([np.full(64, 1), np.full(4, 2), np.full(4, 3)])
    ts = np.concatenate([wave_ts, slow_ts, slow_ts])
    values = np.concatenate([rng.normal(size=64), np.full(4, rpm), np.full(4, 1.5)])
    codes = np.zeros(len(ts), np.uint32)
    if bad:
        codes[:3] = quality.BAD_SENSOR_FAILURE
    order = np.argsort(ts, kind="stable")
    return SampleBatch.of(tag[order], ts[order], values[order], codes[order])


def test_spindle_snapshots_become_rows_even_when_split_across_batches() -> None:
    rng = np.random.default_rng(0)
    tags = SpindleTags(waveform=1, speed=2, velocity_rms=3, rate_hz=1000.0, samples=64)
    whole = SampleBatch.concat(
        [spindle_batch(10 * NS, 12_000.0, rng), spindle_batch(310 * NS, 3_000.0, rng, bad=True)]
    )
    at_once = SpindleFeatures(tags).update(whole)
    split = SpindleFeatures(tags)
    cut = 100  # inside the second snapshot
    first = split.update(whole.select(np.arange(cut)))
    second = split.update(whole.select(np.arange(cut, len(whole))))
    rows = FeatureFrame.concat([first, second])
    np.testing.assert_allclose(rows.values, at_once.values, rtol=1e-12)
    assert rows.state.tolist() == [12_000, 3_000]
    assert rows.values[0, -1] == 1.5  # the 1 s velocity RMS at the snapshot
    assert np.isnan(rows.values[1, :-1]).all()  # a snapshot with bad samples: no judgement
    assert split.skipped["bad"] == 3
