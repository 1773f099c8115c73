"""Robotic MIG weld cell: arc current, voltage and wire feed per weld, and weld inspection.

A cycle is handling (part in, robot to start) followed by ``weld_time`` of arc;
the arc signals sit near zero in between. Each weld has its own mean current
(weld-to-weld spread) plus noise during the arc, and is inspected at its end
(about 1% fail). The weld-defect-trend scenario models contact tip wear: the
defect probability rises from 1% towards 30% and the current gets noisier,
which is what an SPC chart on current variance should notice.
"""

from __future__ import annotations

import numpy as np

from plantos.core.events import Event, InspectionRecorded, PartsCounted
from plantos.demo.simulator.context import AssetContext
from plantos.demo.simulator.scenarios import WELD_P0, WELD_P1
from plantos.demo.simulator.signals import (
    Chunk,
    ChunkOutput,
    FloatArray,
    IntArray,
    finished_at,
    run_seconds,
    seconds,
)
from plantos.demo.simulator.timeline import RUNNING, Disruptions, StateTimeline, state_events

DISRUPTIONS = Disruptions(
    micro_stops_per_h=4.0, changeovers_per_h=0.25, changeover_s=(600.0, 1200.0), mtbf_h=60.0
)


class WeldCell:
    """Simulates one ``weld-cell`` asset."""

    def __init__(self, ctx: AssetContext) -> None:
        p, rng = ctx.params, ctx.rng
        self.path = ctx.asset.path
        self.writer = ctx.writer
        self.rng = rng
        self.weld_s = seconds(p.get("weld_time"), 40.0)
        self.handling_s = seconds(p.get("handling_time"), 20.0)
        self.cycle_s = self.weld_s + self.handling_s
        self.current_a = float(p.get("current", 220.0))
        self.voltage_v = float(p.get("voltage", 24.0))
        self.wire_m_min = float(p.get("wire_feed", 9.0))
        self.count0 = float(rng.integers(0, 100_000))
        self.trend = ctx.degradation
        self.timeline = StateTimeline(
            ctx.schedule, DISRUPTIONS, ctx.timeline_rng, start_ns=ctx.start_ns
        )
        self.run_s = 0.0
        self.welds = 0
        self._base = 0
        self._z: FloatArray = np.zeros(0)
        self._u: FloatArray = np.zeros(0)

    def generate(self, chunk: Chunk) -> ChunkOutput:
        tl = self.timeline.sample(chunk)
        out = ChunkOutput(events=state_events(self.path, tl.transitions))
        grid, n = chunk.grid, len(chunk.grid)
        running = tl.state == RUNNING
        run = run_seconds(self.run_s, running)
        k = np.floor(run / self.cycle_s).astype(np.int64)
        arc = running & (run - k * self.cycle_s >= self.handling_s)
        p = self.trend.level(grid) if self.trend else np.full(n, WELD_P0)
        wear = (p - WELD_P0) / (WELD_P1 - WELD_P0)
        self._ensure(int(k[-1]))
        z = self._z[k - self._base]
        spread = 1.0 + (0.01 + 0.03 * wear) * z
        noise = self.rng.standard_normal((3, n))
        current = self.current_a * spread * (1.0 + (0.012 + 0.06 * wear) * noise[0])
        current = np.where(arc, current, 0.3 * np.abs(noise[0]))
        voltage = self.voltage_v + 0.02 * (current - self.current_a) + 0.15 * noise[1]
        voltage = np.where(arc, voltage, 0.0)
        wire = np.where(arc, self.wire_m_min * spread + 0.05 * noise[2], 0.0)

        w = self.writer
        w.emit(out, "weld_current", grid, np.clip(current, 0.0, None))
        w.emit(out, "weld_voltage", grid, np.clip(voltage, 0.0, None))
        w.emit(out, "wire_feed", grid, np.clip(wire, 0.0, None))
        w.emit(out, "weld_count", grid, self.count0 + k)
        self._inspect(out, grid, k, p, wear)

        self.run_s, self.welds = float(run[-1] + running[-1]), int(k[-1])
        keep = self.welds - self._base
        self._z, self._u, self._base = self._z[keep:], self._u[keep:], self.welds
        return out

    def _inspect(
        self, out: ChunkOutput, grid: IntArray, k: IntArray, p: FloatArray, wear: FloatArray
    ) -> None:
        """One inspection result per finished weld, at the moment the weld ends."""
        done, _ = finished_at(k, self.welds)
        ts: list[int] = []
        passed: list[float] = []
        events: list[Event] = []
        for i in done:
            j = int(k[i]) - 1 - self._base
            ok = bool(self._u[j] >= p[i])
            t = int(grid[i])
            mean_a = self.current_a * (1.0 + (0.01 + 0.03 * wear[i]) * self._z[j])
            std_a = self.current_a * (0.012 + 0.06 * wear[i])
            ts.append(t)
            passed.append(float(ok))
            events.append(
                InspectionRecorded(
                    ts_ns=t,
                    subject=self.path,
                    characteristic="weld",
                    passed=ok,
                    measurements={"current_mean_a": float(mean_a), "current_std_a": float(std_a)},
                )
            )
            events.append(PartsCounted(ts_ns=t, subject=self.path, good=int(ok), scrap=int(not ok)))
        out.events += events
        self.writer.emit(
            out, "inspection_passed", np.array(ts, dtype=np.int64), np.array(passed), on_event=True
        )

    def _ensure(self, k_max: int) -> None:
        """Draw per-weld randomness (mean deviation, inspection uniform) up to weld ``k_max``."""
        need = k_max - (self._base + len(self._z)) + 1
        if need > 0:
            more = max(need, 16)
            self._z = np.concatenate((self._z, self.rng.standard_normal(more)))
            self._u = np.concatenate((self._u, self.rng.uniform(size=more)))
