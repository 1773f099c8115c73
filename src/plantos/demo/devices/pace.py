"""Keeps the demo's clock where its devices can follow: speed lowered when they fall behind.

The live platform reads one clock: Modbus values are stamped with it, staleness and the
current OEE period are measured against it. If the simulator and the protocol servers
cannot produce simulated time as fast as ``--speed`` asks (a busy or small machine), a
clock running on regardless would judge data it has not received: every value looks
late, a furnace reading is stamped minutes after the moment it describes. So the driver
reports after each scan how far the simulation is behind the clock, and the pacer lowers
the clock's speed when the lag stays above :data:`MAX_LAG_S` of wall time for
:data:`SLOW_SCANS` scans in a row (one slow scan, a garbage collection or a neighbour's
burst of work, is caught up by the next); when the devices have kept up for a while it
raises it again, never above what was asked. Every change is logged, and
:attr:`Pacer.speed` is what the demo shows.
"""

from __future__ import annotations

import logging

from plantos.core.clock import NS_PER_S, ScaledClock

log = logging.getLogger(__name__)

MAX_LAG_S = 1.0
"""Wall seconds the simulation may trail the clock before the speed is lowered."""
SLOWER = 0.7
FASTER = 1.1
SLOW_SCANS = 4
"""Scans in a row behind by more than :data:`MAX_LAG_S` before the speed is lowered."""
SETTLE_SCANS = 8
"""Scans to wait after a change before judging its effect."""
CALM_SCANS = 120
"""Scans in a row within half :data:`MAX_LAG_S` (30 wall seconds at 4 scans a second)
before speeding up."""
MIN_SPEED = 1.0


class Pacer:
    """Adjusts ``clock.speed`` between :data:`MIN_SPEED` and ``requested``."""

    def __init__(self, clock: ScaledClock, *, requested: float) -> None:
        if requested <= 0:
            raise ValueError(f"speed must be positive, got {requested}")
        self.clock = clock
        self.requested = requested
        self.changes = 0
        self._settle = SETTLE_SCANS
        self._calm = 0
        self._slow = 0

    @property
    def speed(self) -> float:
        """The speed the clock runs at now."""
        return self.clock.speed

    def observe(self, sim_now_ns: int) -> None:
        """After a scan: compare where the simulation got with the clock, and react."""
        lag_s = (self.clock.now_ns() - sim_now_ns) / NS_PER_S / self.clock.speed
        if self._settle > 0:
            self._settle -= 1
            return
        self._slow = self._slow + 1 if lag_s > MAX_LAG_S else 0
        self._calm = self._calm + 1 if lag_s <= MAX_LAG_S / 2 else 0
        if self._slow >= SLOW_SCANS and self.clock.speed > MIN_SPEED:
            self._set(max(self.clock.speed * SLOWER, MIN_SPEED), lag_s)
        elif self._calm >= CALM_SCANS and self.clock.speed < self.requested:
            self._set(min(self.clock.speed * FASTER, self.requested), lag_s)

    def _set(self, speed: float, lag_s: float) -> None:
        """Change speed from this instant on: the clock never steps back."""
        now = self.clock.now_ns()
        self.clock.speed = speed
        self.clock.restart_at(now)
        self.changes += 1
        self._settle, self._calm, self._slow = SETTLE_SCANS, 0, 0
        log.warning(
            "demo clock now at %.1fx (asked %.1fx): the devices were %.1f s behind",
            speed,
            self.requested,
            lag_s,
        )
