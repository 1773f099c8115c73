"""The live state holds the newest sample per tag, whatever order samples arrive in."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.live import LiveState


def test_newest_sample_of_each_tag_wins_within_a_batch() -> None:
    live = LiveState(10)
    live.update(SampleBatch.of([3, 3, 5, 3], [30, 10, 50, 20], [3.0, 1.0, 5.0, 2.0]))
    assert live.get(3).value == 3.0 and live.get(3).ts_ns == 30
    assert live.get(5).value == 5.0
    assert live.get(4) is None and live.get(99) is None


def test_late_sample_does_not_overwrite_a_newer_value() -> None:
    live = LiveState(4)
    live.update(SampleBatch.of([1], [100], [9.0]))
    live.update(SampleBatch.of([1, 2], [50, 60], [1.0, 2.0], [quality.GOOD, quality.BAD]))
    assert live.get(1).value == 9.0
    assert live.get(2).quality == quality.BAD


def test_tag_ids_outside_capacity_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the live state"):
        LiveState(2).update(SampleBatch.of([5], [1], [1.0]))


def test_large_random_batches_match_a_per_tag_maximum() -> None:
    rng = np.random.default_rng(1)
    live = LiveState(100)
    all_tags, all_ts, all_v = [], [], []
    for _ in range(5):
        tags = rng.integers(0, 100, 5000)
        ts = rng.integers(0, 10**6, 5000)
        values = rng.normal(size=5000)
        live.update(SampleBatch.of(tags, ts, values))
        all_tags.append(tags), all_ts.append(ts), all_v.append(values)
    tags, ts, values = map(np.concatenate, (all_tags, all_ts, all_v))
    for tag in range(100):
        sel = tags == tag
        assert live.get(tag).ts_ns == ts[sel].max()
