"""Counter deltas: resets, rollovers, NaN, infinities and bad quality never miscount."""

from __future__ import annotations

import numpy as np

from plantos.analytics.oee.counters import counter_deltas

NAN, INF = float("nan"), float("inf")


def deltas(values: list[float], last: float = NAN, **kw: object) -> tuple[list[int], float]:
    got, new_last = counter_deltas(np.array(values, dtype=np.float64), last=last, **kw)  # type: ignore[arg-type]
    return got.tolist(), new_last


def test_first_sample_sets_the_baseline_and_counts_nothing() -> None:
    assert deltas([100, 101, 103]) == ([0, 1, 2], 103.0)


def test_previous_batch_value_carries_over() -> None:
    assert deltas([101, 101, 104], last=100.0) == ([1, 0, 3], 104.0)


def test_reset_to_zero_counts_what_was_counted_since() -> None:
    assert deltas([50, 51, 0, 2], last=49.0) == ([1, 1, 0, 2], 2.0)
    assert deltas([50, 3], last=49.0) == ([1, 3], 3.0)


def test_rollover_counts_across_the_wrap() -> None:
    got, last = deltas([65534, 65535, 1], last=65533.0, rollover=65535)
    assert got == [1, 1, 2]
    assert last == 1.0


def test_drop_far_from_the_top_is_a_reset_even_with_rollover() -> None:
    assert deltas([100, 5], last=99.0, rollover=65535)[0] == [1, 5]


def test_nan_and_inf_are_skipped_and_the_next_good_sample_catches_up() -> None:
    assert deltas([11, NAN, INF, -INF, 15], last=10.0) == ([1, 0, 0, 0, 4], 15.0)


def test_bad_quality_samples_are_skipped() -> None:
    valid = np.array([True, False, True])
    assert deltas([11, 9999, 12], last=10.0, valid=valid) == ([1, 0, 1], 12.0)


def test_only_bad_samples_keep_the_last_good_value() -> None:
    assert deltas([NAN, NAN], last=7.0) == ([0, 0], 7.0)


def test_stuck_counter_counts_zero() -> None:
    assert deltas([42] * 5, last=42.0) == ([0] * 5, 42.0)


def test_fractional_noise_is_rounded_to_whole_parts() -> None:
    assert deltas([10.0000001, 11.9999999], last=10.0)[0] == [0, 2]
