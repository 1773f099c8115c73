"""Shift calendars: overnight shifts, weekdays, breaks and one-off downtime, in local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from plantos.model import load_plant_text

TEXT = """\
enterprise: {id: acme}
calendars:
  berlin:
    timezone: Europe/Berlin
    shifts:
      - {name: day, start: "06:00", end: "18:00", days: [mon, tue, wed, thu, fri]}
      - {name: night, start: "18:00", end: "06:00", days: [mon, tue, wed, thu]}
    breaks: [{name: lunch, start: "12:00", duration: 30m}]
    planned_downtime: [{name: inventory, start: "2026-01-09T08:00:00", end: "2026-01-09T16:00:00"}]
"""
TZ = ZoneInfo("Europe/Berlin")


def ns(*args: int) -> int:
    return int(datetime(*args, tzinfo=TZ).timestamp()) * 1_000_000_000


def test_overnight_shift_belongs_to_the_day_it_starts() -> None:
    cal = load_plant_text(TEXT).calendars["berlin"]
    assert cal.shift_at(ns(2026, 1, 6, 3, 0)).name == "night"  # Tue 03:00: Monday's night
    assert cal.shift_at(ns(2026, 1, 6, 7, 0)).name == "day"
    assert cal.shift_at(ns(2026, 1, 9, 20, 0)) is None  # Friday night: no night shift
    assert cal.shift_at(ns(2026, 1, 10, 10, 0)) is None  # Saturday


def test_shifts_and_stops_in_a_range_are_ordered_and_local() -> None:
    cal = load_plant_text(TEXT).calendars["berlin"]
    shifts = cal.shifts_between(ns(2026, 1, 5, 0, 0), ns(2026, 1, 6, 0, 0))
    assert [s.name for s in shifts] == ["day", "night"]
    assert shifts[0].start_ns == ns(2026, 1, 5, 6, 0)
    assert shifts[1].end_ns == ns(2026, 1, 6, 6, 0)
    stops = cal.planned_stops_between(ns(2026, 1, 9, 0, 0), ns(2026, 1, 10, 0, 0))
    assert [(s.name, s.start_ns) for s in stops] == [
        ("inventory", ns(2026, 1, 9, 8, 0)),
        ("lunch", ns(2026, 1, 9, 12, 0)),
    ]


def test_daylight_saving_change_keeps_local_shift_times() -> None:
    cal = load_plant_text(TEXT).calendars["berlin"]
    before = cal.shift_at(ns(2026, 3, 27, 10, 0))  # Friday before the change
    after = cal.shift_at(ns(2026, 3, 30, 10, 0))  # Monday after
    assert (before.end_ns - before.start_ns) == (after.end_ns - after.start_ns) == 12 * 3600 * 10**9
    assert after.start_ns == ns(2026, 3, 30, 6, 0)
