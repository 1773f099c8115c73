"""CNC milling machine: spindle speed, load, temperature, vibration, parts and program.

Each NC program has its own spindle speed and its own load pattern within a
part cycle (a few cutting operations at 40-80% separated by tool changes),
so load and speed look like a real machine's and change at changeovers.
Temperature follows load and speed with thermal inertia. A bearing-wear
scenario raises vibration, temperature and friction, shows defect impacts in
the waveform, and at functional failure takes the machine down for good.
"""

from __future__ import annotations

import numpy as np

from plantos.core.events import PartsCounted
from plantos.core.timeunits import NS_PER_S as NS
from plantos.demo.simulator.context import AssetContext
from plantos.demo.simulator.signals import (
    Chunk,
    ChunkOutput,
    FloatArray,
    finished_at,
    lag,
    seconds,
)
from plantos.demo.simulator.timeline import (
    RUNNING,
    STATES,
    Disruptions,
    StateTimeline,
    state_events,
)
from plantos.demo.simulator.vibration import (
    DEFECT_RMS_MM_S,
    REFERENCE_RPM,
    WaveformSensor,
    rms_velocity,
)

DISRUPTIONS = Disruptions(
    micro_stops_per_h=5.0, changeovers_per_h=1 / 3, mtbf_h=40.0, repair_s=(1200.0, 3600.0)
)
AMBIENT_C = 22.0
PROGRAM_SLOWDOWN = 0.05
"""Each further program of a machine runs this much longer than its ideal cycle time (the
first program's): the reduced-speed loss a real cell shows, with a different share per
program mix."""
_BINS = 240


def cut_pattern(rng: np.random.Generator) -> FloatArray:
    """Spindle load (percent) over one part cycle, in ``_BINS`` steps: cuts and tool changes."""
    n_ops = int(rng.integers(3, 7))
    edges = np.round(np.cumsum(rng.dirichlet(np.full(n_ops, 3.0))) * _BINS).astype(np.int64)
    levels = rng.uniform(40.0, 80.0, n_ops)
    table = levels[np.searchsorted(edges, np.arange(_BINS), side="right").clip(0, n_ops - 1)]
    gap = max(1, int(0.04 * _BINS))
    for start in np.concatenate(([0], edges[:-1])):
        table[start : start + gap] = 8.0
    return np.asarray(table)


class CncMill:
    """Simulates one ``cnc-mill`` asset."""

    def __init__(self, ctx: AssetContext) -> None:
        p, rng = ctx.params, ctx.rng
        self.path = ctx.asset.path
        self.writer = ctx.writer
        self.rng = rng
        self.nominal_rpm = float(p.get("nominal_rpm", REFERENCE_RPM))
        self.cycle_s = seconds(p.get("cycle_time"), 95.0)
        programs = [int(x) for x in p.get("programs", [1001])] or [1001]
        self.program_cycle_s = self.cycle_s * (1.0 + PROGRAM_SLOWDOWN * np.arange(len(programs)))
        self.program_no = np.array(programs, dtype=np.float64)
        self.program_rpm = self.nominal_rpm * rng.uniform(0.94, 1.06, len(programs))
        self.patterns = np.stack([cut_pattern(rng) for _ in programs])
        self.gain = float(rng.uniform(0.85, 1.2))
        self.counter = float(rng.integers(1_000, 50_000))
        outage = (
            ctx.degradation if ctx.degradation and ctx.degradation.kind == "breakdown" else None
        )
        self.wear = None if outage else ctx.degradation
        self.timeline = StateTimeline(
            ctx.schedule,
            DISRUPTIONS,
            ctx.timeline_rng,
            start_ns=ctx.start_ns,
            programs=len(programs),
            fail_ns=self.wear.failure_ns if self.wear else None,
            fail_reason="spindle bearing failure",
            outage=(outage.onset_ns, outage.failure_ns) if outage else None,
        )
        self.codes = self.writer.state_codes(STATES)
        state, program = self.timeline.initial
        self.speed = float(self.program_rpm[program]) if state == RUNNING else 0.0
        self.temp = AMBIENT_C + 14.0 * self.speed / REFERENCE_RPM + (9.0 if self.speed else 2.0)
        self.progress = 0.0
        """Part cycles run so far, fractions included: a cycle resumes after a stop."""
        self.parts = 0
        wf = self.writer.tags.get("spindle_vibration_waveform")
        self.sensor = (
            WaveformSensor(wf.waveform, rng, ctx.scenario_rng, limits=wf.range)
            if wf is not None and wf.waveform is not None
            else None
        )

    def generate(self, chunk: Chunk) -> ChunkOutput:
        tl = self.timeline.sample(chunk)
        out = ChunkOutput(events=state_events(self.path, tl.transitions))
        grid, n = chunk.grid, len(chunk.grid)
        running = tl.state == RUNNING
        noise = self.rng.standard_normal((5, n))
        wear = self.wear.level(grid) if self.wear else np.zeros(n)

        speed = lag(np.where(running, self.program_rpm[tl.program], 0.0), self.speed, 1.5)
        rel = speed / self.nominal_rpm
        step = running / self.program_cycle_s[tl.program]  # cycles per grid second
        progress = self.progress + np.cumsum(step) - step
        phase = ((progress % 1.0) * _BINS).astype(np.int64).clip(0, _BINS - 1)
        cutting = np.where(running, self.patterns[tl.program, phase], 0.0)
        load = cutting * (1.0 + 0.03 * noise[1]) + (1.5 + 5.0 * wear) * rel + 0.3 * np.abs(noise[2])
        heat = AMBIENT_C + 14.0 * speed / REFERENCE_RPM + 0.15 * load + 6.0 * wear
        temp = lag(heat, self.temp, 900.0)
        defect = DEFECT_RMS_MM_S * wear * np.minimum(rel, 1.5)
        parts = np.floor(progress).astype(np.int64)
        done, count = finished_at(parts, self.parts)

        w = self.writer
        rpm = np.where(speed < 0.5, 0.0, speed * (1.0 + 0.002 * noise[0]))  # encoder reads 0
        w.emit(out, "spindle_speed", grid, rpm)
        w.emit(out, "spindle_load", grid, np.clip(load, 0.0, 150.0))
        w.emit(out, "spindle_temperature", grid, temp + 0.05 * noise[3])
        vibration = rms_velocity(speed, load, self.gain, defect, noise[4])
        w.emit(out, "spindle_vibration", grid, vibration)
        w.emit(out, "part_counter", grid, self.counter + parts)
        w.emit(out, "state", grid, self.codes[tl.state])
        w.emit(out, "program", grid, self.program_no[tl.program])
        out.events += [
            PartsCounted(ts_ns=int(grid[i]), subject=self.path, good=int(c), scrap=0)
            for i, c in zip(done, count, strict=True)
        ]
        if self.sensor is not None:
            self._bursts(chunk, speed, out)

        self.speed, self.temp = float(speed[-1]), float(temp[-1])
        self.progress, self.parts = float(progress[-1] + step[-1]), int(parts[-1])
        return out

    def _bursts(self, chunk: Chunk, speed: FloatArray, out: ChunkOutput) -> None:
        sensor = self.sensor
        if sensor is None:
            return
        for start in sensor.burst_starts(chunk):
            i = min(max(int((start - chunk.grid[0]) // NS), 0), len(speed) - 1)
            severity = float(self.wear.level(np.array([start]))[0]) if self.wear else 0.0
            values = sensor.burst(float(speed[i]), self.nominal_rpm, severity)
            self.writer.emit(
                out, "spindle_vibration_waveform", start + sensor.rel_ns, values, on_event=True
            )
