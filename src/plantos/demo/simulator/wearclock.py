"""Shift time: the clock a bearing wears on.

An outer-race spall grows each time a rolling element passes over it, so it grows while
the spindle turns and not while the machine stands switched off outside its shifts. A
mill on a continuous calendar wears on the wall clock; one on a two-shift calendar
does not wear at night or on Sundays. Breaks and short stops inside a shift are not
deducted: the scenario's time to failure is stated in shift hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plantos.demo.simulator.schedule import OFF_SHIFT, PlannedSchedule
from plantos.demo.simulator.signals import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class ShiftClock:
    """Shift time elapsed since ``start_ns``, piecewise linear between breakpoints.

    ``wall_ns`` and ``shift_ns`` are offsets from ``start_ns``: the shift clock runs at
    wall speed inside shifts and stands still outside them.
    """

    start_ns: int
    wall_ns: IntArray
    shift_ns: IntArray

    def elapsed_ns(self, ts: IntArray) -> FloatArray:
        """Shift time since the start at each timestamp (0 before the start)."""
        rel = (np.asarray(ts, dtype=np.int64) - self.start_ns).astype(np.float64)
        return np.asarray(np.interp(rel, self.wall_ns, self.shift_ns, left=0.0))

    @property
    def end_ns(self) -> int:
        """When the shift time given to :func:`shift_clock` is reached."""
        return self.start_ns + int(self.wall_ns[-1])


def shift_clock(schedule: PlannedSchedule, from_ns: int, shift_ns: int) -> ShiftClock:
    """The shift clock from the first in-shift moment at or after ``from_ns`` until it
    has counted ``shift_ns``."""
    t = from_ns
    status, boundary = schedule.status_at(t)
    while status == OFF_SHIFT:
        t = boundary
        status, boundary = schedule.status_at(t)
    start, counted = t, 0
    wall, shift = [0], [0]
    while counted < shift_ns:
        status, boundary = schedule.status_at(t)
        if status != OFF_SHIFT:
            step = min(boundary - t, shift_ns - counted)
            counted += step
            t += step
        else:
            t = boundary
        if wall[-1] != t - start:
            wall.append(t - start)
            shift.append(counted)
    return ShiftClock(start, np.array(wall, np.int64), np.array(shift, np.int64))
