"""Planned production time from a shift calendar, as a piecewise-constant function of time.

Asking the calendar (time zones, weekdays, breaks) at every state change would
be slow and repetitive, so the schedule is computed a day at a time, cached,
and answered with a binary search. Assets on the same calendar share one
schedule.
"""

from __future__ import annotations

from bisect import bisect_right

from plantos.core.timeunits import DAY_NS
from plantos.model.calendar import ShiftCalendar

PRODUCTION, BREAK, OFF_SHIFT = 0, 1, 2
_LOOKAHEAD_NS = 8 * DAY_NS


class PlannedSchedule:
    """Whether a time is planned production, a planned stop in a shift, or outside shifts.

    Without a calendar every moment is planned production.
    """

    def __init__(self, calendar: ShiftCalendar | None) -> None:
        self._calendar = calendar
        self._starts: list[int] = []
        self._status: list[int] = []
        self._covered_ns = -1

    def status_at(self, ts_ns: int) -> tuple[int, int]:
        """The planned status at ``ts_ns`` and the time it next may change.

        The second value can be an artificial boundary where the cached horizon
        ends; the status after it is usually the same.
        """
        if self._calendar is None:
            return PRODUCTION, ts_ns + _LOOKAHEAD_NS
        if self._covered_ns < 0:
            self._covered_ns = ts_ns - ts_ns % DAY_NS
        self._cover(self._calendar, ts_ns + _LOOKAHEAD_NS)
        if ts_ns < self._starts[0]:
            raise ValueError(f"schedule asked about {ts_ns}, before its start {self._starts[0]}")
        i = bisect_right(self._starts, ts_ns) - 1
        nxt = self._starts[i + 1] if i + 1 < len(self._starts) else self._covered_ns
        return self._status[i], nxt

    def _cover(self, calendar: ShiftCalendar, until_ns: int) -> None:
        while self._covered_ns < until_ns:
            day_start = self._covered_ns
            for start, status in _day(calendar, day_start, day_start + DAY_NS):
                if not self._status or self._status[-1] != status:
                    self._starts.append(start)
                    self._status.append(status)
            self._covered_ns = day_start + DAY_NS


def _day(calendar: ShiftCalendar, a: int, b: int) -> list[tuple[int, int]]:
    """Status changes inside ``[a, b)``, starting with the status at ``a``."""
    shifts = [(s.start_ns, s.end_ns) for s in calendar.shifts_between(a, b)]
    stops = [(s.start_ns, s.end_ns) for s in calendar.planned_stops_between(a, b)]
    points = {a}
    for lo, hi in shifts + stops:
        points.update(p for p in (lo, hi) if a < p < b)
    out = []
    for p in sorted(points):
        in_shift = any(lo <= p < hi for lo, hi in shifts)
        in_stop = any(lo <= p < hi for lo, hi in stops)
        status = (BREAK if in_stop else PRODUCTION) if in_shift else OFF_SHIFT
        out.append((p, status))
    return out
