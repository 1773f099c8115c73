"""A snapshot that arrives short (a server that reported only changed values, a lost
notification) is skipped and counted once; it never holds back the snapshots after it.
A whole snapshot that arrives before its speed and RMS waits for them, so a spindle that
has just started again is not judged as a stopped one."""

from __future__ import annotations

import numpy as np

from plantos.analytics.anomaly.spindle import MAX_WAITING, SpindleFeatures, SpindleTags
from plantos.core import quality
from plantos.core.batch import SampleBatch

NS = 1_000_000_000
TAGS = SpindleTags(waveform=1, speed=2, velocity_rms=3, rate_hz=1000.0, samples=64)


def burst(
    start_ns: int, samples: int, rng: np.random.Generator, *, rpm: float = 12_000.0
) -> SampleBatch:
    """``samples`` waveform samples at 1 kHz from ``start_ns``, with a speed and RMS a
    second before and a second after (the 1 s RMS runs on; the speed jitters)."""
    wave_ts = start_ns + np.arange(samples, dtype=np.int64) * 1_000_000
    tag = np.concatenate([[2, 3], np.full(samples, 1), [2, 3]])
    ts = np.concatenate([[start_ns - NS] * 2, wave_ts, [start_ns + 2 * NS] * 2])
    values = np.concatenate([[rpm, 1.5], rng.normal(size=samples), [rpm + 1.0, 1.5]])
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


def test_a_snapshot_waits_for_the_speed_that_came_after_it_in_another_batch() -> None:
    rng = np.random.default_rng(5)
    features = SpindleFeatures(TAGS)
    stopped = SampleBatch.of([2, 3], [0, 0], [0.0, 0.2])  # the spindle stood still
    assert len(features.update(stopped).ts_ns) == 0
    running = burst(10 * NS, 64, rng)
    wave = running.tag_id == 1
    assert len(features.update(running.select(wave)).ts_ns) == 0  # its context not here yet
    rows = features.update(running.select(~wave))
    assert rows.state.tolist() == [12_000]  # not 0: judged as running, at its real speed
    assert rows.values[0, -1] == 1.5 and features.judged_early == 0


def test_a_held_speed_lets_the_snapshot_go_once_the_rms_has_run_on() -> None:
    rng = np.random.default_rng(6)
    features = SpindleFeatures(TAGS)
    first = burst(10 * NS, 64, rng)
    wave_and_before = first.select(first.ts < 10 * NS + 64_000_000)
    assert len(features.update(wave_and_before).ts_ns) == 0
    rms_only = SampleBatch.of([3, 3], [20 * NS, 80 * NS], [1.5, 1.5])  # no new speed
    rows = features.update(rms_only)
    assert rows.ts_ns.tolist() == [10 * NS] and rows.state.tolist() == [12_000]


def test_a_silent_context_holds_no_more_than_the_waiting_limit() -> None:
    rng = np.random.default_rng(7)
    features = SpindleFeatures(TAGS)
    judged = 0
    for k in range(MAX_WAITING + 3):
        whole = burst((10 + 300 * k) * NS, 64, rng)
        judged += len(features.update(whole.select(whole.tag_id == 1)).ts_ns)
    assert judged == 3 and features.judged_early == 3


def test_a_snapshot_with_an_overflowed_sample_is_skipped_and_counted() -> None:
    rng = np.random.default_rng(6)
    features = SpindleFeatures(TAGS)
    gapped = burst(10 * NS, 64, rng)
    codes = np.zeros(len(gapped), np.uint32)
    codes[20] = quality.OVERFLOW  # Good, but the server dropped values before this one
    gapped = SampleBatch.of(gapped.tag_id, gapped.ts, gapped.value, codes)
    assert len(features.update(gapped).ts_ns) == 0
    assert len(features.update(burst(310 * NS, 64, rng)).ts_ns) == 1
    assert (features.overflowed, features.incomplete) == (1, 0)
