"""Assembly station: good and scrap counters, the last cycle time, and its operating state.

The nominal cycle time is the ideal one, the fastest a station sustains (OEE takes it as
the ideal cycle time): manual work varies only upwards from it, by a factor whose
logarithm is half-normal (a cycle is often a little slow, rarely much slower, never
faster, so performance never exceeds 100 %); cycles advance only while the station
runs, so a short stop
stretches the cycle it interrupts. Short stops are mostly starved (no part
from upstream) or blocked (downstream full), the typical losses of a line.
"""

from __future__ import annotations

import numpy as np

from plantos.core.events import PartsCounted
from plantos.demo.simulator.context import AssetContext
from plantos.demo.simulator.signals import (
    Chunk,
    ChunkOutput,
    FloatArray,
    finished_at,
    run_seconds,
    seconds,
)
from plantos.demo.simulator.timeline import (
    BLOCKED,
    IDLE,
    RUNNING,
    STARVED,
    STATES,
    Disruptions,
    StateTimeline,
    state_events,
)

DISRUPTIONS = Disruptions(
    micro_stops_per_h=8.0,
    micro_stop_s=(10.0, 180.0),
    micro_stop_states=((STARVED, 0.45), (BLOCKED, 0.35), (IDLE, 0.2)),
    mtbf_h=80.0,
    repair_s=(900.0, 2700.0),
)
CYCLE_SIGMA = 0.12


class AssemblyStation:
    """Simulates one ``assembly-station`` asset."""

    def __init__(self, ctx: AssetContext) -> None:
        p, rng = ctx.params, ctx.rng
        self.path = ctx.asset.path
        self.writer = ctx.writer
        self.rng = rng
        self.nominal_s = seconds(p.get("cycle_time"), 45.0)
        self.scrap_rate = float(p.get("scrap_rate", 0.01))
        self.good = float(rng.integers(0, 20_000))
        self.scrap = float(rng.integers(0, 200))
        self.last_cycle_s = self.nominal_s
        self.timeline = StateTimeline(
            ctx.schedule, DISRUPTIONS, ctx.timeline_rng, start_ns=ctx.start_ns
        )
        self.codes = self.writer.state_codes(STATES)
        self.run_s = 0.0
        self._drawn_s = 0.0
        self._ends: FloatArray = np.zeros(0)
        self._durations: FloatArray = np.zeros(0)
        self._scrapped = np.zeros(0, dtype=np.bool_)

    def generate(self, chunk: Chunk) -> ChunkOutput:
        tl = self.timeline.sample(chunk)
        out = ChunkOutput(events=state_events(self.path, tl.transitions))
        grid = chunk.grid
        running = tl.state == RUNNING
        run = run_seconds(self.run_s, running)
        self._ensure(float(run[-1]))
        done = np.searchsorted(self._ends, run, side="right")
        scrap_cum = np.concatenate(([0], np.cumsum(self._scrapped)))
        scrap = scrap_cum[done]
        good = done - scrap
        last = np.concatenate(([self.last_cycle_s], self._durations))[done]

        w = self.writer
        w.emit(out, "good_count", grid, self.good + good)
        w.emit(out, "scrap_count", grid, self.scrap + scrap)
        w.emit(out, "cycle_time", grid, np.round(last, 1))
        w.emit(out, "state", grid, self.codes[tl.state])
        idx, _ = finished_at(done, 0)
        prev_good = np.concatenate(([0], good[:-1]))
        prev_scrap = np.concatenate(([0], scrap[:-1]))
        out.events += [
            PartsCounted(
                ts_ns=int(grid[i]),
                subject=self.path,
                good=int(good[i] - prev_good[i]),
                scrap=int(scrap[i] - prev_scrap[i]),
            )
            for i in idx
        ]

        m = int(done[-1])
        self.good, self.scrap = self.good + float(good[-1]), self.scrap + float(scrap[-1])
        self.last_cycle_s = float(last[-1])
        self._ends, self._durations = self._ends[m:], self._durations[m:]
        self._scrapped = self._scrapped[m:]
        self.run_s = float(run[-1] + running[-1])
        return out

    def _ensure(self, run_s: float) -> None:
        """Draw cycles (duration, scrap or not) until their end covers ``run_s`` of running."""
        while self._drawn_s <= run_s:
            d = self.nominal_s * np.exp(np.abs(self.rng.normal(0.0, CYCLE_SIGMA, 32)))
            ends = self._drawn_s + np.cumsum(d)
            self._drawn_s = float(ends[-1])
            self._ends = np.concatenate((self._ends, ends))
            self._durations = np.concatenate((self._durations, d))
            scrapped = self.rng.uniform(size=32) < self.scrap_rate
            self._scrapped = np.concatenate((self._scrapped, scrapped))
