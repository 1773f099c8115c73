"""The ranges OEE is reported over: shifts, calendar days, or any custom range.

Shifts and days come from the asset's shift calendar, in its time zone (a day
in Chicago is not a UTC day); ranges are clipped to what was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from plantos.core.timeunits import NS_PER_S as NS
from plantos.model.calendar import ShiftCalendar


@dataclass(frozen=True, slots=True)
class Period:
    """A named range ``[start_ns, end_ns)``: a shift, a day or a custom range."""

    name: str
    start_ns: int
    end_ns: int


def shift_periods(calendar: ShiftCalendar, start_ns: int, end_ns: int) -> list[Period]:
    """Every shift overlapping the range, clipped to it, named ``<date> <shift>``."""
    out = []
    for shift in calendar.shifts_between(start_ns, end_ns):
        day = datetime.fromtimestamp(shift.start_ns / NS, tz=UTC).astimezone(calendar.tz).date()
        a, b = max(shift.start_ns, start_ns), min(shift.end_ns, end_ns)
        out.append(Period(f"{day.isoformat()} {shift.name}", a, b))
    return out


def day_periods(calendar: ShiftCalendar | None, start_ns: int, end_ns: int) -> list[Period]:
    """Calendar days (midnight to midnight in the calendar's zone, UTC without one)."""
    tz = calendar.tz if calendar is not None else UTC
    day = datetime.fromtimestamp(start_ns / NS, tz=UTC).astimezone(tz).date()
    out: list[Period] = []
    while True:
        a, b = _day_bounds(day, tz)
        if a >= end_ns:
            return out
        out.append(Period(day.isoformat(), max(a, start_ns), min(b, end_ns)))
        day += timedelta(days=1)


def current_shift(calendar: ShiftCalendar | None, now_ns: int) -> Period:
    """The shift on at ``now_ns``; outside shifts (or without a calendar) the current day."""
    shift = calendar.shift_at(now_ns) if calendar is not None else None
    if shift is not None:
        return Period(shift.name, shift.start_ns, shift.end_ns)
    tz = calendar.tz if calendar is not None else UTC
    day = datetime.fromtimestamp(now_ns / NS, tz=UTC).astimezone(tz).date()
    return Period(day.isoformat(), *_day_bounds(day, tz))


def _day_bounds(day: date, tz: tzinfo) -> tuple[int, int]:
    """Local midnight to the next local midnight (23 or 25 h on a DST change)."""
    a = datetime.combine(day, time(), tz)
    b = datetime.combine(day + timedelta(days=1), time(), tz)
    return int(a.timestamp()) * NS, int(b.timestamp()) * NS
