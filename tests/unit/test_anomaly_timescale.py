"""Time scales follow the data: sampling step and training rows."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.analytics.anomaly.timescale import Span, parse_span, time_scales

NS = 1_000_000_000


def stamps(n: int, step_s: float) -> np.ndarray:
    return (np.arange(n) * step_s * NS).astype(np.int64)


def test_spans_are_rows_or_durations() -> None:
    assert parse_span("25") == Span(rows=25) == parse_span("25rows")
    assert parse_span("2min") == Span(ns=120 * NS)
    assert parse_span("0", allow_zero=True) == Span(rows=0) == parse_span("0s", allow_zero=True)
    for bad in ("0", "-3", "soon"):
        with pytest.raises(ValueError):
            parse_span(bad)


@pytest.mark.parametrize(("n", "step_s"), [(300, 1.0), (500, 180.0), (2000, 300.0)])
def test_the_window_is_a_share_of_the_training_rows_at_any_sampling_step(
    n: int, step_s: float
) -> None:
    s = time_scales(stamps(n + 100, step_s), train_rows=n, min_window_rows=2, min_samples=20)
    assert s.window_rows == n // 20 and s.step_ns == int(step_s * NS)
    assert s.min_duration_ns == (n // 20 // 4) * s.step_ns and s.derived


def test_given_spans_are_taken_in_time_or_rows() -> None:
    ts = stamps(1000, 2.0)
    a = time_scales(ts, train_rows=500, min_window_rows=2, min_samples=20,
                    window=Span(ns=60 * NS), min_duration=Span(rows=5))  # fmt: skip
    assert (a.window_rows, a.min_duration_ns, a.derived) == (30, 10 * NS, False)


def test_refusal_only_when_learning_is_impossible_and_it_says_what_would_do() -> None:
    ts = stamps(1000, 1.0)
    s = time_scales(ts, train_rows=35, min_window_rows=12, min_samples=24)
    assert s.window_rows == 12  # short training: the shortest window, not a refusal
    with pytest.raises(ValueError, match="train on at least 35 rows"):
        time_scales(ts, train_rows=34, min_window_rows=12, min_samples=24)
    with pytest.raises(ValueError, match="at most 26 rows"):
        time_scales(ts, train_rows=45, min_window_rows=2, min_samples=20, window=Span(rows=40))
