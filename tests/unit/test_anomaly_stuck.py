"""Bad samples are counted and skipped; a flat line is a finding of its own."""

from __future__ import annotations

import numpy as np

from plantos.analytics.anomaly.stuck import StuckWatch, clean, gaps
from plantos.core import quality

NS = 1_000_000_000


def test_bad_quality_nan_and_inf_become_nan_and_are_counted() -> None:
    codes = np.array(
        [quality.GOOD, quality.BAD_SENSOR_FAILURE, quality.GOOD, quality.GOOD], np.uint32
    )
    c = clean([1.0, 2.0, np.nan, -np.inf], codes)
    assert np.isnan(c.values[1:]).all() and c.values[0] == 1.0
    assert c.counts == {"bad": 1, "nan": 1, "inf": 1}


def test_flat_line_is_found_once_when_it_reaches_the_minimum_duration() -> None:
    watch = StuckWatch(min_duration_ns=10 * NS)
    ts = np.arange(40, dtype=np.int64) * NS
    values = np.concatenate([np.random.default_rng(0).normal(size=10), np.full(30, 4.2)])
    found = [
        run
        for part in np.array_split(np.arange(40), 7)
        for run in watch.update(ts[part], values[part])
    ]
    assert len(found) == 1
    assert found[0].start_ns == 10 * NS
    assert watch.stuck
    assert watch.update([40 * NS], [4.3]) == [] and not watch.stuck


def test_noisy_signal_is_never_stuck_and_nan_does_not_break_a_run() -> None:
    watch = StuckWatch(min_duration_ns=5 * NS)
    ts = np.arange(100, dtype=np.int64) * NS
    assert watch.update(ts, np.random.default_rng(1).normal(size=100)) == []
    flat = StuckWatch(min_duration_ns=5 * NS)
    assert len(flat.update(ts[:10], [1.0, 1.0, np.nan, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])) == 1


def test_gaps_longer_than_allowed_are_reported() -> None:
    runs = gaps(np.array([0, 1, 2, 10, 11], np.int64) * NS, max_gap_ns=3 * NS)
    assert [(r.start_ns, r.end_ns) for r in runs] == [(2 * NS, 10 * NS)]
