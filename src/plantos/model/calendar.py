"""Shift calendars: when a line is planned to produce, and its planned stops.

Shifts repeat on weekdays in the calendar's time zone (a night shift may cross
midnight; the day it starts on decides). Breaks repeat daily inside shifts,
planned downtime windows are one-off. OEE availability is measured against
planned production time, so these intervals are the denominator of every OEE
figure later on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from plantos.core.timeparse import parse_duration_ns
from plantos.core.timeunits import NS_PER_S as NS
from plantos.model.schema import WEEKDAYS, CalendarSpec


@dataclass(frozen=True, slots=True)
class Interval:
    name: str
    start_ns: int
    end_ns: int


def _ns(dt: datetime) -> int:
    return int(dt.timestamp()) * NS + dt.microsecond * 1000


class ShiftCalendar:
    """Answers which shift is on at a time and which stops are planned in a range."""

    def __init__(self, spec: CalendarSpec, tz: ZoneInfo) -> None:
        self.spec = spec
        self.tz = tz

    def _local_days(self, start_ns: int, end_ns: int) -> list[date]:
        first = datetime.fromtimestamp(start_ns / NS, tz=UTC).astimezone(self.tz).date()
        last = datetime.fromtimestamp(end_ns / NS, tz=UTC).astimezone(self.tz).date()
        first -= timedelta(days=1)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def shifts_between(self, start_ns: int, end_ns: int) -> list[Interval]:
        """Every shift that overlaps ``[start_ns, end_ns)``, in time order, unclipped."""
        out = []
        for day in self._local_days(start_ns, end_ns):
            weekday = WEEKDAYS[day.weekday()]
            for shift in self.spec.shifts:
                if weekday not in shift.days:
                    continue
                begin = datetime.combine(day, shift.start, self.tz)
                end_day = day if shift.end > shift.start else day + timedelta(days=1)
                end = datetime.combine(end_day, shift.end, self.tz)
                interval = Interval(shift.name, _ns(begin), _ns(end))
                if interval.end_ns > start_ns and interval.start_ns < end_ns:
                    out.append(interval)
        return sorted(out, key=lambda i: i.start_ns)

    def shift_at(self, ts_ns: int) -> Interval | None:
        """The shift on at ``ts_ns``, or ``None`` outside all shifts."""
        for interval in self.shifts_between(ts_ns, ts_ns + 1):
            if interval.start_ns <= ts_ns < interval.end_ns:
                return interval
        return None

    def planned_stops_between(self, start_ns: int, end_ns: int) -> list[Interval]:
        """Breaks and one-off planned downtime overlapping ``[start_ns, end_ns)``."""
        out = []
        for day in self._local_days(start_ns, end_ns):
            weekday = WEEKDAYS[day.weekday()]
            for brk in self.spec.breaks:
                if weekday not in brk.days:
                    continue
                begin = _ns(datetime.combine(day, brk.start, self.tz))
                out.append(Interval(brk.name, begin, begin + parse_duration_ns(brk.duration)))
        for window in self.spec.planned_downtime:
            begin_dt = window.start if window.start.tzinfo else window.start.replace(tzinfo=self.tz)
            end_dt = window.end if window.end.tzinfo else window.end.replace(tzinfo=self.tz)
            out.append(Interval(window.name, _ns(begin_dt), _ns(end_dt)))
        return sorted(
            (i for i in out if i.end_ns > start_ns and i.start_ns < end_ns),
            key=lambda i: i.start_ns,
        )
