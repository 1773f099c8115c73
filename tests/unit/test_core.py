"""The shared kernel: batches, durations and times, quality codes, clocks."""

from __future__ import annotations

import numpy as np
import pytest

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock, ScaledClock
from plantos.core.errors import QueryError
from plantos.core.timeparse import format_duration, iso, parse_duration_ns, parse_time_ns

NS = 1_000_000_000


def test_batch_converts_types_and_defaults_quality_to_good() -> None:
    batch = SampleBatch.of([1, 2], [10, 20], [1, 2])
    assert batch.tag_id.dtype == np.int32 and batch.value.dtype == np.float64
    assert batch.quality.tolist() == [quality.GOOD, quality.GOOD]
    assert batch.to_arrow().num_rows == 2


def test_batch_refuses_ragged_columns_and_wrong_dtypes() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        SampleBatch.of([1, 2], [10], [1.0, 2.0])
    with pytest.raises(TypeError, match="ts must be int64"):
        SampleBatch(
            np.array([1], np.int32), np.array([1.0]), np.array([1.0]), np.array([0], np.uint32)
        )


def test_concat_and_select_keep_columns_aligned() -> None:
    joined = SampleBatch.concat(
        [SampleBatch.of([1], [1], [1.0]), SampleBatch.of([2, 3], [2, 3], [2.0, 3.0])]
    )
    assert joined.tag_id.tolist() == [1, 2, 3]
    picked = joined.select(joined.value > 1.5)
    assert picked.ts.tolist() == [2, 3]
    assert len(SampleBatch.concat([])) == 0


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("8h", 8 * 3600 * NS),
        ("30m", 1800 * NS),
        ("250ms", 250_000_000),
        ("1.5s", 1_500_000_000),
        ("2d", 172_800 * NS),
        ("100us", 100_000),
    ],
)
def test_durations(text: str, ns: int) -> None:
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["", "8", "h", "-1h", "1 fortnight", "1e3s"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"write e\.g\."):
        parse_duration_ns(text)


def test_format_duration_is_the_inverse_for_round_values() -> None:
    assert [format_duration(parse_duration_ns(t)) for t in ("1m", "1h", "1d", "90s", "7d")] == [
        "1m",
        "1h",
        "1d",
        "90s",
        "1w",
    ]


def test_times_absolute_relative_and_raw() -> None:
    now = 1_767_225_600 * NS
    assert parse_time_ns("now", now_ns=now) == now
    assert parse_time_ns("-1h", now_ns=now) == now - 3600 * NS
    assert parse_time_ns("2026-01-01T00:00:00Z", now_ns=0) == now
    assert parse_time_ns("2026-01-01T01:00:00+01:00", now_ns=0) == now
    assert parse_time_ns("2026-01-01 00:00:00", now_ns=0) == now  # naive means UTC
    assert parse_time_ns(str(now), now_ns=0) == now
    assert iso(now + 5_000_000) == "2026-01-01T00:00:00.005Z"
    with pytest.raises(QueryError, match="not a time"):
        parse_time_ns("yesterday-ish", now_ns=now)


def test_quality_severity_and_names() -> None:
    codes = np.array([quality.GOOD, quality.UNCERTAIN, quality.BAD_COMMUNICATION_ERROR], np.uint32)
    assert quality.is_bad(codes).tolist() == [False, False, True]
    assert [quality.severity(int(c)) for c in codes] == ["good", "uncertain", "bad"]
    assert quality.name(0x80AB0000) == "BadInvalidArgument"  # every OPC UA code by name
    assert quality.name(0x80FE0000) == "Bad(0x80FE0000)"  # a code OPC UA does not define


def test_manual_clock_never_goes_back_and_scaled_clock_runs_faster() -> None:
    clock = ManualClock(100)
    clock.advance_to(200)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(150)
    wall = ManualClock(0)
    scaled = ScaledClock(1_000, speed=60, wall=wall)
    wall.advance_to(NS)
    assert scaled.now_ns() == 1_000 + 60 * NS
    with pytest.raises(ValueError, match="speed must be positive"):
        ScaledClock(0, speed=0)


def test_scaled_clock_restarts_from_a_later_point_at_the_same_speed() -> None:
    wall = ManualClock(0)
    scaled = ScaledClock(0, speed=10, wall=wall)
    wall.advance_to(NS)
    scaled.restart_at(100 * NS)
    assert scaled.now_ns() == 100 * NS
    wall.advance_to(2 * NS)
    assert scaled.now_ns() == 110 * NS
