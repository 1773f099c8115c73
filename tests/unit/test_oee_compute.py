"""ISO 22400 OEE on hand-computed cases: formulas, calendar, six big losses, Paretos, rollups."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pytest

from plantos.analytics.oee import (
    LOSSES,
    OeeTotals,
    ReasonBook,
    asset_totals,
    day_periods,
    loss_pareto,
    reason_pareto,
    rollup,
    shift_periods,
)
from plantos.analytics.oee.binding import CATEGORIES
from plantos.analytics.oee.records import AssetHistory, Counts, Intervals
from plantos.core.timeparse import parse_time_ns
from plantos.model import load_plant_text
from plantos.model.calendar import ShiftCalendar
from plantos.model.schema import CalendarSpec

S = 1_000_000_000
MIN = 60 * S
H = 60 * MIN
STATES = ("unknown", "running", "idle", "changeover", "down", "maintenance")
CATEGORY = np.array(
    [
        CATEGORIES.index(c)
        for c in (
            "unknown",
            "producing",
            "delay",
            "setup",
            "unplanned_downtime",
            "planned_downtime",
        )
    ],
    dtype=np.int8,
)
DAY = parse_time_ns("2026-01-05T00:00:00Z", now_ns=0)


def history(
    intervals: list[tuple[float, float, str]],
    counts: list[tuple[float, int, int]] = (),  # type: ignore[assignment]
    *,
    cycle_s: float = 10,
    micro_stop_s: float = 120,
    startup_s: float = 100,
    origin: int = 0,
) -> AssetHistory:
    """Intervals (start s, end s, state) and counts (ts s, total, scrap) after ``origin``."""
    return AssetHistory(
        asset="e/s/a/l/m",
        states=STATES,
        category=CATEGORY,
        intervals=Intervals(
            np.array([origin + int(a * S) for a, _, _ in intervals], np.int64),
            np.array([origin + int(b * S) for _, b, _ in intervals], np.int64),
            np.array([STATES.index(s) for _, _, s in intervals], np.int16),
        ),
        counts=Counts(
            np.array([origin + int(t * S) for t, _, _ in counts], np.int64),
            np.array([n for _, n, _ in counts], np.int64),
            np.array([x for _, _, x in counts], np.int64),
            np.full(len(counts), int(cycle_s * S), np.int64),
        ),
        micro_stop_ns=int(micro_stop_s * S),
        startup_ns=int(startup_s * S),
    )


HAND = history(
    [
        (0, 100, "changeover"),
        (100, 500, "running"),
        (500, 560, "idle"),
        (560, 700, "running"),
        (700, 1000, "down"),
    ],
    [(150, 20, 2), (400, 20, 0), (650, 10, 1)],
)


def test_iso_22400_formulas_on_a_hand_computed_case() -> None:
    t = asset_totals(HAND, None, 0, 1000 * S)
    assert (t.planned_ns, t.run_ns, t.ideal_ns) == (1000 * S, 540 * S, 500 * S)
    assert (t.total, t.good) == (50, 47)
    assert t.availability == pytest.approx(0.54)
    assert t.performance == pytest.approx(500 / 540)
    assert t.quality == pytest.approx(47 / 50)
    assert t.oee == pytest.approx(0.47)  # = good parts x ideal cycle / planned time


def test_six_big_losses_partition_the_lost_time() -> None:
    t = asset_totals(HAND, None, 0, 1000 * S)
    assert {k: v // S for k, v in t.losses.items()} == {
        "breakdowns": 300,
        "setup_adjustments": 100,
        "small_stops": 60,
        "reduced_speed": 40,
        "startup_rejects": 20,
        "production_rejects": 10,
    }
    fully_productive = t.good * 10 * S
    assert sum(t.losses.values()) == t.planned_ns - fully_productive
    assert t.micro_stops == 1


def test_loss_and_reason_paretos_are_sorted_and_unexplained_downtime_shows() -> None:
    book = ReasonBook()
    book.assign_reason(HAND.asset, 700 * S, "spindle jam")
    t = asset_totals(HAND, None, 0, 1000 * S, reasons=book)
    assert [k for k, _ in loss_pareto(t)] == list(LOSSES)
    assert [(k, v // S) for k, v in reason_pareto(t)] == [("spindle jam", 300), ("unassigned", 160)]


def test_empty_reason_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        ReasonBook().assign_reason("x", 0, "  ")


def test_micro_stops_are_counted_by_their_whole_length_not_the_clipped_one() -> None:
    h = history(
        [(0, 100, "running"), (100, 130, "idle"), (130, 200, "running"), (200, 500, "idle")]
    )
    t = asset_totals(h, None, 0, 250 * S)
    assert t.micro_stops == 1
    assert (t.losses["small_stops"], t.losses["breakdowns"]) == (30 * S, 50 * S)


def calendar() -> ShiftCalendar:
    spec = CalendarSpec.model_validate(
        {
            "timezone": "UTC",
            "shifts": [
                {"name": "early", "start": "06:00", "end": "14:00", "days": ["mon"]},
                {"name": "late", "start": "14:00", "end": "22:00", "days": ["mon"]},
            ],
            "breaks": [{"name": "lunch", "start": "10:00", "duration": "30m"}],
        }
    )
    return ShiftCalendar(spec, ZoneInfo("UTC"))


def test_breaks_and_time_outside_shifts_are_planned_downtime() -> None:
    h = history(
        [
            (6 * 3600, 9 * 3600 + 50 * 60, "running"),
            (9 * 3600 + 50 * 60, 10 * 3600 + 10 * 60, "down"),
            (10 * 3600 + 10 * 60, 10 * 3600 + 30 * 60, "idle"),
            (10 * 3600 + 30 * 60, 24 * 3600, "running"),
        ],
        origin=DAY,
    )
    early = asset_totals(h, calendar(), DAY + 6 * H, DAY + 14 * H)
    assert early.planned_ns == 7 * H + 30 * MIN
    assert early.run_ns == 7 * H + 20 * MIN
    assert early.losses["breakdowns"] == 10 * MIN  # the rest of the stop fell in the break
    assert early.planned_downtime_ns == 30 * MIN
    night = asset_totals(h, calendar(), DAY + 22 * H, DAY + 24 * H)
    assert night.planned_ns == night.run_ns == 2 * H  # running outside shifts counts as planned


def test_a_planned_downtime_state_is_not_planned_production_time() -> None:
    h = history([(0, 600, "running"), (600, 1000, "maintenance")])
    t = asset_totals(h, None, 0, 1000 * S)
    assert (t.planned_ns, t.planned_downtime_ns, t.availability) == (600 * S, 400 * S, 1.0)


def test_nothing_planned_gives_no_ratio_instead_of_a_made_up_one() -> None:
    h = history([(0, 3600, "idle")], origin=DAY)
    t = asset_totals(h, calendar(), DAY, DAY + H)  # 00:00-01:00, no shift
    assert t.planned_ns == 0
    assert (t.availability, t.performance, t.quality, t.oee) == (None, None, None, None)


def test_startup_rejects_follow_a_setup_or_the_start_of_planned_time() -> None:
    h = history(
        [(6 * 3600, 14 * 3600, "running")],
        [(6 * 3600 + 50, 5, 1), (8 * 3600, 5, 1), (10 * 3600 + 30 * 60 + 10, 5, 1)],
        origin=DAY,
    )
    t = asset_totals(h, calendar(), DAY + 6 * H, DAY + 14 * H)
    assert t.losses["startup_rejects"] == 20 * S  # shift start and end of lunch
    assert t.losses["production_rejects"] == 10 * S


def test_bad_data_shows_as_unknown_time_and_parts_without_ideal_cycle() -> None:
    h = history([(0, 500, "running"), (500, 1000, "unknown")], [(100, 10, 0)], cycle_s=10)
    h = AssetHistory(
        h.asset,
        h.states,
        h.category,
        h.intervals,
        Counts(h.counts.ts_ns, h.counts.total, h.counts.scrap, np.array([-1], np.int64)),
        h.micro_stop_ns,
        h.startup_ns,
    )
    t = asset_totals(h, None, 0, 1000 * S)
    assert t.unknown_ns == 500 * S
    assert t.reasons == {"unknown": 500 * S}
    assert (t.unknown_ideal, t.ideal_ns) == (10, 0)
    assert t.availability == 0.5


def test_a_stuck_counter_gives_zero_performance_and_oee_not_a_crash() -> None:
    t = asset_totals(history([(0, 1000, "running")]), None, 0, 1000 * S)
    assert (t.performance, t.quality, t.oee) == (0.0, None, 0.0)


def test_shifts_add_up_to_the_day() -> None:
    h = history(
        [(0, 9 * 3600, "idle"), (9 * 3600, 15 * 3600, "running"), (15 * 3600, 86400, "down")],
        [(9 * 3600 + i * 600, 1, 0) for i in range(30)],
        origin=DAY,
    )
    cal = calendar()
    shifts = shift_periods(cal, DAY, DAY + 24 * H)
    assert [p.name for p in shifts] == ["2026-01-05 early", "2026-01-05 late"]
    (day,) = day_periods(cal, DAY, DAY + 24 * H)
    per_shift = [asset_totals(h, cal, p.start_ns, p.end_ns) for p in shifts]
    whole = asset_totals(h, cal, day.start_ns, day.end_ns)
    summed = per_shift[0] + per_shift[1]
    assert (summed.run_ns, summed.total, summed.losses) == (whole.run_ns, whole.total, whole.losses)
    assert summed.planned_ns == whole.planned_ns


LINE = """
plantos: 1
enterprise: {id: e}
sites:
  - id: s
    areas:
      - id: a
        lines:
          - {id: l, assets: [{id: fast}, {id: slow}]}
          - {id: m, assets: [{id: other}]}
