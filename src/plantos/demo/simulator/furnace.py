"""Three-zone continuous hardening furnace: zone temperatures, setpoint and gas flow.

Each zone's controller holds the setpoint with a slow limit-cycle oscillation
and coloured noise; cold parts entering at the start of production pull the
zones down briefly. Gas flow follows heat demand (more when loaded) and leads
the zone oscillations, as the heat input of a PI loop does. A furnace-drift
scenario drifts one zone's control progressively away from the setpoint and
the burner works harder for it.
"""

from __future__ import annotations

import math

import numpy as np

from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.simulator.context import AssetContext
from plantos.demo.simulator.scenarios import FURNACE_ZONE
from plantos.demo.simulator.signals import Chunk, ChunkOutput, lag
from plantos.demo.simulator.timeline import (
    IDLE,
    RUNNING,
    Disruptions,
    StateTimeline,
    state_events,
)

# A continuous furnace keeps running through breaks and holds temperature outside shifts.
DISRUPTIONS = Disruptions(off_state=IDLE, break_state=RUNNING)
ZONES = 3


class Furnace:
    """Simulates one ``furnace`` asset."""

    def __init__(self, ctx: AssetContext) -> None:
        rng = ctx.rng
        self.path = ctx.asset.path
        self.start_ns = ctx.start_ns
        self.writer = ctx.writer
        self.rng = rng
        self.setpoint = float(ctx.params.get("setpoint", 860.0))
        self.offset = rng.normal(0.0, 0.4, ZONES)
        self.amp = rng.uniform(0.8, 1.8, ZONES)
        self.omega = 2 * math.pi / rng.uniform(480.0, 900.0, ZONES)
        self.phase = rng.uniform(0.0, 2 * math.pi, ZONES)
        self.drift = ctx.degradation
        self.timeline = StateTimeline(
            ctx.schedule, DISRUPTIONS, ctx.timeline_rng, start_ns=ctx.start_ns
        )
        loaded = float(self.timeline.initial[0] == RUNNING)
        self.demand, self.fast, self.slow = loaded, loaded, loaded
        self.noise = np.zeros(ZONES)

    def generate(self, chunk: Chunk) -> ChunkOutput:
        tl = self.timeline.sample(chunk)
        out = ChunkOutput(events=state_events(self.path, tl.transitions))
        grid, n = chunk.grid, len(chunk.grid)
        loaded = (tl.state == RUNNING).astype(np.float64)
        white = self.rng.standard_normal((ZONES + 1, n))
        demand = lag(loaded, self.demand, 900.0)
        fast, slow = lag(loaded, self.fast, 120.0), lag(loaded, self.slow, 900.0)
        dip = -3.0 * (fast - slow)
        deviation = self.drift.level(grid) if self.drift else np.zeros(n)
        t_s = (grid - self.start_ns) / NS
        arg = np.outer(self.omega, t_s) + self.phase[:, None]
        gas = 10.0 + 16.0 * demand + 4.0 * (fast - slow) + 0.3 * white[ZONES]
        w = self.writer
        for z in range(ZONES):
            coloured = lag(1.6 * white[z], float(self.noise[z]), 15.0)
            self.noise[z] = coloured[-1]
            temp = self.setpoint + self.offset[z] + self.amp[z] * np.sin(arg[z]) + coloured + dip
            gas = gas + 1.2 * self.amp[z] * np.cos(arg[z])
            if z + 1 == FURNACE_ZONE:
                temp = temp + deviation
                gas = gas + 0.5 * deviation
            w.emit(out, f"zone_{z + 1}_temperature", grid, temp)
        w.emit(out, "setpoint", grid, np.full(n, self.setpoint))
        w.emit(out, "gas_flow", grid, np.clip(gas, 0.0, None))
        self.demand, self.fast, self.slow = float(demand[-1]), float(fast[-1]), float(slow[-1])
        return out
