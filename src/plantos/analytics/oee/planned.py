"""Planned production time from the shift calendar, and how much of an interval lies in it.

ISO 22400 measures availability against planned production time: the shifts
minus their breaks and one-off planned downtime. Intervals are many and
windows few, so overlap is answered for all intervals at once with a
cumulative planned-time function, in integer nanoseconds (exactly).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from plantos.model.calendar import ShiftCalendar

Int64 = npt.NDArray[np.int64]


@lru_cache(maxsize=512)
def planned_windows(
    calendar: ShiftCalendar | None, start_ns: int, end_ns: int
) -> tuple[Int64, Int64]:
    """Sorted, disjoint planned-production windows inside ``[start_ns, end_ns)``.

    Without a calendar the whole range is planned (a 24/7 asset). Assets share
    calendars, so answers are cached; callers must not modify the arrays.
    """
    if calendar is None:
        return np.array([start_ns], np.int64), np.array([end_ns], np.int64)
    windows: list[tuple[int, int]] = []
    for shift in calendar.shifts_between(start_ns, end_ns):
        windows.append((max(shift.start_ns, start_ns), min(shift.end_ns, end_ns)))
    for stop in calendar.planned_stops_between(start_ns, end_ns):
        windows = [part for w in windows for part in _minus(w, (stop.start_ns, stop.end_ns))]
    windows = _merge(sorted(w for w in windows if w[1] > w[0]))
    return (
        np.array([w[0] for w in windows], np.int64),
        np.array([w[1] for w in windows], np.int64),
    )


def planned_overlap(starts: Int64, ends: Int64, windows: tuple[Int64, Int64]) -> Int64:
    """Nanoseconds of each ``[starts[i], ends[i])`` that fall inside the planned windows."""
    return _cumulative(ends, windows) - _cumulative(starts, windows)


def _cumulative(ts: Int64, windows: tuple[Int64, Int64]) -> Int64:
    """Planned time from the first window's start up to each time in ``ts``."""
    w_start, w_end = windows
    if len(w_start) == 0:
        return np.zeros(len(ts), np.int64)
    length = w_end - w_start
    before = np.concatenate(([0], np.cumsum(length)[:-1]))
    k = np.searchsorted(w_start, ts, side="right") - 1
    j = np.maximum(k, 0)
    inside = np.minimum(np.maximum(ts - w_start[j], 0), length[j])
    return np.where(k >= 0, before[j] + inside, 0).astype(np.int64)


def _minus(window: tuple[int, int], hole: tuple[int, int]) -> list[tuple[int, int]]:
    a, b = window
    lo, hi = hole
    if hi <= a or lo >= b:
        return [window]
    return [w for w in ((a, lo), (hi, b)) if w[1] > w[0]]


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in windows:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
