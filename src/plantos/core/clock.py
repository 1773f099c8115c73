"""Injected time. Every component reads a Clock, never the wall, so the same code runs
live, faster than real time in the demo, in the twin and in tests."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from plantos.core.timeunits import NS_PER_S as NS_PER_S  # re-exported: clocks count in it


class Clock(Protocol):
    """Source of the current time in UTC nanoseconds."""

    def now_ns(self) -> int: ...


class WallClock:
    """Real UTC time."""

    def now_ns(self) -> int:
        return time.time_ns()


class ManualClock:
    """Time that moves only when told: for tests and for the headless simulation,
    which advances it chunk by chunk as fast as the machine allows."""

    def __init__(self, start_ns: int) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance_to(self, ts_ns: int) -> None:
        if ts_ns < self._now:
            raise ValueError(f"time cannot go back: {ts_ns} < {self._now}")
        self._now = ts_ns


class ScaledClock:
    """Simulated time running ``speed`` times faster than the wall, from ``start_ns``.

    The live demo uses it: at speed 60 a simulated hour passes in a wall minute.
    """

    def __init__(self, start_ns: int, *, speed: float, wall: Clock | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._wall = wall or WallClock()
        self._start_sim = start_ns
        self._start_wall = self._wall.now_ns()
        self.speed = speed

    def now_ns(self) -> int:
        elapsed = self._wall.now_ns() - self._start_wall
        return self._start_sim + int(elapsed * self.speed)

    def restart_at(self, ts_ns: int) -> None:
        """Continue from ``ts_ns`` from this wall instant on, at the same speed."""
        self._start_sim = ts_ns
        self._start_wall = self._wall.now_ns()

    async def sleep_until(self, ts_ns: int) -> None:
        """Sleep on the wall until simulated time reaches ``ts_ns``."""
        remaining = ts_ns - self.now_ns()
        if remaining > 0:
            await asyncio.sleep(remaining / self.speed / NS_PER_S)