"""


def test_rollup_weights_by_time_and_counts_not_an_average_of_percentages() -> None:
    plant = load_plant_text(LINE)
    fast = OeeTotals(planned_ns=1000 * S, run_ns=900 * S, ideal_ns=900 * S, total=90, good=90)
    slow = OeeTotals(planned_ns=3000 * S, run_ns=2500 * S, ideal_ns=500 * S, total=5, good=3)
    nodes = rollup(plant, {"s/a/l/fast": fast, "s/a/l/slow": slow})
    line = nodes["s/a/l"]
    a, p, q = 3400 / 4000, 1400 / 3400, 93 / 95
    assert (line.availability, line.performance, line.quality) == pytest.approx((a, p, q))
    assert line.oee == pytest.approx(a * p * q)

    def mean(name: str) -> float:
        return (getattr(fast, name) + getattr(slow, name)) / 2  # type: ignore[no-any-return]

    for name in ("performance", "quality", "oee"):
        assert getattr(line, name) != pytest.approx(mean(name), abs=0.05), name
    assert nodes["s/a"] == nodes["s"] == nodes["e"] == line
    assert "s/a/m" not in nodes  # a line without tracked assets has no OEE, not 0%


def test_one_off_planned_downtime_from_the_calendar_is_not_planned_time() -> None:
    spec = CalendarSpec.model_validate(
        {
            "timezone": "UTC",
            "shifts": [{"name": "early", "start": "06:00", "end": "14:00", "days": ["mon"]}],
            "planned_downtime": [
                {"name": "service", "start": "2026-01-05T07:00:00", "end": "2026-01-05T09:00:00"}
            ],
        }
    )
    h = history([(6 * 3600, 14 * 3600, "down")], origin=DAY)
    t = asset_totals(h, ShiftCalendar(spec, ZoneInfo("UTC")), DAY, DAY + 24 * H)
    assert t.planned_ns == t.losses["breakdowns"] == 6 * H
    assert t.planned_downtime_ns == 2 * H
