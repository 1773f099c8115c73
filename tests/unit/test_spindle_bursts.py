"""A snapshot that arrives short (a server that reported only changed values, a lost
notification) is skipped and counted once; it never holds back the snapshots after it."""

from __future__ import annotations

import numpy as np

from plantos.analytics.anomaly.spindle import SpindleFeatures, SpindleTags
from plantos.core.batch import SampleBatch

NS = 1_000_000_000
TAGS = SpindleTags(waveform=1, speed=2, velocity_rms=3, rate_hz=1000.0, samples=64)


def burst(start_ns: int, samples: int, rng: np.random.Generator) -> SampleBatch:
    """``samples`` waveform samples at 1 kHz from ``start_ns``, with a speed and RMS before."""
    wave_ts = start_ns + np.arange(samples, dtype=np.int64) * 1_000_000
    tag = np.concatenate([[2, 3], np.full(samples, 1)])
    ts = np.concatenate([[start_ns - NS, start_ns - NS], wave_ts])
    values = np.concatenate([[12_000.0, 1.5], rng.normal(size=samples)])
    return SampleBatch.of(tag, ts, values)


def test_a_short_snapshot_is_skipped_and_later_ones_count_once() -> None:
    rng = np.random.default_rng(3)
    features = SpindleFeatures(TAGS)
    rows = [
        len(features.update(burst(10 * NS, 1, rng)).ts_ns),  # a stopped spindle: one change
        len(features.update(burst(310 * NS, 64, rng)).ts_ns),
        len(features.update(burst(610 * NS, 64, rng)).ts_ns),
        len(features.update(burst(910 * NS, 40, rng)).ts_ns),  # still arriving
    ]
    assert rows == [0, 1, 1, 0]
    assert features.incomplete == 1


def test_the_newest_burst_is_kept_until_it_is_whole() -> None:
    rng = np.random.default_rng(4)
    whole = burst(10 * NS, 64, rng)
    features = SpindleFeatures(TAGS)
    assert len(features.update(whole.select(np.arange(30))).ts_ns) == 0
    assert len(features.update(whole.select(np.arange(30, len(whole)))).ts_ns) == 1
    assert features.incomplete == 0
